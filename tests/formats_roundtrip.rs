//! Writing PyTorch checkpoints: safetensors → torch → safetensors is bit-identical for every dtype
//! PyTorch has, chunked writes land in place, and the writer is as atomic as the safetensors one.

mod formats_support;

use std::collections::BTreeMap;
use std::path::Path;

use brainsurgery::io::{
    write_torch, ArchiveFormat, ArchiveWriter, Checkpoint, CheckpointFormat, CheckpointWriter,
    IoError, OutputLayout, WriterOptions,
};
use brainsurgery::tensor::{DType, Shape, TensorType};
use formats_support::*;

/// One tensor of every dtype PyTorch can hold, with deterministic bytes.
fn every_torch_dtype() -> Vec<(String, TensorType, Vec<u8>)> {
    let dtypes = [
        DType::BOOL,
        DType::U8,
        DType::I8,
        DType::I16,
        DType::U16,
        DType::I32,
        DType::U32,
        DType::I64,
        DType::U64,
        DType::F16,
        DType::BF16,
        DType::F32,
        DType::F64,
        DType::C64,
        DType::F8_E4M3,
        DType::F8_E5M2,
        DType::F8_E4M3FNUZ,
        DType::F8_E5M2FNUZ,
        DType::F8_E8M0,
    ];
    let mut tensors: Vec<(String, TensorType, Vec<u8>)> = dtypes
        .iter()
        .enumerate()
        .map(|(index, &dtype)| {
            let ty = TensorType::new(dtype, Shape::new(vec![3, (index % 4 + 1) as u64]));
            let len = ty.byte_len().unwrap() as usize;
            let mut bytes = pattern(index as u64, len);
            if dtype == DType::BOOL {
                bytes.iter_mut().for_each(|b| *b &= 1);
            }
            (format!("t.{}", dtype.safetensors_name()), ty, bytes)
        })
        .collect();
    tensors.push((
        "scalar".into(),
        TensorType::new(DType::F32, Shape::new(vec![])),
        1.5f32.to_le_bytes().to_vec(),
    ));
    tensors.push((
        "empty".into(),
        TensorType::new(DType::F16, Shape::new(vec![0, 7])),
        Vec::new(),
    ));
    tensors
}

fn write_safetensors(destination: &Path, tensors: &[(String, TensorType, Vec<u8>)]) {
    let layout = OutputLayout::plan(
        tensors
            .iter()
            .map(|(n, t, _)| (n.clone(), t.clone()))
            .collect(),
        None,
    )
    .unwrap();
    let metadata = BTreeMap::from([("format".to_string(), "pt".to_string())]);
    let writer =
        CheckpointWriter::create(destination, layout, metadata, WriterOptions::default()).unwrap();
    for (name, _, bytes) in tensors {
        writer.write_tensor(name, bytes).unwrap();
    }
    writer.finish().unwrap();
}

/// Every tensor of `checkpoint` (in output order `order`), read.
fn tensors_of(checkpoint: &Checkpoint, order: &[String]) -> Vec<(String, TensorType, Vec<u8>)> {
    order
        .iter()
        .map(|name| {
            let info = checkpoint.tensor(name).unwrap();
            (
                name.clone(),
                info.ty.clone(),
                checkpoint.read(name).unwrap().into_owned(),
            )
        })
        .collect()
}

#[test]
fn safetensors_to_torch_to_safetensors_is_bit_identical() {
    let directory = tempfile::tempdir().unwrap();
    let tensors = every_torch_dtype();
    let order: Vec<String> = tensors.iter().map(|(n, _, _)| n.clone()).collect();
    let original = directory.path().join("original.safetensors");
    write_safetensors(&original, &tensors);

    let source = Checkpoint::open(&original).unwrap();
    let torch = directory.path().join("model.pt");
    write_torch(
        &torch,
        &tensors_of(&source, &order),
        WriterOptions::default(),
    )
    .unwrap();

    let reopened = Checkpoint::open(&torch).unwrap();
    assert_eq!(reopened.format(), CheckpointFormat::Torch);
    for tensor in reopened.tensors() {
        // Every storage is 64-byte aligned and read without copying.
        assert_eq!(tensor.data.start % 64, 0, "{}", tensor.name);
        assert!(reopened.read(&tensor.name).unwrap().is_mapped());
    }
    let back = directory.path().join("back.safetensors");
    write_safetensors(&back, &tensors_of(&reopened, &order));
    assert_eq!(
        std::fs::read(&back).unwrap(),
        std::fs::read(&original).unwrap()
    );
}

