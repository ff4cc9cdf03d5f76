//! xref: semantic similarity and cross-references for document collections.
//!
//! The pipeline, one module a stage:
//! [`ingest`] (files → documents → paragraphs) → [`embed`] (paragraphs → vectors, with
//! [`model`] obtaining the weights) → [`index`] (vectors + metadata on disk, HNSW search) →
//! [`rank`] (the scores: questions, pairs, candidates) → [`link`] (nearest neighbours →
//! cross-document links) → [`output`] (links → JSONL, CSV, Markdown, HTML). [`text`] holds
//! the text analysis every stage shares (scripts, language, sentences, terms). [`searcher`] is the question side the front ends share; [`serve`] answers the same over HTTP with a reading view in the
//! browser. [`cli`] is the glue behind the `xref` binary.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod cli;
pub mod embed;
pub mod error;
pub mod eval;
pub mod model;

pub use error::BadInput;
pub mod index;
pub mod ingest;
pub mod link;
pub mod output;
pub mod rank;
pub mod searcher;
pub mod serve;
pub mod text;
