//! Reading `.npy` and `.npz` files written by the real NumPy (`numpy.save`, `numpy.savez`,
//! `numpy.savez_compressed`, headers of versions 1 to 3), writing them, and the npz → safetensors
//! round trip.

mod formats_support;

use std::collections::BTreeMap;

use brainsurgery::io::{
    write_archive, write_npy, ArchiveFormat, Checkpoint, CheckpointFormat, CheckpointWriter,
    DataLayout, IoError, OutputLayout, WriterOptions,
};
use brainsurgery::tensor::{DType, Shape, TensorType};
use formats_support::*;

fn read(checkpoint: &Checkpoint, name: &str) -> Vec<u8> {
    checkpoint.read(name).expect("readable").into_owned()
}

/// The arrays `make_fixtures.py` puts in both `.npz` fixtures, checked value by value.
fn check_arrays(checkpoint: &Checkpoint) {
    let dtype = |name: &str| checkpoint.tensor(name).unwrap().ty.dtype;
    assert_eq!(f16s(&read(checkpoint, "f16")), [0.5, -1.0, 65504.0]);
    assert_eq!(dtype("f16"), DType::F16);
    let expected: Vec<f32> = (0..6).map(|i| i as f32 * 0.25 - 0.5).collect();
    assert_eq!(f32s(&read(checkpoint, "f32")), expected);
    assert_eq!(checkpoint.tensor("f32").unwrap().ty.shape.dims(), [2, 3]);
    let f64_values = f64s(&read(checkpoint, "f64"));
    assert_eq!(f64_values[0], std::f64::consts::PI);
    assert!(f64_values[1] == 0.0 && f64_values[1].is_sign_negative());
    assert_eq!(f64_values[2], 1e300);
    assert_eq!(read(checkpoint, "i8"), [128, 0, 127]);
    assert_eq!(i16s(&read(checkpoint, "i16")), [i16::MIN, i16::MAX]);
    assert_eq!(i32s(&read(checkpoint, "i32")), [i32::MIN, i32::MAX]);
    assert_eq!(checkpoint.tensor("i32").unwrap().ty.shape.dims(), [1, 2]);
    assert_eq!(i64s(&read(checkpoint, "i64")), [i64::MIN, i64::MAX]);
    assert_eq!(read(checkpoint, "u8"), [0, 255]);
    assert_eq!(u16s(&read(checkpoint, "u16")), [u16::MAX]);
    assert_eq!(read(checkpoint, "u32"), u32::MAX.to_le_bytes());
    assert_eq!(dtype("u32"), DType::U32);
    assert_eq!(read(checkpoint, "u64"), u64::MAX.to_le_bytes());
    assert_eq!(read(checkpoint, "bool"), [1, 0, 1]);
    assert_eq!(dtype("bool"), DType::BOOL);
    assert_eq!(f32s(&read(checkpoint, "c64")), [1.0, 2.0, 0.0, -0.5]);
    assert_eq!(dtype("c64"), DType::C64);
    assert_eq!(f32s(&read(checkpoint, "scalar")), [3.25]);
    assert!(checkpoint
        .tensor("scalar")
        .unwrap()
        .ty
        .shape
        .dims()
        .is_empty());
    // Column-major storage comes out row-major.
    assert_eq!(i32s(&read(checkpoint, "fortran")), [0, 1, 2, 3, 4, 5]);
    assert_eq!(
        checkpoint.tensor("fortran").unwrap().ty.shape.dims(),
        [2, 3]
    );
    assert_eq!(checkpoint.tensors().len(), 15);
}

#[test]
fn savez_archives_read_exactly() {
    let checkpoint = Checkpoint::open(fixture("numpy_arrays.npz")).unwrap();
    assert_eq!(checkpoint.format(), CheckpointFormat::Npz);
    check_arrays(&checkpoint);
    // Stored members are mapped; a Fortran-ordered one is gathered.
    assert!(checkpoint.read("f32").unwrap().is_mapped());
    assert_eq!(
        checkpoint.tensor("fortran").unwrap().layout,
        DataLayout::Strided {
            strides: vec![1, 2]
        }
    );
}

#[test]
fn savez_compressed_archives_inflate_on_read() {
    let checkpoint = Checkpoint::open(fixture("numpy_compressed.npz")).unwrap();
    assert!(matches!(
        checkpoint.tensor("f32").unwrap().layout,
        DataLayout::Deflated { skip: 128, .. }
    ));
    assert_eq!(checkpoint.read_stats().bytes, 0);
    check_arrays(&checkpoint);
    assert!(!checkpoint.read("f32").unwrap().is_mapped());
}

#[test]
fn npy_files_of_every_header_version_read() {
    let vector = Checkpoint::open(fixture("numpy_vector.npy")).unwrap();
    assert_eq!(vector.format(), CheckpointFormat::Npy);
    // The tensor is named after the file.
    assert_eq!(
        f32s(&read(&vector, "numpy_vector")),
        [-2.0, -1.0, 0.0, 1.0, 2.0]
    );
    for version in ["numpy_v2.npy", "numpy_v3.npy"] {
        let checkpoint = Checkpoint::open(fixture(version)).unwrap();
        let tensor = &checkpoint.tensors()[0];
        assert_eq!(
            tensor.ty,
            TensorType::new(DType::I16, Shape::new(vec![2, 2]))
        );
        assert_eq!(i16s(&read(&checkpoint, &tensor.name)), [0, 1, 2, 3]);
    }
}

