//! Reading checkpoints written by the real `torch.save` (fixtures made by
//! `tests/fixtures/formats/make_fixtures.py`): every value is checked against the formula the
//! generator used, and against the same tensors written by the reference safetensors library.

mod formats_support;

use brainsurgery::io::{Checkpoint, CheckpointFormat, DataLayout, IoError};
use brainsurgery::tensor::DType;
use formats_support::*;

fn state_dict() -> Checkpoint {
    Checkpoint::open(fixture("torch_state_dict.pt")).expect("the fixture opens")
}

fn read(checkpoint: &Checkpoint, name: &str) -> Vec<u8> {
    checkpoint.read(name).expect("readable").into_owned()
}

fn shape(checkpoint: &Checkpoint, name: &str) -> Vec<u64> {
    checkpoint
        .tensor(name)
        .expect("present")
        .ty
        .shape
        .dims()
        .to_vec()
}

#[test]
fn the_state_dict_wrapper_is_unwrapped_and_every_tensor_is_found() {
    let checkpoint = state_dict();
    assert_eq!(checkpoint.format(), CheckpointFormat::Torch);
    let names: Vec<&str> = checkpoint
        .tensors()
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    // Sorted by name; `epoch` beside the wrapper is ignored.
    assert_eq!(
        names,
        [
            "bytes.u8",
            "column.i32",
            "empty.f32",
            "fp8.e4m3",
            "mask.bool",
            "param",
            "scalar.f32",
            "shared.row0",
            "shared.row1",
            "small.i8",
            "stepped.i32",
            "steps.i64",
            "tied.a",
            "tied.b",
            "transposed.f32",
            "weight.bf16",
            "weight.f16",
            "weight.f32",
            "wide.u16",
        ]
    );
    assert!(checkpoint.metadata().is_empty());
}

#[test]
fn float_tensors_have_the_generated_values() {
    let checkpoint = state_dict();
    let expected: Vec<f32> = (0..12).map(|i| i as f32 * 0.25 - 1.0).collect();
    assert_eq!(f32s(&read(&checkpoint, "weight.f32")), expected);
    assert_eq!(shape(&checkpoint, "weight.f32"), [3, 4]);

    let expected: Vec<f32> = (0..8).map(|i| (i as f32 - 4.0) * 0.5).collect();
    assert_eq!(bf16s(&read(&checkpoint, "weight.bf16")), expected);
    assert_eq!(
        checkpoint.tensor("weight.bf16").unwrap().ty.dtype,
        DType::BF16
    );

    let expected: Vec<f32> = (0..6).map(|i| i as f32 / 8.0).collect();
    assert_eq!(f16s(&read(&checkpoint, "weight.f16")), expected);
    assert_eq!(shape(&checkpoint, "weight.f16"), [2, 3]);

    assert_eq!(f32s(&read(&checkpoint, "scalar.f32")), [7.5]);
    assert_eq!(shape(&checkpoint, "scalar.f32"), Vec::<u64>::new());
    assert_eq!(read(&checkpoint, "empty.f32"), Vec::<u8>::new());
    assert_eq!(shape(&checkpoint, "empty.f32"), [0, 3]);
    assert_eq!(f32s(&read(&checkpoint, "param")), [1.0, -2.0]);
    // float8_e4m3fn bits of 0.5, -1.0, 448.0 and 0.0 (saved through _rebuild_tensor_v3).
    assert_eq!(read(&checkpoint, "fp8.e4m3"), [0x30, 0xB8, 0x7E, 0x00]);
    assert_eq!(
        checkpoint.tensor("fp8.e4m3").unwrap().ty.dtype,
        DType::F8_E4M3
    );
}

