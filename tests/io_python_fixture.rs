//! Reads the fixture written by the reference Python `safetensors` library
//! (`tests/fixtures/io/make_python_fixture.py`) and checks every tensor's type and exact values.

use std::path::Path;

use brainsurgery::io::Checkpoint;
use brainsurgery::tensor::DType;

fn fixture() -> Checkpoint {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/io/python_reference.safetensors");
    Checkpoint::open(path).expect("the reference file opens")
}

/// Tensor `name`'s dtype, dims and raw bytes.
fn tensor(checkpoint: &Checkpoint, name: &str) -> (DType, Vec<u64>, Vec<u8>) {
    let info = checkpoint.tensor(name).expect("tensor present");
    let bytes = checkpoint.read(name).expect("readable").to_vec();
    (info.ty.dtype, info.ty.shape.dims().to_vec(), bytes)
}

fn words<const N: usize>(bytes: &[u8]) -> Vec<[u8; N]> {
    bytes
        .chunks_exact(N)
        .map(|chunk| chunk.try_into().expect("chunk of N bytes"))
        .collect()
}

#[test]
fn names_and_metadata() {
    let checkpoint = fixture();
    let names: Vec<&str> = checkpoint
        .tensors()
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "bytes",
            "embed.weight",
            "empty",
            "f8",
            "layer.0.f16",
            "layer.0.ids",
            "layer.0.mask",
            "scalar",
            "small",
            "third"
        ]
    );
    let metadata = checkpoint.metadata();
    assert_eq!(metadata.get("format").map(String::as_str), Some("pt"));
    assert_eq!(
        metadata.get("written_by").map(String::as_str),
        Some("make_python_fixture.py")
    );
}

#[test]
fn bfloat16_values() {
    let (dtype, dims, bytes) = tensor(&fixture(), "embed.weight");
    assert_eq!((dtype, dims), (DType::BF16, vec![2, 3]));
    let values: Vec<f32> = words::<2>(&bytes)
        .into_iter()
        .map(|w| half::bf16::from_le_bytes(w).to_f32())
        .collect();
    assert_eq!(values, [1.0, -2.0, 0.5, 3.140625, -0.0, -1.5]);
    assert!(values[4].is_sign_negative());
}

#[test]
fn float16_values() {
    let (dtype, dims, bytes) = tensor(&fixture(), "layer.0.f16");
    assert_eq!((dtype, dims), (DType::F16, vec![2, 2]));
    let values: Vec<f32> = words::<2>(&bytes)
        .into_iter()
        .map(|w| half::f16::from_le_bytes(w).to_f32())
        .collect();
    assert_eq!(values, [0.5, -1.0, 65504.0, 2f32.powi(-14)]);
}

#[test]
fn integer_and_bool_values() {
    let checkpoint = fixture();
    let (dtype, dims, bytes) = tensor(&checkpoint, "layer.0.ids");
    assert_eq!((dtype, dims), (DType::I64, vec![4]));
    let ids: Vec<i64> = words::<8>(&bytes)
        .into_iter()
        .map(i64::from_le_bytes)
        .collect();
    assert_eq!(ids, [-1, 0, (1 << 53) + 1, i64::MIN]);

    let (dtype, dims, bytes) = tensor(&checkpoint, "layer.0.mask");
    assert_eq!((dtype, dims, bytes), (DType::BOOL, vec![3], vec![1, 0, 1]));
    let (dtype, dims, bytes) = tensor(&checkpoint, "bytes");
    assert_eq!(
        (dtype, dims, bytes),
        (DType::U8, vec![3], vec![0, 127, 255])
    );
    let (dtype, dims, bytes) = tensor(&checkpoint, "small");
    assert_eq!((dtype, dims, bytes), (DType::I8, vec![2], vec![0x80, 0x7f]));
}

#[test]
fn scalar_empty_f64_and_f8() {
    let checkpoint = fixture();
    let (dtype, dims, bytes) = tensor(&checkpoint, "scalar");
    assert_eq!((dtype, dims.len()), (DType::F32, 0));
    assert_eq!(f32::from_le_bytes(bytes.try_into().unwrap()), 3.5);

    let (dtype, dims, bytes) = tensor(&checkpoint, "empty");
    assert_eq!((dtype, dims, bytes.len()), (DType::F32, vec![0, 4], 0));

    let (dtype, _, bytes) = tensor(&checkpoint, "third");
    assert_eq!(dtype, DType::F64);
    let values: Vec<f64> = words::<8>(&bytes)
        .into_iter()
        .map(f64::from_le_bytes)
        .collect();
    assert_eq!(values, [1.0 / 3.0, -0.1]);

    let (dtype, dims, bytes) = tensor(&checkpoint, "f8");
    assert_eq!(
        (dtype, dims, bytes),
        (DType::F8_E4M3, vec![2], vec![0x38, 0xc0])
    );
}

#[test]
fn every_byte_is_accounted_for() {
    let checkpoint = fixture();
    let file_len = std::fs::metadata(&checkpoint.shards()[0]).unwrap().len();
    let last_end = checkpoint
        .tensors()
        .iter()
        .map(|t| t.data.end)
        .max()
        .unwrap();
    assert_eq!(last_end, file_len);
    assert_eq!(
        checkpoint.data_bytes(),
        32 + 16 + 4 + 12 + 8 + 3 + 2 + 3 + 2
    );
}
