//! A book's navigation: its printed table of contents and index, which give no passages.

use super::{key, Entry, Pdf, Role, Roles};

/// Page numbers and nothing else: "5, 11, 12–14,".
pub(super) fn is_page_list(s: &str) -> bool {
    let s = s.trim();
    s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_digit() || ", –-".contains(c))
}

/// The book's printed table of contents: outline titles followed by a page number, and
/// lines with dot leaders; an index's bar of initials.
pub(super) fn mark_navigation(pdf: &Pdf, entries: &[&Entry], role: &mut Roles) {
    let titles: std::collections::HashSet<String> = entries.iter().map(|e| key(&e.title)).collect();
    for (p, page) in pdf.pages.iter().enumerate() {
        for (i, l) in page.lines.iter().enumerate() {
            if role[p][i] != Role::Body {
                continue;
            }
            let t = l.text.trim_end();
            // An index entry whose short leader the plain rule below misses:
            // "assignment. . 5, 11, 12, 20".
            let entry = t.rsplit_once(". .").is_some_and(|(head, pages)| {
                !head.trim().is_empty() && is_page_list(pages.trim_start_matches([' ', '.']))
            });
            if entry || crate::ingest::assemble::is_initials_bar(t) {
                role[p][i] = Role::Navigation;
                continue;
            }
            let leaders = t.contains(". . . .")
                || t.contains("....")
                || t.contains("···")
                || t.contains("…….");
            let Some(rest) = t.strip_suffix(|c: char| c.is_ascii_digit() || "ivxlcdm".contains(c))
            else {
                continue;
            };
            let rest = rest.trim_end_matches(|c: char| c.is_ascii_digit() || "ivxlcdm".contains(c));
            let k = key(rest);
            let titled = titles
                .iter()
                .any(|t| !t.is_empty() && k.ends_with(t.as_str()) && k.len() <= t.len() + 16);
            if leaders || titled && rest.ends_with(|c: char| c.is_whitespace() || c == '.') {
                role[p][i] = Role::Navigation;
            }
        }
        // On a page of contents or index, a letter alone is the heading of an index's
        // group of entries, and a line of page numbers the rest of an entry's.
        let navigation = role[p].iter().filter(|&&r| r == Role::Navigation).count();
        if navigation >= 3 {
            for (i, l) in page.lines.iter().enumerate() {
                let t = l.text.trim();
                let mut c = t.chars();
                let letter = c.next().is_some() && c.next().is_none();
                if role[p][i] == Role::Body && (letter || is_page_list(t)) {
                    role[p][i] = Role::Navigation;
                }
            }
        }
    }
}
