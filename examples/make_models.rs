//! Regenerates the bundled example checkpoints under `examples/models/`: gpt2-tiny, its
//! fine-tune gpt2-tiny-tuned, the dense olmo-tiny and its two-expert MoE olmo-tiny-moe.
//!
//! Run with `cargo run --example make_models`. It receives no arguments, writes the file relative to
//! the crate root (whatever the working directory), and rewrites them bit-identically: each model is
//! defined once, in `examples/support/gpt2_tiny.rs` or `examples/support/derived.rs`, which the
//! tests also use to check that the committed copies are current.

#[path = "support/derived.rs"]
mod derived;
#[path = "support/gpt2_tiny.rs"]
mod gpt2_tiny;

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let base = gpt2_tiny::build();
    let tuned = derived::build_tuned(&base);
    let models = [
        (gpt2_tiny::RELATIVE_PATH, base),
        (derived::TUNED_PATH, tuned),
        (derived::OLMO_PATH, derived::build_dense()),
        (derived::MOE_PATH, derived::build_moe()),
    ];
    for (relative, bytes) in models {
        if let Err(code) = write(relative, &bytes) {
            return code;
        }
    }
    ExitCode::SUCCESS
}

fn write(relative: &str, bytes: &[u8]) -> Result<(), ExitCode> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&path, bytes));
    match written {
        Ok(()) => {
            println!("wrote {} ({} bytes)", path.display(), bytes.len());
            Ok(())
        }
        Err(error) => {
            eprintln!("error: cannot write {}: {error}", path.display());
            Err(ExitCode::FAILURE)
        }
    }
}
