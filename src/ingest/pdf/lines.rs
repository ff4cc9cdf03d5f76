//! Positioned glyphs into lines ([`Line`]) and pages ([`Page`]): the baselines, gaps,
//! accents and folded characters of a page's text layer.

use compact_str::CompactString;
use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};

use super::{book, tags};

/// One glyph: baseline position (y down from the top), font size, advance, text.
#[derive(Clone)]
struct Glyph {
    x: f64,
    y: f64,
    size: f64,
    end: f64,
    text: CompactString,
    bold: bool,
    mcid: Option<i64>,
}

/// Collects the glyphs of every page pdf-extract decodes, as lines at the end of each page.
#[derive(Default)]
pub(super) struct Pages {
    height: f64,
    width: f64,
    glyphs: Vec<Glyph>,
    pub(super) done: Vec<Page>,
    /// Whether the characters now set are in a bold face.
    bold: bool,
    /// The marked-content id of the characters now set (tagged PDFs).
    mcid: Option<i64>,
}

impl OutputDev for Pages {
    fn begin_page(
        &mut self,
        _: u32,
        media_box: &MediaBox,
        _: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        self.height = media_box.ury - media_box.lly;
        self.width = media_box.urx - media_box.llx;
        self.glyphs.clear();
        Ok(())
    }
    fn end_page(&mut self) -> Result<(), OutputError> {
        let mut glyphs = std::mem::take(&mut self.glyphs);
        compose_accents(&mut glyphs);
        self.done.push(Page {
            height: self.height,
            width: self.width,
            lines: lines(&glyphs),
        });
        // The next page reuses the allocation.
        glyphs.clear();
        self.glyphs = glyphs;
        Ok(())
    }
    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        text: &str,
    ) -> Result<(), OutputError> {
        let size = ((trm.m11 * font_size) * (trm.m22 * font_size)).abs().sqrt();
        let x = trm.m31;
        self.glyphs.push(Glyph {
            x,
            y: self.height - trm.m32,
            size,
            end: x + width * size,
            text: fold(text),
            bold: self.bold,
            mcid: self.mcid,
        });
        Ok(())
    }
    fn set_bold(&mut self, bold: bool) {
        self.bold = bold;
    }
    fn set_marked_content(&mut self, mcid: Option<i64>) {
        self.mcid = mcid;
    }
    fn begin_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

/// One page: its size and its lines in content order.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub height: f64,
    pub width: f64,
    pub lines: Vec<Line>,
}

/// One line of a page: glyphs on one baseline, consecutive in the content stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    /// Baseline, from the top of the page.
    pub y: f64,
    /// Left edge of the first glyph and right edge of the rightmost one.
    pub x0: f64,
    pub x1: f64,
    /// The font size most of its characters are set in.
    pub size: f64,
    pub text: String,
    /// Set in a fixed-pitch font: every Latin letter and digit has the same advance (code
    /// listings, terminal sessions).
    pub mono: bool,
    /// Gaps wider than two font sizes between glyphs: table cells laid out on one line.
    pub wide_gaps: usize,
    /// Left edges of its first [`WORD_STARTS`] words after the first: where a hanging
    /// indent (under a bullet, a footnote's number, a definition's term) may align.
    pub starts: [f64; WORD_STARTS],
    /// Where its text resumes after the widest gap among those words, if wider than a
    /// font size: a definition's description after its term ("y ~ A/B   Two factor…").
    pub term_end: Option<f64>,
    /// Set in a bold face, nine in ten of its characters at least.
    pub bold: bool,
    /// The marked-content id of its first glyph that has one (tagged PDFs).
    pub mcid: Option<i64>,
    /// The block of the structure tree its first marked glyph belongs to (tagged PDFs;
    /// [`tags`]).
    pub tag: Option<tags::Tag>,
}

/// How many word starts a [`Line`] keeps.
pub const WORD_STARTS: usize = 6;

