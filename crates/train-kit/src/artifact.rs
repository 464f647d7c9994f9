//! Artifacts are written whole or not at all: single files through a temporary file and a
//! rename, a training run's directory through a staging directory that replaces the old one
//! only when everything in it is written.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::interrupt::{StopPoint, stop_point};

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    std::io::Write::write_all(&mut temp, bytes)
        .and_then(|()| set_mode(temp.path(), 0o644))
        .and_then(|()| temp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    temp.persist(path)
        .with_context(|| format!("cannot move the new {} into place", path.display()))?;
    Ok(())
}

/// Pretty JSON with a trailing newline, written atomically.
pub fn write_json_atomic(path: &Path, value: &impl Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// A directory that is filled under a temporary name beside its destination and swapped in
/// by [`StagedDir::commit`]. Dropped without commit, it is deleted and the destination is
/// untouched.
#[derive(Debug)]
pub struct StagedDir {
    destination: PathBuf,
    staging: tempfile::TempDir,
}

/// The directory `destination` lies in (`.` for a bare name): where its staging directories,
/// and a training run's working directory, go beside it.
pub fn parent_of(destination: &Path) -> &Path {
    match destination.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// `destination`'s folder name, which the names beside it start from.
pub fn folder_of(destination: &Path) -> String {
    destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "artifacts".into())
}

fn staging_prefix(destination: &Path) -> String {
    format!(".{}.staging-", folder_of(destination))
}

impl StagedDir {
    pub fn new(destination: &Path) -> Result<Self> {
        let parent = parent_of(destination);
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let staging = tempfile::Builder::new()
            .prefix(&staging_prefix(destination))
            .tempdir_in(parent)
            .with_context(|| {
                format!("cannot create a staging directory in {}", parent.display())
            })?;
        Ok(Self {
            destination: destination.to_path_buf(),
            staging,
        })
    }

    /// Removes the staging directories of runs for `destination` that were killed before
    /// they committed (a kill runs no destructor).
    pub fn remove_leftovers(destination: &Path) {
        let prefix = staging_prefix(destination);
        for entry in fs::read_dir(parent_of(destination))
            .into_iter()
            .flatten()
            .flatten()
        {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }

    /// Where files go until the commit.
    pub fn path(&self) -> &Path {
        self.staging.path()
    }

    /// The directory the files will be in after the commit.
    pub fn destination(&self) -> &Path {
        &self.destination
    }

    /// Replaces the destination with the staged directory. Where the system can swap two
    /// directories in one step (Linux's `renameat2` exchange), there is no moment at which
    /// the destination is missing or half-written, whenever the process is killed.
    pub fn commit(self) -> Result<PathBuf> {
        let staged = self.staging.keep();
        // Temporary directories are private; artifacts are meant to be read.
        set_mode(&staged, 0o755)?;
        let destination = self.destination;
        if !destination.exists() {
            fs::rename(&staged, &destination).with_context(|| {
                format!("cannot move the new {} into place", destination.display())
            })?;
            stop_point(StopPoint::Commit);
            return Ok(destination);
        }
        // After the swap `staged` holds the old directory.
        swap(&staged, &destination)
            .with_context(|| format!("cannot move the new {} into place", destination.display()))?;
        stop_point(StopPoint::Commit);
        fs::remove_dir_all(&staged)
            .with_context(|| format!("cannot remove the old {}", staged.display()))?;
        Ok(destination)
    }
}

/// Exchanges two directories atomically.
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn swap(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

/// Exchanges two directories with two renames, where no atomic exchange exists: a kill
/// between them leaves the old directory under `a`'s name.
#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn swap(a: &Path, b: &Path) -> std::io::Result<()> {
    let parent = b.parent().unwrap_or(Path::new("."));
    let aside = tempfile::Builder::new()
        .prefix(".retired-")
        .tempdir_in(parent)?
        .keep()
        .join("previous");
    fs::rename(b, &aside)?;
    fs::rename(a, b)?;
    fs::rename(&aside, a)?;
    fs::remove_dir(aside.parent().unwrap_or(parent))
}

/// Sets Unix permission bits (temporary files start private); a no-op elsewhere.
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary directory holding `iris/` with `file` in it, written `old`.
    fn old_iris_dir(file: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("iris");
        fs::create_dir_all(&destination).unwrap();
        fs::write(destination.join(file), b"old").unwrap();
        (dir, destination)
    }

    #[test]
    fn write_atomic_replaces_the_file_and_leaves_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bpk");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_committed_stage_replaces_the_old_directory_whole() {
        let (dir, destination) = old_iris_dir("stale.log");

        let stage = StagedDir::new(&destination).unwrap();
        fs::write(stage.path().join("model.bpk"), b"new").unwrap();
        stage.commit().unwrap();

        assert_eq!(fs::read(destination.join("model.bpk")).unwrap(), b"new");
        assert!(!destination.join("stale.log").exists());
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no staging leftovers"
        );
    }

    #[test]
    fn an_abandoned_stage_leaves_the_destination_untouched() {
        let (dir, destination) = old_iris_dir("model.bpk");
        {
            let stage = StagedDir::new(&destination).unwrap();
            fs::write(stage.path().join("model.bpk"), b"half").unwrap();
        }
        assert_eq!(fs::read(destination.join("model.bpk")).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
