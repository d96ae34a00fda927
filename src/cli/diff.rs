//! `brainsurgery diff A B [--eps E] [--json]`: compares two checkpoints tensor by tensor.
//!
//! Receives two checkpoint paths (files or shard directories). Pairs tensors by name and reports
//! the names found on one side only, then for each common name a type difference (dtype or
//! shape), or a value difference: exact by value without `--eps` (+0.0 equals −0.0, NaN equals
//! nothing, as `torch.equal`), or `max |a − b| > eps` computed in f64 with it. The text is the
//! same report as the plan's `diff` step; `--json` prints one object instead. Tensors are compared
//! in parallel and each tensor's mapped pages are released once compared, so memory stays small.
//! Exit code 0 when the checkpoints are equal, 1 when they differ, 2 on bad usage, 3 when a
//! checkpoint cannot be opened or read.

use std::path::PathBuf;

use clap::Args;
use rayon::prelude::*;
use serde_json::json;

use super::{EXIT_IO, EXIT_OK, EXIT_PLAN, EXIT_USAGE};
use crate::diagnostics::{render_for_stderr, SourceMap};
use crate::exec::sinks::{render_diff, value_difference};
use crate::exec::TensorView;
use crate::io::{Checkpoint, IoError};

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The left checkpoint.
    pub left: PathBuf,
    /// The right checkpoint.
    pub right: PathBuf,
    /// Treat values as equal when `max |a - b| <= EPS` (computed in f64).
    #[arg(long, value_name = "EPS")]
    pub eps: Option<f64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What the comparison found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    pub missing_left: Vec<String>,
    pub missing_right: Vec<String>,
    /// `(name, reason)` for each common name that differs, by name.
    pub differing: Vec<(String, String)>,
}

impl Comparison {
    pub fn is_equal(&self) -> bool {
        self.missing_left.is_empty() && self.missing_right.is_empty() && self.differing.is_empty()
    }

    pub fn to_text(&self) -> String {
        let differing: Vec<String> = self
            .differing
            .iter()
            .map(|(name, reason)| format!("{name}: {reason}"))
            .collect();
        render_diff(&self.missing_left, &self.missing_right, &differing)
    }

    pub fn to_json(&self) -> String {
        let differing: Vec<_> = self
            .differing
            .iter()
            .map(|(name, reason)| json!({"name": name, "reason": reason}))
            .collect();
        let document = json!({
            "equal": self.is_equal(),
            "missing_left": self.missing_left,
            "missing_right": self.missing_right,
            "differing": differing,
        });
        format!("{document}\n")
    }
}

/// Compares two opened checkpoints.
pub fn compare(
    left: &Checkpoint,
    right: &Checkpoint,
    eps: Option<f64>,
) -> Result<Comparison, IoError> {
    let names = |checkpoint: &Checkpoint| -> Vec<String> {
        checkpoint
            .tensors()
            .iter()
            .map(|t| t.name.clone())
            .collect()
    };
    let (left_names, right_names) = (names(left), names(right));
    let missing_left = right_names
        .iter()
        .filter(|name| left.tensor(name).is_none())
        .cloned()
        .collect();
    let missing_right = left_names
        .iter()
        .filter(|name| right.tensor(name).is_none())
        .cloned()
        .collect();
    let common: Vec<&String> = left_names
        .iter()
        .filter(|name| right.tensor(name).is_some())
        .collect();
    let results: Vec<Option<(String, String)>> = common
        .par_iter()
        .map(|name| compare_one(left, right, name, eps))
        .collect::<Result<_, IoError>>()?;
    Ok(Comparison {
        missing_left,
        missing_right,
        differing: results.into_iter().flatten().collect(),
    })
}

fn compare_one(
    left: &Checkpoint,
    right: &Checkpoint,
    name: &str,
    eps: Option<f64>,
) -> Result<Option<(String, String)>, IoError> {
    let (Some(a), Some(b)) = (left.tensor(name), right.tensor(name)) else {
        return Ok(None);
    };
    if a.ty.shape != b.ty.shape {
        return Ok(Some((
            name.to_string(),
            format!("shape {} != {}", a.ty.shape, b.ty.shape),
        )));
    }
    if a.ty.dtype != b.ty.dtype {
        return Ok(Some((
            name.to_string(),
            format!("dtype {} != {}", a.ty.dtype, b.ty.dtype),
        )));
    }
    let (left_bytes, right_bytes) = (left.read(name)?, right.read(name)?);
    let outcome = match (
        TensorView::new(a.ty.clone(), &left_bytes),
        TensorView::new(b.ty.clone(), &right_bytes),
    ) {
        (Ok(left_view), Ok(right_view)) => match value_difference(&left_view, &right_view, eps) {
            Ok(difference) => difference,
            // Dtypes without comparable values (packed formats) are compared by their bytes.
            Err(_) => (left_bytes != right_bytes).then(|| "bytes differ".to_string()),
        },
        _ => (left_bytes != right_bytes).then(|| "bytes differ".to_string()),
    };
    left.release_bytes(&left_bytes);
    right.release_bytes(&right_bytes);
    Ok(outcome.map(|reason| (name.to_string(), reason)))
}

/// Runs the subcommand and returns the process exit code.
pub fn run(args: &DiffArgs) -> i32 {
    if args.eps.is_some_and(|eps| eps.is_nan() || eps < 0.0) {
        eprintln!("error: --eps must be a number of at least 0");
        return EXIT_USAGE;
    }
    let comparison = Checkpoint::open(&args.left).and_then(|left| {
        let right = Checkpoint::open(&args.right)?;
        compare(&left, &right, args.eps)
    });
    match comparison {
        Ok(comparison) => {
            if args.json {
                print!("{}", comparison.to_json());
            } else {
                print!("{}", comparison.to_text());
            }
            if comparison.is_equal() {
                EXIT_OK
            } else {
                EXIT_PLAN
            }
        }
        Err(error) => {
            eprint!(
                "{}",
                render_for_stderr(&[error.to_diagnostic()], &SourceMap::new())
            );
            EXIT_IO
        }
    }
}
