//! The example checkpoints beside gpt2-tiny: a dense Llama/OLMo-shaped model (`olmo-tiny`), a
//! trained-looking two-expert MoE of it (`olmo-tiny-moe`) and a fine-tune of gpt2-tiny whose delta
//! is low-rank plus small noise (`gpt2-tiny-tuned`).
//!
//! Each builder receives nothing (the fine-tune receives the base file's bytes) and returns a
//! complete `.safetensors` file. Values come from splitmix64 streams seeded with constants and
//! are combined in f32 in a fixed order, and the `safetensors` crate's serializer writes them, so
//! the same bytes come out on every machine. `examples/make_models.rs` writes these files and
//! `tests/examples.rs` checks the committed copies are current.

#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::HashMap;

use safetensors::tensor::{Dtype, View};

/// Where each committed checkpoint lives, relative to the crate root.
pub const OLMO_PATH: &str = "examples/models/olmo-tiny/model.safetensors";
pub const MOE_PATH: &str = "examples/models/olmo-tiny-moe/model.safetensors";
pub const TUNED_PATH: &str = "examples/models/gpt2-tiny-tuned/model.safetensors";

pub const HIDDEN: usize = 16;
pub const INTERMEDIATE: usize = 48;
pub const VOCABULARY: usize = 64;
pub const LAYERS: usize = 2;
/// The rank of the second expert's difference from the first, before noise.
pub const EXPERT_DELTA_RANK: usize = 4;
/// The rank of the fine-tune's difference from gpt2-tiny, before noise.
pub const TUNED_DELTA_RANK: usize = 2;
/// The largest noise value added to the experts' difference and to the fine-tune's.
pub const EXPERT_NOISE: f32 = 1e-3;
pub const TUNED_NOISE: f32 = 1e-4;

/// The experts' difference: strong enough that rank 4 carries it (its values are about 25 times
/// the noise), noisy enough that a rank-4 approximation is not exact.
const EXPERT: Difference = Difference {
    rank: EXPERT_DELTA_RANK,
    factor_spread: 0.15,
    noise: EXPERT_NOISE,
};
/// The fine-tune's difference, likewise about 20 times its noise.
const TUNED: Difference = Difference {
    rank: TUNED_DELTA_RANK,
    factor_spread: 0.05,
    noise: TUNED_NOISE,
};

const OLMO_SEED: u64 = 0x6f6c_6d6f_7469_6e79; // "olmotiny" in ASCII.
const MOE_SEED: u64 = 0x6d6f_6574_696e_7921; // "moetiny!" in ASCII.
const TUNED_SEED: u64 = 0x7475_6e65_6467_7074; // "tunedgpt" in ASCII.

/// The splitmix64 generator, as in gpt2_tiny.rs: fully specified, so no crate version matters.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `center + spread * u` with `u` uniform in [-1, 1), from the top 24 bits.
    fn draw(&mut self, center: f32, spread: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        center + spread * (2.0 * unit - 1.0)
    }

    fn matrix(&mut self, count: usize, center: f32, spread: f32) -> Vec<f32> {
        (0..count).map(|_| self.draw(center, spread)).collect()
    }
}

/// One F32 tensor held in memory, viewable by the safetensors serializer.
struct OwnedTensor {
    shape: Vec<usize>,
    values: Vec<f32>,
    bytes: Vec<u8>,
}

impl OwnedTensor {
    fn new(shape: Vec<usize>, values: Vec<f32>) -> OwnedTensor {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        OwnedTensor {
            shape,
            values,
            bytes,
        }
    }
}

