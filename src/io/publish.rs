//! Atomic publication of a written checkpoint.
//!
//! A [`Staging`] is a temporary sibling of the destination, named `.<name>.tmp-bs-<pid>-<random>`,
//! in the destination's own directory so the final rename never crosses file systems. The writer
//! fills it; [`Staging::publish`] renames it into place after the caller has fsynced its files, then
//! fsyncs the parent directory. **Until publish succeeds the destination is exactly as it was**:
//! - dropping a `Staging` without publishing (an error, a panic unwinding) removes the temporary;
//! - Ctrl-C or SIGTERM runs a handler (installed once) that removes every registered temporary and
//!   exits with status 130; publication holds the same lock, so a signal either prevents it
//!   entirely or waits for it to finish;
//! - a process killed outright (SIGKILL, power loss) leaves its temporary behind, so each new
//!   `Staging` first sweeps siblings of the same destination whose process is dead.
//!
//! Replacing an existing directory: on Linux `renameat2(RENAME_EXCHANGE)` swaps old and new in one
//! step and the old tree is then deleted. Where the file system lacks it we rename the old
//! directory aside (`.<name>.old-bs-<pid>-<random>`) and the new one in; if the process dies between
//! those two renames the destination is briefly missing, and the next writer's sweep renames the
//! old directory back. Files in the old directory that are not part of a safetensors checkpoint
//! (`config.json`, tokenizer files, …) are carried into the new one (hard links, or copies), so
//! only the checkpoint itself is replaced; a destination holding sub-directories is refused, since
//! replacing it would lose them.
//!
//! [`check_not_input`] refuses a destination that is, contains or lies inside one of the inputs
//! (writing inside an input directory could replace a shard being read, and would add files to
//! that input the next time it is opened).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use super::index::INDEX_FILE_NAME;
use super::IoError;

const TEMPORARY_MARK: &str = ".tmp-bs-";
const ASIDE_MARK: &str = ".old-bs-";

/// Temporaries that exist right now; the interrupt handler removes them.
static REGISTRY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static HANDLER: Once = Once::new();

/// Whether the destination is one file or a directory of files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationKind {
    File,
    Directory,
}

/// A temporary sibling of the destination, removed on drop unless published.
#[derive(Debug)]
pub struct Staging {
    path: PathBuf,
    destination: PathBuf,
    kind: DestinationKind,
    published: bool,
}

impl Staging {
    /// Sweeps stale temporaries of `destination`, then creates (and registers) a new, empty one:
    /// a directory, or a file left for the caller to create at [`Staging::path`].
    pub fn create(destination: &Path, kind: DestinationKind) -> Result<Staging, IoError> {
        let (parent, name) = split_destination(destination)?;
        std::fs::create_dir_all(&parent)
            .map_err(|source| IoError::os("create directory", &parent, source))?;
        check_existing(destination, kind)?;
        sweep_stale(&parent, &name, destination);
        install_interrupt_handler();

        let path = parent.join(format!(
            ".{name}{TEMPORARY_MARK}{}-{:016x}",
            std::process::id(),
            random()
        ));
        // Registered before it exists, so an interrupt can never leave an unregistered temporary.
        lock_registry().push(path.clone());
        let staging = Staging {
            path,
            destination: destination.to_path_buf(),
            kind,
            published: false,
        };
        if kind == DestinationKind::Directory {
            std::fs::create_dir(&staging.path)
                .map_err(|source| IoError::os("create directory", &staging.path, source))?;
        }
        Ok(staging)
    }