#[test]
fn chunks_land_in_place_in_any_order() {
    let directory = tempfile::tempdir().unwrap();
    let destination = directory.path().join("chunked.bin");
    let ty = TensorType::new(DType::F32, Shape::new(vec![1000]));
    let bytes = pattern(7, 4000);
    let writer = ArchiveWriter::create(
        &destination,
        ArchiveFormat::Torch,
        vec![("w".into(), ty.clone())],
        WriterOptions::default(),
    )
    .unwrap();
    // Chunks of 1000 bytes, last first, from several threads.
    std::thread::scope(|scope| {
        for chunk in (0..4).rev() {
            let writer = &writer;
            let bytes = &bytes;
            scope.spawn(move || {
                let range = chunk * 1000..(chunk + 1) * 1000;
                writer
                    .write_at("w", range.start as u64, &bytes[range])
                    .unwrap();
            });
        }
    });
    writer.finish().unwrap();
    let checkpoint = Checkpoint::open(&destination).unwrap();
    assert_eq!(checkpoint.read("w").unwrap(), bytes);
}

#[test]
fn incomplete_or_failed_writes_publish_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let destination = directory.path().join("model.pt");
    std::fs::write(&destination, b"the previous file").unwrap();
    let ty = TensorType::new(DType::U8, Shape::new(vec![4]));
    let tensors = vec![("a".to_string(), ty.clone()), ("b".to_string(), ty)];
    let writer = ArchiveWriter::create(
        &destination,
        ArchiveFormat::Torch,
        tensors.clone(),
        WriterOptions::default(),
    )
    .unwrap();
    writer.write_tensor("a", &[1, 2, 3, 4]).unwrap();
    assert!(matches!(
        writer.write_tensor("b", &[1]),
        Err(IoError::WrongTensorLength { .. })
    ));
    assert!(matches!(
        writer.write_at("b", 3, &[1, 2]),
        Err(IoError::WriteOutOfRange { .. })
    ));
    assert!(matches!(
        writer.write_tensor("c", &[1]),
        Err(IoError::UnknownOutputTensor { .. })
    ));
    let error = writer.finish().unwrap_err();
    assert!(matches!(error, IoError::TensorsNotWritten { count: 1, ref first } if first == "b"));
    assert_eq!(std::fs::read(&destination).unwrap(), b"the previous file");

    // An injected disk failure leaves it too, and no temporary behind.
    let options = WriterOptions {
        fail_after_tensors: Some(1),
        ..WriterOptions::default()
    };
    let writer =
        ArchiveWriter::create(&destination, ArchiveFormat::Torch, tensors, options).unwrap();
    writer.write_tensor("a", &[1, 2, 3, 4]).unwrap();
    assert!(matches!(
        writer.write_tensor("b", &[1, 2, 3, 4]),
        Err(IoError::InjectedFailure { .. })
    ));
    drop(writer);
    assert_eq!(std::fs::read(&destination).unwrap(), b"the previous file");
    assert_eq!(std::fs::read_dir(directory.path()).unwrap().count(), 1);
}

#[test]
fn outputs_over_an_input_and_duplicate_names_are_refused() {
    let directory = tempfile::tempdir().unwrap();
    let input = directory.path().join("in.pt");
    std::fs::copy(fixture("torch_model.bin"), &input).unwrap();
    let ty = TensorType::new(DType::U8, Shape::new(vec![1]));
    let options = WriterOptions {
        inputs: vec![input.clone()],
        ..WriterOptions::default()
    };
    let error = ArchiveWriter::create(
        &input,
        ArchiveFormat::Torch,
        vec![("a".into(), ty.clone())],
        options,
    )
    .unwrap_err();
    assert!(matches!(error, IoError::DestinationIsInput { .. }));
    let error = ArchiveWriter::create(
        directory.path().join("out.pt"),
        ArchiveFormat::Torch,
        vec![("a".into(), ty.clone()), ("a".into(), ty)],
        WriterOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(error, IoError::DuplicateOutputTensor { .. }));
    let sub_byte = TensorType::new(DType::F4, Shape::new(vec![2]));
    let error = write_torch(
        directory.path().join("out.pt"),
        &[("f4".to_string(), sub_byte, vec![0u8])],
        WriterOptions::default(),
    )
    .unwrap_err();
    assert_eq!(error.code(), "E0052");
}

#[test]
fn archives_with_more_members_than_zip_counts_use_zip64_records() {
    // 65,600 one-byte tensors make more members than the classic end record can count.
    let directory = tempfile::tempdir().unwrap();
    let destination = directory.path().join("many.pt");
    let ty = TensorType::new(DType::U8, Shape::new(vec![1]));
    let tensors: Vec<(String, TensorType, Vec<u8>)> = (0..65_600u32)
        .map(|index| (format!("t{index}"), ty.clone(), vec![(index % 251) as u8]))
        .collect();
    write_torch(&destination, &tensors, WriterOptions::default()).unwrap();
    let checkpoint = Checkpoint::open(&destination).unwrap();
    assert_eq!(checkpoint.tensors().len(), 65_600);
    assert_eq!(checkpoint.read("t65599").unwrap(), [(65_599 % 251) as u8]);
    assert_eq!(checkpoint.read("t0").unwrap(), [0]);
}
