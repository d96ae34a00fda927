//! Rules of the session ops: the format words `dump`, `load`, `save` and `output` accept, the
//! option combinations `load` and `save` refuse, non-blank paths and distinct aliases.
//!
//! Receives parsed options with their spans; returns `Ok` or the diagnostic. The format tables
//! map each word a plan may write to its AST value, for both front ends' "unknown choice" errors.

use super::{Checked, Syntax};
use crate::plan::ast::{DumpFormat, DumpVerbosity, FileFormat, OutputFormat, ShardSize, Spanned};
use crate::plan::diagnostics;

pub const DUMP_FORMATS: [(&str, DumpFormat); 3] = [
    ("compact", DumpFormat::Compact),
    ("tree", DumpFormat::Tree),
    ("json", DumpFormat::Json),
];

pub const DUMP_VERBOSITIES: [(&str, DumpVerbosity); 3] = [
    ("shape", DumpVerbosity::Shape),
    ("stat", DumpVerbosity::Stat),
    ("full", DumpVerbosity::Full),
];

/// `auto` detects the file's format; `dcp` cannot be read one tensor at a time.
pub const LOAD_FORMATS: [(&str, FileFormat); 4] = [
    ("auto", FileFormat::Auto),
    ("safetensors", FileFormat::Safetensors),
    ("torch", FileFormat::Torch),
    ("numpy", FileFormat::Numpy),
];

pub const SAVE_FORMATS: [(&str, FileFormat); 4] = [
    ("safetensors", FileFormat::Safetensors),
    ("torch", FileFormat::Torch),
    ("numpy", FileFormat::Numpy),
    ("dcp", FileFormat::Dcp),
];

pub const OUTPUT_FORMATS: [(&str, OutputFormat); 3] = [
    ("safetensors", OutputFormat::Safetensors),
    ("torch", OutputFormat::Torch),
    ("dcp", OutputFormat::Dcp),
];

/// A path that is not blank; `what` names it in the message (`load path`).
pub fn non_empty_path(what: &str, path: &Spanned<String>) -> Checked {
    if !path.node.trim().is_empty() {
        return Ok(());
    }
    Err(vec![diagnostics::invalid_argument(
        &format!("{what} must not be empty"),
        "empty path",
        path.span,
        "write the file or directory to use",
    )])
}

/// `load`'s `format` names the format of a single tensor's file, so it needs `to`.
pub fn load_format(syntax: Syntax, format: Option<&Spanned<FileFormat>>, has_to: bool) -> Checked {
    match format {
        Some(format) if !has_to => Err(vec![diagnostics::invalid_argument(
            "load `format` applies only to a single tensor (with `to`)",
            "format without `to`",
            format.span,
            &format!(
                "add {} to load one tensor, or remove `format` (checkpoints are detected)",
                syntax.argument("to", "<name>")
            ),
        )]),
        _ => Ok(()),
    }
}

/// The option combinations `save` refuses: `numpy` writes one tensor, `dcp` a whole alias, and
/// shards split a whole alias written as safetensors.
pub fn save_conflict(
    syntax: Syntax,
    format: Option<&Spanned<FileFormat>>,
    has_target: bool,
    shard: Option<&Spanned<ShardSize>>,
) -> Checked {
    let add_target = format!("add {}", syntax.argument("target", "<name>"));
    let problem = match (format, has_target, shard) {
        (Some(f), false, _) if f.node == FileFormat::Numpy => Some((
            f.span,
            "save format `numpy` writes one tensor",
            add_target.as_str(),
        )),
        (Some(f), true, _) if f.node == FileFormat::Dcp => Some((
            f.span,
            "save format `dcp` writes a whole alias, not one tensor",
            "remove `target`, or save the tensor as safetensors, torch or numpy",
        )),
        (_, true, Some(s)) => Some((
            s.span,
            "save `shard` applies to a whole alias, not one tensor",
            "remove `shard` or `target`",
        )),
        (Some(f), false, Some(_)) if f.node != FileFormat::Safetensors => Some((
            f.span,
            "save `shard` is only supported for safetensors output",
            "remove `shard` or save as safetensors",
        )),
        _ => None,
    };
    match problem {
        Some((span, message, help)) => Err(vec![diagnostics::invalid_argument(
            message,
            "conflicts here",
            span,
            help,
        )]),
        None => Ok(()),
    }
}

/// `prefixes rename` needs two different aliases.
pub fn distinct_aliases(from: &Spanned<String>, to: &Spanned<String>) -> Checked {
    if from.node != to.node {
        return Ok(());
    }
    Err(vec![diagnostics::invalid_argument(
        "prefixes rename needs two different aliases",
        "same as `from`",
        to.span,
        "rename to a new alias",
    )])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{SourceId, Span};

    fn at<T>(node: T, from: usize) -> Spanned<T> {
        Spanned::new(node, Span::new(SourceId(0), from, from + 1))
    }

    #[test]
    fn load_format_needs_a_single_tensor() {
        let torch = at(FileFormat::Torch, 3);
        assert!(load_format(Syntax::Yaml, Some(&torch), true).is_ok());
        assert!(load_format(Syntax::Yaml, None, false).is_ok());
        let error = load_format(Syntax::Terse, Some(&torch), false).unwrap_err();
        assert_eq!(error[0].primary_span(), Some(torch.span));
        assert!(error[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("`to=<name>`")));
    }

    #[test]
    fn save_refuses_each_conflicting_combination_at_the_option_to_change() {
        let shard = at(
            ShardSize::Bytes {
                bytes: 1024,
                text: "1kb".to_string(),
            },
            9,
        );
        let numpy = at(FileFormat::Numpy, 3);
        let dcp = at(FileFormat::Dcp, 3);
        let torch = at(FileFormat::Torch, 3);
        let safetensors = at(FileFormat::Safetensors, 3);
        let refused = |format, target, shard| {
            save_conflict(Syntax::Yaml, format, target, shard)
                .unwrap_err()
                .remove(0)
                .primary_span()
        };
        assert_eq!(refused(Some(&numpy), false, None), Some(numpy.span));
        assert_eq!(refused(Some(&dcp), true, None), Some(dcp.span));
        assert_eq!(refused(None, true, Some(&shard)), Some(shard.span));
        assert_eq!(refused(Some(&torch), false, Some(&shard)), Some(torch.span));
        assert!(save_conflict(Syntax::Yaml, Some(&safetensors), false, Some(&shard)).is_ok());
        assert!(save_conflict(Syntax::Yaml, Some(&numpy), true, None).is_ok());
    }

    #[test]
    fn paths_and_aliases() {
        assert!(non_empty_path("load path", &at("a.safetensors".to_string(), 0)).is_ok());
        assert!(non_empty_path("load path", &at("  ".to_string(), 0)).is_err());
        assert!(distinct_aliases(&at("a".to_string(), 0), &at("b".to_string(), 2)).is_ok());
        assert!(distinct_aliases(&at("a".to_string(), 0), &at("a".to_string(), 2)).is_err());
    }
}
