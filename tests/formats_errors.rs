//! Hostile and broken PyTorch and NumPy files: each kind of damage gives its own error, with the
//! file and the offending name, and nothing ever panics (property tests over random bytes,
//! random opcode soups, and mutated real fixtures).

mod formats_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use brainsurgery::io::{Checkpoint, IoError};
use formats_support::*;
use proptest::prelude::*;

/// Writes `bytes` as `name` in a fresh directory and opens it.
fn open_bytes(name: &str, bytes: &[u8]) -> (tempfile::TempDir, Result<Checkpoint, IoError>) {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let result = Checkpoint::open(&path);
    (directory, result)
}

fn open_error(name: &str, bytes: &[u8]) -> IoError {
    let (_directory, result) = open_bytes(name, bytes);
    result.expect_err("the file must be refused")
}

/// A one-tensor checkpoint with a 16-byte float storage and the given pickle.
fn with_pickle(pickle: &[u8]) -> Vec<u8> {
    torch_archive(pickle, &[("0", &[0u8; 16])])
}

#[test]
fn a_pickle_naming_a_disallowed_global_is_refused_by_name() {
    let mut pickle = Pickle::state_dict();
    pickle.tensor("w", view("FloatStorage", "0", 4, 0, &[4], &[1]));
    pickle.string("payload").global("os", "system");
    let pickle = pickle.finish();
    let offset = pickle.windows(3).position(|w| w == b"cos").unwrap();
    let error = open_error("model.pt", &with_pickle(&pickle));
    assert_eq!(error.code(), "E0043");
    assert!(matches!(error, IoError::DisallowedGlobal { ref global, .. } if global == "os.system"));
    assert!(
        error.to_string().ends_with(&format!(
            "names `os.system` at byte {offset}, which is not allowed"
        )),
        "{error}"
    );
    assert!(error
        .to_diagnostic()
        .help
        .unwrap()
        .contains("never runs code"));

    // Model classes, builtins and torch functions are refused the same way.
    for (module, name) in [
        ("builtins", "eval"),
        ("__main__", "MyModel"),
        ("torch", "load"),
        ("torch.nn.modules.linear", "Linear"),
    ] {
        let mut pickle = Pickle::state_dict();
        pickle.global(module, name);
        let error = open_error("model.pt", &with_pickle(&pickle.finish()));
        assert!(
            matches!(error, IoError::DisallowedGlobal { ref global, .. } if *global == format!("{module}.{name}")),
            "{error}"
        );
    }
}

#[test]
fn a_truncated_zip_is_refused() {
    let bytes = std::fs::read(fixture("torch_state_dict.pt")).unwrap();
    let error = open_error("model.pt", &bytes[..bytes.len() / 2]);
    assert_eq!(error.code(), "E0040");
    assert!(error.to_string().contains("probably truncated"), "{error}");
    // Cut inside the end record too.
    let error = open_error("model.pt", &bytes[..bytes.len() - 10]);
    assert_eq!(error.code(), "E0040");
}

#[test]
fn a_storage_shorter_than_its_tensor_is_refused() {
    // The persistent id promises 8 floats, the member holds 16 bytes.
    let mut pickle = Pickle::state_dict();
    pickle.tensor("w", view("FloatStorage", "0", 8, 0, &[8], &[1]));
    let error = open_error("model.pt", &with_pickle(&pickle.finish()));
    assert_eq!(error.code(), "E0047");
    assert!(
        matches!(error, IoError::StorageTooShort { needed: 32, available: 16, ref tensor, .. } if tensor == "w"),
        "{error}"
    );
    // The storage is whole, but the view (offset 2, three elements) runs past it.
    let mut pickle = Pickle::state_dict();
    pickle.tensor("w", view("FloatStorage", "0", 4, 2, &[3], &[1]));
    let error = open_error("model.pt", &with_pickle(&pickle.finish()));
    assert!(
        matches!(
            error,
            IoError::StorageTooShort {
                needed: 20,
                available: 16,
                ..
            }
        ),
        "{error}"
    );
    // So does a strided view.
    let mut pickle = Pickle::state_dict();
    pickle.tensor("w", view("FloatStorage", "0", 4, 0, &[2, 2], &[1, 3]));
    let error = open_error("model.pt", &with_pickle(&pickle.finish()));
    assert!(
        matches!(error, IoError::StorageTooShort { needed: 20, .. }),
        "{error}"
    );
}

