//! An open checkpoint: memory-mapped files, validated layouts, counted reads.
//!
//! [`Checkpoint::open`] receives (a) one file: safetensors, a PyTorch zip checkpoint, an `.npz`
//! or an `.npy`, recognised by content (`format.rs`); (b) a directory with an index
//! (`model.safetensors.index.json`, or `pytorch_model.bin.index.json` for PyTorch shards); or
//! (c) a directory of `*.safetensors` files, or else of `*.bin`/`*.pt`/`*.pth` files, without an
//! index (taken in file-name order; hidden files such as macOS `._*` companions are skipped; both
//! kinds together are refused as ambiguous). It maps every file, validates every header, pickle or
//! archive directory completely and checks the shards against each other and against the index,
//! touching no tensor byte. Afterwards the tensor list is immutable and sorted by name;
//! [`Checkpoint::read`] hands out the bytes of one tensor and counts the read, so later stages'
//! tests can assert that a run read nothing. Contiguous tensors are the file's own pages; strided
//! views and compressed members are gathered or inflated into a buffer when read (see `view.rs`).
//! The files must not change while they are open.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{Mmap, UncheckedAdvice};

use super::format::{self, CheckpointFormat, DirectoryPlan, FileContents};
use super::header;
use super::index;
use super::torch::inflate_exact;
use super::view::{gather, AllocationFailed, DataLayout, TensorBytes};
use super::IoError;
use crate::tensor::TensorType;

/// How far [`Checkpoint::release_bytes`] widens a released range on each side: the largest
/// page-cache folio a fault can map at once (2 MiB, a PMD on x86-64 and arm64 with 4 KiB pages),
/// which also covers Linux's 64 KiB fault-around window.
pub const FAULT_AROUND_MARGIN: usize = 2 * 1024 * 1024;

/// Where one tensor's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub ty: TensorType,
    /// Index into [`Checkpoint::shards`].
    pub shard: usize,
    /// Absolute byte range in that shard file that the tensor is read from: exactly its bytes
    /// when `layout` is [`DataLayout::Contiguous`], otherwise what `layout` describes.
    pub data: Range<u64>,
    pub layout: DataLayout,
}

impl TensorInfo {
    /// Bytes of the tensor's data (as a read hands them out).
    pub fn byte_len(&self) -> u64 {
        match self.layout {
            DataLayout::Contiguous => self.data.end - self.data.start,
            // Opening checked that the size is representable.
            _ => self.ty.byte_len().unwrap_or(0),
        }
    }
}

/// What [`Checkpoint::read`] has handed out so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadStats {
    pub tensors: u64,
    pub bytes: u64,
}

/// One mapped shard file.
#[derive(Debug)]
struct Shard {
    path: PathBuf,
    /// The file actually mapped ([`opened_as`]).
    opened_as: PathBuf,
    map: Mmap,
}

#[derive(Debug)]
pub struct Checkpoint {
    root: PathBuf,
    format: CheckpointFormat,
    /// Bytes of the files that opening looked at (headers, pickles, archive directories).
    examined: u64,
    /// One map per shard, in the order of `shard_paths`.
    maps: Vec<Mmap>,
    shard_paths: Vec<PathBuf>,
    /// The files actually mapped, in the same order ([`opened_as`]).
    opened_files: Vec<PathBuf>,
    tensors: Vec<TensorInfo>,
    metadata: BTreeMap<String, String>,
    tensors_read: AtomicU64,
    bytes_read: AtomicU64,
}

impl Checkpoint {
    /// Opens a checkpoint from a file or a directory; see the module documentation.
    pub fn open(path: impl AsRef<Path>) -> Result<Checkpoint, IoError> {
        let root = path.as_ref().to_path_buf();
        let kind = std::fs::metadata(&root).map_err(|source| IoError::os("open", &root, source))?;
        if !kind.is_dir() {
            let shard = open_shard(&root)?;
            return Ok(Checkpoint::assemble(root, vec![shard]));
        }
        match format::select_directory(&root)? {
            DirectoryPlan::Indexed(index_path) => open_indexed(root, &index_path),
            DirectoryPlan::Files(files) => open_files(root, &files),
        }
    }

