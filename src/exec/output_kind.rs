//! Which file format an output is written in, decided from its `format` and its path as
//! BrainSurgery decides it, and the problems that make an output unwritable.
//!
//! [`OutputKind::resolve`] receives an output's spec (the plan's `output` or a `save` step) and
//! returns its kind: `.safetensors` paths and directories are safetensors, `.pt`/`.pth`/`.bin`
//! paths PyTorch, `.npy` one NumPy array and `.npz` a NumPy archive; an explicit `format` must
//! agree with the path. [`output_problem`] adds what only the output's tensors tell: a `shard`
//! budget on anything but safetensors, an `.npy` that would not hold exactly one tensor, a dtype
//! the format cannot hold (the writers' own refusal, found before anything runs so that a dry run
//! reports it too), and DCP, which this version does not write.

use super::diagnostics;
use crate::diagnostics::Diagnostic;
use crate::graph::{OutputId, OutputSpec, PlanGraph};
use crate::io::{IoError, TORCH_SUFFIXES};
use crate::plan::ast::ShardSize;
use crate::tensor::TensorType;

/// The file format of one output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// One `.safetensors` file or a directory of shards.
    Safetensors,
    /// One PyTorch zip checkpoint (`.pt`, `.pth`, `.bin`).
    Torch,
    /// One NumPy array (`.npy`).
    Npy,
    /// A NumPy archive of arrays (`.npz`).
    Npz,
    /// A torch distributed checkpoint directory (not written by this version).
    Dcp,
}

impl OutputKind {
    /// The kind `spec` asks for, or why its `format` and path disagree.
    pub fn resolve(spec: &OutputSpec) -> Result<OutputKind, String> {
        let by_path = Self::of_path(&spec.path);
        let wanted = match spec.format.as_deref() {
            None => return Ok(by_path.unwrap_or(OutputKind::Safetensors)),
            Some("safetensors") => OutputKind::Safetensors,
            Some("torch") => OutputKind::Torch,
            Some("numpy") => OutputKind::Npy,
            Some("dcp") => OutputKind::Dcp,
            Some(other) => return Err(format!("`{other}` is not an output format")),
        };
        match (wanted, by_path) {
            (OutputKind::Npy, Some(OutputKind::Npy | OutputKind::Npz)) => {
                Ok(by_path.unwrap_or(wanted))
            }
            (OutputKind::Safetensors, None | Some(OutputKind::Safetensors)) => Ok(wanted),
            (OutputKind::Dcp, None) => Ok(wanted),
            (_, found) if found == Some(wanted) => Ok(wanted),
            _ => Err(format!(
                "format `{}` needs {}",
                spec.format.as_deref().unwrap_or_default(),
                wanted.path_rule()
            )),
        }
    }

    /// The kind a path's suffix names; `None` for a directory-style path.
    fn of_path(path: &str) -> Option<OutputKind> {
        let extension = std::path::Path::new(path).extension()?.to_str()?;
        match extension {
            "safetensors" => Some(OutputKind::Safetensors),
            "npy" => Some(OutputKind::Npy),
            "npz" => Some(OutputKind::Npz),
            _ if TORCH_SUFFIXES.contains(&extension) => Some(OutputKind::Torch),
            _ => None,
        }
    }

    fn path_rule(self) -> &'static str {
        match self {
            OutputKind::Safetensors => "a `.safetensors` file or a directory path",
            OutputKind::Torch => "a `.pt`, `.pth` or `.bin` file path",
            OutputKind::Npy | OutputKind::Npz => "a `.npy` or `.npz` file path",
            OutputKind::Dcp => "a directory path (no suffix)",
        }
    }

    fn label(self) -> &'static str {
        match self {
            OutputKind::Safetensors => "safetensors",
            OutputKind::Torch => "PyTorch",
            OutputKind::Npy => "NumPy (.npy)",
            OutputKind::Npz => "NumPy (.npz)",
            OutputKind::Dcp => "DCP",
        }
    }

    /// Whether the format can hold a tensor of `ty` (NumPy has no bfloat16 or float8, PyTorch no
    /// sub-byte floats); the writers refuse the same dtypes.
    fn holds(self, ty: &TensorType) -> bool {
        match self {
            OutputKind::Npy | OutputKind::Npz => {
                crate::io::numpy::header::descriptor(ty.dtype).is_some()
            }
            OutputKind::Torch => ty.dtype.bit_size() >= 8,
            OutputKind::Safetensors | OutputKind::Dcp => true,
        }
    }
}

