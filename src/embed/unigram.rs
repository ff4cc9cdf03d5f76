//! A fast-loading tokenizer for SentencePiece Unigram models in the XLM-RoBERTa layout (the
//! multilingual e5 models): the same token ids as the `tokenizers` crate, which stays the
//! tokenizer for every other layout.
//!
//! `tokenizers` spends ~0.7 s turning the 17 MB `tokenizer.json` of a 250k-piece vocabulary
//! into a trie of hash maps; this reads the pieces straight out of the JSON text into one
//! hash map (~0.1 s), then follows the pipeline `tokenizers` runs for this layout:
//!
//! 1. special tokens (`<s>`, `<mask>`, …) are cut out of the raw text, leftmost-longest;
//! 2. the precompiled SentencePiece normaliser (`spm_precompiled`, as `tokenizers` uses it),
//!    then runs of two or more spaces become one;
//! 3. Metaspace: spaces become `▁`, a `▁` is prepended, and the text is split before each `▁`;
//! 4. Viterbi over the pieces of each word (unknown characters score the lowest piece score
//!    minus 10; consecutive unknowns fuse into one `<unk>`);
//! 5. `<s> … </s>` around the whole.
//!
//! [`Unigram::from_json`] accepts only files of exactly this layout and says why otherwise;
//! the caller then uses `tokenizers`. Parity is tested on the seed corpus and edge cases.

use std::borrow::Cow;
use std::collections::HashMap;

use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;

const UNK_PENALTY: f64 = 10.0;
const SPACE: char = '▁';

pub struct Unigram {
    /// Piece → (id, score).
    pieces: HashMap<Box<str>, (u32, f64), ahash::RandomState>,
    /// Longest piece, in bytes.
    max_piece: usize,
    min_score: f64,
    unk_id: u32,
    /// Special tokens matched in raw text, longest first.
    specials: Vec<(String, u32)>,
    normalizer: spm_precompiled::Precompiled,
    cls_id: u32,
    sep_id: u32,
}

#[derive(Deserialize)]
struct File<'a> {
    #[serde(borrow)]
    added_tokens: Vec<Added<'a>>,
    normalizer: serde_json::Value,
    pre_tokenizer: serde_json::Value,
    post_processor: serde_json::Value,
    #[serde(borrow)]
    model: Model<'a>,
}

#[derive(Deserialize)]
struct Added<'a> {
    id: u32,
    #[serde(borrow)]
    content: Cow<'a, str>,
    #[serde(default)]
    single_word: bool,
    #[serde(default)]
    lstrip: bool,
    #[serde(default)]
    rstrip: bool,
    #[serde(default)]
    normalized: bool,
}

#[derive(Deserialize)]
struct Model<'a> {
    #[serde(rename = "type")]
    kind: Cow<'a, str>,
    unk_id: Option<u32>,
    #[serde(borrow)]
    vocab: Vec<(Cow<'a, str>, f64)>,
    #[serde(default)]
    byte_fallback: bool,
}

impl Unigram {
    /// Parse a `tokenizer.json`; an error when its layout is not the one this implements.
    pub fn from_json(text: &str) -> Result<Self> {
        let file: File = serde_json::from_str(text).context("not a Unigram tokenizer file")?;
        let m = &file.model;
        ensure!(
            m.kind == "Unigram" && !m.byte_fallback,
            "model is {} (byte fallback {})",
            m.kind,
            m.byte_fallback
        );
        let unk_id = m.unk_id.context("no unk_id")?;

        // Normaliser: Sequence[Precompiled, Replace(" {2,}" → " ")].
        let n = &file.normalizer;
        let parts = n["normalizers"]
            .as_array()
            .filter(|_| n["type"] == "Sequence")
            .context("normaliser is not a sequence")?;
        ensure!(parts.len() == 2, "normaliser has {} steps", parts.len());
        ensure!(
            parts[0]["type"] == "Precompiled",
            "first normaliser step is not Precompiled"
        );
        ensure!(
            parts[1]["type"] == "Replace"
                && parts[1]["pattern"]["Regex"] == " {2,}"
                && parts[1]["content"] == " ",
            "second normaliser step is not Replace(\" {{2,}}\", \" \")"
        );
        let charsmap = parts[0]["precompiled_charsmap"]
            .as_str()
            .context("no precompiled_charsmap")?;
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(charsmap)
            .context("precompiled_charsmap is not base64")?;
        let normalizer = spm_precompiled::Precompiled::from(&bytes)
            .map_err(|e| anyhow::anyhow!("precompiled_charsmap: {e}"))?;

        // Pre-tokeniser: Metaspace, ▁, always prepended, split.
        let p = &file.pre_tokenizer;
        ensure!(
            p["type"] == "Metaspace" && p["replacement"] == "▁",
            "pre-tokeniser is not Metaspace(▁)"
        );
        let prepend = matches!(
            (
                p["prepend_scheme"].as_str(),
                p["add_prefix_space"].as_bool()
            ),
            (Some("always"), Some(true) | None) | (None, Some(true))
        );
        ensure!(
            prepend && p["split"].as_bool().unwrap_or(true),
            "Metaspace does not always prepend and split"
        );

        // Post-processor: <s> A </s>.
        let single = file.post_processor["single"]
            .as_array()
            .filter(|_| file.post_processor["type"] == "TemplateProcessing");
        let single = single.context("post-processor is not a template")?;
        let special = |i: usize| single.get(i).and_then(|v| v["SpecialToken"]["id"].as_str());
        ensure!(
            single.len() == 3 && single[1]["Sequence"]["id"] == "A",
            "post-processor template is not <s> A </s>"
        );
        let (cls, sep) = (
            special(0).context("no leading special token")?,
            special(2).context("no trailing special token")?,
        );

        let mut pieces =
            HashMap::with_capacity_and_hasher(m.vocab.len(), ahash::RandomState::new());
        let mut max_piece = 0;
        let mut min_score = f64::INFINITY;
        for (id, (piece, score)) in m.vocab.iter().enumerate() {
            // A duplicated piece takes its last id and score, as in `tokenizers`.
            pieces.insert(Box::<str>::from(piece.as_ref()), (id as u32, *score));
            max_piece = max_piece.max(piece.len());
            min_score = min_score.min(*score);
        }
        ensure!(
            (unk_id as usize) < m.vocab.len(),
            "unk_id {unk_id} outside the vocabulary"
        );
        let mut specials = Vec::new();
        for a in &file.added_tokens {
            if a.single_word || a.lstrip || a.rstrip || a.normalized {
                bail!(
                    "added token {:?} has matching options this tokenizer does not implement",
                    a.content
                );
            }
            specials.push((a.content.to_string(), a.id));
        }
        specials.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        let id_of = |s: &str| {
            specials
                .iter()
                .find(|(c, _)| c == s)
                .map(|(_, id)| *id)
                .or_else(|| pieces.get(s).map(|p| p.0))
        };
        let cls_id = id_of(cls).with_context(|| format!("{cls} has no id"))?;
        let sep_id = id_of(sep).with_context(|| format!("{sep} has no id"))?;
        Ok(Self {
            pieces,
            max_piece,
            min_score,
            unk_id,
            specials,
            normalizer,
            cls_id,
            sep_id,
        })
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.specials
            .iter()
            .find(|(c, _)| c == token)
            .map(|(_, id)| *id)
            .or_else(|| self.pieces.get(token).map(|p| p.0))
    }