    /// The temporary: the file to write, or the directory to write files into.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the temporary into place. The caller has already fsynced every file inside it.
    pub fn publish(mut self) -> Result<(), IoError> {
        let registry = lock_registry();
        if self.kind == DestinationKind::Directory {
            sync_directory(&self.path)?;
        }
        let replaced_directory =
            self.kind == DestinationKind::Directory && self.destination.is_dir();
        if replaced_directory {
            carry_over_sidecars(&self.destination, &self.path)?;
            sync_directory(&self.path)?;
            swap_directories(&self.path, &self.destination)?;
            // The temporary path now holds the old checkpoint; it stays registered until removed.
            remove_path(&self.path);
        } else {
            std::fs::rename(&self.path, &self.destination)
                .map_err(|source| IoError::os("rename into place", &self.destination, source))?;
        }
        self.published = true;
        unregister(registry, &self.path);
        let (parent, _) = split_destination(&self.destination)?;
        sync_directory(&parent)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let registry = lock_registry();
            remove_path(&self.path);
            unregister(registry, &self.path);
        }
    }
}

/// Writes `bytes` as the file `destination` atomically: into a temporary sibling, fsynced, then
/// renamed into place, so the destination is either the complete new file or as it was (plan
/// files saved by the REPL and the Web UI go through here).
pub fn write_file_atomically(destination: &Path, bytes: &[u8]) -> Result<(), IoError> {
    write_file_atomically_inside(destination, bytes, None)
}

/// [`write_file_atomically`], refusing (before writing a byte) when the temporary file it
/// created is not inside `root` as the kernel opened it. The temporary is renamed into place by
/// path in the same directory, so if that directory were swapped for a link afterwards the rename
/// would find no temporary there and fail: the bytes never land outside `root`.
pub fn write_file_atomically_inside(
    destination: &Path,
    bytes: &[u8],
    root: Option<&Path>,
) -> Result<(), IoError> {
    use std::io::Write as _;
    let staging = Staging::create(destination, DestinationKind::File)?;
    let mut file = std::fs::File::create_new(staging.path())
        .map_err(|source| IoError::os("create", staging.path(), source))?;
    if let Some(root) = root {
        let opened = super::checkpoint::opened_as(&file, staging.path());
        if !opened.starts_with(root) {
            return Err(IoError::DestinationConflict {
                destination: destination.to_path_buf(),
                problem: format!("its directory led outside {}", root.display()),
            });
        }
    }
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|source| IoError::os("write", staging.path(), source))?;
    drop(file);
    staging.publish()
}

/// Refuses a destination that is, contains or lies inside one of `inputs` (compared after
/// resolving symbolic links and `..`, so two spellings of one path are caught).
pub fn check_not_input(destination: &Path, inputs: &[PathBuf]) -> Result<(), IoError> {
    let resolved_destination = resolve(destination);
    for input in inputs {
        let resolved_input = resolve(input);
        if resolved_input.starts_with(&resolved_destination)
            || resolved_destination.starts_with(&resolved_input)
        {
            return Err(IoError::DestinationIsInput {
                destination: destination.to_path_buf(),
                input: input.clone(),
            });
        }
    }
    Ok(())
}

/// The absolute form of `path`: its longest existing ancestor canonicalized, the rest appended
/// with `.` and `..` resolved lexically (nothing below the existing part can be a symbolic link).
fn resolve(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut resolved = canonical;
            for component in rest.iter().rev() {
                match component {
                    Component::ParentDir => {
                        resolved.pop();
                    }
                    Component::CurDir => {}
                    other => resolved.push(other.as_os_str()),
                }
            }
            return resolved;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// The destination's parent directory (`.` for a bare name) and its file name.
fn split_destination(destination: &Path) -> Result<(PathBuf, String), IoError> {
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| IoError::DestinationConflict {
            destination: destination.to_path_buf(),
            problem: "it does not end in a file or directory name".to_string(),
        })?;
    let parent = match destination.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name))
}