    /// Builds the checkpoint from validated shards whose tensor names are known to be distinct.
    fn assemble(root: PathBuf, shards: Vec<(Shard, FileContents)>) -> Checkpoint {
        let mut tensors = Vec::new();
        let mut metadata = BTreeMap::new();
        let mut maps = Vec::with_capacity(shards.len());
        let mut shard_paths = Vec::with_capacity(shards.len());
        let mut opened_files = Vec::with_capacity(shards.len());
        let mut examined = 0;
        let format = shards
            .first()
            .map_or(CheckpointFormat::Safetensors, |(_, contents)| {
                contents.format
            });
        for (shard_index, (shard, contents)) in shards.into_iter().enumerate() {
            // Shards usually repeat the same metadata; where they differ the first shard wins.
            for (key, value) in contents.metadata {
                metadata.entry(key).or_insert(value);
            }
            examined += contents.examined;
            tensors.extend(contents.tensors.into_iter().map(|tensor| TensorInfo {
                shard: shard_index,
                ..tensor
            }));
            maps.push(shard.map);
            shard_paths.push(shard.path);
            opened_files.push(shard.opened_as);
        }
        tensors.sort_by(|a, b| a.name.cmp(&b.name));
        Checkpoint {
            root,
            format,
            examined,
            maps,
            shard_paths,
            opened_files,
            tensors,
            metadata,
            tensors_read: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
        }
    }

    /// The path the checkpoint was opened from.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The format of its files (of the first shard, should an index mix formats).
    pub fn format(&self) -> CheckpointFormat {
        self.format
    }

    /// Bytes of the files that opening looked at: safetensors headers with their length prefix,
    /// and for archives their end records, central directory, the local headers of the members
    /// used, the pickle and the `.npy` headers (plus a few bytes per file to recognise its
    /// format). Tensor data is never among them.
    pub fn opened_bytes(&self) -> u64 {
        self.examined
    }

