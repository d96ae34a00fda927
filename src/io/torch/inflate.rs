//! Inflating raw DEFLATE streams (zip members), whole or just their start.
//!
//! [`inflate_exact`] receives a compressed stream and the length and CRC-32 its directory entry
//! announces, and returns exactly that many bytes or says what is wrong (invalid stream, wrong
//! length, CRC mismatch); the buffer is reserved fallibly, so a forged size is an error, not an
//! abort. [`inflate_prefix`] inflates only the first bytes of a stream (an `.npy` header) and
//! reports how much compressed input that took, so opening an archive does not inflate its data.

use std::path::Path;

use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

use super::zip::ZipEntry;
use crate::io::IoError;

/// Inflates a whole deflated member and checks its length and CRC-32.
pub(crate) fn inflate_member(
    path: &Path,
    entry: &ZipEntry,
    compressed: &[u8],
) -> Result<Vec<u8>, IoError> {
    inflate_exact(compressed, entry.inflated_len, entry.crc32).map_err(|problem| {
        IoError::CorruptArchiveMember {
            path: path.to_path_buf(),
            entry: entry.name.clone(),
            problem,
        }
    })
}

/// Inflates `compressed` into exactly `inflated_len` bytes whose CRC-32 is `crc32`.
pub(crate) fn inflate_exact(
    compressed: &[u8],
    inflated_len: u64,
    crc32: u32,
) -> Result<Vec<u8>, String> {
    let len = usize::try_from(inflated_len)
        .map_err(|_| format!("{inflated_len} inflated bytes do not fit in memory"))?;
    let mut output = Vec::new();
    output
        .try_reserve_exact(len)
        .map_err(|_| format!("cannot allocate {len} bytes to inflate it"))?;
    output.resize(len, 0);
    let mut state = InflateState::new_boxed(DataFormat::Raw);
    let result = inflate(&mut state, compressed, &mut output, MZFlush::Finish);
    match result.status {
        Ok(MZStatus::StreamEnd) if result.bytes_written == len => {}
        Ok(_) | Err(MZError::Buf) => {
            return Err(format!(
                "it does not inflate to the {len} bytes the directory announces"
            ))
        }
        Err(_) => return Err("its DEFLATE stream is invalid".to_string()),
    }
    let actual = crc32fast::hash(&output);
    if actual != crc32 {
        return Err(format!(
            "its CRC-32 is {actual:08x}, but the directory says {crc32:08x}"
        ));
    }
    Ok(output)
}

/// Inflates at most `want` bytes from the start of a raw DEFLATE stream; returns them and how
/// many compressed bytes were consumed.
pub(crate) fn inflate_prefix(compressed: &[u8], want: usize) -> Result<(Vec<u8>, usize), String> {
    let mut state = InflateState::new_boxed(DataFormat::Raw);
    let mut output = vec![0u8; want];
    let mut written = 0;
    let mut consumed = 0;
    while written < want {
        let result = inflate(
            &mut state,
            &compressed[consumed..],
            &mut output[written..],
            MZFlush::None,
        );
        consumed += result.bytes_consumed;
        written += result.bytes_written;
        match result.status {
            Ok(MZStatus::StreamEnd) => break,
            Ok(_) if result.bytes_consumed == 0 && result.bytes_written == 0 => {
                return Err("its DEFLATE stream ends early".to_string())
            }
            Ok(_) => {}
            Err(MZError::Buf) if consumed == compressed.len() => {
                return Err("its DEFLATE stream ends early".to_string())
            }
            Err(_) => return Err("its DEFLATE stream is invalid".to_string()),
        }
    }
    output.truncate(written);
    Ok((output, consumed))
}