/// Refuses to replace something of the other kind, or a directory we could not replace whole.
fn check_existing(destination: &Path, kind: DestinationKind) -> Result<(), IoError> {
    let conflict = |problem: String| IoError::DestinationConflict {
        destination: destination.to_path_buf(),
        problem,
    };
    let Ok(metadata) = std::fs::metadata(destination) else {
        return Ok(());
    };
    match kind {
        DestinationKind::File if metadata.is_dir() => Err(conflict(
            "it is a directory, but the path names a single file (such as `.safetensors`)".into(),
        )),
        DestinationKind::Directory if !metadata.is_dir() => Err(conflict(
            "it is a file, but the output is a directory (end the path in `.safetensors` for one file)"
                .into(),
        )),
        DestinationKind::Directory => {
            let entries = std::fs::read_dir(destination)
                .map_err(|source| IoError::os("list", destination, source))?;
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    return Err(conflict(format!(
                        "it contains the directory `{}`, which replacing the checkpoint would lose",
                        entry.file_name().to_string_lossy()
                    )));
                }
            }
            Ok(())
        }
        DestinationKind::File => Ok(()),
    }
}

/// True for the files a safetensors checkpoint consists of (replaced, not carried over).
fn is_checkpoint_file(name: &str) -> bool {
    name.ends_with(".safetensors") || name == INDEX_FILE_NAME
}

/// Links (or copies) every non-checkpoint file of the old directory into the new one.
fn carry_over_sidecars(old: &Path, new: &Path) -> Result<(), IoError> {
    let entries = std::fs::read_dir(old).map_err(|source| IoError::os("list", old, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| IoError::os("list", old, source))?;
        let name = entry.file_name();
        if is_checkpoint_file(&name.to_string_lossy()) {
            continue;
        }
        let from = entry.path();
        let to = new.join(&name);
        let file_type = entry
            .file_type()
            .map_err(|source| IoError::os("stat", &from, source))?;
        if file_type.is_dir() {
            return Err(IoError::DestinationConflict {
                destination: old.to_path_buf(),
                problem: format!(
                    "it contains the directory `{}`, which replacing the checkpoint would lose",
                    name.to_string_lossy()
                ),
            });
        }
        if file_type.is_symlink() {
            let target = std::fs::read_link(&from)
                .map_err(|source| IoError::os("read link", &from, source))?;
            std::os::unix::fs::symlink(target, &to)
                .map_err(|source| IoError::os("create link", &to, source))?;
        } else if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to).map_err(|source| IoError::os("copy", &from, source))?;
        }
    }
    Ok(())
}

/// Puts directory `new` at `destination` (which exists) and the old directory at `new`.
fn swap_directories(new: &Path, destination: &Path) -> Result<(), IoError> {
    if exchange(new, destination).is_ok() {
        return Ok(());
    }
    swap_by_renames(new, destination)
}

/// The same swap without an atomic exchange: three renames, with the window described in the
/// module documentation.
fn swap_by_renames(new: &Path, destination: &Path) -> Result<(), IoError> {
    let (parent, name) = split_destination(destination)?;
    let aside = parent.join(format!(
        ".{name}{ASIDE_MARK}{}-{:016x}",
        std::process::id(),
        random()
    ));
    std::fs::rename(destination, &aside)
        .map_err(|source| IoError::os("move aside", destination, source))?;
    if let Err(source) = std::fs::rename(new, destination) {
        // Put the old directory back so the destination is as before.
        let _ = std::fs::rename(&aside, destination);
        return Err(IoError::os("rename into place", destination, source));
    }
    // The old checkpoint sits at `aside`; moving it to the now free temporary path lets the
    // caller's removal (and the interrupt handler) find it there.
    std::fs::rename(&aside, new).map_err(|source| IoError::os("rename", &aside, source))
}

#[cfg(target_os = "linux")]
fn exchange(first: &Path, second: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let first = CString::new(first.as_os_str().as_bytes())?;
    let second = CString::new(second.as_os_str().as_bytes())?;
    // SAFETY: both arguments are valid NUL-terminated paths that outlive the call.
    let result = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            first.as_ptr(),
            libc::AT_FDCWD,
            second.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_first: &Path, _second: &Path) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Removes temporaries of `destination` left by dead processes, and puts back an old directory
