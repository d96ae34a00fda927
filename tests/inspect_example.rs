//! Checks that the committed example checkpoint is exactly what `examples/make_models.rs` writes,
//! and that the safetensors crate reads it back with the intended GPT-2 layout.

#[path = "../examples/support/gpt2_tiny.rs"]
mod gpt2_tiny;

use std::path::Path;

use safetensors::SafeTensors;

fn committed_bytes() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(gpt2_tiny::RELATIVE_PATH);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

#[test]
fn committed_example_matches_the_generator() {
    let generated = gpt2_tiny::build();
    assert!(
        committed_bytes() == generated,
        "examples/models/gpt2-tiny/model.safetensors is stale: run `cargo run --example make_models`"
    );
}

#[test]
fn generator_is_deterministic() {
    assert_eq!(gpt2_tiny::build(), gpt2_tiny::build());
}

#[test]
fn example_has_the_gpt2_layout() {
    let bytes = committed_bytes();
    assert!(bytes.len() < 16 * 1024, "the example must stay a few KB");
    let (_, metadata) = SafeTensors::read_metadata(&bytes).expect("valid header");
    let format = metadata.metadata().as_ref().and_then(|m| m.get("format"));
    assert_eq!(format.map(String::as_str), Some("pt"));

    let file = SafeTensors::deserialize(&bytes).expect("valid file");
    assert_eq!(file.len(), 2 + 2 * 12 + 2);
    let shape = |name: &str| file.tensor(name).map(|t| t.shape().to_vec()).ok();
    assert_eq!(shape("wte.weight"), Some(vec![64, 8]));
    assert_eq!(shape("wpe.weight"), Some(vec![16, 8]));
    assert_eq!(shape("h.1.attn.c_attn.weight"), Some(vec![8, 24]));
    assert_eq!(shape("h.0.mlp.c_fc.weight"), Some(vec![8, 32]));
    assert_eq!(shape("h.1.mlp.c_proj.weight"), Some(vec![32, 8]));
    assert_eq!(shape("ln_f.bias"), Some(vec![8]));
    assert_eq!(shape("h.2.ln_1.weight"), None);
    for (name, view) in file.tensors() {
        assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name}");
    }

    // Layer-norm scales are drawn around 1, everything else around 0, so a swapped init shows.
    let values = |name: &str| -> Vec<f32> {
        let view = file.tensor(name).expect("tensor exists");
        view.data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    };
    assert!(values("ln_f.weight")
        .iter()
        .all(|v| (0.95..=1.05).contains(v)));
    assert!(values("wte.weight").iter().all(|v| v.abs() <= 0.1));
}