#[test]
fn random_bytes_are_refused() {
    let error = open_error("model.pt", &pattern(3, 4096));
    assert_eq!(error.code(), "E0038");
    let error = open_error("model.pt", &with_pickle(&pattern(3, 4096)));
    assert_eq!(error.code(), "E0042");
    assert!(
        error.to_string().contains("pickle is invalid at byte"),
        "{error}"
    );
}

#[test]
fn the_four_kinds_of_damage_have_distinct_codes() {
    let mut disallowed = Pickle::state_dict();
    disallowed.global("os", "system");
    let mut short = Pickle::state_dict();
    short.tensor("w", view("FloatStorage", "0", 8, 0, &[8], &[1]));
    let fixture_bytes = std::fs::read(fixture("torch_model.bin")).unwrap();
    let codes: BTreeSet<&str> = [
        open_error("a.pt", &with_pickle(&disallowed.finish())),
        open_error("a.pt", &fixture_bytes[..fixture_bytes.len() - 40]),
        open_error("a.pt", &with_pickle(&short.finish())),
        open_error("a.pt", &with_pickle(&pattern(9, 300))),
    ]
    .iter()
    .map(IoError::code)
    .collect();
    assert_eq!(codes.len(), 4, "{codes:?}");
}

#[test]
fn other_malformed_checkpoints_say_what_is_wrong() {
    // A storage member that is missing.
    let mut pickle = Pickle::state_dict();
    pickle.tensor("w", view("FloatStorage", "7", 4, 0, &[4], &[1]));
    let error = open_error("a.pt", &with_pickle(&pickle.finish()));
    assert!(
        matches!(error, IoError::MissingStorage { ref storage, .. } if storage == "archive/data/7"),
        "{error}"
    );
    // A dtype safetensors cannot hold.
    let mut pickle = Pickle::state_dict();
    pickle.tensor("w", view("ComplexDoubleStorage", "0", 1, 0, &[1], &[1]));
    let error = open_error("a.pt", &with_pickle(&pickle.finish()));
    assert_eq!(error.code(), "E0044");
    assert!(
        error.to_string().contains("torch.ComplexDoubleStorage"),
        "{error}"
    );
    // A value that is not a tensor.
    let mut pickle = Pickle::state_dict();
    pickle.string("epoch").int(3);
    let error = open_error("a.pt", &with_pickle(&pickle.finish()));
    assert!(
        error
            .to_string()
            .ends_with("does not hold a plain tensor state_dict: `epoch` is an int, not a tensor"),
        "{error}"
    );
    assert_eq!(error.code(), "E0045");
    // Sizes and strides of different ranks.
    let mut pickle = Pickle::state_dict();
    pickle.tensor("w", view("FloatStorage", "0", 4, 0, &[2, 2], &[1]));
    let error = open_error("a.pt", &with_pickle(&pickle.finish()));
    assert!(
        error.to_string().contains("2 sizes but 1 strides"),
        "{error}"
    );
    // A big-endian checkpoint.
    let mut pickle = Pickle::state_dict();
    pickle.tensor("w", view("FloatStorage", "0", 4, 0, &[4], &[1]));
    let bytes = zip_archive(&[
        ("archive/data.pkl", &pickle.finish()),
        ("archive/byteorder", b"big"),
        ("archive/data/0", &[0u8; 16]),
    ]);
    let error = open_error("a.pt", &bytes);
    assert_eq!(error.code(), "E0041");
    // A zip that is neither a checkpoint nor an npz.
    let error = open_error("a.pt", &zip_archive(&[("notes.txt", b"hello")]));
    assert_eq!(error.code(), "E0049");
}

