//! `inspect --stats` over a real checkpoint: a file with one tensor of each kind of dtype, written
//! by the safetensors crate, read through `Checkpoint`, summarized by `checkpoint_stats`, and
//! compared with a naive f64 two-pass reference over values decoded independently here.

use std::borrow::Cow;
use std::path::Path;

use brainsurgery::inspect::{checkpoint_stats, Inventory, Summary, TensorStats};
use brainsurgery::io::Checkpoint;
use safetensors::tensor::{Dtype, View};

struct Tensor {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Tensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// One tensor of the fixture with the real values its bytes encode.
struct Case {
    name: &'static str,
    tensor: Tensor,
    values: Vec<f64>,
}

fn case(name: &'static str, dtype: Dtype, bytes: Vec<u8>, values: Vec<f64>) -> Case {
    let tensor = Tensor {
        dtype,
        shape: vec![values.len()],
        bytes,
    };
    Case {
        name,
        tensor,
        values,
    }
}

/// Enough elements for several parallel chunks, with NaN and infinities sprinkled in.
fn large_f32() -> Vec<f32> {
    (0..200_003u32)
        .map(|i| match i % 50_000 {
            17 => f32::NAN,
            18 => f32::INFINITY,
            19 => f32::NEG_INFINITY,
            _ => 1000.0 + ((i.wrapping_mul(2654435761)) % 8191) as f32 / 4096.0,
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let f16_values = [-2.5f32, 0.0, 1.0, 65504.0, 0.099975586];
    let bf16_values = [-3.0f32, 0.5, 1.5, 256.0];
    let large = large_f32();
    vec![
        case(
            "f16",
            Dtype::F16,
            f16_values
                .iter()
                .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                .collect(),
            f16_values
                .iter()
                .map(|v| f64::from(half::f16::from_f32(*v)))
                .collect(),
        ),
        case(
            "bf16",
            Dtype::BF16,
            bf16_values
                .iter()
                .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
                .collect(),
            bf16_values.iter().map(|v| f64::from(*v)).collect(),
        ),
        // 0x38 = 1.0, 0x7E = 448, 0xC4 = -3, 0x01 = 2^-9, 0x7F = NaN (OCP E4M3FN).
        case(
            "f8_e4m3",
            Dtype::F8_E4M3,
            vec![0x38, 0x7E, 0xC4, 0x01, 0x7F],
            vec![1.0, 448.0, -3.0, 0.001953125, f64::NAN],
        ),
        // 0x3C = 1.0, 0xC0 = -2.0, 0x7C = +inf.
        case(
            "f8_e5m2",
            Dtype::F8_E5M2,
            vec![0x3C, 0xC0, 0x7C],
            vec![1.0, -2.0, f64::INFINITY],
        ),
        case(
            "i32",
            Dtype::I32,
            [i32::MIN, -1, 7]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
            vec![-2147483648.0, -1.0, 7.0],
        ),
        case("u8", Dtype::U8, vec![0, 200, 255], vec![0.0, 200.0, 255.0]),
        case(
            "bool",
            Dtype::BOOL,
            vec![1, 0, 1, 1],
            vec![1.0, 0.0, 1.0, 1.0],
        ),
        case(
            "f64",
            Dtype::F64,
            [1e300, -1e-300, 0.1]
                .iter()
                .flat_map(|v: &f64| v.to_le_bytes())
                .collect(),
            vec![1e300, -1e-300, 0.1],
        ),
        case(
            "large",
            Dtype::F32,
            large.iter().flat_map(|v| v.to_le_bytes()).collect(),
            large.iter().map(|v| f64::from(*v)).collect(),
        ),
    ]
}

fn write_fixture(directory: &Path, cases: &[Case]) -> std::path::PathBuf {
    let mut tensors: Vec<(&str, &Tensor)> = cases.iter().map(|c| (c.name, &c.tensor)).collect();
    let packed = Tensor {
        dtype: Dtype::F4,
        shape: vec![4],
        bytes: vec![0x12, 0x34],
    };
    tensors.push(("packed", &packed));
    let bytes = safetensors::tensor::serialize(tensors, None).expect("serializable fixture");
    let path = directory.join("fixture.safetensors");
    std::fs::write(&path, bytes).expect("write fixture");
    path
}

/// The naive reference: finite values only, two passes, population std.
fn reference(values: &[f64]) -> Summary {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let count = finite.len() as f64;
    let mean = finite.iter().sum::<f64>() / count;
    let variance = finite.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / count;
    Summary {
        elements: values.len() as u64,
        min: finite.iter().copied().reduce(f64::min),
        max: finite.iter().copied().reduce(f64::max),
        mean: Some(mean),
        std: Some(variance.sqrt()),
        nan: values.iter().filter(|v| v.is_nan()).count() as u64,
        infinite: values.iter().filter(|v| v.is_infinite()).count() as u64,
    }
}

fn relative_close(actual: Option<f64>, expected: Option<f64>) -> bool {
    match (actual, expected) {
        (Some(a), Some(e)) => (a - e).abs() <= 1e-12 * e.abs().max(1e-300) || a == e,
        _ => false,
    }
}

#[test]
fn stats_match_the_naive_reference_for_every_decodable_dtype() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let cases = cases();
    let checkpoint = Checkpoint::open(write_fixture(directory.path(), &cases)).expect("opens");
    let stats = checkpoint_stats(&checkpoint).expect("stats");
    assert_eq!(stats.len(), checkpoint.tensors().len());

    for case in &cases {
        let position = checkpoint
            .tensors()
            .iter()
            .position(|info| info.name == case.name)
            .expect("the tensor is in the checkpoint");
        let TensorStats::Summary(actual) = &stats[position] else {
            panic!("{}: expected a summary", case.name);
        };
        let expected = reference(&case.values);
        assert_eq!(actual.elements, expected.elements, "{}", case.name);
        assert_eq!(
            (actual.nan, actual.infinite),
            (expected.nan, expected.infinite),
            "{}",
            case.name
        );
        assert_eq!(
            (actual.min, actual.max),
            (expected.min, expected.max),
            "{}",
            case.name
        );
        assert!(
            relative_close(actual.mean, expected.mean),
            "{}: mean {:?} vs {:?}",
            case.name,
            actual.mean,
            expected.mean
        );
        // The large tensor's values sit at 1000 ± 1, so a cancelling variance formula would fail here.
        assert!(
            relative_close(actual.std, expected.std),
            "{}: std {:?} vs {:?}",
            case.name,
            actual.std,
            expected.std
        );
    }

    let packed = checkpoint
        .tensors()
        .iter()
        .position(|info| info.name == "packed")
        .expect("packed is in the checkpoint");
    assert_eq!(stats[packed], TensorStats::Unsupported);
}

#[test]
fn only_stats_read_tensor_bytes_and_each_tensor_once() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let cases = cases();
    let checkpoint = Checkpoint::open(write_fixture(directory.path(), &cases)).expect("opens");

    let inventory = Inventory::from_checkpoint(&checkpoint);
    assert_eq!(inventory.tensors.len(), cases.len() + 1);
    assert_eq!(
        checkpoint.read_stats().tensors,
        0,
        "the table reads headers only"
    );

    checkpoint_stats(&checkpoint).expect("stats");
    let read = checkpoint.read_stats();
    assert_eq!(read.tensors, inventory.tensors.len() as u64);
    assert_eq!(read.bytes, inventory.totals().overall.bytes);
}
