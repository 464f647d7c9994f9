//! Dataset files: read locally, downloaded from their canonical URL only when missing, and
//! always checked against a pinned SHA-256. Nothing trains on unverified data: the bytes that
//! were checked are the bytes handed back, so a file that changes on disk after the check (or
//! while it is read) cannot reach training.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use md5::Md5;
use sha2::Digest;

use module_kit::digest::to_hex;

use crate::dataset::{DatasetBytes, FileDigests, hash_stream};

/// A dataset file: where it lives under the data directory, where it comes from, and what
/// its bytes must hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteFile {
    /// Path under the data directory, e.g. `iris/iris.csv`.
    pub relative_path: &'static str,
    pub url: &'static str,
    pub checksum: Checksum,
}

/// The pinned digest of a file. SHA-256 wherever it is known; MD5 only for files whose
/// publishers pin nothing stronger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    Sha256(&'static str),
    Md5(&'static str),
}

impl Checksum {
    fn expected(&self) -> &'static str {
        match self {
            Checksum::Sha256(hex) | Checksum::Md5(hex) => hex,
        }
    }

    fn actual<'a>(&self, digests: &'a Digests) -> &'a str {
        match self {
            Checksum::Sha256(_) => &digests.file.sha256,
            Checksum::Md5(_) => &digests.md5,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Checksum::Sha256(_) => "sha256",
            Checksum::Md5(_) => "md5",
        }
    }
}

impl std::fmt::Display for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.name(), self.expected())
    }
}

/// Every digest of a file, computed in one pass.
struct Digests {
    file: FileDigests,
    md5: String,
}

/// A dataset file whose bytes matched the pinned checksum: those bytes, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedFile {
    pub path: PathBuf,
    /// Exactly the bytes the checksum was computed on: parse these, never the file again.
    pub bytes: Vec<u8>,
    /// Recorded in reports whatever the pinned digest was.
    pub digests: FileDigests,
}

impl VerifiedFile {
    /// The verified bytes as a dataset file read from `path`.
    pub fn into_dataset(self) -> DatasetBytes {
        DatasetBytes {
            path: self.path,
            bytes: self.bytes,
            digests: self.digests,
        }
    }
}

impl RemoteFile {
    /// The file's place under `data_dir`.
    pub fn local_path(&self, data_dir: &Path) -> PathBuf {
        data_dir.join(self.relative_path)
    }

    /// Returns the verified local copy, downloading it first when it is missing.
    pub fn fetch(&self, data_dir: &Path) -> Result<VerifiedFile> {
        let path = self.local_path(data_dir);
        if path.exists() {
            return self.verify_existing(path);
        }
        let (bytes, digests) = self.download_to(&path)?;
        Ok(VerifiedFile {
            path,
            bytes,
            digests: digests.file,
        })
    }

    fn verify_existing(&self, path: PathBuf) -> Result<VerifiedFile> {
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let digests = copy_hashing(&mut bytes.as_slice(), &mut io::sink())?;
        let actual = self.checksum.actual(&digests);
        if actual != self.checksum.expected() {
            bail!(
                "{} has {} {actual}, not the expected {}; it is not the file published at {}. \
                 Delete it to download it again, or replace it with a verified copy",
                path.display(),
                self.checksum.name(),
                self.checksum.expected(),
                self.url
            );
        }
        Ok(VerifiedFile {
            path,
            bytes,
            digests: digests.file,
        })
    }

