//! Every input format's parser on arbitrary bytes, through the same entry point as a file
//! of that type: the first byte picks the format. Errors are fine; a panic, an endless
//! loop or a paragraph over the size limit is a bug. Each document's paragraphs then get
//! their languages as the index writer tells them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xref::ingest::{ingest_bytes, IngestOptions};

const NAMES: [&str; 7] = ["a.txt", "a.md", "a.html", "a.rst", "a.docx", "a.pdf", "a.htm"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let name = NAMES[pick as usize % NAMES.len()];
    let opts = IngestOptions::default();
    if let Ok(docs) = ingest_bytes(bytes, name, &opts) {
        for d in &docs {
            for p in &d.paragraphs {
                assert!(p.text.chars().count() <= opts.max_chars, "{name}: a paragraph over the limit");
                assert!(!p.text.trim().is_empty(), "{name}: an empty paragraph");
            }
            let texts: Vec<(&str, &str)> =
                d.paragraphs.iter().map(|p| (p.doc_id.as_str(), p.text.as_str())).collect();
            assert_eq!(xref::text::lang::detect_in_documents(&texts).len(), texts.len());
        }
    }
});
