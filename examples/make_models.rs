//! Regenerates the bundled example checkpoint, `examples/models/gpt2-tiny/model.safetensors`.
//!
//! Run with `cargo run --example make_models`. It receives no arguments, writes the file relative to
//! the crate root (whatever the working directory), and rewrites it bit-identically: the model is
//! defined once, in `examples/support/gpt2_tiny.rs`, which the tests also use to check that the
//! committed copy is current.

#[path = "support/gpt2_tiny.rs"]
mod gpt2_tiny;

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(gpt2_tiny::RELATIVE_PATH);
    let bytes = gpt2_tiny::build();
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&path, &bytes));
    match written {
        Ok(()) => {
            println!("wrote {} ({} bytes)", path.display(), bytes.len());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: cannot write {}: {error}", path.display());
            ExitCode::FAILURE
        }
    }
}
