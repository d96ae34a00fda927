//! Write → read round trips: every dtype, 0-dim and zero-length shapes, arbitrary names, single
//! file and shards (with and without the index), tensors written out of order and in chunks. Every
//! file we write must also be accepted by the safetensors crate's own deserializer.

mod io_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use brainsurgery::io::{
    output_metadata, Checkpoint, CheckpointWriter, OutputLayout, WriterOptions, PLAN_HASH_KEY,
    VERSION_KEY,
};
use brainsurgery::tensor::{DType, Shape, TensorType};
use io_support::{pattern, write_checkpoint, TensorSpec};
use proptest::prelude::*;
use safetensors::SafeTensors;

/// A tensor type of any dtype; shapes that would not fill whole bytes (sub-byte dtypes) get a
/// trailing dimension of 8, which always does.
fn tensor_type() -> impl Strategy<Value = TensorType> {
    (
        proptest::sample::select(DType::ALL.to_vec()),
        proptest::collection::vec(0u64..5, 0..4),
    )
        .prop_map(|(dtype, mut dims)| {
            if dtype
                .byte_len(Shape::new(dims.clone()).element_count().unwrap_or(0))
                .is_none()
            {
                dims.push(8);
            }
            TensorType::new(dtype, Shape::new(dims))
        })
}

