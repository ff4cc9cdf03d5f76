//! The value enums of the command line: the only clap derives in xref, each mirroring a
//! library type that knows nothing of clap.

use clap::ValueEnum;

use crate::embed::Prefix;
use crate::output::Format;
use crate::rank::Mode;

/// `--mode` ([`Mode`]).
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum ModeArg {
    Dense,
    Lexical,
    Hybrid,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Dense => Mode::Dense,
            ModeArg::Lexical => Mode::Lexical,
            ModeArg::Hybrid => Mode::Hybrid,
        }
    }
}

/// `--format` ([`Format`]).
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum FormatArg {
    Jsonl,
    Csv,
    Md,
    Html,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::Csv => Format::Csv,
            FormatArg::Md => Format::Md,
            FormatArg::Html => Format::Html,
        }
    }
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum PrefixArg {
    Query,
    Passage,
    None,
}

impl From<PrefixArg> for Prefix {
    fn from(p: PrefixArg) -> Self {
        match p {
            PrefixArg::Query => Prefix::Query,
            PrefixArg::Passage => Prefix::Passage,
            PrefixArg::None => Prefix::None,
        }
    }
}