#[test]
fn big_endian_arrays_are_refused_with_the_fix() {
    let error = Checkpoint::open(fixture("numpy_big_endian.npy")).unwrap_err();
    assert_eq!(error.code(), "E0049");
    assert!(error.to_string().contains("big-endian"), "{error}");
}

#[test]
fn npz_to_safetensors_is_bit_identical() {
    let npz = Checkpoint::open(fixture("numpy_arrays.npz")).unwrap();
    let directory = tempfile::tempdir().unwrap();
    let destination = directory.path().join("arrays.safetensors");
    let layout = OutputLayout::plan(
        npz.tensors()
            .iter()
            .map(|t| (t.name.clone(), t.ty.clone()))
            .collect(),
        None,
    )
    .unwrap();
    let writer = CheckpointWriter::create(
        &destination,
        layout,
        BTreeMap::new(),
        WriterOptions::default(),
    )
    .unwrap();
    for tensor in npz.tensors() {
        writer
            .write_tensor(&tensor.name, &npz.read(&tensor.name).unwrap())
            .unwrap();
    }
    writer.finish().unwrap();
    let safetensors = Checkpoint::open(&destination).unwrap();
    assert_eq!(safetensors.tensors().len(), npz.tensors().len());
    for tensor in npz.tensors() {
        assert_eq!(safetensors.tensor(&tensor.name).unwrap().ty, tensor.ty);
        assert_eq!(
            safetensors.read(&tensor.name).unwrap(),
            npz.read(&tensor.name).unwrap(),
            "{}",
            tensor.name
        );
    }
    check_arrays(&safetensors);
}

#[test]
fn written_npz_and_npy_files_read_back() {
    let directory = tempfile::tempdir().unwrap();
    let tensors = vec![
        (
            "layer.0.weight".to_string(),
            TensorType::new(DType::F32, Shape::new(vec![3, 5])),
            pattern(1, 60),
        ),
        (
            "mask".to_string(),
            TensorType::new(DType::BOOL, Shape::new(vec![4])),
            vec![1, 0, 0, 1],
        ),
        (
            "scalar".to_string(),
            TensorType::new(DType::I64, Shape::new(vec![])),
            (-7i64).to_le_bytes().to_vec(),
        ),
    ];
    let npz = directory.path().join("out.npz");
    write_archive(&npz, ArchiveFormat::Npz, &tensors, WriterOptions::default()).unwrap();
    let checkpoint = Checkpoint::open(&npz).unwrap();
    assert_eq!(checkpoint.format(), CheckpointFormat::Npz);
    for (name, ty, bytes) in &tensors {
        assert_eq!(&checkpoint.tensor(name).unwrap().ty, ty);
        let read = checkpoint.read(name).unwrap();
        assert!(read.is_mapped());
        assert_eq!(read, *bytes);
        // Array data is 64-byte aligned in our archives.
        assert_eq!(checkpoint.tensor(name).unwrap().data.start % 64, 0);
    }

    let npy = directory.path().join("weight.npy");
    let (_, ty, bytes) = &tensors[0];
    write_npy(&npy, "layer.0.weight", ty, bytes, &WriterOptions::default()).unwrap();
    let checkpoint = Checkpoint::open(&npy).unwrap();
    assert_eq!(checkpoint.read("weight").unwrap(), *bytes);
    assert_eq!(checkpoint.tensor("weight").unwrap().data.start % 64, 0);
}

#[test]
fn our_npy_files_are_byte_identical_to_numpy_save() {
    // numpy.save(np.arange(5, dtype=np.float32) - 2), as in the fixture.
    let values: Vec<u8> = (0..5)
        .flat_map(|i| (i as f32 - 2.0).to_le_bytes())
        .collect();
    let directory = tempfile::tempdir().unwrap();
    let ours = directory.path().join("vector.npy");
    let ty = TensorType::new(DType::F32, Shape::new(vec![5]));
    write_npy(&ours, "vector", &ty, &values, &WriterOptions::default()).unwrap();
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        std::fs::read(fixture("numpy_vector.npy")).unwrap()
    );
}

#[test]
fn numpy_output_refuses_dtypes_numpy_lacks() {
    let directory = tempfile::tempdir().unwrap();
    let bf16 = TensorType::new(DType::BF16, Shape::new(vec![2]));
    let error = write_npy(
        directory.path().join("x.npy"),
        "x",
        &bf16,
        &[0; 4],
        &WriterOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(
        error,
        IoError::UnsupportedOutputDtype {
            dtype: DType::BF16,
            ..
        }
    ));
    let diagnostic = error.to_diagnostic();
    assert_eq!(diagnostic.code, "E0052");
    assert!(diagnostic
        .help
        .unwrap()
        .contains("bfloat16 to float32 is exact"));
    let error = write_archive(
        directory.path().join("x.npz"),
        ArchiveFormat::Npz,
        &[("x".to_string(), bf16, vec![0u8; 4])],
        WriterOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(error, IoError::UnsupportedOutputDtype { .. }));
    // Nothing was left behind.
    assert_eq!(std::fs::read_dir(directory.path()).unwrap().count(), 0);
}
