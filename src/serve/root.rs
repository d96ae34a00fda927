//! Confinement of every file path the Web UI touches to the `--root` directory.
//!
//! [`Root::new`] receives the directory and canonicalizes it once. [`Root::existing`] receives a
//! path as the page or a plan wrote it (relative to the root, or absolute) and returns the
//! canonical path of an existing file inside the root; [`Root::writable`] does the same for an
//! output path that may not exist yet. **Guarantee**: a returned path lies inside the canonical
//! root after every symbolic link is resolved: a `..` component is refused outright (before any
//! resolution, so `a/../../x` cannot slip through), and the resolved path must have the root as a
//! prefix, so a link pointing outside is refused too. A path that is the root itself is refused
//! as an output, so a run can never replace the whole workspace.
//!
//! A check by path and the open that follows are two steps, and a link could change between
//! them. Reads are therefore checked again on what was opened: [`Root::open_file`] and
//! [`Root::confine_opened`] look at where each open led (the kernel's own record of the open
//! file, [`crate::io::opened_as`]), so the bytes the page receives come from inside the root
//! even if a link was swapped in between. Saved plans are checked on their temporary file
//! ([`crate::io::write_file_atomically_inside`]); run outputs by path only (see `docs/serve.md`).

use std::fmt;
use std::path::{Component, Path, PathBuf};

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    Empty,
    /// The path has a `..` component.
    ParentComponent(String),
    /// The path (after resolving links) is outside the root.
    OutsideRoot(String),
    /// The path does not exist (or cannot be resolved).
    Missing(String),
    /// An output path names the root directory itself.
    IsRoot(String),
}

impl fmt::Display for PathError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::Empty => write!(formatter, "the path is empty"),
            PathError::ParentComponent(path) => {
                write!(formatter, "`{path}` contains `..`, which is not allowed")
            }
            PathError::OutsideRoot(path) => {
                write!(formatter, "`{path}` is outside the served root directory")
            }
            PathError::Missing(path) => write!(formatter, "`{path}` does not exist"),
            PathError::IsRoot(path) => {
                write!(formatter, "`{path}` is the served root directory itself")
            }
        }
    }
}

impl PathError {
    /// Whether the refusal is about confinement (as opposed to a file that is simply missing).
    pub fn is_confinement(&self) -> bool {
        !matches!(self, PathError::Missing(_))
    }
}

/// The served directory, canonical.
#[derive(Debug, Clone)]
pub struct Root {
    canonical: PathBuf,
}