#[test]
fn integer_and_bool_tensors_have_the_generated_values() {
    let checkpoint = state_dict();
    assert_eq!(
        i64s(&read(&checkpoint, "steps.i64")),
        [-(1i64 << 40), -1, 0, 1, 1 << 40]
    );
    assert_eq!(read(&checkpoint, "mask.bool"), [1, 0, 1, 0, 0, 1]);
    assert_eq!(
        checkpoint.tensor("mask.bool").unwrap().ty.dtype,
        DType::BOOL
    );
    assert_eq!(read(&checkpoint, "bytes.u8"), [0, 1, 127, 128, 255]);
    assert_eq!(read(&checkpoint, "small.i8"), [128, 255, 0, 1, 127]);
    assert_eq!(u16s(&read(&checkpoint, "wide.u16")), [0, 1, 65535]);
    assert_eq!(checkpoint.tensor("wide.u16").unwrap().ty.dtype, DType::U16);
}

#[test]
fn non_contiguous_views_are_gathered_when_read() {
    let checkpoint = state_dict();
    let transposed = checkpoint.tensor("transposed.f32").unwrap();
    assert_eq!(
        transposed.layout,
        DataLayout::Strided {
            strides: vec![1, 3]
        }
    );
    assert_eq!(transposed.byte_len(), 24);
    let bytes = checkpoint.read("transposed.f32").unwrap();
    assert!(!bytes.is_mapped());
    assert_eq!(f32s(&bytes), [-2.5, 0.5, -1.5, 1.5, -0.5, 2.5]);

    // A column (offset 1, stride 4) and a step slice (stride 3).
    assert_eq!(i32s(&read(&checkpoint, "column.i32")), [1, 5, 9]);
    assert_eq!(
        i32s(&read(&checkpoint, "stepped.i32")),
        [0, 21, 42, 63, 84, 105, 126]
    );
}

#[test]
fn contiguous_tensors_are_the_mapped_pages_and_shared_storages_are_shared() {
    let checkpoint = state_dict();
    assert!(checkpoint.read("weight.f32").unwrap().is_mapped());
    let row0 = checkpoint.tensor("shared.row0").unwrap();
    let row1 = checkpoint.tensor("shared.row1").unwrap();
    assert_eq!(row0.layout, DataLayout::Contiguous);
    // Two rows of one int16 storage: row 1 starts 4 elements after row 0.
    assert_eq!(row1.data.start, row0.data.start + 8);
    assert_eq!(i16s(&read(&checkpoint, "shared.row0")), [-5, -2, 1, 4]);
    assert_eq!(i16s(&read(&checkpoint, "shared.row1")), [7, 10, 13, 16]);
    // One tensor saved under two names is one range.
    let tied_a = checkpoint.tensor("tied.a").unwrap();
    let tied_b = checkpoint.tensor("tied.b").unwrap();
    assert_eq!(tied_a.data, tied_b.data);
    assert_eq!(
        f64s(&read(&checkpoint, "tied.b")),
        [0.0, 0.25, 0.5, 0.75, 1.0]
    );
    // Storage data is 64-byte aligned by torch.save.
    assert_eq!(checkpoint.tensor("weight.f32").unwrap().data.start % 64, 0);
}

#[test]
fn values_match_the_reference_safetensors_writer() {
    let checkpoint = state_dict();
    let reference = Checkpoint::open(fixture("torch_state_dict.expected.safetensors")).unwrap();
    assert_eq!(reference.tensors().len(), checkpoint.tensors().len());
    for expected in reference.tensors() {
        let actual = checkpoint.tensor(&expected.name).expect("same names");
        assert_eq!(actual.ty, expected.ty, "{}", expected.name);
        assert_eq!(
            checkpoint.read(&expected.name).unwrap(),
            reference.read(&expected.name).unwrap(),
            "{}",
            expected.name
        );
    }
}

#[test]
fn a_module_state_dict_with_metadata_reads() {
    // model.state_dict() pickles an OrderedDict whose `_metadata` is set with BUILD.
    let checkpoint = Checkpoint::open(fixture("torch_model.bin")).unwrap();
    let names: Vec<&str> = checkpoint
        .tensors()
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["0.bias", "0.weight", "1.bias", "1.weight"]);
    let expected: Vec<f32> = (0..12).map(|i| i as f32 / 16.0).collect();
    assert_eq!(f32s(&read(&checkpoint, "0.weight")), expected);
    assert_eq!(shape(&checkpoint, "0.weight"), [3, 4]);
    assert_eq!(f32s(&read(&checkpoint, "0.bias")), [-1.0, 0.0, 1.0]);
    assert_eq!(f32s(&read(&checkpoint, "1.weight")), [2.0, 3.0, 4.0]);
    assert_eq!(f32s(&read(&checkpoint, "1.bias")), [0.125, 0.25, 0.375]);
}

