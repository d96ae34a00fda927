//! The `.npy` header: the magic, a version, and a Python dict literal describing one array.
//!
//! [`parse`] receives the first bytes of an `.npy` stream (at least [`required_len`] of them) and
//! returns the array's dtype, shape, memory order and where its data starts; versions 1.0, 2.0
//! and 3.0 are read (they differ in the width of the header length and in the header's text
//! encoding). Only little-endian (or byte-sized) numeric dtypes that safetensors shares with
//! NumPy are accepted; structured, object, big-endian and other dtypes are refused with the
//! reason. [`render`] writes the header NumPy itself writes for such an array, padded so that
//! the data starts 64-byte aligned.

use super::literal;
use crate::tensor::DType;

/// Every `.npy` stream starts with these bytes.
pub const MAGIC: [u8; 6] = *b"\x93NUMPY";
/// Magic, two version bytes and the shortest (version 1) length field.
const PREAMBLE_LEN: usize = 10;
/// NumPy refuses headers above 10,000 bytes by default; we allow more but not without bound.
pub const MAX_HEADER_LEN: usize = 1 << 20;
/// NumPy aligns the data of the arrays it writes to this many bytes.
const ALIGNMENT: usize = 64;
/// NumPy leaves room for the first dimension to grow to this many digits.
const GROWTH_DIGITS: usize = 21;

/// What a header says about its array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    pub dtype: DType,
    pub shape: Vec<u64>,
    /// Column-major storage (`fortran_order: True`).
    pub fortran_order: bool,
    /// Bytes from the stream's start to the array data.
    pub data_offset: usize,
}

/// NumPy's `descr` for each dtype both sides share.
const DESCRIPTORS: [(&str, DType); 13] = [
    ("b1", DType::BOOL),
    ("u1", DType::U8),
    ("i1", DType::I8),
    ("i2", DType::I16),
    ("u2", DType::U16),
    ("i4", DType::I32),
    ("u4", DType::U32),
    ("i8", DType::I64),
    ("u8", DType::U64),
    ("f2", DType::F16),
    ("f4", DType::F32),
    ("f8", DType::F64),
    ("c8", DType::C64),
];

/// The `descr` NumPy writes for `dtype`, or `None` when NumPy has no such type (bfloat16, the
/// float8 and sub-byte formats).
pub fn descriptor(dtype: DType) -> Option<String> {
    let (code, _) = DESCRIPTORS.iter().find(|(_, d)| *d == dtype)?;
    let order = if dtype.bit_size() == 8 { '|' } else { '<' };
    Some(format!("{order}{code}"))
}

fn dtype_of(descr: &str) -> Result<DType, String> {
    let unsupported = || {
        format!(
            "dtype `{descr}` is not supported (NumPy has no bfloat16 or float8; supported: {})",
            DESCRIPTORS
                .iter()
                .map(|(code, _)| *code)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut characters = descr.chars();
    let order = characters.next().ok_or_else(unsupported)?;
    let code = characters.as_str();
    let (_, dtype) = DESCRIPTORS
        .iter()
        .find(|(candidate, _)| *candidate == code)
        .ok_or_else(unsupported)?;
    match order {
        '<' | '=' | '|' if dtype.bit_size() == 8 => Ok(*dtype),
        '>' if dtype.bit_size() == 8 => Ok(*dtype),
        // `=` is native order, and brainsurgery only runs on little-endian machines.
        '<' | '=' => Ok(*dtype),
        '>' => Err(format!(
            "dtype `{descr}` is big-endian; re-save the array as little-endian (`array.astype(\"<{code}\")`)"
        )),
        _ => Err(unsupported()),
    }
}

/// How many bytes of the stream the header takes, from its first ten (or twelve) bytes.
pub fn required_len(start: &[u8]) -> Result<usize, String> {
    if start.len() < PREAMBLE_LEN || start[..6] != MAGIC {
        return Err("it does not start with the NumPy magic".into());
    }
    let (width, version) = match (start[6], start[7]) {
        (1, 0) => (2, 1),
        (2, 0) | (3, 0) => (4, start[6]),
        (major, minor) => return Err(format!("format version {major}.{minor} is not supported")),
    };
    let Some(length) = start.get(8..8 + width) else {
        return Err("the header is truncated".into());
    };
    let mut word = [0u8; 4];
    word[..width].copy_from_slice(length);
    let header_len = u32::from_le_bytes(word) as usize;
    if header_len > MAX_HEADER_LEN {
        return Err(format!(
            "a version {version} header of {header_len} bytes is above the {MAX_HEADER_LEN}-byte limit"
        ));
    }
    Ok(8 + width + header_len)
}

/// Parses a header; `bytes` must hold at least [`required_len`] bytes.
pub fn parse(bytes: &[u8]) -> Result<NpyHeader, String> {
    let data_offset = required_len(bytes)?;
    let Some(text) = bytes.get(..data_offset) else {
        return Err("the header is truncated".into());
    };
    let text_start = if bytes[6] == 1 { 10 } else { 12 };
    let text = &text[text_start..];
    // Versions 1 and 2 are Latin-1, version 3 UTF-8; the dict itself is ASCII either way.
    let text: String = if bytes[6] == 3 {
        std::str::from_utf8(text)
            .map_err(|_| "the header is not valid UTF-8".to_string())?
            .to_string()
    } else {
        text.iter().map(|&byte| char::from(byte)).collect()
    };
    let fields = literal::parse_dict(&text)?;
    let mut descr = None;
    let mut fortran_order = None;
    let mut shape = None;
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("descr", literal::Literal::String(text)) => descr = Some(text),
            ("fortran_order", literal::Literal::Bool(flag)) => fortran_order = Some(flag),
            ("shape", literal::Literal::Tuple(dimensions)) => shape = Some(dimensions),
            ("descr", _) => return Err("structured dtypes are not supported".into()),
            (key, _) => return Err(format!("the header has an unexpected entry `{key}`")),
        }
    }
    let (Some(descr), Some(fortran_order), Some(shape)) = (descr, fortran_order, shape) else {
        return Err("the header must have `descr`, `fortran_order` and `shape`".into());
    };
    Ok(NpyHeader {
        dtype: dtype_of(&descr)?,
        shape,
        fortran_order,
        data_offset,
    })
}

