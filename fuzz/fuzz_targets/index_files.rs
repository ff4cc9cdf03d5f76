//! The decoders behind an index's files, on arbitrary bytes: 8-bit vector rows, the
//! graph's neighbour lists. The first byte picks the decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xref::index::{codec, graph::Graph};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let dim = 1 + (pick as usize >> 2) % 16;
    match pick % 3 {
        0 => {
            if let Some(rows) = codec::decode(bytes, dim) {
                assert_eq!(rows.len() % dim, 0);
                assert!(rows.iter().all(|x| x.is_finite()));
            }
        }
        1 => {
            if let Some(rows) = codec::Rows::parse(codec::Bytes::Owned(bytes.to_vec()), dim) {
                let query = vec![1.0 / (dim as f32).sqrt(); dim];
                for r in 0..rows.len() {
                    assert!(rows.dot(r, &query).is_finite());
                    assert!(rows.pair(r, &rows, 0).is_finite());
                }
            }
        }
        _ => {
            if let Ok(g) = Graph::from_bytes(bytes, 64) {
                let _ = g.to_bytes();
            }
        }
    }
});
