//! Damaged and inconsistent checkpoints: each kind of damage gives its own error variant with a
//! readable message, and random damage never panics.

mod io_support;

use std::collections::BTreeMap;
use std::path::Path;

use brainsurgery::io::{header, Checkpoint, IoError};
use brainsurgery::tensor::{DType, Shape, TensorType};
use io_support::{raw_file, write_checkpoint};
use proptest::prelude::*;

/// Two U8 tensors of 4 bytes: `a` at [0, 4], `b` at [4, 8].
const GOOD_HEADER: &str = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2,2],"data_offsets":[4,8]}}"#;

fn open_bytes(bytes: &[u8]) -> (tempfile::TempDir, Result<Checkpoint, IoError>) {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("m.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let result = Checkpoint::open(&path);
    (directory, result)
}

/// The error of opening `bytes` as a file, with the temporary path replaced by `m.safetensors`.
fn error_of(bytes: &[u8]) -> (IoError, String) {
    let (directory, result) = open_bytes(bytes);
    let error = result.expect_err("the file must be refused");
    let path = directory.path().join("m.safetensors");
    let message = error
        .to_string()
        .replace(&path.display().to_string(), "m.safetensors");
    (error, message)
}

fn good_file() -> Vec<u8> {
    raw_file(GOOD_HEADER, &[1, 2, 3, 4, 5, 6, 7, 8])
}

#[test]
fn the_good_file_opens() {
    let (_directory, result) = open_bytes(&good_file());
    let checkpoint = result.unwrap();
    assert_eq!(checkpoint.read("b").unwrap(), [5, 6, 7, 8]);
}

#[test]
fn file_shorter_than_the_length_prefix() {
    let (error, message) = error_of(&good_file()[..5]);
    assert!(matches!(error, IoError::Truncated { len: 5, .. }));
    assert_eq!(
        message,
        "`m.safetensors` is truncated: it has 5 bytes, fewer than the 8-byte header length"
    );
}

#[test]
fn file_cut_inside_the_data() {
    let file = good_file();
    let (error, message) = error_of(&file[..file.len() - 3]);
    assert!(matches!(error, IoError::OffsetsOutOfRange { .. }));
    assert_eq!(
        message,
        "`m.safetensors`: tensor `b` ends at data offset 8, past the 5-byte data section"
    );
}

#[test]
fn header_length_beyond_the_file() {
    let mut file = good_file();
    file[..8].copy_from_slice(&10_000u64.to_le_bytes());
    let (error, message) = error_of(&file);
    assert!(matches!(error, IoError::HeaderBeyondFile { .. }));
    let available = file.len() - 8;
    assert_eq!(
        message,
        format!("`m.safetensors`: the header length is 10000 bytes but only {available} bytes follow it")
    );
}

#[test]
fn header_that_is_not_json() {
    let (error, message) = error_of(&raw_file(r#"{"a": {"dtype": "U8",,}}"#, &[]));
    assert!(matches!(error, IoError::InvalidJson { .. }));
    assert!(
        message.starts_with("`m.safetensors`: the header is not a valid JSON object: "),
        "{message}"
    );
    let (error, _) = error_of(&raw_file("[1, 2]", &[]));
    assert!(matches!(error, IoError::InvalidJson { .. }));
}

#[test]
fn header_that_is_not_utf8() {
    let mut file = raw_file(r#"{"?":1}"#, &[]);
    // Byte 2 of the header (after `{"`) becomes 0xFF, which never occurs in UTF-8.
    file[8 + 2] = 0xff;
    let (error, message) = error_of(&file);
    assert!(matches!(error, IoError::HeaderNotUtf8 { offset: 2, .. }));
    assert_eq!(
        message,
        "`m.safetensors`: the header is not valid UTF-8 (bad byte at header offset 2)"
    );
}

#[test]
fn overlapping_offsets() {
    let header = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#;
    let (error, message) = error_of(&raw_file(header, &[0; 6]));
    assert!(matches!(error, IoError::OverlappingTensors { .. }));
    assert_eq!(
        message,
        "`m.safetensors`: tensors `a` [0, 4] and `b` [2, 6] overlap"
    );
}

#[test]
fn out_of_range_offsets() {
    let header = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[100,104]}}"#;
    let (error, message) = error_of(&raw_file(header, &[0; 4]));
    assert!(matches!(
        error,
        IoError::OffsetsOutOfRange {
            end: 104,
            data_len: 4,
            ..
        }
    ));
    assert_eq!(
        message,
        "`m.safetensors`: tensor `a` ends at data offset 104, past the 4-byte data section"
    );
}

#[test]
fn reversed_offsets() {
    let header = r#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}"#;
    let (error, message) = error_of(&raw_file(header, &[0; 4]));
    assert!(matches!(error, IoError::ReversedOffsets { .. }));
    assert_eq!(
        message,
        "`m.safetensors`: tensor `a` has data_offsets [4, 0], which end before they begin"
    );
}

#[test]
fn unknown_dtype() {
    let header = r#"{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#;
    let (error, message) = error_of(&raw_file(header, &[0; 16]));
    assert!(matches!(error, IoError::UnknownDtype { ref dtype, .. } if dtype == "F128"));
    assert_eq!(
        message,
        "`m.safetensors`: tensor `a` has unknown dtype `F128`"
    );
    let help = error.to_diagnostic().help.unwrap();
    assert!(help.starts_with("known dtypes: BOOL, U8,"), "{help}");
}

#[test]
fn shape_and_byte_length_disagree() {
    let header = r#"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}"#;
    let (error, message) = error_of(&raw_file(header, &[0; 16]));
    assert!(matches!(
        error,
        IoError::ByteLengthMismatch {
            expected: 24,
            actual: 16,
            ..
        }
    ));
    assert_eq!(
        message,
        "`m.safetensors`: tensor `a` is F32 [2, 3], which takes 24 bytes, but its data_offsets span 16"
    );
}

#[test]
fn bytes_outside_every_tensor() {
    let header = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#;
    let (error, message) = error_of(&raw_file(header, &[0; 6]));
    assert!(matches!(error, IoError::UncoveredData { .. }));
    assert_eq!(
        message,
        "`m.safetensors`: data bytes [4, 6) belong to no tensor (the format requires the data section to be fully covered)"
    );
}

#[test]
fn missing_path() {
    let directory = tempfile::tempdir().unwrap();
    let error = Checkpoint::open(directory.path().join("nothing")).unwrap_err();
    assert!(matches!(error, IoError::NotFound { .. }), "{error}");
    assert_eq!(error.to_diagnostic().code, "E0002");
}

#[test]
fn empty_directory() {
    let directory = tempfile::tempdir().unwrap();
    // Hidden files and other kinds of files do not count as shards.
    std::fs::write(directory.path().join("._model.safetensors"), b"junk").unwrap();
    std::fs::write(directory.path().join("config.json"), b"{}").unwrap();
    let error = Checkpoint::open(directory.path()).unwrap_err();
    assert!(matches!(error, IoError::EmptyDirectory { .. }));
    assert!(error.to_string().ends_with(
        "holds no checkpoint file (`*.safetensors`, `*.bin`, `*.pt`, `*.pth`) and no index"
    ));
}

/// A directory with two shards, `one.safetensors` (tensor `a`) and `two.safetensors` (`b`), and
/// the given index text (if any).
fn sharded_directory(index: Option<&str>) -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    let tensor = |name: &str| {
        vec![(
            name.to_string(),
            TensorType::new(DType::U8, Shape::new(vec![2])),
            vec![1, 2],
        )]
    };
    write_checkpoint(
        &directory.path().join("one.safetensors"),
        &tensor("a"),
        None,
        BTreeMap::new(),
    )
    .unwrap();
    write_checkpoint(
        &directory.path().join("two.safetensors"),
        &tensor("b"),
        None,
        BTreeMap::new(),
    )
    .unwrap();
    if let Some(index) = index {
        std::fs::write(directory.path().join("model.safetensors.index.json"), index).unwrap();
    }
    directory
}

fn directory_error(directory: &Path) -> (IoError, String) {
    let error = Checkpoint::open(directory).expect_err("the directory must be refused");
    let message = error
        .to_string()
        .replace(&format!("{}/", directory.display()), "");
    (error, message)
}

#[test]
fn consistent_index_opens() {
    let directory = sharded_directory(Some(
        r#"{"metadata":{},"weight_map":{"a":"one.safetensors","b":"two.safetensors"}}"#,
    ));
    let checkpoint = Checkpoint::open(directory.path()).unwrap();
    assert_eq!(checkpoint.shards().len(), 2);
    assert_eq!(checkpoint.tensor("b").unwrap().shard, 1);
}

#[test]
fn index_naming_a_missing_shard() {
    let directory = sharded_directory(Some(
        r#"{"weight_map":{"a":"one.safetensors","b":"three.safetensors"}}"#,
    ));
    let (error, message) = directory_error(directory.path());
    assert!(matches!(error, IoError::MissingShard { .. }));
    assert_eq!(
        message,
        "`model.safetensors.index.json`: tensor `b` is mapped to `three.safetensors`, which does not exist"
    );
}

#[test]
fn index_path_outside_the_directory() {
    for outside in [
        "../two.safetensors",
        "/tmp/two.safetensors",
        "./two.safetensors",
    ] {
        let index = format!(r#"{{"weight_map":{{"a":"one.safetensors","b":"{outside}"}}}}"#);
        let directory = sharded_directory(Some(&index));
        let (error, message) = directory_error(directory.path());
        assert!(
            matches!(error, IoError::IndexPathOutside { .. }),
            "{outside}: {error}"
        );
        assert_eq!(
            message,
            format!("`model.safetensors.index.json`: tensor `b` is mapped to `{outside}`, which is not a relative path inside the directory")
        );
    }
}

#[test]
fn index_that_is_not_an_index() {
    let directory = sharded_directory(Some(r#"{"metadata":{}}"#));
    let (error, message) = directory_error(directory.path());
    assert!(matches!(error, IoError::InvalidIndex { .. }));
    assert_eq!(
        message,
        "`model.safetensors.index.json`: it has no `weight_map` object"
    );
}

#[test]
fn index_naming_a_tensor_its_shard_lacks() {
    let directory = sharded_directory(Some(
        r#"{"weight_map":{"a":"one.safetensors","b":"two.safetensors","c":"two.safetensors"}}"#,
    ));
    let (error, message) = directory_error(directory.path());
    assert!(matches!(error, IoError::IndexTensorMissing { .. }));
    assert_eq!(
        message,
        "`model.safetensors.index.json`: tensor `c` is mapped to `two.safetensors`, which does not contain it"
    );
}

#[test]
fn shard_tensor_missing_from_the_index() {
    let directory = sharded_directory(Some(r#"{"weight_map":{"a":"one.safetensors"}}"#));
    // `two.safetensors` is not listed at all, so it is simply not part of the checkpoint.
    let checkpoint = Checkpoint::open(directory.path()).unwrap();
    assert_eq!(checkpoint.tensors().len(), 1);

    let extra = vec![
        (
            "a".to_string(),
            TensorType::new(DType::U8, Shape::new(vec![1])),
            vec![1],
        ),
        (
            "z".to_string(),
            TensorType::new(DType::U8, Shape::new(vec![1])),
            vec![2],
        ),
    ];
    write_checkpoint(
        &directory.path().join("one.safetensors"),
        &extra,
        None,
        BTreeMap::new(),
    )
    .unwrap();
    let (error, message) = directory_error(directory.path());
    assert!(matches!(error, IoError::TensorNotInIndex { .. }));
    assert_eq!(
        message,
        "`one.safetensors` contains tensor `z`, which `model.safetensors.index.json` does not list"
    );
}

#[test]
fn tensor_in_two_shards_without_index() {
    let directory = sharded_directory(None);
    let both = vec![(
        "a".to_string(),
        TensorType::new(DType::U8, Shape::new(vec![1])),
        vec![9],
    )];
    write_checkpoint(
        &directory.path().join("two.safetensors"),
        &both,
        None,
        BTreeMap::new(),
    )
    .unwrap();
    let (error, message) = directory_error(directory.path());
    assert!(matches!(error, IoError::DuplicateTensor { .. }));
    assert_eq!(
        message,
        "tensor `a` is in two shards: `one.safetensors` and `two.safetensors`"
    );
}

#[test]
fn tensor_in_two_shards_with_index() {
    let directory = sharded_directory(Some(
        r#"{"weight_map":{"a":"one.safetensors","b":"two.safetensors"}}"#,
    ));
    let both = vec![
        (
            "a".to_string(),
            TensorType::new(DType::U8, Shape::new(vec![1])),
            vec![9],
        ),
        (
            "b".to_string(),
            TensorType::new(DType::U8, Shape::new(vec![1])),
            vec![9],
        ),
    ];
    write_checkpoint(
        &directory.path().join("two.safetensors"),
        &both,
        None,
        BTreeMap::new(),
    )
    .unwrap();
    let (error, _) = directory_error(directory.path());
    assert!(
        matches!(error, IoError::DuplicateTensor { ref tensor, .. } if tensor == "a"),
        "{error}"
    );
}

#[test]
fn every_error_has_a_storage_code() {
    let (error, _) = error_of(&good_file()[..3]);
    let diagnostic = error.to_diagnostic();
    assert_eq!(diagnostic.code, "E0003");
    assert!(diagnostic.help.is_some());
}

/// A valid file with `count` tensors (0 to 5) of several dtypes, for mutation; made once.
fn valid_file(count: usize) -> Vec<u8> {
    static FILES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    FILES.get_or_init(|| (0..6).map(write_valid_file).collect())[count].clone()
}

fn write_valid_file(count: usize) -> Vec<u8> {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("v.safetensors");
    let dtypes = [DType::F32, DType::BF16, DType::I64, DType::BOOL, DType::F4];
    let tensors: Vec<_> = (0..count)
        .map(|i| {
            let ty = TensorType::new(
                dtypes[i % dtypes.len()],
                Shape::new(vec![2, (i % 3) as u64 * 2]),
            );
            let len = ty.byte_len().unwrap() as usize;
            (format!("t{i}"), ty, io_support::pattern(i as u64, len))
        })
        .collect();
    let metadata = BTreeMap::from([("format".to_string(), "pt".to_string())]);
    write_checkpoint(&path, &tensors, None, metadata).unwrap();
    std::fs::read(path).unwrap()
}

/// Every accepted file must give in-bounds ranges that agree with its types.
fn assert_sound(bytes: &[u8], parsed: &header::Header) {
    for tensor in &parsed.tensors {
        assert!(tensor.data.end as usize <= bytes.len());
        assert_eq!(
            tensor.ty.byte_len(),
            Some(tensor.data.end - tensor.data.start)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let result = header::parse(Path::new("random"), &bytes);
        if let Ok(parsed) = &result {
            assert_sound(&bytes, parsed);
        }
    }

    #[test]
    fn random_headers_are_refused_without_panic(
        text in r#"\{("[a-z_]{0,3}":\{"dtype":"(F32|U8|F4|X)","shape":\[[0-9,-]{0,5}\],"data_offsets":\[[0-9,]{0,6}\]\},?){0,3}\}"#,
        data_len in 0usize..40,
    ) {
        let bytes = raw_file(&text, &vec![0; data_len]);
        let ours = header::parse(Path::new("random"), &bytes);
        if let Ok(parsed) = &ours {
            assert_sound(&bytes, parsed);
        }
        // Anything we accept, the reference crate accepts too.
        if ours.is_ok() {
            prop_assert!(safetensors::SafeTensors::deserialize(&bytes).is_ok(), "{}", text);
        }
    }

    #[test]
    fn mutated_files_never_panic(
        count in 0usize..6,
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<proptest::sample::Index>()),
    ) {
        let mut bytes = valid_file(count);
        // Most edits land in the header, where the interesting damage is.
        let header_end = (8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize).min(bytes.len());
        for (position, value) in edits {
            let index = position.index(header_end);
            bytes[index] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let ours = header::parse(Path::new("mutated"), &bytes);
        if let Ok(parsed) = &ours {
            assert_sound(&bytes, parsed);
        }
        let reference = safetensors::SafeTensors::deserialize(&bytes);
        // We are at least as strict as the reference crate.
        if ours.is_ok() {
            prop_assert!(reference.is_ok());
        }
    }
}
