//! Byte → text decoding with encoding detection.
//!
//! Order of checks (first match wins):
//!
//! 1. A byte-order mark selects UTF-8, UTF-16LE or UTF-16BE. UTF-16 is decoded
//!    strictly (unpaired surrogates are an error, not U+FFFD).
//! 2. NUL bytes, or more than 5% C0 control bytes other than tab, LF, CR,
//!    form-feed and ESC, mean the file is **binary** (images, archives,
//!    executables, UTF-16 without a BOM, …).
//! 3. Valid UTF-8 is accepted as is.
//! 4. Otherwise GB18030 (a superset of GBK/GB2312, the usual legacy encoding of
//!    Chinese files) is tried *strictly* — any malformed sequence rejects it —
//!    and the result is accepted only if it looks like text: at least 90% of the
//!    non-ASCII characters must be common Han ideographs or CJK/full-width
//!    punctuation. GB18030 maps almost every byte sequence to *something*, so
//!    this plausibility check is what keeps Latin-1 or random bytes out.
//! 5. Anything else is **undecodable**.
//!
//! Whitespace-only input (after removing a BOM) is reported as **empty**.

use super::IngestError;
use encoding_rs::{GB18030, UTF_16BE, UTF_16LE};

/// Decode `bytes` to a `String`, returning it with the name of the encoding
/// that was detected ("UTF-8", "UTF-8 (BOM)", "UTF-16LE", "UTF-16BE",
/// "GB18030"). Errors carry an empty path; callers fill it in.
pub fn decode(bytes: &[u8]) -> Result<(String, &'static str), IngestError> {
    let (text, name) = if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        let s = std::str::from_utf8(rest).map_err(|_| IngestError::Undecodable {
            path: String::new(),
            reason: "invalid UTF-8 after a UTF-8 byte-order mark".into(),
        })?;
        (s.to_owned(), "UTF-8 (BOM)")
    } else if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        (decode_utf16(rest, true)?, "UTF-16LE")
    } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        (decode_utf16(rest, false)?, "UTF-16BE")
    } else {
        if let Some(reason) = binary_reason(bytes) {
            return Err(IngestError::Binary {
                path: String::new(),
                reason,
            });
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => (s.to_owned(), "UTF-8"),
            Err(_) => match decode_gb18030(bytes) {
                Some(s) => (s, "GB18030"),
                None => {
                    return Err(IngestError::Undecodable {
                        path: String::new(),
                        reason: "not valid UTF-8, UTF-16 (with BOM) or GB18030/GBK text".into(),
                    })
                }
            },
        }
    };
    // Control characters can also hide in BOM-marked text.
    let ctrl = text.chars().filter(|&c| is_bad_control(c as u32)).count();
    if text.contains('\0') || ctrl * 20 > text.chars().count().max(1) {
        return Err(IngestError::Binary {
            path: String::new(),
            reason: "contains NUL or many control characters".into(),
        });
    }
    if text.trim().is_empty() {
        return Err(IngestError::Empty {
            path: String::new(),
        });
    }
    Ok((text, name))
}

fn is_bad_control(b: u32) -> bool {
    b < 0x20 && !matches!(b, 0x09 | 0x0A | 0x0D | 0x0C | 0x1B)
}

/// Why `bytes` looks binary, if it does.
fn binary_reason(bytes: &[u8]) -> Option<String> {
    if bytes.contains(&0) {
        return Some("contains NUL bytes".into());
    }
    let sample = &bytes[..bytes.len().min(64 * 1024)];
    let ctrl = sample.iter().filter(|&&b| is_bad_control(b as u32)).count();
    if ctrl * 20 > sample.len().max(1) {
        return Some(format!(
            "{ctrl} control bytes in the first {} bytes",
            sample.len()
        ));
    }
    None
}

fn decode_utf16(rest: &[u8], le: bool) -> Result<String, IngestError> {
    let enc = if le { UTF_16LE } else { UTF_16BE };
    let bad = || IngestError::Undecodable {
        path: String::new(),
        reason: format!("malformed {} after its byte-order mark", enc.name()),
    };
    if !rest.len().is_multiple_of(2) {
        return Err(bad());
    }
    enc.decode_without_bom_handling_and_without_replacement(rest)
        .map(|c| c.into_owned())
        .ok_or_else(bad)
}

fn decode_gb18030(bytes: &[u8]) -> Option<String> {
    let s = GB18030.decode_without_bom_handling_and_without_replacement(bytes)?;
    let (mut non_ascii, mut plausible) = (0usize, 0usize);
    for c in s.chars().filter(|c| !c.is_ascii()) {
        non_ascii += 1;
        let u = c as u32;
        if matches!(u, 0x4E00..=0x9FFF | 0x3000..=0x303F | 0xFF01..=0xFF5E | 0x2010..=0x2027 | 0x00B7 | 0x00D7 | 0x2460..=0x24FF)
        {
            plausible += 1;
        }
    }
    (non_ascii > 0 && plausible * 10 >= non_ascii * 9).then(|| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects() {
        assert_eq!(decode("abc".as_bytes()).unwrap().1, "UTF-8");
        let (gb, _, _) = GB18030.encode("中文测试，你好。");
        assert_eq!(
            decode(&gb).unwrap(),
            ("中文测试，你好。".to_string(), "GB18030")
        );
        assert!(matches!(
            decode(b"\xff\xd8\xff\xe0\0\x10JFIF"),
            Err(IngestError::Binary { .. })
        ));
        assert!(matches!(
            decode(b"caf\xe9 au lait"),
            Err(IngestError::Undecodable { .. })
        ));
        assert!(matches!(decode(b"  \n"), Err(IngestError::Empty { .. })));
    }
}