/// The first reason output `id` (described by `spec`) cannot be written, if any.
pub fn output_problem(spec: &OutputSpec, graph: &PlanGraph, id: OutputId) -> Option<Diagnostic> {
    let stores = graph.stores_of(id);
    let span = stores.first().and_then(|&store| graph.span(store));
    let kind = match OutputKind::resolve(spec) {
        Ok(kind) => kind,
        Err(problem) => return Some(diagnostics::unwritable_output(&spec.path, &problem, span)),
    };
    if kind == OutputKind::Dcp {
        return Some(diagnostics::not_supported(
            &format!("writing distributed (DCP) checkpoints (`{}`)", spec.path),
            "write safetensors (a directory or `.safetensors` path) or torch (`.pt`) instead",
            span,
        ));
    }
    if kind != OutputKind::Safetensors {
        if let Some(ShardSize::Bytes { .. }) = spec.shard {
            return Some(diagnostics::unwritable_output(
                &spec.path,
                "`shard` is only supported for safetensors output",
                span,
            ));
        }
    }
    if kind == OutputKind::Npy && stores.len() != 1 {
        return Some(diagnostics::unwritable_output(
            &spec.path,
            &format!(
                "a `.npy` file holds exactly one tensor, and this output has {}",
                stores.len()
            ),
            span,
        ));
    }
    for store in stores {
        let Some(node) = graph.node(store) else {
            continue;
        };
        let (crate::graph::NodeKind::Store(write), Some(ty)) = (&node.kind, &node.ty) else {
            continue;
        };
        if !kind.holds(ty) {
            let refused = IoError::UnsupportedOutputDtype {
                tensor: write.name.clone(),
                dtype: ty.dtype,
                format: kind.label(),
            };
            let diagnostic = refused.to_diagnostic();
            return Some(match graph.span(store) {
                Some(span) => diagnostic.with_label(span, "written here"),
                None => diagnostic,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &str, format: Option<&str>) -> OutputSpec {
        OutputSpec {
            path: path.to_string(),
            alias: "model".to_string(),
            format: format.map(str::to_string),
            shard: None,
            is_plan_output: true,
        }
    }

    #[test]
    fn the_path_decides_when_no_format_is_given() {
        let kind = |path: &str| OutputKind::resolve(&spec(path, None));
        assert_eq!(kind("out/model.safetensors"), Ok(OutputKind::Safetensors));
        assert_eq!(kind("out/dir"), Ok(OutputKind::Safetensors));
        assert_eq!(kind("out/model.v2"), Ok(OutputKind::Safetensors));
        for torch in ["a.pt", "b.pth", "pytorch_model.bin"] {
            assert_eq!(kind(torch), Ok(OutputKind::Torch), "{torch}");
        }
        assert_eq!(kind("w.npy"), Ok(OutputKind::Npy));
        assert_eq!(kind("w.npz"), Ok(OutputKind::Npz));
    }

    #[test]
    fn an_explicit_format_must_agree_with_the_path() {
        let kind = |path: &str, format: &str| OutputKind::resolve(&spec(path, Some(format)));
        assert_eq!(kind("a.pth", "torch"), Ok(OutputKind::Torch));
        assert_eq!(kind("w.npz", "numpy"), Ok(OutputKind::Npz));
        assert_eq!(kind("w.npy", "numpy"), Ok(OutputKind::Npy));
        assert_eq!(kind("out", "safetensors"), Ok(OutputKind::Safetensors));
        assert_eq!(kind("out", "dcp"), Ok(OutputKind::Dcp));
        let refused = kind("out", "torch").unwrap_err();
        assert!(refused.contains("`.pt`, `.pth` or `.bin`"), "{refused}");
        assert!(kind("a.pt", "safetensors").is_err());
        assert!(kind("a.safetensors", "numpy").is_err());
        assert!(kind("a.pt", "dcp").is_err());
        assert!(kind("a.pt", "parquet").is_err());
    }

    #[test]
    fn numpy_lacks_bfloat16_and_torch_sub_byte_floats() {
        use crate::tensor::{DType, Shape};
        let ty = |dtype| TensorType::new(dtype, Shape::new(vec![2]));
        assert!(!OutputKind::Npy.holds(&ty(DType::BF16)));
        assert!(!OutputKind::Npz.holds(&ty(DType::F8_E4M3)));
        assert!(OutputKind::Npy.holds(&ty(DType::F16)));
        assert!(OutputKind::Torch.holds(&ty(DType::BF16)));
        assert!(!OutputKind::Torch.holds(&ty(DType::F4)));
        assert!(OutputKind::Safetensors.holds(&ty(DType::F4)));
    }
}