impl View for &OwnedTensor {
    fn dtype(&self) -> Dtype {
        Dtype::F32
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

fn serialize(tensors: &[(String, OwnedTensor)]) -> Vec<u8> {
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    let views = tensors.iter().map(|(name, tensor)| (name.as_str(), tensor));
    // In-memory F32 tensors with consistent shapes always serialize; a failure is a bug here.
    safetensors::tensor::serialize(views, Some(metadata)).expect("the example tensors are valid")
}

/// The dense model's tensors, in draw order.
fn dense_tensors() -> Vec<(String, OwnedTensor)> {
    let (h, i) = (HIDDEN, INTERMEDIATE);
    let mut generator = SplitMix64 { state: OLMO_SEED };
    let mut tensor = |name: String, shape: Vec<usize>, center: f32, spread: f32| {
        let values = generator.matrix(shape.iter().product(), center, spread);
        (name, OwnedTensor::new(shape, values))
    };
    let mut tensors = vec![tensor(
        "model.embed_tokens.weight".into(),
        vec![VOCABULARY, h],
        0.0,
        0.1,
    )];
    for layer in 0..LAYERS {
        let prefix = format!("model.layers.{layer}");
        for projection in ["q", "k", "v", "o"] {
            let name = format!("{prefix}.self_attn.{projection}_proj.weight");
            tensors.push(tensor(name, vec![h, h], 0.0, 0.1));
        }
        for (projection, shape) in [("gate", [i, h]), ("up", [i, h]), ("down", [h, i])] {
            let name = format!("{prefix}.mlp.{projection}_proj.weight");
            tensors.push(tensor(name, shape.to_vec(), 0.0, 0.1));
        }
        for norm in ["input_layernorm", "post_attention_layernorm"] {
            tensors.push(tensor(
                format!("{prefix}.{norm}.weight"),
                vec![h],
                1.0,
                0.05,
            ));
        }
    }
    tensors.push(tensor("model.norm.weight".into(), vec![h], 1.0, 0.05));
    tensors.push(tensor(
        "lm_head.weight".into(),
        vec![VOCABULARY, h],
        0.0,
        0.1,
    ));
    tensors
}

/// How a difference is drawn: factors uniform in ±`factor_spread`, noise uniform in ±`noise`.
#[derive(Clone, Copy)]
struct Difference {
    rank: usize,
    factor_spread: f32,
    noise: f32,
}

/// `base + B·A + noise` for an `out × in` matrix, with B `out × rank` and A `rank × in` drawn
/// from `generator`; the sum is taken in f32 in a fixed order so it is reproducible.
fn low_rank_plus_noise(
    generator: &mut SplitMix64,
    base: &[f32],
    shape: &[usize],
    difference: Difference,
) -> Vec<f32> {
    let (rows, columns) = (shape[0], shape[1]);
    let Difference {
        rank,
        factor_spread,
        noise,
    } = difference;
    let b = generator.matrix(rows * rank, 0.0, factor_spread);
    let a = generator.matrix(rank * columns, 0.0, factor_spread);
    let mut values = Vec::with_capacity(rows * columns);
    for row in 0..rows {
        for column in 0..columns {
            let product: f32 = (0..rank)
                .map(|k| b[row * rank + k] * a[k * columns + column])
                .sum();
            let index = row * columns + column;
            values.push(base[index] + product + generator.draw(0.0, noise));
        }
    }
    values
}

/// The dense model (`olmo-tiny`).
pub fn build_dense() -> Vec<u8> {
    serialize(&dense_tensors())
}

/// The MoE (`olmo-tiny-moe`): each layer's MLP as expert 0, expert 1 = expert 0 + a rank-4
/// difference + noise (as if trained after upcycling), a small random router `mlp.gate.weight`
/// `[2, hidden]`, and no dense MLP.
pub fn build_moe() -> Vec<u8> {
    let mut generator = SplitMix64 { state: MOE_SEED };
    let mut tensors = Vec::new();
    for (name, tensor) in dense_tensors() {
        let Some((prefix, projection)) = name.split_once(".mlp.") else {
            tensors.push((name, tensor));
            continue;
        };
        let tuned = low_rank_plus_noise(&mut generator, &tensor.values, &tensor.shape, EXPERT);
        let expert_one = OwnedTensor::new(tensor.shape.clone(), tuned);
        tensors.push((format!("{prefix}.mlp.experts.1.{projection}"), expert_one));
        tensors.push((format!("{prefix}.mlp.experts.0.{projection}"), tensor));
        if projection.starts_with("gate") {
            let router = generator.matrix(2 * HIDDEN, 0.0, 0.1);
            let router = OwnedTensor::new(vec![2, HIDDEN], router);
            tensors.push((format!("{prefix}.mlp.gate.weight"), router));
        }
    }
    serialize(&tensors)
}

/// The fine-tune (`gpt2-tiny-tuned`) of the gpt2-tiny file in `base`: every 2-D weight of the
/// blocks (`h.N.*.weight`) moves by a rank-2 difference plus noise of at most 1e-4; all other
/// tensors are the base's.
pub fn build_tuned(base: &[u8]) -> Vec<u8> {
    let base = safetensors::SafeTensors::deserialize(base).expect("gpt2-tiny is valid");
    let mut generator = SplitMix64 { state: TUNED_SEED };
    let mut names: Vec<String> = base.names().into_iter().map(str::to_string).collect();
    names.sort();
    let tensors: Vec<(String, OwnedTensor)> = names
        .into_iter()
        .map(|name| {
            let view = base.tensor(&name).expect("listed tensor");
            let shape = view.shape().to_vec();
            let values: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let tuned = if shape.len() == 2 && name.starts_with("h.") {
                low_rank_plus_noise(&mut generator, &values, &shape, TUNED)
            } else {
                values
            };
            (name, OwnedTensor::new(shape, tuned))
        })
        .collect();
    serialize(&tensors)
}
