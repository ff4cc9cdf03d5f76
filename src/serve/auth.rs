//! Access control for a server a team shares: one access token, as Jupyter has. A server
//! bound beyond loopback needs one (generated and printed when none is given); `--token` /
//! `XREF_TOKEN` sets it, `--no-auth` turns the check off as an explicit choice. Clients give
//! it as `Authorization: Bearer TOKEN` (the API) or sign in once in the browser (`POST
//! /signin`, or the printed `/?token=…` address), which sets an HTTP-only cookie. Every
//! route answers 401 without it. Tokens are compared through their SHA-256 digests in
//! constant time.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Result;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::Server;
use crate::error::bad_input;

/// The cookie the browser keeps the token in.
const COOKIE: &str = "xref_token";

/// Who may read a served index.
#[derive(Clone)]
pub enum Access {
    /// Anyone who can connect (a loopback address, or `--no-auth`).
    Open,
    /// Only who gives this token.
    Token(Token),
}

/// An access token, kept as its digest.
#[derive(Clone)]
pub struct Token {
    digest: [u8; 32],
}

impl Token {
    pub fn new(token: &str) -> Self {
        Token {
            digest: Sha256::digest(token.as_bytes()).into(),
        }
    }

    /// Whether `given` is the token: digests compared in constant time.
    pub fn matches(&self, given: &str) -> bool {
        let d: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        d.iter()
            .zip(&self.digest)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// How a server on `addr` is reached, and the token to print when one was generated.
pub fn decide(
    addr: &SocketAddr,
    token: Option<&str>,
    no_auth: bool,
) -> Result<(Access, Option<String>)> {
    match (token, no_auth) {
        (Some(_), true) => Err(bad_input("give --token or --no-auth, not both")),
        (_, true) => Ok((Access::Open, None)),
        (Some(t), false) => {
            let t = t.trim();
            if t.len() < 8 {
                return Err(bad_input(
                    "an access token needs at least 8 characters (--token / XREF_TOKEN)",
                ));
            }
            Ok((Access::Token(Token::new(t)), None))
        }
        (None, false) if addr.ip().is_loopback() => Ok((Access::Open, None)),
        (None, false) => {
            let t = generate()?;
            Ok((Access::Token(Token::new(&t)), Some(t)))
        }
    }
}

/// 128 random bits as 32 hex digits, from the operating system.
fn generate() -> Result<String> {
    let mut bytes = [0u8; 16];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot generate an access token (/dev/urandom: {e}); give one with --token"
            )
        })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The middleware: requests without the token get 401 (JSON under `/api/`, the sign-in page
/// elsewhere); `POST /signin` and `GET /?token=…` set the cookie.
pub async fn check(State(server): State<Arc<Server>>, req: Request, next: Next) -> Response {
    let Access::Token(token) = &server.access else {
        return next.run(req).await;
    };
    if req.method() == Method::POST && req.uri().path() == "/signin" {
        let body = to_bytes(req.into_body(), 4096).await.unwrap_or_default();
        let given = form_value(&String::from_utf8_lossy(&body), "token").unwrap_or_default();
        return if token.matches(&given) {
            signed_in(&given)
        } else {
            sign_in_page(true)
        };
    }
    if given_token(&req).is_some_and(|t| token.matches(&t)) {
        return next.run(req).await;
    }
    if req.method() == Method::GET && req.uri().path() == "/" {
        let query = req.uri().query().unwrap_or_default();
        if let Some(t) = form_value(query, "token").filter(|t| token.matches(t)) {
            return signed_in(&t);
        }
    }
    if req.uri().path().starts_with("/api/") {
        let body = serde_json::json!({
            "error": "unauthorized: give the access token as 'Authorization: Bearer TOKEN'"
        });
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(body),
        )
            .into_response()
    } else {
        sign_in_page(false)
    }
}

/// The token a request carries: a bearer header, else the cookie.
fn given_token(req: &Request) -> Option<String> {
    let headers = req.headers();
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(t) = v.strip_prefix("Bearer ") {
            return Some(t.trim().to_string());
        }
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// Signed in with `token`: the cookie set (HTTP-only, this site only), and on to the
/// reading view without the token in the address.
fn signed_in(token: &str) -> Response {
    let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, "/")
        .header(header::SET_COOKIE, cookie)
        .body(Body::empty())
        .unwrap_or_default()
}

/// A value of an `application/x-www-form-urlencoded` string (`+` and `%XX` decoded).
fn form_value(form: &str, name: &str) -> Option<String> {
    form.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The sign-in page (status 401), with a note when a wrong token was given.
fn sign_in_page(wrong: bool) -> Response {
    let note = if wrong {
        "<p class=\"wrong\">That is not this server's token.</p>"
    } else {
        ""
    };
    let page = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>xref: sign in</title>\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <style>body{{font:16px system-ui,sans-serif;max-width:28em;margin:4em auto}}\
         input{{font:inherit;width:100%;margin:.5em 0}}.wrong{{color:#b00}}</style>\
         <h1>xref</h1><p>This server needs its access token (printed where it was started, \
         or set with <code>--token</code> / <code>XREF_TOKEN</code>).</p>{note}\
         <form method=\"post\" action=\"/signin\"><input type=\"password\" name=\"token\" \
         autocomplete=\"current-password\" autofocus placeholder=\"access token\">\
         <input type=\"submit\" value=\"Sign in\"></form>"
    );
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_loopback_a_token_is_needed_and_generated() {
        let local: SocketAddr = "127.0.0.1:7878".parse().unwrap();
        let all: SocketAddr = "0.0.0.0:7878".parse().unwrap();
        assert!(matches!(
            decide(&local, None, false).unwrap(),
            (Access::Open, None)
        ));
        let (access, printed) = decide(&all, None, false).unwrap();
        let printed = printed.expect("a generated token is printed");
        assert_eq!(printed.len(), 32);
        match access {
            Access::Token(t) => assert!(t.matches(&printed) && !t.matches("guess")),
            Access::Open => panic!("open beyond loopback"),
        }
        assert_ne!(decide(&all, None, false).unwrap().1.unwrap(), printed);
        assert!(matches!(
            decide(&all, None, true).unwrap(),
            (Access::Open, None)
        ));
        // A token given is used on loopback too, and never printed.
        assert!(matches!(
            decide(&local, Some("correct horse"), false).unwrap(),
            (Access::Token(_), None)
        ));
        assert!(decide(&all, Some("short"), false).is_err());
        assert!(decide(&all, Some("long enough"), true).is_err());
    }

    #[test]
    fn form_values_are_decoded() {
        assert_eq!(
            form_value("a=1&token=ab%2Fc+d", "token").as_deref(),
            Some("ab/c d")
        );
        assert_eq!(form_value("token=%zz%4", "token").as_deref(), Some("%zz%4"));
        assert_eq!(form_value("tokens=x", "token"), None);
    }
}