    /// Streams the URL into a temporary file beside `path`, checks its hash, then renames it
    /// into place, so a failed or interrupted download leaves nothing behind. The place is
    /// checked for writing first: a data directory that cannot take the file is said to be
    /// one, not reported as a failed download.
    fn download_to(&self, path: &Path) -> Result<(Vec<u8>, Digests)> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let temp = fs::create_dir_all(dir)
            .and_then(|()| tempfile::NamedTempFile::new_in(dir))
            .with_context(|| {
                format!(
                    "{} is missing, and the data directory cannot take a download: {} is not \
                     writable; put a verified copy there ({}) or point --data-dir / \
                     DATASETS_DIR at a writable directory or one that has it",
                    path.display(),
                    dir.display(),
                    self.checksum
                )
            })?;
        self.download_into(temp, path).with_context(|| {
            format!(
                "{} is missing and could not be downloaded from {}; put a copy there \
                 ({}) or point --data-dir / DATASETS_DIR at a directory that has it",
                path.display(),
                self.url,
                self.checksum
            )
        })
    }

    fn download_into(
        &self,
        mut temp: tempfile::NamedTempFile,
        path: &Path,
    ) -> Result<(Vec<u8>, Digests)> {
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .timeout_connect(Some(Duration::from_secs(30)))
                .timeout_global(Some(Duration::from_secs(30 * 60)))
                .build(),
        );
        eprintln!("downloading {} to {}", self.url, path.display());
        let mut response = agent.get(self.url).call()?;
        let progress = progress_bar(response.body().content_length());
        let mut reader = progress.wrap_read(response.body_mut().as_reader());
        let mut bytes = Vec::new();
        let digests = copy_hashing(&mut reader, &mut bytes)?;
        temp.write_all(&bytes)?;
        progress.finish_and_clear();
        let actual = self.checksum.actual(&digests);
        if actual != self.checksum.expected() {
            bail!(
                "the download has {} {actual}, not the expected {}",
                self.checksum.name(),
                self.checksum.expected()
            );
        }
        temp.as_file().sync_all()?;
        temp.persist(path)?;
        Ok((bytes, digests))
    }
}

