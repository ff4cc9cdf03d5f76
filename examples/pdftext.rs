//! Print the text xref reads from a PDF, pages separated by form feeds:
//! `cargo run --release --example pdftext -- file.pdf`.
fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: pdftext FILE.pdf");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    match xref::ingest::pdf::pages(&bytes) {
        Ok(pages) => print!("{}", pages.join("\n\x0c")),
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    }
}
