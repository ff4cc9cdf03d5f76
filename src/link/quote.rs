//! Quotations: whether two texts share a run of identical characters
//! ([`crate::rank::Params::quote_run`]), tested for one source against many targets by a
//! rolling hash.

/// Whether `a` and `b` share a run of at least `run` identical non-space characters.
pub fn shares_run(a: &str, b: &str, run: usize) -> bool {
    Runs::of(a, run).in_text(b)
}

/// Every run of `run` non-space characters of one text, by a rolling hash, to test many
/// other texts against it ([`shares_run`]); a hash match is confirmed on the characters.
pub(super) struct Runs {
    chars: Vec<char>,
    run: usize,
    /// (hash, start) of every window, sorted.
    windows: Vec<(u64, u32)>,
}

/// Multiplier of the rolling hash (odd, so powers of it never vanish mod 2⁶⁴).
const HASH_BASE: u64 = 0x100_0000_01b3;

impl Runs {
    pub(super) fn of(text: &str, run: usize) -> Self {
        let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
        // Letters and digits before each position: a run of mostly other characters (a
        // table's rules, a row of dashes) quotes nothing.
        let mut words = vec![0u32; chars.len() + 1];
        for (i, c) in chars.iter().enumerate() {
            words[i + 1] = words[i] + c.is_alphanumeric() as u32;
        }
        let mut windows: Vec<(u64, u32)> = Self::hashes(&chars, run)
            .filter(|&(_, at)| {
                let at = at as usize;
                2 * (words[at + run] - words[at]) as usize >= run
            })
            .collect();
        windows.sort_unstable();
        Self {
            chars,
            run,
            windows,
        }
    }

    /// (hash, start) of each window of `run` characters of `chars`, in order.
    fn hashes(chars: &[char], run: usize) -> impl Iterator<Item = (u64, u32)> + '_ {
        let top = HASH_BASE.wrapping_pow(run.saturating_sub(1) as u32);
        let mut h = 0u64;
        chars.iter().enumerate().filter_map(move |(i, &c)| {
            if i >= run {
                h = h.wrapping_sub((chars[i - run] as u64).wrapping_mul(top));
            }
            h = h.wrapping_mul(HASH_BASE).wrapping_add(c as u64);
            (run > 0 && i + 1 >= run).then(|| (h, (i + 1 - run) as u32))
        })
    }

    /// Whether `text` shares a run with this one.
    pub(super) fn in_text(&self, text: &str) -> bool {
        if self.run == 0 || self.chars.len() < self.run {
            return false;
        }
        let other: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
        let run = self.run;
        let shared = Self::hashes(&other, run).any(|(h, at)| {
            let from = self.windows.partition_point(|w| w.0 < h);
            self.windows[from..]
                .iter()
                .take_while(|w| w.0 == h)
                .any(|w| {
                    self.chars[w.1 as usize..w.1 as usize + run]
                        == other[at as usize..at as usize + run]
                })
        });
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const QUOTE_RUN: usize = crate::rank::Params::MULTILINGUAL_E5_SMALL.quote_run;

    /// The rolling-hash runs agree with comparing every pair of windows, on texts that
    /// share runs of every length around the threshold, some mostly a row of dashes.
    #[test]
    fn rolling_runs_match_comparing_every_window() {
        fn brute(a: &str, b: &str, run: usize) -> bool {
            let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<Vec<_>>();
            let (a, b) = (squash(a), squash(b));
            let wordy = |w: &[char]| 2 * w.iter().filter(|c| c.is_alphanumeric()).count() >= run;
            run > 0
                && a.windows(run)
                    .any(|w| wordy(w) && b.windows(run).any(|v| v == w))
        }
        let base = "────────────────发展新质生产力是推动高质量发展的内在要求和重要着力点 The quick brown fox";
        let chars: Vec<char> = base.chars().collect();
        let mut state = 7u64;
        for case in 0..300 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let (from, len) = ((state >> 33) as usize % 36, (state >> 45) as usize % 40);
            let piece: String = chars[from..(from + len).min(chars.len())].iter().collect();
            let a = format!("甲乙{piece}丙丁");
            let b = if case % 3 == 0 {
                format!("x {piece} y")
            } else {
                "别的文字".repeat(8)
            };
            for run in [0, 1, 5, 20, 30] {
                assert_eq!(
                    shares_run(&a, &b, run),
                    brute(&a, &b, run),
                    "{a:?} {b:?} {run}"
                );
            }
        }
    }
    #[test]
    fn shared_runs() {
        let quote = "必须牢记高质量发展是新时代的硬道理，全面贯彻新发展理念";
        assert!(shares_run(
            &format!("他说：{quote}。"),
            &format!("会议强调，{quote}，推动经济发展"),
            20
        ));
        assert!(!shares_run(
            "高质量发展是新时代的硬道理",
            "新质生产力是创新起主导作用的先进生产力",
            20
        ));
        assert!(!shares_run("short", "short", 20));
        // A table's rules are no quotation; an address is.
        let rule = "├──────────┼──────────────────────────────┤";
        assert!(!shares_run(
            &format!("{rule} 名称"),
            &format!("{rule} 值"),
            QUOTE_RUN
        ));
        assert!(shares_run(
            "Full documentation https://www.gnu.org/software/coreutils/ls",
            "see https://www.gnu.org/software/coreutils/ls online",
            QUOTE_RUN
        ));
    }
}
