//! An open safetensors checkpoint: memory-mapped shards, validated headers, counted reads.
//!
//! [`Checkpoint::open`] receives (a) one `.safetensors` file, (b) a directory with
//! `model.safetensors.index.json`, or (c) a directory of `*.safetensors` files without an index
//! (taken in file-name order; hidden files such as macOS `._*` companions are skipped). It maps every
//! shard, validates every header completely and checks the shards against each other and against the
//! index, touching no tensor byte. Afterwards the tensor list is immutable and sorted by name;
//! [`Checkpoint::read`] hands out the mapped bytes of one tensor and counts the read, so later stages'
//! tests can assert that a run read nothing. The files must not change while they are open: the
//! bytes handed out are the file's pages, not a copy.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{Mmap, UncheckedAdvice};

use super::header::{self, Header};
use super::index::{self, INDEX_FILE_NAME};
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
    /// Absolute byte range in that shard file.
    pub data: Range<u64>,
}

impl TensorInfo {
    /// Bytes of the tensor's data.
    pub fn byte_len(&self) -> u64 {
        self.data.end - self.data.start
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
    map: Mmap,
}

#[derive(Debug)]
pub struct Checkpoint {
    root: PathBuf,
    /// One map per shard, in the order of `shard_paths`.
    maps: Vec<Mmap>,
    shard_paths: Vec<PathBuf>,
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
            let shard = map_shard(&root)?;
            let header = header::parse(&root, &shard.map)?;
            return Ok(Checkpoint::assemble(root, vec![(shard, header)]));
        }
        let index_path = root.join(INDEX_FILE_NAME);
        if index_path.exists() {
            open_indexed(root, &index_path)
        } else {
            open_unindexed(root)
        }
    }

    /// Builds the checkpoint from validated shards whose tensor names are known to be distinct.
    fn assemble(root: PathBuf, shards: Vec<(Shard, Header)>) -> Checkpoint {
        let mut tensors = Vec::new();
        let mut metadata = BTreeMap::new();
        let mut maps = Vec::with_capacity(shards.len());
        let mut shard_paths = Vec::with_capacity(shards.len());
        for (shard_index, (shard, header)) in shards.into_iter().enumerate() {
            // Shards usually repeat the same metadata; where they differ the first shard wins.
            for (key, value) in header.metadata {
                metadata.entry(key).or_insert(value);
            }
            tensors.extend(header.tensors.into_iter().map(|tensor| TensorInfo {
                name: tensor.name,
                ty: tensor.ty,
                shard: shard_index,
                data: tensor.data,
            }));
            maps.push(shard.map);
            shard_paths.push(shard.path);
        }
        tensors.sort_by(|a, b| a.name.cmp(&b.name));
        Checkpoint {
            root,
            maps,
            shard_paths,
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

    /// The `__metadata__` of all shards merged (the first shard wins on conflicting keys).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Total bytes of tensor data.
    pub fn data_bytes(&self) -> u64 {
        self.tensors.iter().map(TensorInfo::byte_len).sum()
    }

    /// The mapped bytes of tensor `name`; counts one tensor read and its bytes.
    pub fn read(&self, name: &str) -> Result<&[u8], IoError> {
        let info = self.tensor(name).ok_or_else(|| self.unknown_tensor(name))?;
        self.tensors_read.fetch_add(1, Ordering::Relaxed);
        self.bytes_read
            .fetch_add(info.byte_len(), Ordering::Relaxed);
        Ok(self.bytes_of(info))
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

    /// The bytes of a tensor known to be in this checkpoint. Ranges were validated against the
    /// shard's length at open, so the slice is in bounds.
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
        map,
    })
}

fn open_shard(path: &Path) -> Result<(Shard, Header), IoError> {
    let shard = map_shard(path)?;
    let header = header::parse(path, &shard.map)?;
    Ok((shard, header))
}

/// Fails on the first tensor name found in two shards.
fn check_distinct(shards: &[(Shard, Header)]) -> Result<HashMap<&str, usize>, IoError> {
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (index, (shard, header)) in shards.iter().enumerate() {
        for tensor in &header.tensors {
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
        for (shard, header) in &shards {
            if let Some(tensor) = header
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

fn open_unindexed(root: PathBuf) -> Result<Checkpoint, IoError> {
    let entries = std::fs::read_dir(&root).map_err(|source| IoError::os("list", &root, source))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| IoError::os("list", &root, source))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if !name.starts_with('.') && name.ends_with(".safetensors") && path.is_file() {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(IoError::EmptyDirectory { path: root });
    }
    files.sort();
    let shards = files
        .iter()
        .map(|path| open_shard(path))
        .collect::<Result<Vec<_>, _>>()?;
    check_distinct(&shards)?;
    Ok(Checkpoint::assemble(root, shards))
}
