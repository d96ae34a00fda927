//! Parses and validates the header of one safetensors file.
//!
//! Receives the whole file as a byte slice (in practice a memory map, of which only the header pages
//! are touched) and the path for error messages. Returns the tensors in data order with their types
//! and absolute byte ranges, and the `__metadata__` map. **Nothing returned here is trusted until all
//! of it is checked**: the length prefix lies within the file, the header is UTF-8 JSON, every entry
//! names a known dtype, a shape of non-negative integers and `[begin, end]` offsets inside the data
//! section whose length equals element count × dtype size, no two tensors overlap, and the tensors
//! cover the data section exactly. The last rule is the format's own (the reference library enforces
//! it too); we enforce it because bytes outside every tensor mean the file is not what its header says.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::IoError;
use crate::tensor::{DType, Shape, TensorType};

/// Bytes of the little-endian header length that opens every file.
pub const LENGTH_PREFIX: u64 = 8;

/// The largest header we accept, the same limit as the reference library, so that a corrupt length
/// cannot make us parse (and allocate for) gigabytes of JSON.
pub const MAX_HEADER_LEN: u64 = 100_000_000;

/// The key under which the format stores free-form string metadata.
pub const METADATA_KEY: &str = "__metadata__";

/// One tensor of a validated header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderTensor {
    pub name: String,
    pub ty: TensorType,
    /// Absolute byte range in the file (the data offsets plus the header's own length).
    pub data: Range<u64>,
}

/// A validated header: tensors sorted by their position in the file, and the metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    pub tensors: Vec<HeaderTensor>,
    pub metadata: BTreeMap<String, String>,
}

/// Validates the header of `file` completely and returns it.
pub fn parse(path: &Path, file: &[u8]) -> Result<Header, IoError> {
    let file_len = file.len() as u64;
    let Some(prefix) = file.get(..LENGTH_PREFIX as usize) else {
        return Err(IoError::Truncated {
            path: path.into(),
            len: file_len,
        });
    };
    let mut length_bytes = [0u8; 8];
    length_bytes.copy_from_slice(prefix);
    let header_len = u64::from_le_bytes(length_bytes);
    let available = file_len - LENGTH_PREFIX;
    if header_len > available {
        return Err(IoError::HeaderBeyondFile {
            path: path.into(),
            header_len,
            available,
        });
    }
    if header_len > MAX_HEADER_LEN {
        return Err(IoError::HeaderTooLarge {
            path: path.into(),
            header_len,
            limit: MAX_HEADER_LEN,
        });
    }
    let data_start = LENGTH_PREFIX + header_len;
    // Both conversions are exact: the header lies inside a slice we hold.
    let header_bytes = &file[LENGTH_PREFIX as usize..data_start as usize];
    let text = std::str::from_utf8(header_bytes).map_err(|error| IoError::HeaderNotUtf8 {
        path: path.into(),
        offset: error.valid_up_to(),
    })?;
    let entries = parse_entries(path, text)?;
    let data_len = file_len - data_start;

    let mut header = Header::default();
    let mut seen = HashSet::new();
    for (name, value) in entries {
        if !seen.insert(name.clone()) {
            return Err(IoError::DuplicateHeaderEntry {
                path: path.into(),
                tensor: name,
            });
        }
        if name == METADATA_KEY {
            header.metadata = parse_metadata(path, value)?;
            continue;
        }
        let (ty, offsets) = parse_tensor_entry(path, &name, &value)?;
        check_tensor_bytes(path, &name, &ty, &offsets, data_len)?;
        header.tensors.push(HeaderTensor {
            name,
            ty,
            data: data_start + offsets.start..data_start + offsets.end,
        });
    }
    // Ties (zero-length tensors at one offset) are broken by name so the order is deterministic.
    header.tensors.sort_by(|a, b| {
        (a.data.start, a.data.end, &a.name).cmp(&(b.data.start, b.data.end, &b.name))
    });
    check_coverage(path, &header.tensors, data_start, file_len)?;
    Ok(header)
}

/// Parses the header text into its top-level entries, in file order, keeping duplicates so the caller
/// can report them (a plain map would silently keep the last one).
fn parse_entries(path: &Path, text: &str) -> Result<Vec<(String, Value)>, IoError> {
    struct Entries(Vec<(String, Value)>);
    struct EntriesVisitor;

    impl<'de> Visitor<'de> for EntriesVisitor {
        type Value = Entries;
        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("a JSON object of tensor entries")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
            let mut entries = Vec::new();
            while let Some(entry) = map.next_entry::<String, Value>()? {
                entries.push(entry);
            }
            Ok(Entries(entries))
        }
    }

    impl<'de> serde::Deserialize<'de> for Entries {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entries, D::Error> {
            deserializer.deserialize_map(EntriesVisitor)
        }
    }

    serde_json::from_str::<Entries>(text)
        .map(|entries| entries.0)
        .map_err(|error| IoError::InvalidJson {
            path: path.into(),
            message: error.to_string(),
        })
}