#[test]
fn a_bare_tensor_is_named_after_its_file() {
    let checkpoint = Checkpoint::open(fixture("torch_bare_tensor.pt")).unwrap();
    assert_eq!(checkpoint.tensors().len(), 1);
    assert_eq!(shape(&checkpoint, "torch_bare_tensor"), [2, 2]);
    assert_eq!(
        f32s(&read(&checkpoint, "torch_bare_tensor")),
        [1.5, -2.0, 0.25, 8.0]
    );
}

#[test]
fn sharded_directories_open_with_and_without_their_index() {
    let directory = fixture("torch_sharded");
    let checkpoint = Checkpoint::open(&directory).unwrap();
    assert_eq!(checkpoint.shards().len(), 2);
    assert_eq!(f32s(&read(&checkpoint, "a.weight")), [0.0, 1.0, 2.0, 3.0]);
    assert_eq!(f16s(&read(&checkpoint, "b.weight")), [1.0; 4]);
    assert_eq!(i64s(&read(&checkpoint, "c.weight")), [1, 2, 3]);
    assert_eq!(checkpoint.tensor("c.weight").unwrap().shard, 1);

    // Without the index, every PyTorch file in name order.
    let copy = tempfile::tempdir().unwrap();
    for name in [
        "pytorch_model-00001-of-00002.bin",
        "pytorch_model-00002-of-00002.bin",
    ] {
        std::fs::copy(directory.join(name), copy.path().join(name)).unwrap();
    }
    let unindexed = Checkpoint::open(copy.path()).unwrap();
    assert_eq!(unindexed.tensors().len(), 3);

    // An index naming a tensor its shard lacks is refused, as for safetensors.
    std::fs::write(
        copy.path().join("pytorch_model.bin.index.json"),
        r#"{"weight_map": {"a.weight": "pytorch_model-00002-of-00002.bin"}}"#,
    )
    .unwrap();
    assert!(matches!(
        Checkpoint::open(copy.path()),
        Err(IoError::IndexTensorMissing { .. })
    ));
}

#[test]
fn a_directory_with_both_formats_is_ambiguous() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("torch_model.bin"),
        directory.path().join("pytorch_model.bin"),
    )
    .unwrap();
    std::fs::copy(
        fixture("torch_state_dict.expected.safetensors"),
        directory.path().join("model.safetensors"),
    )
    .unwrap();
    let error = Checkpoint::open(directory.path()).unwrap_err();
    assert_eq!(error.code(), "E0050");
    assert_eq!(
        error.to_string(),
        format!(
            "`{}` holds both safetensors and PyTorch files (`model.safetensors`, `pytorch_model.bin`); refusing an ambiguous load",
            directory.path().display()
        )
    );
}

#[test]
fn the_legacy_format_gets_advice() {
    let error = Checkpoint::open(fixture("torch_legacy.pt")).unwrap_err();
    assert!(matches!(error, IoError::LegacyTorchFormat { .. }));
    let diagnostic = error.to_diagnostic();
    assert_eq!(diagnostic.code, "E0039");
    assert!(diagnostic
        .help
        .as_deref()
        .is_some_and(|help| help.contains("torch.save(torch.load(")));
}

#[test]
fn reads_are_counted_and_opening_reads_nothing() {
    let checkpoint = state_dict();
    assert_eq!(checkpoint.read_stats().tensors, 0);
    assert_eq!(checkpoint.read_stats().bytes, 0);
    checkpoint.read("transposed.f32").unwrap();
    checkpoint.read("weight.bf16").unwrap();
    let stats = checkpoint.read_stats();
    assert_eq!((stats.tensors, stats.bytes), (2, 24 + 16));
    // Releasing pages keeps the bytes readable.
    checkpoint.release("weight.bf16");
    assert_eq!(bf16s(&read(&checkpoint, "weight.bf16"))[0], -2.0);
}
