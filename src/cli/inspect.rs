//! `brainsurgery inspect PATH [--tree | --stats] [--json]`: prints what a checkpoint holds.
//!
//! Receives the parsed arguments, opens the checkpoint (a file of any format `io` reads, or a
//! directory of shards), renders the chosen view with [`crate::inspect`] and writes it to
//! stdout. Returns the exit code: 0 on success (also when stdout is closed early, as by
//! `| head`), 3 when the checkpoint cannot be opened or read, with the error rendered as a
//! diagnostic on stderr. Only `--stats` reads tensor bytes; the other views read headers alone.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{EXIT_IO, EXIT_OK};
use crate::diagnostics::{render_for_stderr, SourceMap};
use crate::inspect::{checkpoint_stats, json, render, Inventory};
use crate::io::{Checkpoint, IoError};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A checkpoint file (`.safetensors`, PyTorch `.bin`/`.pt`/`.pth`, NumPy `.npy`/`.npz`), or a
    /// directory of shards (with or without an index).
    pub path: PathBuf,
    /// Fold numbered layers of identical structure into ranges, e.g. `h.[0-11].attn.c_attn.weight`.
    #[arg(long, conflicts_with = "stats")]
    pub tree: bool,
    /// Read every tensor and show min, max, mean, std and NaN/Inf counts (computed in f64).
    #[arg(long)]
    pub stats: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the subcommand and returns the process exit code.
pub fn run(args: &InspectArgs) -> i32 {
    let text = match Checkpoint::open(&args.path).and_then(|checkpoint| output(args, &checkpoint)) {
        Ok(text) => text,
        Err(error) => {
            eprint!(
                "{}",
                render_for_stderr(&[error.to_diagnostic()], &SourceMap::new())
            );
            return EXIT_IO;
        }
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A reader that stops early (`inspect … | head`) is not an error of ours.
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("error: cannot write to stdout: {error}");
            EXIT_IO
        }
        _ => EXIT_OK,
    }
}

/// The complete text of the chosen view.
pub fn output(args: &InspectArgs, checkpoint: &Checkpoint) -> Result<String, IoError> {
    let inventory = Inventory::from_checkpoint(checkpoint);
    let stats = if args.stats {
        Some(checkpoint_stats(checkpoint)?)
    } else {
        None
    };
    let text = match (args.json, args.tree, &stats) {
        (true, true, _) => json::to_text(&json::tree_document(&inventory)),
        (true, false, stats) => {
            json::to_text(&json::tensors_document(&inventory, stats.as_deref()))
        }
        (false, true, _) => render::tree(&inventory),
        (false, false, Some(stats)) => render::stats_table(&inventory, stats),
        (false, false, None) => render::table(&inventory),
    };
    Ok(text)
}
