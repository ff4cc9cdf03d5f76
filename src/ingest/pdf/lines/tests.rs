use super::*;

#[test]
fn radicals_fold_to_ideographs() {
    assert_eq!(fold("第⼗⼀次"), "第十一次");
    assert_eq!(fold("⻢兴瑞"), "马兴瑞");
    assert_eq!(fold("⽣产⼒"), "生产力");
    assert_eq!(fold("abc，。"), "abc，。");
    assert_eq!(fold("报告\u{2E3A}2024年"), "报告——2024年");
}

/// TeX's accents: a glyph of its own over the letter, before it or after it; the
/// dotless i under an acute; an accent alone, or beside a letter it does not touch,
/// stays as it is.
#[test]
fn accents_set_over_letters_join_them() {
    let text = |glyphs: &[Glyph]| glyphs.iter().map(|g| g.text.as_str()).collect::<String>();
    // "Fran¸cois": the cedilla drawn at the c's place, before it.
    let mut g = set("Francois", 0.0, 100.0, 10.0);
    let c = g[4].clone();
    g.insert(
        4,
        Glyph {
            text: "¸".into(),
            ..c.clone()
        },
    );
    compose_accents(&mut g);
    assert_eq!(text(&g), "François");
    // An acute after its letter, over it; the dotless i.
    let mut g = set("caf", 0.0, 100.0, 10.0);
    let f = g[2].clone();
    let at = |text: &str, from: f64, to: f64| Glyph {
        text: text.into(),
        x: f.end + from,
        end: f.end + to,
        ..f.clone()
    };
    g.extend([
        at("e", 0.0, 5.0),
        at("´", 1.0, 4.0),
        at("´", 6.0, 9.0),
        at("ı", 5.0, 10.0),
    ]);
    compose_accents(&mut g);
    assert_eq!(text(&g), "caféí");
    // "it´s" and "~/x^2" set apart, a lone "¨": unchanged.
    let mut g = set("it´s ~/x^2 ¨", 0.0, 100.0, 10.0);
    compose_accents(&mut g);
    assert_eq!(text(&g), "it´s ~/x^2 ¨");
}

/// One glyph a character, each `size / 2` wide, from `x` on the baseline `y`.
fn set(text: &str, x: f64, y: f64, size: f64) -> Vec<Glyph> {
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            let x = x + i as f64 * size / 2.0;
            Glyph {
                x,
                y,
                size,
                end: x + size / 2.0,
                text: c.to_string().into(),
                bold: false,
                mcid: None,
            }
        })
        .collect()
}

#[test]
fn a_raised_footnote_number_does_not_move_the_baseline() {
    let mut glyphs = set("3", 95.9, 698.5, 9.0);
    glyphs.extend(set("some of the consoles", 104.9, 702.3, 9.0));
    let refs: Vec<&Glyph> = glyphs.iter().collect();
    let l = line_of(&refs);
    assert_eq!(l.y, 702.3);
    assert_eq!(l.text, "3 some of the consoles");
    assert_eq!(l.starts[..3], [104.9, 127.4, 140.9]);
    assert_eq!(l.term_end, None, "a space is no term's gap");
}

#[test]
fn a_definition_term_ends_where_its_description_starts() {
    let mut glyphs = set("y ~ A/B", 90.0, 317.0, 11.0);
    glyphs.extend(set("Two factor model", 147.6, 317.0, 11.0));
    let refs: Vec<&Glyph> = glyphs.iter().collect();
    let l = line_of(&refs);
    assert_eq!(l.term_end, Some(147.6));
    let under = Line {
        x0: 147.6,
        ..Line::default()
    };
    assert!(l.describes(&under) && l.hangs(&under));
}