    /// Every tensor, sorted by name.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.tensors[i])
    }

    /// The shard files, in the order `TensorInfo::shard` indexes them.
    pub fn shards(&self) -> &[PathBuf] {
        &self.shard_paths
    }

    /// The files actually mapped, in the order of [`Self::shards`]: where each open led, symbolic
    /// links resolved by the kernel at that moment, so a link changed afterwards cannot make
    /// this name another file than the one whose bytes are read (the Web UI confines reads to its
    /// root with it).
    pub fn opened_files(&self) -> &[PathBuf] {
        &self.opened_files
    }

    /// The `__metadata__` of all shards merged (the first shard wins on conflicting keys).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Total bytes of tensor data.
    pub fn data_bytes(&self) -> u64 {
        self.tensors.iter().map(TensorInfo::byte_len).sum()
    }

    /// The bytes of tensor `name`, row-major; counts one tensor read and its bytes. Contiguous
    /// tensors are the mapped pages themselves; others are gathered or inflated into a buffer,
    /// which can fail only on a compressed member whose stream is corrupt.
    pub fn read(&self, name: &str) -> Result<TensorBytes<'_>, IoError> {
        let info = self.tensor(name).ok_or_else(|| self.unknown_tensor(name))?;
        self.tensors_read.fetch_add(1, Ordering::Relaxed);
        self.bytes_read
            .fetch_add(info.byte_len(), Ordering::Relaxed);
        let stored = self.bytes_of(info);
        let element_size = (info.ty.dtype.bit_size() / 8).max(1);
        let out_of_memory = |failure: AllocationFailed| IoError::OutOfMemory {
            tensor: info.name.clone(),
            bytes: failure.len,
        };
        let dims = info.ty.shape.dims();
        match &info.layout {
            DataLayout::Contiguous => Ok(TensorBytes::mapped(stored)),
            DataLayout::Strided { strides } => gather(stored, dims, strides, element_size)
                .map(TensorBytes::owned)
                .map_err(out_of_memory),
            DataLayout::Deflated {
                inflated_len,
                crc32,
                skip,
                strides,
            } => {
                let inflated = inflate_exact(stored, *inflated_len, *crc32).map_err(|problem| {
                    IoError::CorruptArchiveMember {
                        path: self.shard_paths[info.shard].clone(),
                        entry: info.name.clone(),
                        problem,
                    }
                })?;
                let array = &inflated[*skip as usize..];
                let bytes = match strides {
                    Some(strides) => gather(array, dims, strides, element_size),
                    None => Ok(array.to_vec()),
                };
                bytes.map(TensorBytes::owned).map_err(out_of_memory)
            }
        }
    }

    /// Tensors and bytes handed out by [`Checkpoint::read`] so far.
    pub fn read_stats(&self) -> ReadStats {
        ReadStats {
            tensors: self.tensors_read.load(Ordering::Relaxed),
            bytes: self.bytes_read.load(Ordering::Relaxed),
        }
    }

    /// Drops tensor `name`'s pages from this process's memory (best effort; unknown names and
    /// refusals by the OS are ignored). The bytes stay readable: the next access maps them again
    /// from the file, so this only lowers the resident set of a streaming run.
    pub fn release(&self, name: &str) {
        let Some(info) = self.tensor(name) else {
            return;
        };
        let map = &self.maps[info.shard];
        // SAFETY: the map is a read-only, shared file mapping. MADV_DONTNEED on it discards no
        // data: later accesses fault the same file pages back in, so every outstanding slice stays
        // valid and unchanged. (memmap2 widens the range to page boundaries, which is equally safe.)
        let _ = unsafe {
            map.unchecked_advise_range(
                UncheckedAdvice::DontNeed,
                info.data.start as usize,
                info.byte_len() as usize,
            )
        };
    }

    /// Drops the pages of `bytes` from this process's memory, where `bytes` is a sub-slice of
    /// what [`Checkpoint::read`] handed out (best effort, as [`Checkpoint::release`]; a slice
    /// that lies in none of the maps is ignored). A streaming reader calls it after each chunk, so
    /// its resident set stays at a few chunks however large the tensor is.
    ///
    /// The range is widened by [`FAULT_AROUND_MARGIN`] on both sides (within the map): on a page
    /// fault Linux maps more than the faulting page — the aligned 64 KiB "fault-around" window, and
    /// with large page-cache folios (ext4 on 6.x kernels) the whole folio, up to 2 MiB — so reading
    /// the start of a chunk maps pages of the chunk before it, which was already released. Without
    /// the margin those pages stay resident for good: measured at 7 % of everything streamed.
    pub fn release_bytes(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let start = bytes.as_ptr() as usize;
        for map in &self.maps {
            let base = map.as_ptr() as usize;
            let inside = start >= base && start + bytes.len() <= base + map.len();
            if inside {
                let from = (start - base).saturating_sub(FAULT_AROUND_MARGIN);
                let to = (start - base + bytes.len() + FAULT_AROUND_MARGIN).min(map.len());
                // SAFETY: as in `release`: a read-only shared file mapping refaults the same file
                // pages on the next access, so no outstanding slice changes or dangles, even one
                // another thread is reading in the widened margin.
                let _ = unsafe {
                    map.unchecked_advise_range(UncheckedAdvice::DontNeed, from, to - from)
                };
                return;
            }
        }
    }

    /// Where `bytes`, a sub-slice of what [`Checkpoint::read`] handed out, lies on disk: the
    /// index of its shard in [`Checkpoint::shards`] and its byte offset in that file (`None` for
    /// a slice of no map), so a copy can go file to file without touching the map.
    pub fn locate(&self, bytes: &[u8]) -> Option<(usize, u64)> {
        let start = bytes.as_ptr() as usize;
        self.maps.iter().enumerate().find_map(|(index, map)| {
            let base = map.as_ptr() as usize;
            (start >= base && start + bytes.len() <= base + map.len())
                .then(|| (index, (start - base) as u64))
        })
    }

    /// The file bytes a tensor known to be in this checkpoint is read from. Ranges were
    /// validated against the shard's length at open, so the slice is in bounds.
    fn bytes_of(&self, info: &TensorInfo) -> &[u8] {
        let map = &self.maps[info.shard];
        &map[info.data.start as usize..info.data.end as usize]
    }

    fn unknown_tensor(&self, name: &str) -> IoError {
        let nearest =
            crate::diagnostics::nearest(name, self.tensors.iter().map(|t| t.name.as_str()), 3);
        IoError::UnknownTensor {
            checkpoint: self.root.clone(),
            tensor: name.to_string(),
            nearest: nearest.into_iter().map(String::from).collect(),
        }
    }
}

