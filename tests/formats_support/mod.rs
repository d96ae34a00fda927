//! Helpers shared by the `formats_*` integration tests: fixture paths, decoding of little-endian
//! values, deterministic bytes, and hand-built PyTorch archives (a minimal zip writer and a
//! pickle builder that spells tensors the way `torch.save` does), so error cases can be crafted
//! opcode by opcode without Python.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name)
}

pub fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

pub fn f64s(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

pub fn f16s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(2)
        .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
        .collect()
}

pub fn bf16s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(2)
        .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
        .collect()
}

pub fn i16s(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

pub fn u16s(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect()
}

pub fn i32s(bytes: &[u8]) -> Vec<i32> {
    bytes
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

pub fn i64s(bytes: &[u8]) -> Vec<i64> {
    bytes
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// `len` pseudo-random bytes determined by `seed` (xorshift64*).
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// A zip archive of stored members, as simple as the format allows (no alignment, CRCs zero:
/// neither PyTorch nor our reader checks them for stored members).
pub fn zip_archive(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut directory = Vec::new();
    for (name, content) in members {
        let offset = bytes.len() as u32;
        let mut fixed = Vec::new();
        fixed.extend(20u16.to_le_bytes()); // version needed
        fixed.extend(0u16.to_le_bytes()); // flags
        fixed.extend(0u16.to_le_bytes()); // stored
        fixed.extend(0u32.to_le_bytes()); // time and date
        fixed.extend(0u32.to_le_bytes()); // CRC
        fixed.extend((content.len() as u32).to_le_bytes());
        fixed.extend((content.len() as u32).to_le_bytes());
        fixed.extend((name.len() as u16).to_le_bytes());
        fixed.extend(0u16.to_le_bytes()); // extra
        bytes.extend(0x0403_4b50u32.to_le_bytes());
        bytes.extend(&fixed);
        bytes.extend(name.as_bytes());
        bytes.extend(*content);
        directory.extend(0x0201_4b50u32.to_le_bytes());
        directory.extend(20u16.to_le_bytes()); // made by
        directory.extend(&fixed);
        directory.extend(0u16.to_le_bytes()); // comment
        directory.extend(0u16.to_le_bytes()); // disk
        directory.extend(0u16.to_le_bytes()); // internal
        directory.extend(0u32.to_le_bytes()); // external
        directory.extend(offset.to_le_bytes());
        directory.extend(name.as_bytes());
    }
    let directory_start = bytes.len() as u32;
    let count = members.len() as u16;
    bytes.extend(&directory);
    bytes.extend(0x0605_4b50u32.to_le_bytes());
    bytes.extend([0, 0, 0, 0]);
    bytes.extend(count.to_le_bytes());
    bytes.extend(count.to_le_bytes());
    bytes.extend((directory.len() as u32).to_le_bytes());
    bytes.extend(directory_start.to_le_bytes());
    bytes.extend(0u16.to_le_bytes());
    bytes
}

/// A PyTorch checkpoint: `archive/data.pkl` plus `archive/data/<key>` storages.
pub fn torch_archive(pickle: &[u8], storages: &[(&str, &[u8])]) -> Vec<u8> {
    let names: Vec<String> = storages
        .iter()
        .map(|(key, _)| format!("archive/data/{key}"))
        .collect();
    let mut members: Vec<(&str, &[u8])> = vec![("archive/data.pkl", pickle)];
    for ((_, bytes), name) in storages.iter().zip(&names) {
        members.push((name.as_str(), bytes));
    }
    members.push(("archive/version", b"3\n"));
    zip_archive(&members)
}

/// A tensor as a view of storage `key` of a legacy class such as `FloatStorage`.
pub struct View<'a> {
    pub storage: &'a str,
    pub key: &'a str,
    pub numel: i32,
    pub offset: i32,
    pub shape: &'a [i32],
    pub strides: &'a [i32],
}

pub fn view<'a>(
    storage: &'a str,
    key: &'a str,
    numel: i32,
    offset: i32,
    shape: &'a [i32],
    strides: &'a [i32],
) -> View<'a> {
    View {
        storage,
        key,
        numel,
        offset,
        shape,
        strides,
    }
}

/// Builds pickles opcode by opcode, the way `torch.save` spells a state dict.
#[derive(Default)]
pub struct Pickle {
    pub bytes: Vec<u8>,
}

impl Pickle {
    /// `PROTO 2` and an empty dict with an open MARK for its items.
    pub fn state_dict() -> Pickle {
        let mut pickle = Pickle::default();
        pickle.bytes.extend([0x80, 2, b'}', b'(']);
        pickle
    }

    pub fn global(&mut self, module: &str, name: &str) -> &mut Pickle {
        self.bytes.push(b'c');
        self.bytes.extend(format!("{module}\n{name}\n").as_bytes());
        self
    }

    pub fn string(&mut self, text: &str) -> &mut Pickle {
        self.bytes.push(b'X');
        self.bytes.extend((text.len() as u32).to_le_bytes());
        self.bytes.extend(text.as_bytes());
        self
    }

    pub fn int(&mut self, number: i32) -> &mut Pickle {
        self.bytes.push(b'J');
        self.bytes.extend(number.to_le_bytes());
        self
    }

    pub fn tuple(&mut self, items: &[i32]) -> &mut Pickle {
        self.bytes.push(b'(');
        for &item in items {
            self.int(item);
        }
        self.bytes.push(b't');
        self
    }

    /// One `name: _rebuild_tensor_v2(storage, offset, shape, strides, False, OrderedDict())`
    /// entry.
    pub fn tensor(&mut self, name: &str, view: View<'_>) -> &mut Pickle {
        self.string(name);
        self.global("torch._utils", "_rebuild_tensor_v2");
        self.bytes.extend([b'(', b'(']);
        self.string("storage");
        self.global("torch", view.storage);
        self.string(view.key);
        self.string("cpu");
        self.int(view.numel);
        self.bytes.extend([b't', b'Q']);
        self.int(view.offset);
        self.tuple(view.shape);
        self.tuple(view.strides);
        self.bytes.push(0x89);
        self.global("collections", "OrderedDict");
        self.bytes.extend([b')', b'R', b't', b'R']);
        self
    }

    /// Closes the dict's MARK and the pickle.
    pub fn finish(&mut self) -> Vec<u8> {
        self.bytes.extend([b'u', b'.']);
        std::mem::take(&mut self.bytes)
    }
}
