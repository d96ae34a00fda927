//! Helpers shared by the `serve_*` tests: a workspace (a temporary root holding the bundled
//! example checkpoint and plan), a server started in-process on an ephemeral port, and a tiny
//! HTTP/1.1 client over `TcpStream`, so the API tests need no HTTP client crate.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use brainsurgery::serve::{RunningServer, ServeOptions, Server};
use serde_json::Value;

/// The bundled example plan the page opens with.
pub const EXAMPLE_PLAN: &str = include_str!("../../src/serve/assets/example.yaml");

/// A temporary root with `examples/models/gpt2-tiny` in it, and a server serving it.
pub struct Workspace {
    pub directory: tempfile::TempDir,
    pub server: RunningServer,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace::with_body_limit(brainsurgery::serve::DEFAULT_BODY_LIMIT)
    }

    pub fn with_body_limit(body_limit: usize) -> Workspace {
        let directory = tempfile::tempdir().expect("tempdir");
        let model = directory.path().join("examples/models/gpt2-tiny");
        std::fs::create_dir_all(&model).expect("mkdir");
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/models/gpt2-tiny/model.safetensors");
        std::fs::copy(source, model.join("model.safetensors")).expect("copy the example model");
        std::fs::write(directory.path().join("example.yaml"), EXAMPLE_PLAN).expect("write plan");
        let mut options = ServeOptions::new(directory.path());
        options.port = 0;
        options.body_limit = body_limit;
        let server = Server::bind(&options)
            .expect("bind")
            .spawn()
            .expect("spawn");
        Workspace { directory, server }
    }

    pub fn root(&self) -> &Path {
        self.directory.path()
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.directory.path().join(relative)
    }

    pub fn token(&self) -> &str {
        &self.server.token
    }

    pub fn address(&self) -> SocketAddr {
        self.server.address
    }

    /// A GET with the token.
    pub fn get(&self, path: &str) -> Response {
        request(
            self.address(),
            "GET",
            path,
            &[("x-brainsurgery-token", self.token())],
            None,
        )
    }

    /// A POST of JSON with the token.
    pub fn post(&self, path: &str, body: &Value) -> Response {
        let text = body.to_string();
        request(
            self.address(),
            "POST",
            path,
            &[
                ("x-brainsurgery-token", self.token()),
                ("content-type", "application/json"),
            ],
            Some(text.as_bytes()),
        )
    }
}

/// A response: status, headers (lower-case names) and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The `error.code` of an API refusal.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

/// One request on a fresh connection (`Connection: close`), read to the end. `Host` is the
/// server's address unless `headers` sets it.
pub fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Response {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        head.push_str(&format!("Host: {address}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or(&[]);
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).expect("write head");
    // The server may refuse before reading the body (oversized bodies): ignore a broken pipe.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = end + 2;
        let stop = (start + size).min(data.len());
        out.extend_from_slice(&data[start..stop]);
        data = &data[(stop + 2).min(data.len())..];
    }
}

/// The server-sent events of a stream body: `(event, data)` pairs.
pub fn events(body: &str) -> Vec<(String, String)> {
    body.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    event = value.trim().to_string();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.trim_start());
                }
            }
            (event, data)
        })
        .collect()
}

/// Writes a safetensors file of F32 tensors, `(name, elements)` each, with deterministic values
/// in [-1, 1), laid out by hand (8-byte header length, JSON header, data).
pub fn write_f32_checkpoint(path: &Path, tensors: &[(&str, usize)]) {
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, elements) in tensors {
        let end = offset + elements * 4;
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": "F32", "shape": [elements], "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut header_text = Value::Object(header).to_string();
    while !header_text.len().is_multiple_of(8) {
        header_text.push(' ');
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    file.write_all(&(header_text.len() as u64).to_le_bytes())
        .expect("write");
    file.write_all(header_text.as_bytes()).expect("write");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for (_, elements) in tensors {
        for _ in 0..*elements {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let value = (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
            file.write_all(&value.to_le_bytes()).expect("write");
        }
    }
    file.flush().expect("flush");
}

/// Reads a run's event stream to its end and returns the statuses it carried.
pub fn run_events(workspace: &Workspace, id: u64) -> Vec<Value> {
    let path = format!("/api/runs/{id}/events?token={}", workspace.token());
    let response = request(workspace.address(), "GET", &path, &[], None);
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(response
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/event-stream")));
    events(&response.text())
        .into_iter()
        .filter(|(event, _)| event == "progress")
        .map(|(_, data)| serde_json::from_str(&data).expect("JSON event"))
        .collect()
}
