//! Evidence that the real loaders accept what we write.
//!
//! `written_by_brainsurgery.pt` and `.npz` are committed files that this test regenerates bit for
//! bit from the tensors below (run with `BLESS=1` to rewrite them after an intended change).
//! `make_fixtures.py` loaded them once with `torch.load(weights_only=True)` and
//! `numpy.load(allow_pickle=False)` and re-saved what those returned with the reference
//! safetensors library; those re-saved files are committed too, and this test checks that they
//! hold exactly the tensors we wrote. If our writer changes, the `.pt`/`.npz` comparison fails
//! until they are blessed and the script is rerun, so the evidence cannot go stale silently.

mod formats_support;

use std::path::Path;

use brainsurgery::io::{write_archive, ArchiveFormat, Checkpoint, WriterOptions};
use brainsurgery::tensor::{DType, Shape, TensorType};
use formats_support::*;

type Tensors = Vec<(String, TensorType, Vec<u8>)>;

fn tensor(
    name: &str,
    dtype: DType,
    shape: &[u64],
    bytes: Vec<u8>,
) -> (String, TensorType, Vec<u8>) {
    let ty = TensorType::new(dtype, Shape::new(shape.to_vec()));
    assert_eq!(ty.byte_len(), Some(bytes.len() as u64), "{name}");
    (name.to_string(), ty, bytes)
}

fn le<T: Copy, const N: usize>(values: &[T], to_bytes: fn(T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(|&v| to_bytes(v)).collect()
}

/// Tensors NumPy and PyTorch both have.
fn common_tensors() -> Tensors {
    vec![
        tensor(
            "encoder.weight",
            DType::F32,
            &[2, 3],
            le(&[0.5f32, -1.0, 2.25, 1e-8, -0.0, 3.0e38], f32::to_le_bytes),
        ),
        tensor(
            "encoder.half",
            DType::F16,
            &[3],
            le(&[1.0f32, -2.5, 0.099975586], |v| {
                half::f16::from_f32(v).to_le_bytes()
            }),
        ),
        tensor(
            "steps",
            DType::I64,
            &[2],
            le(&[-(1i64 << 50), 12345], i64::to_le_bytes),
        ),
        tensor("mask", DType::BOOL, &[2, 2], vec![1, 0, 0, 1]),
        tensor(
            "scalar",
            DType::F64,
            &[],
            le(&[-0.125f64], f64::to_le_bytes),
        ),
        tensor("empty", DType::I32, &[0, 4], Vec::new()),
        tensor("bytes", DType::U8, &[4], vec![0, 1, 128, 255]),
    ]
}

/// Tensors only PyTorch has (written with `_rebuild_tensor_v3` where no storage class exists).
fn torch_tensors() -> Tensors {
    let mut tensors = common_tensors();
    tensors.push(tensor(
        "decoder.bf16",
        DType::BF16,
        &[2, 2],
        le(&[1.0f32, -0.5, 256.0, 0.0078125], |v| {
            half::bf16::from_f32(v).to_le_bytes()
        }),
    ));
    tensors.push(tensor(
        "decoder.fp8",
        DType::F8_E4M3,
        &[3],
        vec![0x38, 0xB8, 0x7E],
    ));
    tensors.push(tensor(
        "decoder.u16",
        DType::U16,
        &[2],
        le(&[7u16, 65535], u16::to_le_bytes),
    ));
    tensors
}

/// Writes `tensors` into a temporary file and compares it with the committed one (or blesses).
fn check_committed(name: &str, format: ArchiveFormat, tensors: &Tensors) {
    let directory = tempfile::tempdir().unwrap();
    let written = directory.path().join(name);
    write_archive(&written, format, tensors, WriterOptions::default()).unwrap();
    let committed = fixture(name);
    if std::env::var_os("BLESS").is_some_and(|value| value == "1") {
        std::fs::copy(&written, &committed).unwrap();
    }
    assert!(
        std::fs::read(&written).unwrap() == std::fs::read(&committed).unwrap(),
        "{name} differs from what we write now; run with BLESS=1, then rerun make_fixtures.py"
    );
}

/// The re-saved file holds exactly our tensors.
fn check_resaved(path: &Path, tensors: &Tensors) {
    let checkpoint = Checkpoint::open(path).unwrap();
    assert_eq!(checkpoint.tensors().len(), tensors.len());
    for (name, ty, bytes) in tensors {
        let info = checkpoint
            .tensor(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(&info.ty, ty, "{name}");
        assert_eq!(checkpoint.read(name).unwrap(), *bytes, "{name}");
    }
}

#[test]
fn torch_load_with_weights_only_accepts_our_checkpoints() {
    let tensors = torch_tensors();
    check_committed("written_by_brainsurgery.pt", ArchiveFormat::Torch, &tensors);
    check_resaved(
        &fixture("written_by_brainsurgery.torch_resaved.safetensors"),
        &tensors,
    );
}

#[test]
fn numpy_load_accepts_our_npz_archives() {
    let tensors = common_tensors();
    check_committed("written_by_brainsurgery.npz", ArchiveFormat::Npz, &tensors);
    check_resaved(
        &fixture("written_by_brainsurgery.numpy_resaved.safetensors"),
        &tensors,
    );
}