/// Opens and maps one shard file (its pages are not read until used).
fn map_shard(path: &Path) -> Result<Shard, IoError> {
    let file = std::fs::File::open(path).map_err(|source| IoError::os("open", path, source))?;
    let len = file
        .metadata()
        .map_err(|source| IoError::os("stat", path, source))?
        .len();
    if len < header::LENGTH_PREFIX {
        // Checked before mapping: an empty file cannot be mapped at all.
        return Err(IoError::Truncated {
            path: path.into(),
            len,
        });
    }
    // SAFETY: the map is read-only; the module documents that files must not change while open.
    let map = unsafe { Mmap::map(&file) }.map_err(|source| IoError::os("map", path, source))?;
    Ok(Shard {
        path: path.into(),
        opened_as: opened_as(&file, path),
        map,
    })
}

/// The path of the file `file` is, as the kernel resolved it when it was opened
/// (`/proc/self/fd/N`); where that is unavailable, `path` canonicalized now (or as given).
pub fn opened_as(file: &std::fs::File, path: &Path) -> PathBuf {
    use std::os::fd::AsRawFd as _;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .or_else(|_| path.canonicalize())
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Maps one file and parses its layout, whatever its format.
fn open_shard(path: &Path) -> Result<(Shard, FileContents), IoError> {
    let shard = map_shard(path)?;
    let contents = format::parse_file(path, &shard.map)?;
    Ok((shard, contents))
}

/// Fails on the first tensor name found in two shards.
fn check_distinct(shards: &[(Shard, FileContents)]) -> Result<HashMap<&str, usize>, IoError> {
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (index, (shard, contents)) in shards.iter().enumerate() {
        for tensor in &contents.tensors {
            if let Some(&first) = owner.get(tensor.name.as_str()) {
                return Err(IoError::DuplicateTensor {
                    tensor: tensor.name.clone(),
                    first: shards[first].0.path.clone(),
                    second: shard.path.clone(),
                });
            }
            owner.insert(&tensor.name, index);
        }
    }
    Ok(owner)
}

fn open_indexed(root: PathBuf, index_path: &Path) -> Result<Checkpoint, IoError> {
    let weight_map = index::read(&root, index_path)?;
    let files = weight_map.files();
    let shards = files
        .iter()
        .map(|file| open_shard(&root.join(file)))
        .collect::<Result<Vec<_>, _>>()?;
    let owner = check_distinct(&shards)?;
    let shard_of_file: HashMap<&str, usize> =
        files.iter().enumerate().map(|(i, f)| (*f, i)).collect();
    let mut listed = 0usize;
    for (tensor, file) in &weight_map.entries {
        let expected = shard_of_file[file.as_str()];
        match owner.get(tensor.as_str()) {
            Some(&actual) if actual == expected => listed += 1,
            Some(&actual) => {
                return Err(IoError::DuplicateTensor {
                    tensor: tensor.clone(),
                    first: shards[expected].0.path.clone(),
                    second: shards[actual].0.path.clone(),
                })
            }
            None => {
                return Err(IoError::IndexTensorMissing {
                    index: index_path.into(),
                    tensor: tensor.clone(),
                    shard: shards[expected].0.path.clone(),
                })
            }
        }
    }
    if listed != owner.len() {
        // Some shard holds a tensor the index does not list; name the first one found.
        let listed_names: std::collections::HashSet<&str> =
            weight_map.entries.iter().map(|(t, _)| t.as_str()).collect();
        for (shard, contents) in &shards {
            if let Some(tensor) = contents
                .tensors
                .iter()
                .find(|t| !listed_names.contains(t.name.as_str()))
            {
                return Err(IoError::TensorNotInIndex {
                    index: index_path.into(),
                    tensor: tensor.name.clone(),
                    shard: shard.path.clone(),
                });
            }
        }
    }
    Ok(Checkpoint::assemble(root, shards))
}

/// Opens the given files of a directory without an index.
fn open_files(root: PathBuf, files: &[PathBuf]) -> Result<Checkpoint, IoError> {
    let shards = files
        .iter()
        .map(|path| open_shard(path))
        .collect::<Result<Vec<_>, _>>()?;
    check_distinct(&shards)?;
    Ok(Checkpoint::assemble(root, shards))
}
