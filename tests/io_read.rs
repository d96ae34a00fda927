//! Reading checkpoints: the bundled example, counted reads, released pages, and the three layouts
//! (single file, indexed directory, unindexed directory).

use std::path::Path;

use brainsurgery::io::{Checkpoint, IoError, ReadStats};
use brainsurgery::tensor::DType;

fn example_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/models/gpt2-tiny/model.safetensors")
}

#[test]
fn opening_reads_no_tensor_and_reads_are_counted() {
    let checkpoint = Checkpoint::open(example_path()).unwrap();
    assert_eq!(checkpoint.read_stats(), ReadStats::default());
    assert_eq!(checkpoint.tensors().len(), 28);
    let names: Vec<&str> = checkpoint
        .tensors()
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    let wte = checkpoint.tensor("wte.weight").unwrap();
    assert_eq!(wte.ty.dtype, DType::F32);
    assert_eq!(wte.ty.shape.dims(), [64, 8]);
    let bytes = checkpoint.read("wte.weight").unwrap();
    assert_eq!(bytes.len(), 64 * 8 * 4);
    assert_eq!(
        checkpoint.read_stats(),
        ReadStats {
            tensors: 1,
            bytes: 64 * 8 * 4
        }
    );
    assert_eq!(
        checkpoint.metadata().get("format").map(String::as_str),
        Some("pt")
    );
}

#[test]
fn released_tensor_reads_the_same_bytes_again() {
    let checkpoint = Checkpoint::open(example_path()).unwrap();
    let before = checkpoint.read("ln_f.weight").unwrap().to_vec();
    checkpoint.release("ln_f.weight");
    checkpoint.release("no.such.tensor");
    assert_eq!(checkpoint.read("ln_f.weight").unwrap(), before.as_slice());
}

#[test]
fn unknown_tensor_suggests_near_names() {
    let checkpoint = Checkpoint::open(example_path()).unwrap();
    let error = checkpoint.read("wte.weigth").unwrap_err();
    match &error {
        IoError::UnknownTensor { nearest, .. } => assert_eq!(nearest[0], "wte.weight"),
        other => panic!("unexpected error {other}"),
    }
    assert_eq!(checkpoint.read_stats(), ReadStats::default());
}

#[test]
fn parallel_reads_are_all_counted() {
    let checkpoint = Checkpoint::open(example_path()).unwrap();
    let expected_bytes: u64 = checkpoint.tensors().iter().map(|t| t.byte_len()).sum();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for tensor in checkpoint.tensors() {
                    let bytes = checkpoint.read(&tensor.name).unwrap();
                    assert_eq!(bytes.len() as u64, tensor.byte_len());
                }
            });
        }
    });
    assert_eq!(
        checkpoint.read_stats(),
        ReadStats {
            tensors: 4 * 28,
            bytes: 4 * expected_bytes
        }
    );
}