fn parse_metadata(path: &Path, value: Value) -> Result<BTreeMap<String, String>, IoError> {
    let object = match value {
        // The reference library accepts an explicit null as "no metadata".
        Value::Null => return Ok(BTreeMap::new()),
        Value::Object(object) => object,
        other => {
            return Err(IoError::InvalidMetadata {
                path: path.into(),
                problem: format!("must be an object of strings, found {}", json_kind(&other)),
            })
        }
    };
    object
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(text) => Ok((key, text)),
            other => Err(IoError::InvalidMetadata {
                path: path.into(),
                problem: format!(
                    "key `{key}` must map to a string, found {}",
                    json_kind(&other)
                ),
            }),
        })
        .collect()
}

/// Reads one tensor entry's dtype, shape and relative data offsets, checking their JSON types.
fn parse_tensor_entry(
    path: &Path,
    name: &str,
    value: &Value,
) -> Result<(TensorType, Range<u64>), IoError> {
    let invalid = |problem: String| IoError::InvalidTensorEntry {
        path: path.into(),
        tensor: name.into(),
        problem,
    };
    let Value::Object(entry) = value else {
        return Err(invalid(format!(
            "the entry must be an object with dtype, shape and data_offsets, found {}",
            json_kind(value)
        )));
    };
    let field = |key: &str| {
        entry
            .get(key)
            .ok_or_else(|| invalid(format!("the entry has no `{key}`")))
    };

    let dtype = match field("dtype")? {
        Value::String(text) => {
            DType::from_safetensors_name(text).ok_or_else(|| IoError::UnknownDtype {
                path: path.into(),
                tensor: name.into(),
                dtype: text.clone(),
            })?
        }
        other => {
            return Err(invalid(format!(
                "`dtype` must be a string, found {}",
                json_kind(other)
            )))
        }
    };
    let shape = unsigned_list(field("shape")?)
        .ok_or_else(|| invalid("`shape` must be a list of non-negative integers".to_string()))?;
    let offsets = unsigned_list(field("data_offsets")?)
        .filter(|offsets| offsets.len() == 2)
        .ok_or_else(|| {
            invalid("`data_offsets` must be two non-negative integers [begin, end]".to_string())
        })?;
    Ok((
        TensorType::new(dtype, Shape::new(shape)),
        offsets[0]..offsets[1],
    ))
}

/// Checks one tensor's offsets against the data section and its byte length against its type.
fn check_tensor_bytes(
    path: &Path,
    name: &str,
    ty: &TensorType,
    offsets: &Range<u64>,
    data_len: u64,
) -> Result<(), IoError> {
    if offsets.start > offsets.end {
        return Err(IoError::ReversedOffsets {
            path: path.into(),
            tensor: name.into(),
            begin: offsets.start,
            end: offsets.end,
        });
    }
    if offsets.end > data_len {
        return Err(IoError::OffsetsOutOfRange {
            path: path.into(),
            tensor: name.into(),
            end: offsets.end,
            data_len,
        });
    }
    let expected = ty.byte_len().ok_or_else(|| IoError::UnrepresentableSize {
        path: path.into(),
        tensor: name.into(),
        ty: ty.clone(),
    })?;
    let actual = offsets.end - offsets.start;
    if expected != actual {
        return Err(IoError::ByteLengthMismatch {
            path: path.into(),
            tensor: name.into(),
            ty: ty.clone(),
            expected,
            actual,
        });
    }
    Ok(())
}

/// Checks that tensors sorted by position neither overlap nor leave bytes uncovered, from the start
/// of the data section to the end of the file.
fn check_coverage(
    path: &Path,
    tensors: &[HeaderTensor],
    data_start: u64,
    file_len: u64,
) -> Result<(), IoError> {
    let mut covered_to = data_start;
    let mut previous: Option<&HeaderTensor> = None;
    for tensor in tensors {
        if tensor.data.start < covered_to {
            // `previous` is set: the first tensor cannot start before the data section.
            if let Some(previous) = previous {
                return Err(IoError::OverlappingTensors {
                    path: path.into(),
                    first: previous.name.clone(),
                    first_range: previous.data.start - data_start..previous.data.end - data_start,
                    second: tensor.name.clone(),
                    second_range: tensor.data.start - data_start..tensor.data.end - data_start,
                });
            }
        }
        if tensor.data.start > covered_to {
            return Err(IoError::UncoveredData {
                path: path.into(),
                gap: covered_to - data_start..tensor.data.start - data_start,
            });
        }
        covered_to = tensor.data.end;
        previous = Some(tensor);
    }
    if covered_to < file_len {
        return Err(IoError::UncoveredData {
            path: path.into(),
            gap: covered_to - data_start..file_len - data_start,
        });
    }
    Ok(())
}