impl Root {
    /// Canonicalizes `directory`, which must exist and be a directory.
    pub fn new(directory: &Path) -> std::io::Result<Root> {
        let canonical = directory.canonicalize()?;
        if !canonical.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} is not a directory", directory.display()),
            ));
        }
        Ok(Root { canonical })
    }

    pub fn path(&self) -> &Path {
        &self.canonical
    }

    /// The canonical path of an existing file or directory inside the root.
    pub fn existing(&self, path: &str) -> Result<PathBuf, PathError> {
        let joined = self.join(path)?;
        let canonical = joined
            .canonicalize()
            .map_err(|_| PathError::Missing(path.to_string()))?;
        self.inside(canonical, path)
    }

    /// The path an output may be written to: its deepest existing ancestor is canonicalized and
    /// must be inside the root, and the rest are plain names (created later by the writer).
    pub fn writable(&self, path: &str) -> Result<PathBuf, PathError> {
        let joined = self.join(path)?;
        let mut existing = joined.as_path();
        let mut missing = Vec::new();
        while existing.symlink_metadata().is_err() {
            match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    missing.push(name.to_os_string());
                    existing = parent;
                }
                _ => return Err(PathError::OutsideRoot(path.to_string())),
            }
        }
        let canonical = existing
            .canonicalize()
            .map_err(|_| PathError::Missing(path.to_string()))?;
        let mut resolved = self.inside(canonical, path)?;
        for name in missing.into_iter().rev() {
            resolved.push(name);
        }
        if resolved == self.canonical {
            return Err(PathError::IsRoot(path.to_string()));
        }
        Ok(resolved)
    }

    /// Opens an existing file inside the root for reading, checked again on the opened file.
    pub fn open_file(&self, path: &str) -> Result<std::fs::File, PathError> {
        let resolved = self.existing(path)?;
        let file =
            std::fs::File::open(&resolved).map_err(|_| PathError::Missing(path.to_string()))?;
        self.inside(crate::io::opened_as(&file, &resolved), path)?;
        Ok(file)
    }

    /// Refuses a checkpoint any of whose files was opened outside the root.
    pub fn confine_opened(
        &self,
        checkpoint: &crate::io::Checkpoint,
        path: &str,
    ) -> Result<(), PathError> {
        for opened in checkpoint.opened_files() {
            self.inside(opened.clone(), path)?;
        }
        Ok(())
    }

    /// A path relative to the root for display (the canonical path when it is not inside).
    pub fn relative<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.canonical).unwrap_or(path)
    }

    /// The root joined with `path`, refusing empty paths and `..` anywhere.
    fn join(&self, path: &str) -> Result<PathBuf, PathError> {
        if path.trim().is_empty() {
            return Err(PathError::Empty);
        }
        let candidate = Path::new(path);
        if candidate
            .components()
            .any(|component| matches!(component, Component::ParentDir))
        {
            return Err(PathError::ParentComponent(path.to_string()));
        }
        // An absolute path is allowed when it resolves inside the root; `join` keeps it as is.
        Ok(self.canonical.join(candidate))
    }

    fn inside(&self, canonical: PathBuf, path: &str) -> Result<PathBuf, PathError> {
        if canonical.starts_with(&self.canonical) {
            Ok(canonical)
        } else {
            Err(PathError::OutsideRoot(path.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> (tempfile::TempDir, Root) {
        let directory = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(directory.path().join("models")).expect("mkdir");
        std::fs::write(directory.path().join("models/a.safetensors"), b"x").expect("write");
        let root = Root::new(directory.path()).expect("root");
        (directory, root)
    }

    #[test]
    fn existing_files_inside_resolve() {
        let (_directory, root) = workspace();
        let path = root.existing("models/a.safetensors").expect("inside");
        assert!(path.starts_with(root.path()));
        let absolute = root.path().join("models/a.safetensors");
        assert_eq!(root.existing(&absolute.to_string_lossy()), Ok(path));
    }

    #[test]
    fn parent_components_and_outside_paths_are_refused() {
        let (_directory, root) = workspace();
        assert!(matches!(
            root.existing("models/../models/a.safetensors"),
            Err(PathError::ParentComponent(_))
        ));
        assert!(matches!(
            root.existing("/etc/passwd"),
            Err(PathError::OutsideRoot(_))
        ));
        assert!(matches!(
            root.writable("/tmp/x"),
            Err(PathError::OutsideRoot(_))
        ));
        assert_eq!(root.existing(""), Err(PathError::Empty));
        assert!(matches!(
            root.existing("nothing"),
            Err(PathError::Missing(_))
        ));
    }

    /// The second check looks at what was opened, not at the path: a checkpoint whose file lies
    /// outside (as after a link swapped between the path check and the open) is refused, one
    /// inside is kept; a plan file is opened only inside.
    #[test]
    fn what_was_opened_is_checked_again() {
        let (directory, root) = workspace();
        let outside = tempfile::tempdir().expect("tempdir");
        let write = |path: &Path| {
            let ty = crate::tensor::TensorType::new(
                crate::tensor::DType::F32,
                crate::tensor::Shape::new(vec![1]),
            );
            let options = crate::io::WriterOptions::default();
            crate::io::write_npy(path, "x", &ty, &1.0f32.to_le_bytes(), &options).expect("written");
        };
        let inside_file = directory.path().join("models/in.npy");
        let outside_file = outside.path().join("out.npy");
        write(&inside_file);
        write(&outside_file);
        let inside = crate::io::Checkpoint::open(&inside_file).expect("opens");
        assert_eq!(root.confine_opened(&inside, "models/in.npy"), Ok(()));
        let escaped = crate::io::Checkpoint::open(&outside_file).expect("opens");
        assert!(matches!(
            root.confine_opened(&escaped, "models/in.npy"),
            Err(PathError::OutsideRoot(_))
        ));
        // Through a link inside the root, the opened file is still where the link led.
        std::os::unix::fs::symlink(&outside_file, directory.path().join("link.npy"))
            .expect("symlink");
        let linked = crate::io::Checkpoint::open(directory.path().join("link.npy")).expect("opens");
        assert_eq!(
            linked.opened_files(),
            &[outside_file.canonicalize().expect("c")]
        );
        assert!(root.confine_opened(&linked, "link.npy").is_err());
        assert!(root.open_file("models/a.safetensors").is_ok());
        assert!(matches!(
            root.open_file("link.npy"),
            Err(PathError::OutsideRoot(_))
        ));
    }

    #[test]
    fn symbolic_links_out_of_the_root_are_refused() {
        let (directory, root) = workspace();
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("secret"), b"s").expect("write");
        std::os::unix::fs::symlink(outside.path(), directory.path().join("escape"))
            .expect("symlink");
        assert!(matches!(
            root.existing("escape/secret"),
            Err(PathError::OutsideRoot(_))
        ));
        assert!(matches!(
            root.writable("escape/new/out.npy"),
            Err(PathError::OutsideRoot(_))
        ));
    }

    #[test]
    fn outputs_may_not_exist_yet_but_may_not_be_the_root() {
        let (_directory, root) = workspace();
        let path = root.writable("out/deep/model.safetensors").expect("inside");
        assert_eq!(path, root.path().join("out/deep/model.safetensors"));
        assert!(matches!(root.writable("."), Err(PathError::IsRoot(_))));
    }
}