/// Glyphs in content order into lines: a new line when the baseline moves by more than
/// half the font size; a space where the gap to the previous glyph exceeds 15 % of the
/// font size beyond the line's usual gap between glyphs (zero where the font's advance
/// widths are right; where a font's widths are too narrow, as in some printed fixed-pitch
/// fonts, every glyph would otherwise stand apart: "m e a s u r e").
fn lines(glyphs: &[Glyph]) -> Vec<Line> {
    let visible: Vec<&Glyph> = glyphs
        .iter()
        .filter(|g| !g.text.trim().is_empty() || g.text == " ")
        .collect();
    // Runs of glyphs on one baseline.
    let mut runs: Vec<&[&Glyph]> = Vec::new();
    let mut start = 0;
    for i in 1..=visible.len() {
        let breaks = i == visible.len() || {
            let (l, g) = (visible[i - 1], visible[i]);
            (g.y - l.y).abs() > l.size.max(g.size) * 0.5
        };
        if breaks {
            if i > start {
                runs.push(&visible[start..i]);
            }
            start = i;
        }
    }
    runs.into_iter().map(line_of).collect()
}

/// One line from its glyphs (see [`lines`]).
fn line_of(glyphs: &[&Glyph]) -> Line {
    // The usual gap between consecutive glyphs (spaces aside): the median, not below 0.
    let mut gaps: Vec<f64> = glyphs
        .windows(2)
        .filter(|w| w[0].text != " " && w[1].text != " ")
        .map(|w| w[1].x - w[0].end)
        .collect();
    gaps.sort_by(f64::total_cmp);
    let usual = gaps.get(gaps.len() / 2).copied().unwrap_or(0.0).max(0.0);
    let first = glyphs[0];
    let text = first.text.to_string();
    let mut line = Line {
        y: first.y,
        x0: first.x,
        x1: first.end,
        text,
        ..Line::default()
    };
    let (mut words, mut widest) = (0, 0.0);
    for w in glyphs.windows(2) {
        let (l, g) = (w[0], w[1]);
        if g.x > l.end + usual + g.size * 0.15 && !line.text.ends_with(' ') && g.text != " " {
            line.text.push(' ');
        }
        if g.text != " " && line.text.ends_with(' ') && words < WORD_STARTS {
            line.starts[words] = g.x;
            words += 1;
            let gap = g.x - l.end;
            if gap > g.size && gap > widest {
                widest = gap;
                line.term_end = Some(g.x);
            }
        }
        if g.x > l.end + usual + g.size * 2.0 && g.text != " " {
            line.wide_gaps += 1;
        }
        line.text.push_str(&g.text);
        line.x0 = line.x0.min(g.x);
        line.x1 = line.x1.max(g.end);
    }
    // The baseline: the first glyph's unless it stands raised or lowered (a footnote's
    // number in superscript), then the middle glyph's.
    let on_first = glyphs
        .iter()
        .filter(|g| (g.y - first.y).abs() <= g.size * 0.1)
        .count();
    if on_first * 2 < glyphs.len() {
        line.y = glyphs[glyphs.len() / 2].y;
    }
    line.size = most_common_size(glyphs.iter().filter(|g| g.text != " ").map(|g| (g.size, 1)));
    let (inked, bold) = glyphs
        .iter()
        .filter(|g| g.text != " ")
        .fold((0, 0), |(n, b), g| (n + 1, b + g.bold as usize));
    line.bold = inked > 0 && bold * 10 >= inked * 9;
    line.mcid = glyphs.iter().find_map(|g| g.mcid);
    // Fixed pitch: every Latin letter and digit advances the same. Lines mostly in other
    // scripts are not code (CJK fonts' Latin glyphs are often all half-width).
    let advances: Vec<f64> = glyphs
        .iter()
        .filter(|g| {
            g.text.len() == 1 && g.text.as_bytes()[0].is_ascii_alphanumeric() && g.size > 0.0
        })
        .map(|g| (g.end - g.x) / g.size)
        .collect();
    let ascii = line.text.chars().filter(|c| c.is_ascii_graphic()).count();
    let seen = line.text.chars().filter(|c| !c.is_whitespace()).count();
    line.mono = advances.len() >= 6 && ascii * 10 >= seen * 9 && {
        let (lo, hi) = advances
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), a| (lo.min(*a), hi.max(*a)));
        hi - lo <= 0.02 * hi
    };
    line
}

/// The font size (to the half point) with the most weight among `(size, weight)` pairs;
/// 0 for none.
pub fn most_common_size(sizes: impl Iterator<Item = (f64, usize)>) -> f64 {
    let mut tally: Vec<(f64, usize)> = Vec::new();
    for (size, n) in sizes {
        let size = (size * 2.0).round() / 2.0;
        match tally.iter_mut().find(|(s, _)| *s == size) {
            Some((_, c)) => *c += n,
            None => tally.push((size, n)),
        }
    }
    tally
        .iter()
        .max_by_key(|(_, n)| *n)
        .map_or(0.0, |(s, _)| *s)
}

