//! The lexical channel: BM25 over CJK character bigrams and Latin words.
//!
//! Chinese has no spaces; instead of a segmentation dictionary, runs of CJK characters are
//! indexed as overlapping character bigrams (a lone character as itself) — the classic CJK
//! analyser of search engines, robust to words missing from any dictionary (names of
//! meetings, new policy terms). Latin text is lower-cased words; numbers keep their decimal
//! point and percent sign (`5.3%`), so short exact questions about figures match.
//! The postings are persisted in the index generation as `lexical.json`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

const K1: f32 = 1.2;
const B: f32 = 0.75;

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// The terms of a text, in order (with repeats).
pub fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_cjk(c) {
            let start = i;
            while i < chars.len() && is_cjk(chars[i]) {
                i += 1;
            }
            let run = &chars[start..i];
            if run.len() == 1 {
                out.push(run[0].to_string());
            } else {
                out.extend(run.windows(2).map(|w| w.iter().collect::<String>()));
            }
        } else if c.is_alphanumeric() {
            let start = i;
            while i < chars.len() && !is_cjk(chars[i]) {
                let c = chars[i];
                let decimal = (c == '.' || c == ',')
                    && i > start
                    && chars[i - 1].is_ascii_digit()
                    && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
                if c.is_alphanumeric() || decimal {
                    i += 1;
                } else {
                    break;
                }
            }
            let mut word: String = chars[start..i]
                .iter()
                .collect::<String>()
                .to_lowercase()
                .replace(',', "");
            if chars.get(i) == Some(&'%') && word.chars().all(|c| c.is_ascii_digit() || c == '.') {
                word.push('%');
                i += 1;
            }
            out.push(word);
        } else {
            i += 1;
        }
    }
    out
}

/// BM25 postings over a list of texts (rows).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Lexical {
    doc_len: Vec<u32>,
    avgdl: f32,
    /// term → (row, term frequency), rows ascending.
    postings: HashMap<String, Vec<(u32, u32)>>,
}

impl Lexical {
    pub fn build<S: AsRef<str>>(texts: &[S]) -> Self {
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut doc_len = Vec::with_capacity(texts.len());
        for (row, t) in texts.iter().enumerate() {
            let toks = tokens(t.as_ref());
            doc_len.push(toks.len() as u32);
            let mut tf: HashMap<String, u32> = HashMap::new();
            for tok in toks {
                *tf.entry(tok).or_default() += 1;
            }
            for (term, n) in tf {
                postings.entry(term).or_default().push((row as u32, n));
            }
        }
        let avgdl = doc_len.iter().map(|&l| l as f32).sum::<f32>() / doc_len.len().max(1) as f32;
        Self {
            doc_len,
            avgdl,
            postings,
        }
    }

    pub fn len(&self) -> usize {
        self.doc_len.len()
    }

    pub fn is_empty(&self) -> bool {
        self.doc_len.is_empty()
    }

    /// The distinct terms of `text`; `shareable_only` keeps those that a text in another
    /// script can contain too (Latin words, identifiers and numbers: no CJK bigrams).
    pub fn terms(text: &str, shareable_only: bool) -> Vec<String> {
        let mut terms = tokens(text);
        if shareable_only {
            terms.retain(|t| !t.chars().next().is_some_and(is_cjk));
        }
        terms.sort();
        terms.dedup();
        terms
    }

    /// BM25 scores of every row that shares a term with `query` (unsorted).
    pub fn scores(&self, query: &str) -> HashMap<usize, f32> {
        self.scores_of(&Self::terms(query, false))
    }

    /// BM25 scores of every row containing one of `terms` (distinct), unsorted.
    pub fn scores_of(&self, terms: &[String]) -> HashMap<usize, f32> {
        let n = self.len() as f32;
        let mut acc: HashMap<usize, f32> = HashMap::new();
        for t in terms {
            let Some(list) = self.postings.get(t) else {
                continue;
            };
            let df = list.len() as f32;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(row, tf) in list {
                let tf = tf as f32;
                let dl = self.doc_len[row as usize] as f32;
                let s =
                    idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * dl / self.avgdl.max(1.0)));
                *acc.entry(row as usize).or_default() += s;
            }
        }
        acc
    }

    /// The BM25 score a row would get for matching every term of `query` once at average
    /// length: the scale that makes scores comparable across queries.
    pub fn ideal(&self, query: &str) -> f32 {
        self.ideal_of(&Self::terms(query, false))
    }

    /// [`Lexical::ideal`] of distinct `terms`.
    pub fn ideal_of(&self, terms: &[String]) -> f32 {
        let n = self.len() as f32;
        terms
            .iter()
            .map(|t| {
                let df = self.postings.get(t).map_or(0.0, |l| l.len() as f32);
                ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
            })
            .sum()
    }

    /// The `k` best rows by BM25, best first.
    pub fn search(
        &self,
        query: &str,
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<(usize, f32)> {
        let mut hits: Vec<(usize, f32)> = self
            .scores(query)
            .into_iter()
            .filter(|(r, _)| allow.is_none_or(|f| f(*r)))
            .collect();
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.truncate(k);
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenises_cjk_bigrams_words_and_numbers() {
        assert_eq!(tokens("金融监管"), ["金融", "融监", "监管"]);
        assert_eq!(tokens("龙"), ["龙"]);
        assert_eq!(
            tokens("GDP增长5.3%，Green Finance"),
            ["gdp", "增长", "5.3%", "green", "finance"]
        );
        assert_eq!(tokens("1,200名代表"), ["1200", "名代", "代表"]);
    }

    #[test]
    fn bm25_prefers_the_matching_row() {
        let lx = Lexical::build(&[
            "必须加强金融监管",
            "绿色发展是高质量发展的底色",
            "金融服务实体经济",
        ]);
        let hits = lx.search("金融监管要加强", 3, None);
        assert_eq!(hits[0].0, 0);
        assert!(hits.iter().all(|h| h.0 != 1));
        let only2 = |r: usize| r == 2;
        assert_eq!(
            lx.search("金融监管", 3, Some(&only2))
                .iter()
                .map(|h| h.0)
                .collect::<Vec<_>>(),
            [2]
        );
    }
}