#[test]
fn a_corrupt_compressed_member_fails_when_read() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("corrupt.npz");
    let mut bytes = std::fs::read(fixture("numpy_compressed.npz")).unwrap();
    let range = Checkpoint::open(fixture("numpy_compressed.npz"))
        .unwrap()
        .tensor("f64")
        .unwrap()
        .data
        .clone();
    // Damage the end of the stream, after the header, so opening still succeeds.
    bytes[range.end as usize - 3] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    let checkpoint = Checkpoint::open(&path).unwrap();
    let error = checkpoint.read("f64").unwrap_err();
    assert_eq!(error.code(), "E0051");
    assert!(checkpoint.read("f32").is_ok());
}

/// Opens and, when that succeeds, reads every tensor; the test is that this returns at all.
fn exercise(path: &Path) {
    if let Ok(checkpoint) = Checkpoint::open(path) {
        for tensor in checkpoint.tensors() {
            let _ = checkpoint.read(&tensor.name);
        }
    }
}

fn write_and_exercise(name: &str, bytes: &[u8]) {
    let directory = tempfile::tempdir().unwrap();
    let path: PathBuf = directory.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    exercise(&path);
}

/// Opcodes with plausible operands, so random pickles get past the first byte.
fn opcode() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            b"(".to_vec(),
            b")".to_vec(),
            b"]".to_vec(),
            b"}".to_vec(),
            b"t".to_vec(),
            b"l".to_vec(),
            b"d".to_vec(),
            b"u".to_vec(),
            b"s".to_vec(),
            b"a".to_vec(),
            b"e".to_vec(),
            b"R".to_vec(),
            b"b".to_vec(),
            b"Q".to_vec(),
            b"N".to_vec(),
            b"0".to_vec(),
            b"1".to_vec(),
            b"2".to_vec(),
            b".".to_vec(),
            vec![0x85],
            vec![0x86],
            vec![0x87],
            vec![0x88],
            vec![0x89],
            vec![0x94],
            b"ctorch._utils\n_rebuild_tensor_v2\n".to_vec(),
            b"ctorch._utils\n_rebuild_tensor_v3\n".to_vec(),
            b"ctorch._utils\n_rebuild_parameter\n".to_vec(),
            b"ccollections\nOrderedDict\n".to_vec(),
            b"ctorch\nFloatStorage\n".to_vec(),
            b"ctorch\nbfloat16\n".to_vec(),
            b"ctorch.storage\nUntypedStorage\n".to_vec(),
            b"c_codecs\nencode\n".to_vec(),
            b"ctorch\nSize\n".to_vec(),
            b"X\x07\x00\x00\x00storage".to_vec(),
            b"X\x01\x00\x00\x000".to_vec(),
            b"X\x03\x00\x00\x00cpu".to_vec(),
            b"X\x06\x00\x00\x00latin1".to_vec(),
        ]),
        any::<u8>().prop_map(|n| vec![b'K', n]),
        any::<u8>().prop_map(|n| vec![b'q', n % 8]),
        any::<u8>().prop_map(|n| vec![b'h', n % 8]),
        any::<i32>().prop_map(|n| {
            let mut bytes = vec![b'J'];
            bytes.extend(n.to_le_bytes());
            bytes
        }),
        prop::collection::vec(any::<u8>(), 0..6),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_files_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        for name in ["model.pt", "arrays.npz", "array.npy", "model.safetensors"] {
            write_and_exercise(name, &bytes);
        }
    }

    #[test]
    fn random_pickles_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        write_and_exercise("model.pt", &with_pickle(&bytes));
    }

    #[test]
    fn opcode_soups_never_panic(ops in prop::collection::vec(opcode(), 0..64)) {
        let mut pickle = vec![0x80, 2];
        pickle.extend(ops.concat());
        pickle.push(b'.');
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("model.pt");
        std::fs::write(&path, with_pickle(&pickle)).unwrap();
        exercise(&path);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..6,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<Option<prop::sample::Index>>(),
    ) {
        let names = [
            "torch_state_dict.pt",
            "torch_model.bin",
            "numpy_arrays.npz",
            "numpy_compressed.npz",
            "numpy_vector.npy",
            "written_by_brainsurgery.pt",
        ];
        let mut bytes = std::fs::read(fixture(names[which])).unwrap();
        for (position, value) in flips {
            let at = position.index(bytes.len());
            bytes[at] ^= value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        write_and_exercise(names[which], &bytes);
    }
}
