//! Text analysis shared by every stage: scripts ([`script`]), the language of a text
//! ([`lang`]), sentences and chunks ([`split`]), the terms of the lexical channel
//! ([`tokens`](mod@tokens)). Ingest uses it to cut paragraphs, the index to cut sentences and build
//! postings, links to find shared terms.

pub mod lang;
pub mod script;
pub mod split;
pub mod tokens;

pub use script::{cjk_ratio, is_cjk, is_han};
pub use split::{sentence_spans, sentence_units, sentences, MIN_SENTENCE_CHARS};
pub use tokens::tokens;
