//! Helpers shared by the `run_*` and `exec_*` integration tests: running the binary, reading and
//! writing checkpoints as plain name → tensor maps, and converting tensor bytes to numbers for
//! expectations computed in the tests themselves (never by the code under test).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use brainsurgery::io::{Checkpoint, CheckpointWriter, OutputLayout, WriterOptions};
use brainsurgery::tensor::{DType, Shape, TensorType};

/// The bundled example checkpoint every conformance plan reads.
pub const GPT2: &str = "examples/models/gpt2-tiny/model.safetensors";

/// A tensor as plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub dtype: DType,
    pub shape: Vec<u64>,
    pub bytes: Vec<u8>,
}

impl Tensor {
    pub fn f32(shape: &[u64], values: &[f32]) -> Tensor {
        Tensor {
            dtype: DType::F32,
            shape: shape.to_vec(),
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    pub fn f32_values(&self) -> Vec<f32> {
        assert_eq!(self.dtype, DType::F32, "expected an F32 tensor");
        self.bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    pub fn ty(&self) -> TensorType {
        TensorType::new(self.dtype, Shape::new(self.shape.clone()))
    }

    /// The same values under another shape.
    pub fn reshaped(&self, shape: &[u64]) -> Tensor {
        Tensor {
            shape: shape.to_vec(),
            ..self.clone()
        }
    }
}

/// Every tensor of a checkpoint (file or directory).
pub fn read(path: impl AsRef<Path>) -> BTreeMap<String, Tensor> {
    let checkpoint = Checkpoint::open(path.as_ref())
        .unwrap_or_else(|e| panic!("{} opens: {e}", path.as_ref().display()));
    checkpoint
        .tensors()
        .iter()
        .map(|info| {
            let bytes = checkpoint.read(&info.name).expect("listed tensor").to_vec();
            (
                info.name.clone(),
                Tensor {
                    dtype: info.ty.dtype,
                    shape: info.ty.shape.dims().to_vec(),
                    bytes,
                },
            )
        })
        .collect()
}

/// The `__metadata__` of a checkpoint.
pub fn metadata(path: impl AsRef<Path>) -> BTreeMap<String, String> {
    Checkpoint::open(path.as_ref())
        .expect("checkpoint opens")
        .metadata()
        .clone()
}

/// Writes `tensors` as a checkpoint at `destination` (a `.safetensors` file or a directory,
/// sharded at `shard_bytes`).
pub fn write(destination: &Path, tensors: &[(String, Tensor)], shard_bytes: Option<u64>) {
    let layout = OutputLayout::plan(
        tensors.iter().map(|(n, t)| (n.clone(), t.ty())).collect(),
        shard_bytes,
    )
    .expect("layout");
    let writer = CheckpointWriter::create(
        destination,
        layout,
        BTreeMap::from([("format".to_string(), "pt".to_string())]),
        WriterOptions::default(),
    )
    .expect("writer");
    for (name, tensor) in tensors {
        writer.write_tensor(name, &tensor.bytes).expect("write");
    }
    writer.finish().expect("publish");
}

/// The binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_brainsurgery"))
}

/// Runs the binary with `args` in the crate root (where plans name their inputs from).
pub fn run(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts the exit code, showing the output when it differs.
pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit code; stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

/// xorshift64* numbers, so generated data reproduces.
pub struct Numbers(u64);

impl Numbers {
    pub fn new(seed: u64) -> Numbers {
        Numbers(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [low, high).
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
    }

    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// Files and directories directly in `dir` whose name contains `mark` (temporaries: `.tmp-bs-`).
pub fn entries_containing(dir: &Path, mark: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.contains(mark))
                .collect()
        })
        .unwrap_or_default()
}

/// Every file of a directory with its bytes (to compare a destination before and after a run).
pub fn snapshot(directory: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(directory)
        .expect("destination exists")
        .map(|entry| {
            let entry = entry.expect("entry");
            let bytes = std::fs::read(entry.path()).expect("readable");
            (entry.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect()
}