/// that a dead process had moved aside without putting the new one in. Best effort: a sweep that
/// fails leaves things as they were.
fn sweep_stale(parent: &Path, name: &str, destination: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let temporary_prefix = format!(".{name}{TEMPORARY_MARK}");
    let aside_prefix = format!(".{name}{ASIDE_MARK}");
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        let (rest, is_aside) = if let Some(rest) = entry_name.strip_prefix(&temporary_prefix) {
            (rest, false)
        } else if let Some(rest) = entry_name.strip_prefix(&aside_prefix) {
            (rest, true)
        } else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || process_alive(pid) {
            continue;
        }
        let path = entry.path();
        if is_aside && !destination.exists() {
            let _ = std::fs::rename(&path, destination);
        } else {
            remove_path(&path);
        }
    }
}

fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks whether the process exists; nothing is sent.
    let result = unsafe { libc::kill(pid, 0) };
    // EPERM means it exists but belongs to someone else: alive, so not ours to sweep.
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn install_interrupt_handler() {
    HANDLER.call_once(|| {
        // If the program already installed its own handler this fails; interrupted writes then
        // leave their temporary for the next writer's sweep, which is still safe.
        let _ = ctrlc::set_handler(|| {
            let registry = lock_registry();
            for path in registry.iter() {
                remove_path(path);
            }
            // Exiting with the lock held means no publication can start after the cleanup.
            std::process::exit(130);
        });
    });
}

fn lock_registry() -> MutexGuard<'static, Vec<PathBuf>> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unregister(mut registry: MutexGuard<'static, Vec<PathBuf>>, path: &Path) {
    registry.retain(|registered| registered != path);
}

/// Removes a file or a directory tree, ignoring failures (it may be gone already).
fn remove_path(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// Makes a directory's entries (new files, renames) durable.
fn sync_directory(path: &Path) -> Result<(), IoError> {
    std::fs::File::open(path)
        .and_then(|directory| directory.sync_all())
        .map_err(|source| IoError::os("fsync", path, source))
}

/// A random number for temporary names (std's hasher keys are seeded from the OS).
fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_catches_other_spellings() {
        let directory = tempfile::tempdir().unwrap();
        let input = directory.path().join("in");
        std::fs::create_dir(&input).unwrap();
        let dotted = directory.path().join("in/../in/./");
        assert_eq!(resolve(&dotted), resolve(&input));
        let inside = directory.path().join("in/new/x.safetensors");
        assert!(resolve(&inside).starts_with(resolve(&input)));
    }

    #[test]
    fn checkpoint_files_are_recognised() {
        assert!(is_checkpoint_file("model-00001-of-00002.safetensors"));
        assert!(is_checkpoint_file(INDEX_FILE_NAME));
        assert!(!is_checkpoint_file("config.json"));
    }

    #[test]
    fn swaps_exchange_old_and_new_either_way() {
        let directory = tempfile::tempdir().unwrap();
        let destination = directory.path().join("out");
        let new = directory.path().join("new");
        for swap in [swap_directories, swap_by_renames] {
            std::fs::create_dir_all(&destination).unwrap();
            std::fs::write(destination.join("f"), b"old").unwrap();
            std::fs::create_dir(&new).unwrap();
            std::fs::write(new.join("f"), b"new").unwrap();
            swap(&new, &destination).unwrap();
            assert_eq!(std::fs::read(destination.join("f")).unwrap(), b"new");
            assert_eq!(std::fs::read(new.join("f")).unwrap(), b"old");
            let names: Vec<_> = std::fs::read_dir(directory.path()).unwrap().collect();
            assert_eq!(names.len(), 2, "nothing else is left beside them");
            std::fs::remove_dir_all(&new).unwrap();
        }
    }

    #[test]
    fn dead_and_live_processes_are_told_apart() {
        assert!(process_alive(std::process::id()));
        // Pid numbers are below 2^22 on Linux; this one cannot be a running process.
        assert!(!process_alive(i32::MAX as u32));
    }
}