/// A JSON list of non-negative integers, or `None` when it is anything else.
fn unsigned_list(value: &Value) -> Option<Vec<u64>> {
    match value {
        Value::Array(items) => items.iter().map(Value::as_u64).collect(),
        _ => None,
    }
}

/// A short name of a JSON value's kind, for error messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file made of a header text and `data_len` zero bytes.
    fn file(header: &str, data_len: usize) -> Vec<u8> {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend(std::iter::repeat_n(0u8, data_len));
        bytes
    }

    fn parse_text(header: &str, data_len: usize) -> Result<Header, IoError> {
        parse(Path::new("t.safetensors"), &file(header, data_len))
    }

    #[test]
    fn valid_header_gives_absolute_ranges_in_data_order() {
        let header = r#"{"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                         "a":{"dtype":"BF16","shape":[],"data_offsets":[8,10]},
                         "__metadata__":{"format":"pt"}}"#;
        let parsed = parse_text(header, 10).unwrap();
        let start = 8 + header.len() as u64;
        assert_eq!(parsed.tensors[0].name, "b");
        assert_eq!(parsed.tensors[0].data, start..start + 8);
        assert_eq!(parsed.tensors[1].name, "a");
        assert_eq!(parsed.tensors[1].ty.to_string(), "BF16 []");
        assert_eq!(
            parsed.metadata.get("format").map(String::as_str),
            Some("pt")
        );
    }

    #[test]
    fn zero_length_tensors_may_share_an_offset() {
        let header = r#"{"x":{"dtype":"F16","shape":[0,3],"data_offsets":[0,0]},
                         "y":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#;
        let parsed = parse_text(header, 0).unwrap();
        assert_eq!(parsed.tensors.len(), 2);
    }

    #[test]
    fn entry_problems_are_named() {
        let missing = parse_text(r#"{"x":{"dtype":"F32","shape":[1]}}"#, 4).unwrap_err();
        assert!(
            missing.to_string().contains("no `data_offsets`"),
            "{missing}"
        );
        let negative = parse_text(
            r#"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            4,
        )
        .unwrap_err();
        assert!(
            matches!(negative, IoError::InvalidTensorEntry { .. }),
            "{negative}"
        );
        let fractional = parse_text(
            r#"{"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#,
            4,
        )
        .unwrap_err();
        assert!(
            matches!(fractional, IoError::InvalidTensorEntry { .. }),
            "{fractional}"
        );
        let three = parse_text(
            r#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}"#,
            4,
        )
        .unwrap_err();
        assert!(
            matches!(three, IoError::InvalidTensorEntry { .. }),
            "{three}"
        );
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let header = r#"{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},
                         "x":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#;
        let error = parse_text(header, 2).unwrap_err();
        assert!(matches!(error, IoError::DuplicateHeaderEntry { ref tensor, .. } if tensor == "x"));
    }

    #[test]
    fn metadata_must_map_strings_to_strings() {
        let error = parse_text(r#"{"__metadata__":{"n":1}}"#, 0).unwrap_err();
        assert!(matches!(error, IoError::InvalidMetadata { .. }), "{error}");
        let none = parse_text(r#"{"__metadata__":null}"#, 0).unwrap();
        assert!(none.metadata.is_empty());
    }

    #[test]
    fn sub_byte_dtypes_need_whole_bytes() {
        let odd = parse_text(
            r#"{"x":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#,
            2,
        )
        .unwrap_err();
        assert!(matches!(odd, IoError::UnrepresentableSize { .. }), "{odd}");
        let even = parse_text(
            r#"{"x":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[0,3]}}"#,
            3,
        );
        assert!(even.is_ok());
    }

    #[test]
    fn gaps_and_trailing_bytes_are_uncovered_data() {
        let gap = parse_text(
            r#"{"x":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#,
            2,
        )
        .unwrap_err();
        assert!(
            matches!(
                gap,
                IoError::UncoveredData {
                    gap: Range { start: 0, end: 1 },
                    ..
                }
            ),
            "{gap}"
        );
        let trailing = parse_text(
            r#"{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#,
            3,
        )
        .unwrap_err();
        assert!(
            matches!(
                trailing,
                IoError::UncoveredData {
                    gap: Range { start: 1, end: 3 },
                    ..
                }
            ),
            "{trailing}"
        );
    }

    #[test]
    fn header_too_large_is_refused_before_parsing() {
        let mut bytes = (MAX_HEADER_LEN + 1).to_le_bytes().to_vec();
        bytes.resize(8 + MAX_HEADER_LEN as usize + 1, b' ');
        let error = parse(Path::new("big"), &bytes).unwrap_err();
        assert!(matches!(error, IoError::HeaderTooLarge { .. }), "{error}");
    }
}