/// Distinct names (including non-ASCII ones) with types and pseudo-random bytes, in a shuffled
/// order (the write order).
fn tensors() -> impl Strategy<Value = Vec<TensorSpec>> {
    proptest::collection::btree_map("[a-zA-Zé_.0-9]{1,12}", (tensor_type(), any::<u64>()), 0..10)
        .prop_map(|map| {
            map.into_iter()
                .map(|(name, (ty, seed))| {
                    let len = ty.byte_len().expect("whole bytes") as usize;
                    (name, ty, pattern(seed, len))
                })
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
}

/// Asserts that `checkpoint` holds exactly `expected`.
fn assert_holds(checkpoint: &Checkpoint, expected: &[TensorSpec]) {
    let names: BTreeSet<&str> = checkpoint
        .tensors()
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    let expected_names: BTreeSet<&str> = expected.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, expected_names);
    for (name, ty, bytes) in expected {
        let info = checkpoint.tensor(name).expect("tensor present");
        assert_eq!(&info.ty, ty, "{name}");
        assert_eq!(
            checkpoint.read(name).expect("readable"),
            bytes.as_slice(),
            "{name}"
        );
    }
}

/// Asserts that the safetensors crate accepts `file` and sees the same tensors in it.
fn assert_crate_accepts(file: &Path, checkpoint: &Checkpoint) {
    let bytes = std::fs::read(file).expect("readable shard");
    let parsed = SafeTensors::deserialize(&bytes)
        .unwrap_or_else(|error| panic!("{} rejected: {error}", file.display()));
    for (name, view) in parsed.tensors() {
        let info = checkpoint
            .tensor(&name)
            .expect("tensor known to our reader");
        assert_eq!(view.dtype().to_string(), info.ty.dtype.safetensors_name());
        let shape: Vec<u64> = view.shape().iter().map(|&d| d as u64).collect();
        assert_eq!(shape, info.ty.shape.dims());
        assert_eq!(view.data(), checkpoint.read(&name).expect("readable"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn single_file_round_trips(tensors in tensors()) {
        let directory = tempfile::tempdir().unwrap();
        let destination = directory.path().join("out.safetensors");
        let metadata = output_metadata(&BTreeMap::from([("format".into(), "pt".into())]), Some("abc"));
        write_checkpoint(&destination, &tensors, None, metadata.clone()).unwrap();

        let checkpoint = Checkpoint::open(&destination).unwrap();
        assert_holds(&checkpoint, &tensors);
        prop_assert_eq!(checkpoint.metadata(), &metadata);
        assert_crate_accepts(&destination, &checkpoint);
        prop_assert_eq!(io_support::leftovers(directory.path()), Vec::<String>::new());
    }

    #[test]
    fn shards_round_trip_with_and_without_index(tensors in tensors(), budget in 1u64..300) {
        let directory = tempfile::tempdir().unwrap();
        let destination = directory.path().join("out");
        write_checkpoint(&destination, &tensors, Some(budget), BTreeMap::new()).unwrap();

        let checkpoint = Checkpoint::open(&destination).unwrap();
        assert_holds(&checkpoint, &tensors);
        for shard in checkpoint.shards() {
            assert_crate_accepts(shard, &checkpoint);
        }
        // Every shard but those holding one oversized tensor stays within the budget.
        for (index, _) in checkpoint.shards().iter().enumerate() {
            let in_shard: Vec<_> = checkpoint.tensors().iter().filter(|t| t.shard == index).collect();
            let bytes: u64 = in_shard.iter().map(|t| t.byte_len()).sum();
            prop_assert!(bytes <= budget || in_shard.len() == 1, "shard {} holds {} bytes", index, bytes);
        }
        drop(checkpoint);

        std::fs::remove_file(destination.join("model.safetensors.index.json")).unwrap();
        let unindexed = Checkpoint::open(&destination).unwrap();
        assert_holds(&unindexed, &tensors);
    }

    #[test]
    fn chunks_in_any_order_and_from_threads_round_trip(tensors in tensors(), chunk in 1usize..7) {
        let directory = tempfile::tempdir().unwrap();
        let destination = directory.path().join("out");
        let layout = OutputLayout::plan(
            tensors.iter().map(|(n, t, _)| (n.clone(), t.clone())).collect(),
            None,
        ).unwrap();
        let writer =
            CheckpointWriter::create(&destination, layout, BTreeMap::new(), WriterOptions::default()).unwrap();
        std::thread::scope(|scope| {
            for (name, _, bytes) in &tensors {
                let writer = &writer;
                scope.spawn(move || {
                    // Chunks from the end backwards, so no write is sequential.
                    let chunks: Vec<(usize, &[u8])> =
                        bytes.chunks(chunk).enumerate().map(|(i, c)| (i * chunk, c)).collect();
                    for (offset, piece) in chunks.into_iter().rev() {
                        writer.write_at(name, offset as u64, piece).unwrap();
                    }
                });
            }
        });
        writer.finish().unwrap();
        let checkpoint = Checkpoint::open(destination.join("model.safetensors")).unwrap();
        assert_holds(&checkpoint, &tensors);
    }
}

#[test]
fn provenance_is_added_and_input_metadata_kept() {
    let input = BTreeMap::from([
        ("format".to_string(), "pt".to_string()),
        (PLAN_HASH_KEY.to_string(), "stale".to_string()),
    ]);
    let metadata = output_metadata(&input, None);
    assert_eq!(metadata.get("format").map(String::as_str), Some("pt"));
    assert_eq!(
        metadata.get(VERSION_KEY).map(String::as_str),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(metadata.get(PLAN_HASH_KEY), None);
    let hashed = output_metadata(&input, Some("1234"));
    assert_eq!(hashed.get(PLAN_HASH_KEY).map(String::as_str), Some("1234"));
}

#[test]
fn sharded_output_is_laid_out_as_hugging_face_does() {
    let directory = tempfile::tempdir().unwrap();
    let destination = directory.path().join("out");
    let u8s = |name: &str, len: u64| {
        (
            name.to_string(),
            TensorType::new(DType::U8, Shape::new(vec![len])),
            pattern(len, len as usize),
        )
    };
    let tensors = vec![u8s("a", 60), u8s("b", 60), u8s("big", 500), u8s("c", 10)];
    write_checkpoint(&destination, &tensors, Some(128), BTreeMap::new()).unwrap();

    let mut files: Vec<String> = std::fs::read_dir(&destination)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "model-00001-of-00003.safetensors",
            "model-00002-of-00003.safetensors",
            "model-00003-of-00003.safetensors",
            "model.safetensors.index.json",
        ]
    );
    let index: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(destination.join("model.safetensors.index.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(index["metadata"]["total_size"], 630);
    assert_eq!(index["weight_map"]["b"], "model-00001-of-00003.safetensors");
    assert_eq!(
        index["weight_map"]["big"],
        "model-00002-of-00003.safetensors"
    );
    assert_eq!(index["weight_map"]["c"], "model-00003-of-00003.safetensors");
    // Data starts at a multiple of 8 in every shard.
    for file in &files[..3] {
        let bytes = std::fs::read(destination.join(file)).unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap());
        assert_eq!(header_len % 8, 0, "{file}");
    }
}

#[test]
fn unsharded_directory_holds_model_safetensors() {
    let directory = tempfile::tempdir().unwrap();
    let destination = directory.path().join("out");
    let tensors = vec![(
        "x".to_string(),
        TensorType::new(DType::F32, Shape::new(vec![])),
        vec![0, 0, 128, 63],
    )];
    write_checkpoint(&destination, &tensors, None, BTreeMap::new()).unwrap();
    let files: Vec<String> = std::fs::read_dir(&destination)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["model.safetensors"]);
    let checkpoint = Checkpoint::open(&destination).unwrap();
    assert_eq!(checkpoint.read("x").unwrap(), [0, 0, 128, 63]);
}
