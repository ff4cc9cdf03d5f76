//! Error classes that decide the exit code: [`BadInput`] (exit 2) versus everything else
//! (exit 1, a runtime failure).

use std::fmt;

/// The user's input is at fault: a bad argument, a missing or unreadable file, a corrupt or
/// foreign index. The CLI exits with status 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Build an `anyhow::Error` that the CLI reports with exit status 2.
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

/// Whether an error (or anything in its chain) is the user's input at fault.
pub fn is_bad_input(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.is::<BadInput>())
}