fn progress_bar(total: Option<u64>) -> ProgressBar {
    let Some(total) = total else {
        return ProgressBar::new_spinner();
    };
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

fn copy_hashing(reader: &mut impl Read, out: &mut impl Write) -> io::Result<Digests> {
    let mut md5 = Md5::new();
    let file = hash_stream(reader, |chunk| {
        md5.update(chunk);
        out.write_all(chunk)
    })?;
    Ok(Digests {
        file,
        md5: to_hex(&md5.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use module_kit::digest::sha256_hex;
    use std::net::TcpListener;

    /// Serves `body` once over HTTP on loopback and returns the URL.
    fn serve_once(body: &'static [u8]) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/data.csv", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let header = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(header.as_bytes()).unwrap();
            stream.write_all(body).unwrap();
        });
        url
    }

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    /// Port 9 (discard) on loopback refuses connections: a stand-in for no network.
    const OFFLINE: &str = "http://127.0.0.1:9/data.csv";

    /// `toy/data.csv` from `url`, pinned to `checksum`.
    fn toy(url: &'static str, checksum: Checksum) -> RemoteFile {
        RemoteFile {
            relative_path: "toy/data.csv",
            url,
            checksum,
        }
    }

    /// A data directory that already holds `toy/data.csv` with `bytes`.
    fn data_dir_holding(bytes: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("toy")).unwrap();
        fs::write(dir.path().join("toy/data.csv"), bytes).unwrap();
        dir
    }

    #[test]
    fn downloads_a_missing_file_and_verifies_it() {
        let body: &'static [u8] = b"1,2,3\n";
        let file = toy(
            leak(serve_once(body)),
            Checksum::Sha256(leak(sha256_hex(body))),
        );
        let dir = tempfile::tempdir().unwrap();
        let verified = file.fetch(dir.path()).unwrap();
        assert_eq!(fs::read(&verified.path).unwrap(), body);
        assert_eq!(fs::read_dir(dir.path().join("toy")).unwrap().count(), 1);
    }

    #[test]
    fn refuses_a_download_with_the_wrong_checksum_and_leaves_nothing() {
        let file = toy(
            leak(serve_once(b"tampered\n")),
            Checksum::Sha256("0000000000000000000000000000000000000000000000000000000000000000"),
        );
        let dir = tempfile::tempdir().unwrap();
        let message = format!("{:#}", file.fetch(dir.path()).unwrap_err());
        assert!(message.contains("not the expected 0000"), "{message}");
        assert_eq!(fs::read_dir(dir.path().join("toy")).unwrap().count(), 0);
    }

    #[test]
    fn offline_error_names_url_path_and_checksum() {
        let file = toy(OFFLINE, Checksum::Sha256("abc123"));
        let dir = tempfile::tempdir().unwrap();
        let message = format!("{:#}", file.fetch(dir.path()).unwrap_err());
        assert!(message.contains("http://127.0.0.1:9/data.csv"), "{message}");
        assert!(message.contains("toy/data.csv"), "{message}");
        assert!(message.contains("abc123"), "{message}");
    }

    #[test]
    fn an_existing_file_with_the_wrong_bytes_is_rejected() {
        let dir = data_dir_holding(b"edited");
        let file = toy(OFFLINE, Checksum::Sha256(leak(sha256_hex(b"original"))));
        let message = format!("{:#}", file.fetch(dir.path()).unwrap_err());
        assert!(message.contains("not the expected"), "{message}");
        assert!(message.contains("Delete it"), "{message}");
    }

    #[test]
    fn an_md5_pinned_file_is_verified_by_md5() {
        let dir = data_dir_holding(b"abc");
        let file = |md5| toy(OFFLINE, Checksum::Md5(md5));
        let verified = file("900150983cd24fb0d6963f7d28e17f72")
            .fetch(dir.path())
            .unwrap();
        assert_eq!(
            verified.digests.sha256,
            sha256_hex(b"abc"),
            "the sha256 is still recorded"
        );
        let message = format!("{:#}", file("00").fetch(dir.path()).unwrap_err());
        assert!(
            message.contains("has md5 900150983cd24fb0d6963f7d28e17f72"),
            "{message}"
        );
    }

    #[test]
    fn an_existing_verified_file_is_used_as_is() {
        let dir = data_dir_holding(b"original");
        let file = toy(OFFLINE, Checksum::Sha256(leak(sha256_hex(b"original"))));
        let verified = file.fetch(dir.path()).unwrap();
        assert_eq!(verified.digests.sha256, sha256_hex(b"original"));
        assert_eq!(verified.bytes, b"original");
    }

    /// The bytes handed back are the ones checked: a file changed on disk after the check
    /// changes nothing that is parsed, because loaders parse these bytes, not the file.
    #[test]
    fn the_verified_bytes_are_handed_back_and_a_later_change_does_not_reach_them() {
        let dir = data_dir_holding(b"original");
        let path = dir.path().join("toy/data.csv");
        let file = toy(OFFLINE, Checksum::Sha256(leak(sha256_hex(b"original"))));
        let verified = file.fetch(dir.path()).unwrap();
        fs::write(&path, b"swapped after the check").unwrap();
        let dataset = verified.into_dataset();
        assert_eq!(dataset.bytes, b"original");
        assert_eq!(dataset.digests.sha256, sha256_hex(b"original"));
        let message = format!("{:#}", file.fetch(dir.path()).unwrap_err());
        assert!(
            message.contains("not the expected"),
            "the next read checks again: {message}"
        );
    }

    #[test]
    fn a_data_directory_that_cannot_be_written_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the data directory should be: not writable as a directory, even for
        // root (permission bits would not stop root).
        let not_a_dir = dir.path().join("datasets");
        fs::write(&not_a_dir, b"").unwrap();
        let file = toy(OFFLINE, Checksum::Sha256("abc123"));
        let message = format!("{:#}", file.fetch(&not_a_dir).unwrap_err());
        assert!(message.contains("is not writable"), "{message}");
        assert!(message.contains("--data-dir"), "{message}");
        assert!(!message.contains("could not be downloaded"), "{message}");
    }
}
