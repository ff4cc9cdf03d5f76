//! Print a PDF's lines as xref's PDF reader sees them: page, baseline, left and right
//! edges, font size, fixed pitch, wide gaps and text. For looking into how a PDF is read.
//!
//! cargo run --release --example pdf_lines -- FILE.pdf [FIRST_PAGE [LAST_PAGE]]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: pdf_lines FILE.pdf [FIRST_PAGE [LAST_PAGE]] (pages 1-based)");
        std::process::exit(2);
    };
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1)
    });
    let pdf = xref::ingest::pdf::read(&bytes).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1)
    });
    let first: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let last: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(first);
    for e in pdf
        .outline
        .iter()
        .filter(|e| e.page.is_some_and(|p| p + 1 >= first && p < last))
    {
        println!(
            "outline d{} p{} top {:?}: {}",
            e.depth,
            e.page.unwrap() + 1,
            e.top,
            e.title
        );
    }
    for (p, page) in pdf
        .pages
        .iter()
        .enumerate()
        .take(last)
        .skip(first.saturating_sub(1))
    {
        println!(
            "--- page {} ({:.0} x {:.0})",
            p + 1,
            page.width,
            page.height
        );
        for l in &page.lines {
            println!(
                "{:6.1} {:5.1}-{:5.1} {:4.1}{}{} {}",
                l.y,
                l.x0,
                l.x1,
                l.size,
                if l.mono { " mono" } else { "" },
                if l.wide_gaps > 0 {
                    format!(" gaps{}", l.wide_gaps)
                } else {
                    String::new()
                },
                l.text
            );
        }
    }
}