impl Line {
    /// Whether `next` stands under the description of this line's definition (see
    /// [`Line::term_end`]).
    pub fn describes(&self, next: &Line) -> bool {
        self.term_end.is_some_and(|x| self.aligned(x, next))
    }

    /// Whether `next`, standing right of this line's left edge, aligns with one of its
    /// first words: a hanging indent under a bullet, a footnote's number or a term.
    pub fn hangs(&self, next: &Line) -> bool {
        self.starts
            .iter()
            .any(|&x| x > self.x0 + self.tolerance() && self.aligned(x, next))
    }

    /// Whether `next` starts at `x` of this line, within [`Line::tolerance`].
    fn aligned(&self, x: f64, next: &Line) -> bool {
        (x - next.x0).abs() <= self.tolerance()
    }

    /// How far apart two left edges may stand and still align: a fifth of the font size.
    fn tolerance(&self) -> f64 {
        self.size.max(1.0) * 0.2
    }
}

impl Page {
    /// The page as plain text: its lines, a blank line before unusually wide gaps.
    pub fn text(&self) -> String {
        // The usual pitch: the median positive distance between consecutive baselines.
        let lines = &self.lines;
        let mut pitches: Vec<f64> = lines
            .windows(2)
            .map(|w| w[1].y - w[0].y)
            .filter(|d| *d > 0.0)
            .collect();
        pitches.sort_by(f64::total_cmp);
        let pitch = pitches.get(pitches.len() / 2).copied().unwrap_or(0.0);
        let mut out = String::new();
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
                let prev = &lines[i - 1];
                let gap = line.y - prev.y;
                if pitch > 0.0 && gap > pitch * 1.6 || self.opens_paragraph(prev, line) {
                    out.push('\n');
                }
            }
            out.push_str(&line.text);
        }
        out
    }

    /// Whether `next` opens a paragraph after `prev` where no wider gap says so: after a
    /// listing, or in a column a first line indented after a sentence's end, or at the top
    /// of the next column (a page of two or more columns) a line indented from its
    /// column's left edge, or one after a sentence ended short of the column's right edge.
    fn opens_paragraph(&self, prev: &Line, next: &Line) -> bool {
        let size = prev.size.max(next.size).max(1.0);
        let ends = crate::ingest::text::ends_terminal(prev.text.trim_end());
        // A listing's end, or one after a sentence's end.
        if prev.mono != next.mono && (prev.mono || ends) {
            return true;
        }
        // In one column: a first line indented from the line above, after a sentence's end.
        if next.y > prev.y && next.y - prev.y < size * 2.0 {
            return ends
                && next.x0 > prev.x0 + size * book::INDENT
                && next.x0 < prev.x0 + size * book::FIRST_LINE_INDENT
                && book::same_size(prev.size, next.size);
        }
        if next.y >= prev.y - size || next.x0 < prev.x1 {
            return false;
        }
        let indented = next.x0 > self.column(next).0 + size * book::INDENT;
        let ended = prev.x1 < self.column(prev).1 - size * 2.0 && ends;
        indented || ended
    }

    /// The left and right edges of the column `line` stands in: the furthest that lines of
    /// its size overlapping it reach (the text block's, on a page of one column).
    pub fn column(&self, line: &Line) -> (f64, f64) {
        self.lines
            .iter()
            .filter(|m| book::same_size(m.size, line.size) && m.x0 < line.x1 && m.x1 > line.x0)
            .fold((line.x0, line.x1), |(a, b), m| (a.min(m.x0), b.max(m.x1)))
    }
}

/// The combining mark of a spacing accent as TeX sets one: a glyph of its own drawn
/// over (or under) the letter it accents.
fn combining(accent: &str) -> Option<char> {
    Some(match accent {
        "´" => '\u{301}',
        "`" => '\u{300}',
        // A font's own encoding may name TeX's circumflex and tilde as the ASCII ones.
        "ˆ" | "^" => '\u{302}',
        "˜" | "~" => '\u{303}',
        "¯" => '\u{304}',
        "˘" => '\u{306}',
        "˙" => '\u{307}',
        "¨" => '\u{308}',
        "˚" => '\u{30A}',
        "˝" => '\u{30B}',
        "ˇ" => '\u{30C}',
        "¸" => '\u{327}',
        "˛" => '\u{328}',
        _ => return None,
    })
}