/// The header NumPy writes for a C-order array of `descr` and `shape`, byte for byte: the dict
/// with its keys sorted, spare spaces after it so the first dimension can grow in place, then
/// spaces (1 to 64) and a newline up to a multiple of 64 bytes; version 1.0 unless the length
/// needs the wider field of 2.0.
pub fn render(descr: &str, shape: &[u64]) -> Vec<u8> {
    let dimensions = match shape {
        [single] => format!("({single},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut text =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dimensions}, }}");
    if let Some(first) = shape.first() {
        text.extend(std::iter::repeat_n(
            ' ',
            GROWTH_DIGITS.saturating_sub(first.to_string().len()),
        ));
    }
    let wrap = |preamble: usize| {
        let used = preamble + text.len() + 1;
        let padding = ALIGNMENT - used % ALIGNMENT;
        text.len() + padding + 1
    };
    let (version, preamble) = if wrap(PREAMBLE_LEN) > u16::MAX as usize {
        (2u8, PREAMBLE_LEN + 2)
    } else {
        (1u8, PREAMBLE_LEN)
    };
    let header_len = wrap(preamble);
    let mut header = MAGIC.to_vec();
    header.extend([version, 0]);
    if version == 1 {
        header.extend((header_len as u16).to_le_bytes());
    } else {
        header.extend((header_len as u32).to_le_bytes());
    }
    header.extend(text.as_bytes());
    header.extend(std::iter::repeat_n(b' ', header_len - text.len() - 1));
    header.push(b'\n');
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_headers_parse_back_and_align() {
        for (dtype, shape) in [
            (DType::F32, vec![2u64, 3]),
            (DType::BOOL, vec![5]),
            (DType::I64, vec![]),
            (DType::C64, vec![1, 2, 3, 4]),
        ] {
            let descr = descriptor(dtype).unwrap();
            let header = render(&descr, &shape);
            assert_eq!(header.len() % 64, 0);
            let parsed = parse(&header).unwrap();
            assert_eq!(parsed.dtype, dtype);
            assert_eq!(parsed.shape, shape);
            assert!(!parsed.fortran_order);
            assert_eq!(parsed.data_offset, header.len());
        }
    }

    #[test]
    fn render_matches_numpy_text() {
        let header = render("<f4", &[2, 3]);
        let text = std::str::from_utf8(&header[10..]).unwrap();
        assert!(text.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(text.ends_with(" \n"));
        let scalar = render("|b1", &[]);
        assert!(std::str::from_utf8(&scalar[10..])
            .unwrap()
            .contains("'shape': ()"));
    }

    #[test]
    fn unsupported_headers_say_why() {
        let header = |text: &str| {
            let mut bytes = MAGIC.to_vec();
            bytes.extend([1, 0]);
            bytes.extend((text.len() as u16).to_le_bytes());
            bytes.extend(text.as_bytes());
            parse(&bytes)
        };
        assert!(
            header("{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }")
                .unwrap_err()
                .contains("big-endian")
        );
        assert!(
            header("{'descr': '<V2', 'fortran_order': False, 'shape': (3,), }")
                .unwrap_err()
                .contains("bfloat16")
        );
        assert!(
            header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }")
                .unwrap_err()
                .contains("structured")
        );
        assert!(header("{'descr': '<f4', 'shape': (3,), }")
            .unwrap_err()
            .contains("must have"));
        assert!(header("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }").is_err());
        let text = "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3L), }";
        assert_eq!(
            header(text).unwrap(),
            NpyHeader {
                dtype: DType::U8,
                shape: vec![2, 3],
                fortran_order: true,
                data_offset: 10 + text.len(),
            }
        );
    }
}
