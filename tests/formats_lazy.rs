//! Opening a PyTorch checkpoint reads only its structure: the zip end records and directory, the
//! local headers of the storages used, and the pickle. Tensor bytes are touched only when read.

mod formats_support;

use brainsurgery::io::{write_torch, Checkpoint, WriterOptions};
use brainsurgery::tensor::{DType, Shape, TensorType};
use formats_support::pattern;

const TENSORS: usize = 24;
const TENSOR_BYTES: usize = 1 << 20;

#[test]
fn opening_a_multi_megabyte_bin_reads_only_the_directory_and_the_pickle() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("pytorch_model.bin");
    let ty = TensorType::new(DType::F32, Shape::new(vec![512, 512]));
    let payload = pattern(5, TENSOR_BYTES);
    let tensors: Vec<(String, TensorType, &[u8])> = (0..TENSORS)
        .map(|layer| {
            (
                format!("model.layers.{layer}.mlp.weight"),
                ty.clone(),
                payload.as_slice(),
            )
        })
        .collect();
    write_torch(&path, &tensors, WriterOptions::default()).unwrap();
    let file_len = std::fs::metadata(&path).unwrap().len();
    assert!(file_len > (TENSORS * TENSOR_BYTES) as u64);

    let checkpoint = Checkpoint::open(&path).unwrap();
    assert_eq!(checkpoint.tensors().len(), TENSORS);
    assert_eq!(checkpoint.data_bytes(), (TENSORS * TENSOR_BYTES) as u64);
    let stats = checkpoint.read_stats();
    assert_eq!((stats.tensors, stats.bytes), (0, 0));
    // The structure of 24 tensors takes a few kilobytes: less than a hundredth of one tensor,
    // so no tensor's data can have been among the bytes opening looked at.
    let opened = checkpoint.opened_bytes();
    assert!(opened > 0);
    assert!(opened < 8 * 1024, "opening looked at {opened} bytes");

    let bytes = checkpoint.read("model.layers.7.mlp.weight").unwrap();
    assert!(bytes.is_mapped());
    assert_eq!(bytes, payload);
    let stats = checkpoint.read_stats();
    assert_eq!((stats.tensors, stats.bytes), (1, TENSOR_BYTES as u64));
    assert_eq!(checkpoint.opened_bytes(), opened);
}

#[test]
fn opened_bytes_grow_with_the_structure_not_the_data() {
    let directory = tempfile::tempdir().unwrap();
    let ty = |len: u64| TensorType::new(DType::U8, Shape::new(vec![len]));
    let small = directory.path().join("small.pt");
    let large = directory.path().join("large.pt");
    write_torch(
        &small,
        &[("w".to_string(), ty(16), vec![1u8; 16])],
        WriterOptions::default(),
    )
    .unwrap();
    write_torch(
        &large,
        &[("w".to_string(), ty(4 << 20), vec![1u8; 4 << 20])],
        WriterOptions::default(),
    )
    .unwrap();
    let small = Checkpoint::open(&small).unwrap().opened_bytes();
    let large = Checkpoint::open(&large).unwrap().opened_bytes();
    // Only the integers spelling the size in the pickle differ.
    assert!(large.abs_diff(small) < 8, "{small} vs {large}");
}
