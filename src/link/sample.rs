//! Rows drawn for linking's background statistics ([`super::LinkState`]) and threshold
//! ([`super::Linker::calibrate`]) by a hash of their paragraph ids, not by their positions:
//! the same paragraphs are drawn whatever else the index holds, so adding a document
//! changes a sample by that document's rows only (a draw by position moved every row, and
//! with it the threshold and the per-language-pair map, of every link list).

use crate::index::Index;

/// A row's key for `salt`: FNV-1a of its paragraph id, then splitmix64's finaliser.
pub(super) fn key(index: &Index, row: usize, salt: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in index.paragraphs().id(row).bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Up to `m` of `rows`, those with the lowest keys for `salt`, as (key, row) in key order.
pub(super) fn lowest(
    index: &Index,
    rows: impl Iterator<Item = usize>,
    m: usize,
    salt: u64,
) -> Vec<(u64, usize)> {
    let mut keyed: Vec<(u64, usize)> = rows.map(|r| (key(index, r, salt), r)).collect();
    if keyed.len() > m {
        keyed.select_nth_unstable(m);
        keyed.truncate(m);
    }
    keyed.sort_unstable();
    keyed
}

/// `per` of `targets` (in key order) for a source whose key is `key`: those from the first
/// target key at or after it on, wrapping around (all of them when `per` covers them).
/// A source's window moves by at most one target when a target enters or leaves the sample.
pub(super) fn window(
    targets: &[(u64, usize)],
    key: u64,
    per: usize,
) -> impl Iterator<Item = usize> + '_ {
    let start = targets.partition_point(|t| t.0 < key);
    let n = targets.len();
    (0..per.min(n)).map(move |k| targets[(start + k) % n].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_wrap_and_stay_within_the_targets() {
        let t = [(10, 0), (20, 1), (30, 2), (40, 3)];
        assert_eq!(window(&t, 25, 3).collect::<Vec<_>>(), [2, 3, 0]);
        assert_eq!(window(&t, 45, 2).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(window(&t, 0, 9).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(window(&[], 5, 3).count(), 0);
    }
}
