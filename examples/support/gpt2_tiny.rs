//! The bundled example checkpoint: a two-layer GPT-2 with Hugging Face's tensor names (no
//! `transformer.` prefix), every tensor F32, hidden size 8, vocabulary 64, context 16.
//!
//! It receives nothing and returns the complete `.safetensors` file as bytes. The values come from
//! a splitmix64 stream seeded with a constant, and the file is written by the `safetensors` crate's
//! own serializer, so the same bytes come out on every machine and every run. This file is
//! shared by `examples/make_models.rs` (which writes it to disk) and by the test that checks the
//! committed copy is current, so there is exactly one definition of the model.

use std::borrow::Cow;
use std::collections::HashMap;

use safetensors::tensor::{Dtype, View};

/// Where the committed checkpoint lives, relative to the crate root.
pub const RELATIVE_PATH: &str = "examples/models/gpt2-tiny/model.safetensors";

const HIDDEN: usize = 8;
const VOCABULARY: usize = 64;
const CONTEXT: usize = 16;
const LAYERS: usize = 2;
const SEED: u64 = 0x6272_6169_6e73_7572; // "brainsur" in ASCII, any constant would do.

/// The splitmix64 generator (Steele, Lea and Flood): tiny, fast, and fully specified, so the
/// example never depends on a random-number crate's version.
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

    /// A value uniform in [-1, 1), built from the top 24 bits so it is exact in f32.
    fn next_symmetric(&mut self) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        2.0 * unit - 1.0
    }
}

/// How a tensor's values are drawn: `center + spread * u` with `u` uniform in [-1, 1).
#[derive(Clone, Copy)]
struct Init {
    center: f32,
    spread: f32,
}

const WEIGHT: Init = Init {
    center: 0.0,
    spread: 0.1,
};
const BIAS: Init = Init {
    center: 0.0,
    spread: 0.02,
};
const NORM_SCALE: Init = Init {
    center: 1.0,
    spread: 0.05,
};

/// One F32 tensor held in memory, viewable by the safetensors serializer.
struct OwnedTensor {
    shape: Vec<usize>,
    bytes: Vec<u8>,
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

/// The tensor names and shapes, in the order the values are drawn from the generator.
fn layout() -> Vec<(String, Vec<usize>, Init)> {
    let d = HIDDEN;
    let mut tensors = vec![
        ("wte.weight".to_string(), vec![VOCABULARY, d], WEIGHT),
        ("wpe.weight".to_string(), vec![CONTEXT, d], WEIGHT),
    ];
    for layer in 0..LAYERS {
        let per_layer = [
            ("ln_1.weight", vec![d], NORM_SCALE),
            ("ln_1.bias", vec![d], BIAS),
            ("attn.c_attn.weight", vec![d, 3 * d], WEIGHT),
            ("attn.c_attn.bias", vec![3 * d], BIAS),
            ("attn.c_proj.weight", vec![d, d], WEIGHT),
            ("attn.c_proj.bias", vec![d], BIAS),
            ("ln_2.weight", vec![d], NORM_SCALE),
            ("ln_2.bias", vec![d], BIAS),
            ("mlp.c_fc.weight", vec![d, 4 * d], WEIGHT),
            ("mlp.c_fc.bias", vec![4 * d], BIAS),
            ("mlp.c_proj.weight", vec![4 * d, d], WEIGHT),
            ("mlp.c_proj.bias", vec![d], BIAS),
        ];
        for (suffix, shape, init) in per_layer {
            tensors.push((format!("h.{layer}.{suffix}"), shape, init));
        }
    }
    tensors.push(("ln_f.weight".to_string(), vec![d], NORM_SCALE));
    tensors.push(("ln_f.bias".to_string(), vec![d], BIAS));
    tensors
}

/// Builds the complete checkpoint file. The serializer sorts tensors by name, so the draw order
/// above only decides which values each tensor gets, not where it lands in the file.
pub fn build() -> Vec<u8> {
    let mut generator = SplitMix64 { state: SEED };
    let tensors: Vec<(String, OwnedTensor)> = layout()
        .into_iter()
        .map(|(name, shape, init)| {
            let count: usize = shape.iter().product();
            let bytes = (0..count)
                .flat_map(|_| {
                    (init.center + init.spread * generator.next_symmetric()).to_le_bytes()
                })
                .collect();
            (name, OwnedTensor { shape, bytes })
        })
        .collect();
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    let views = tensors.iter().map(|(name, tensor)| (name.as_str(), tensor));
    // Serializing in-memory F32 tensors with consistent shapes cannot fail; a failure here would be
    // a bug in this file, and this is a build tool, not user input.
    safetensors::tensor::serialize(views, Some(metadata)).expect("the example tensors are valid")
}
