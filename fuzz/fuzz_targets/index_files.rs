//! The decoders behind an index's files, on arbitrary bytes: 8-bit vector rows (both
//! layouts), the graph's neighbour lists, the postings, the paragraphs. The first byte
//! picks the decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xref::index::{codec, graph::Graph, lexical::Lexical, paragraphs::Paragraphs};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let dim = 1 + (pick as usize >> 2) % 16;
    match pick % 6 {
        0 => {
            if let Some(rows) = codec::decode(bytes, dim) {
                assert_eq!(rows.len() % dim, 0);
                assert!(rows.iter().all(|x| x.is_finite()));
            }
        }
        1 => {
            if let Some(rows) = codec::Rows::parse(codec::Bytes::from_vec(bytes), dim) {
                let query = vec![1.0 / (dim as f32).sqrt(); dim];
                for r in 0..rows.len() {
                    assert!(rows.dot(r, &query).is_finite());
                    assert!(rows.pair(r, &rows, 0).is_finite());
                }
            }
        }
        2 => {
            if let Some(rows) = codec::Rows::parse_split(codec::Bytes::from_vec(bytes), dim) {
                let query = vec![1.0 / (dim as f32).sqrt(); dim];
                assert!((0..rows.len()).all(|r| rows.dot(r, &query).is_finite()));
            }
        }
        3 => {
            if let Ok(lx) = Lexical::parse(codec::Bytes::from_vec(bytes)) {
                let _ = lx.search("the index 金融 5.3%", 5, None);
            }
        }
        4 => {
            if let Ok(ps) = Paragraphs::decode(bytes) {
                let _ = ps.iter().map(|p| p.text.len()).sum::<usize>();
            }
        }
        _ => {
            if let Ok(g) = Graph::from_bytes(bytes, 64) {
                let _ = g.to_bytes();
            }
        }
    }
});
