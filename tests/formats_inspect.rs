//! `brainsurgery inspect` works unchanged on PyTorch and NumPy inputs (the built binary, run on
//! the committed fixtures).

mod formats_support;

use std::process::{Command, Output};

use formats_support::fixture;

fn inspect(path: &str, flags: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brainsurgery"))
        .arg("inspect")
        .arg(fixture(path))
        .args(flags)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn the_table_of_a_torch_checkpoint() {
    let text = stdout(&inspect("torch_model.bin", &[]));
    assert_eq!(
        text,
        "\
name      dtype  shape   bytes  shard
0.bias    F32    [3]        12  torch_model.bin
0.weight  F32    [3, 4]     48  torch_model.bin
1.bias    F32    [3]        12  torch_model.bin
1.weight  F32    [3]        12  torch_model.bin

dtype  tensors  parameters  bytes
F32          4          21     84
total        4          21     84  (84 B)
"
    );
}

#[test]
fn statistics_read_strided_and_compressed_tensors() {
    let text = stdout(&inspect("torch_state_dict.pt", &["--stats"]));
    let row = |name: &str| {
        text.lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name} in\n{text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    // The transposed view holds -2.5 … 2.5; its column order does not change the statistics.
    assert_eq!(
        row("transposed.f32"),
        [
            "transposed.f32",
            "F32",
            "[3,",
            "2]",
            "-2.5",
            "2.5",
            "0",
            "1.70783",
            "0",
            "0"
        ]
    );
    assert_eq!(row("column.i32")[3..6], ["1", "9", "5"]);

    let text = stdout(&inspect("numpy_compressed.npz", &["--stats", "--json"]));
    assert!(text.contains(r#""name":"fortran""#), "{text}");
}

#[test]
fn a_legacy_file_is_an_io_error_with_advice() {
    let output = inspect("torch_legacy.pt", &[]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error[E0039]"), "{stderr}");
    assert!(
        stderr.contains("re-save it with torch 1.6 or newer"),
        "{stderr}"
    );
}