/// Accents set as glyphs of their own over or under a letter (TeX's `\'e`, `\c{c}`:
/// "Fran¸cois", "’´e’") joined to that letter ("François", "’é’"): an accent glyph
/// centred over the letter drawn just before or after it on the same line. The dotless i and
/// j TeX accents stand for i and j.
fn compose_accents(glyphs: &mut Vec<Glyph>) {
    use unicode_normalization::UnicodeNormalization;
    // Over the letter: the accent's middle within the letter's advance (a "~" or "`" that
    // merely touches the next letter, "~pstandard", "``Unstable``", is not over it).
    let over = |accent: &Glyph, letter: &Glyph| {
        let middle = (accent.x + accent.end) / 2.0;
        letter.x < middle
            && middle < letter.end
            && (accent.y - letter.y).abs() < accent.size.max(letter.size)
    };
    let letter = |g: &Glyph| {
        let mut c = g.text.chars();
        matches!((c.next(), c.next()), (Some(c), None) if c.is_alphabetic())
    };
    let mut i = 0;
    while i < glyphs.len() {
        let Some(mark) = combining(&glyphs[i].text) else {
            i += 1;
            continue;
        };
        let base = [i + 1, i.wrapping_sub(1)].into_iter().find(|&j| {
            glyphs
                .get(j)
                .is_some_and(|g| letter(g) && over(&glyphs[i], g))
        });
        let Some(j) = base else {
            i += 1;
            continue;
        };
        let base = match glyphs[j].text.as_str() {
            "ı" => "i",
            "ȷ" => "j",
            other => other,
        };
        let composed: CompactString = base.chars().chain([mark]).nfc().collect();
        glyphs[j].text = composed;
        glyphs.remove(i);
        // The letter before the accent is now at `i - 1`, the one after it at `i`.
    }
}

/// Kangxi radicals (U+2F00–U+2FD5), CJK radicals supplement (U+2E80–U+2EF3) and CJK
/// compatibility ideographs (U+F900–U+FAFF) to the unified ideographs they stand for; the
/// two- and three-em dashes (U+2E3A/B) to the "——" that Chinese text types.
fn fold(s: &str) -> CompactString {
    use unicode_normalization::char::decompose_compatible;
    let needs = |c: char| matches!(c as u32, 0x2E3A | 0x2E3B | 0x2E80..=0x2EF3 | 0x2F00..=0x2FD5 | 0xF900..=0xFAFF);
    if !s.chars().any(needs) {
        return s.into();
    }
    let mut out = CompactString::with_capacity(s.len());
    for c in s.chars() {
        // Two- and three-em dashes: fonts draw "——" as one glyph.
        match c {
            '\u{2E3A}' => {
                out.push_str("——");
                continue;
            }
            '\u{2E3B}' => {
                out.push_str("———");
                continue;
            }
            _ => {}
        }
        if needs(c) {
            let mut d = String::new();
            decompose_compatible(c, |x| d.push(x));
            if d.chars().count() == 1 && !d.starts_with(c) {
                out.push_str(&d);
                continue;
            }
            if let Some(u) = radical_supplement(c) {
                out.push(u);
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// The few CJK radicals supplement forms with no compatibility decomposition that fonts
/// use for common simplified characters.
fn radical_supplement(c: char) -> Option<char> {
    Some(match c {
        '⻅' => '见',
        '⻉' => '贝',
        '⻋' => '车',
        '⻓' => '长',
        '⻔' => '门',
        '⻘' => '青',
        '⻙' => '韦',
        '⻚' => '页',
        '⻛' => '风',
        '⻜' => '飞',
        '⻝' => '食',
        '⻢' => '马',
        '⻣' => '骨',
        '⻤' => '鬼',
        '⻥' => '鱼',
        '⻦' => '鸟',
        '⻧' => '卤',
        '⻨' => '麦',
        '⻩' => '黄',
        '⻬' => '齐',
        '⻮' => '齿',
        '⻯' => '龙',
        '⻰' => '龙',
        '⻁' => '虎',
        '⻳' => '龟',
        '⻆' => '角',
        '⻄' => '西',
        '⺠' => '民',
        '⺟' => '母',
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