    /// Token ids of `text`, with `<s>` and `</s>` around them.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = vec![self.cls_id];
        let mut rest = text;
        while !rest.is_empty() {
            // The leftmost special token (longest at that position).
            let next = self
                .specials
                .iter()
                .filter_map(|(s, id)| rest.find(s.as_str()).map(|at| (at, s.len(), *id)))
                .min_by_key(|&(at, len, _)| (at, std::cmp::Reverse(len)));
            match next {
                Some((at, len, id)) => {
                    self.encode_plain(&rest[..at], &mut ids);
                    ids.push(id);
                    rest = &rest[at + len..];
                }
                None => {
                    self.encode_plain(rest, &mut ids);
                    rest = "";
                }
            }
        }
        ids.push(self.sep_id);
        ids
    }

    /// Normalise, pre-tokenise and tokenise a stretch of text without special tokens.
    fn encode_plain(&self, text: &str, ids: &mut Vec<u32>) {
        if text.is_empty() {
            return;
        }
        let normalized = self.normalizer.normalize_string(text);
        // Runs of two or more spaces become one, then spaces become ▁, one ▁ in front.
        let mut s = String::with_capacity(normalized.len() + 3);
        let mut spaces = 0;
        for c in normalized.chars() {
            if c == ' ' {
                spaces += 1;
                continue;
            }
            if spaces > 0 {
                s.push(SPACE);
                spaces = 0;
            }
            s.push(c);
        }
        if spaces > 0 {
            s.push(SPACE);
        }
        if s.is_empty() {
            return;
        }
        if !s.starts_with(SPACE) {
            s.insert(0, SPACE);
        }
        // Words: each starts at a ▁.
        let mut start = 0;
        for (i, _) in s.match_indices(SPACE).skip(1) {
            self.viterbi(&s[start..i], ids);
            start = i;
        }
        self.viterbi(&s[start..], ids);
    }

    /// The best segmentation of one word.
    fn viterbi(&self, word: &str, ids: &mut Vec<u32>) {
        #[derive(Clone, Copy)]
        struct Node {
            score: f64,
            start: usize,
            id: u32,
            set: bool,
        }
        let size = word.len();
        let unk_score = self.min_score - UNK_PENALTY;
        let mut best = vec![
            Node {
                score: 0.0,
                start: 0,
                id: 0,
                set: false
            };
            size + 1
        ];
        let mut at = 0;
        while at < size {
            let here = best[at].score;
            let char_len = word[at..].chars().next().map_or(1, char::len_utf8);
            let mut single = false;
            // Every piece starting here, shortest first (as a trie walk finds them).
            let mut end = at + char_len;
            let limit = (at + self.max_piece).min(size);
            while end <= limit {
                if let Some(&(id, score)) = self.pieces.get(&word[at..end]) {
                    let cand = here + score;
                    let node = &mut best[end];
                    if !node.set || cand > node.score {
                        *node = Node {
                            score: cand,
                            start: at,
                            id,
                            set: true,
                        };
                    }
                    if end - at == char_len {
                        single = true;
                    }
                }
                end += word[end..].chars().next().map_or(1, char::len_utf8);
            }
            if !single {
                let cand = here + unk_score;
                let node = &mut best[at + char_len];
                if !node.set || cand > node.score {
                    *node = Node {
                        score: cand,
                        start: at,
                        id: self.unk_id,
                        set: true,
                    };
                }
            }
            at += char_len;
        }
        let mut out = Vec::new();
        let mut end = size;
        while end > 0 {
            let node = best[end];
            // Consecutive unknowns fuse into one.
            if !(node.id == self.unk_id && out.last() == Some(&self.unk_id)) {
                out.push(node.id);
            }
            end = node.start;
        }
        ids.extend(out.into_iter().rev());
    }
}
