//! Dataset files as users hand them over (`--dataset datasets/Iris.csv`, the Cocos AI layout):
//! their digests, read in the same pass as their bytes so what is recorded is what was used,
//! and the one-line refusal for a file that fits no accepted layout.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use module_kit::digest::to_hex;
use module_kit::settings::DatasetRecord;
use sha2::{Digest, Sha256};
use sha3::Sha3_256;

/// What `metrics.json` records of every dataset file a run read, by its name.
pub type DatasetRecords = BTreeMap<String, DatasetRecord>;

/// SHA-256 (what the project pins) and SHA3-256 (what Cocos AI manifests pin) of some bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigests {
    pub sha256: String,
    pub sha3_256: String,
}

impl FileDigests {
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            sha256: to_hex(&Sha256::digest(bytes)),
            sha3_256: to_hex(&Sha3_256::digest(bytes)),
        }
    }

    /// The record of a file with these digests read as `layout`.
    pub fn record(&self, layout: impl Into<String>) -> DatasetRecord {
        DatasetRecord {
            sha256: self.sha256.clone(),
            sha3_256: self.sha3_256.clone(),
            layout: layout.into(),
        }
    }
}

/// Hashes everything `reader` yields, handing each chunk to `sink` as well.
pub fn hash_stream(
    reader: &mut impl Read,
    mut sink: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<FileDigests> {
    let mut sha256 = Sha256::new();
    let mut sha3 = Sha3_256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            return Ok(FileDigests {
                sha256: to_hex(&sha256.finalize()),
                sha3_256: to_hex(&sha3.finalize()),
            });
        }
        sha256.update(&buffer[..n]);
        sha3.update(&buffer[..n]);
        sink(&buffer[..n])?;
    }
}

/// A file's bytes and their digests, from one read.
#[derive(Debug, Clone)]
pub struct DatasetBytes {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub digests: FileDigests,
}

/// Reads a dataset file whole: the digests describe exactly the bytes that are parsed.
pub fn read_dataset(path: &Path) -> Result<DatasetBytes> {
    if path.is_dir() {
        return Err(anyhow!(
            "{} is a directory; give a file (or, where the algorithm takes a folder tree, \
             that folder)",
            path.display()
        ));
    }
    let bytes = fs::read(path).with_context(|| {
        format!(
            "cannot read {} (check the path given to --dataset)",
            path.display()
        )
    })?;
    let digests = FileDigests::of(&bytes);
    Ok(DatasetBytes {
        path: path.to_path_buf(),
        bytes,
        digests,
    })
}

/// Digests of a folder tree: of its `sha256sum`-style listing (`<sha256>  <relative path>`
/// per file, sorted by path, `/` separators), so the same files give the same digests
/// wherever they were unpacked.
pub fn digest_tree(root: &Path) -> Result<FileDigests> {
    let mut files = Vec::new();
    collect_files(root, root, &mut files)?;
    files.sort();
    let mut listing = String::new();
    for relative in &files {
        let bytes = fs::read(root.join(relative))
            .with_context(|| format!("cannot read {}", root.join(relative).display()))?;
        listing.push_str(&format!(
            "{}  {relative}\n",
            to_hex(&Sha256::digest(&bytes))
        ));
    }
    Ok(FileDigests::of(listing.as_bytes()))
}

fn collect_files(root: &Path, dir: &Path, files: &mut Vec<String>) -> Result<()> {
    let entries = fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(root, &path, files)?;
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        files.push(parts.join("/"));
    }
    Ok(())
}

/// The non-blank rows of a CSV text (no header handling: the first row is returned apart, as
/// the header or the first record a layout is detected from) and the rest, to parse one by one.
pub fn split_csv<'a>(
    path: &Path,
    text: &'a str,
    delimiter: u8,
) -> Result<(csv::StringRecord, CsvRows<'a>)> {
    let mut rows = CsvRows {
        path: path.to_path_buf(),
        records: csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(text.as_bytes())
            .into_records(),
    };
    let first = rows.next_row()?.unwrap_or_default();
    Ok((first, rows))
}

/// The rows of a CSV text after the first, blank lines skipped.
pub struct CsvRows<'a> {
    path: PathBuf,
    records: csv::StringRecordsIntoIter<&'a [u8]>,
}

impl std::fmt::Debug for CsvRows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvRows")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl CsvRows<'_> {
    fn next_row(&mut self) -> Result<Option<csv::StringRecord>> {
        for record in self.records.by_ref() {
            let record =
                record.with_context(|| format!("{} cannot be read as CSV", self.path.display()))?;
            if !is_blank(&record) {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    /// Parses `first` (when it is a record, not a header) and every remaining row; an error
    /// names the file and the line.
    pub fn parse_each<T>(
        mut self,
        first: Option<csv::StringRecord>,
        mut parse: impl FnMut(&csv::StringRecord) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut next = first;
        while let Some(record) = next
            .take()
            .map_or_else(|| self.next_row(), |r| Ok(Some(r)))?
        {
            let line = record.position().map_or(0, |p| p.line());
            items.push(
                parse(&record).with_context(|| format!("{} line {line}", self.path.display()))?,
            );
        }
        Ok(items)
    }
}

/// A line holding nothing but white space.
fn is_blank(record: &csv::StringRecord) -> bool {
    record.len() <= 1 && record.iter().all(|field| field.trim().is_empty())
}

/// The one-line refusal of a file that fits none of an algorithm's layouts: the file, what
/// was found in it, what is accepted.
pub fn unrecognized(path: &Path, found: &str, accepted: &str) -> anyhow::Error {
    anyhow!("{}: {found}; accepted: {accepted}", path.display())
}

/// How a `--dataset` path is named in logs and `metrics.json`: as given.
pub fn dataset_name(path: &Path) -> String {
    path.display().to_string()
}

/// Logs what was detected in a dataset file: users must never have to guess.
pub fn announce(algorithm: &str, path: &Path, layout: &str) {
    println!("{algorithm}: {}: read as {layout}", path.display());
}

/// Whether bytes start with gzip's magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// The text of a CSV-like dataset file, without a UTF-8 byte-order mark; or, for
/// [`unrecognized`], what was found instead: an empty file, an archive, binary data.
pub fn as_text(bytes: &[u8]) -> Result<&str, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("an empty file".into());
    }
    if is_gzip(bytes) {
        return Err("gzip-compressed data (unpack it first)".into());
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Err("a zip archive (unpack it first)".into());
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => Ok(text),
        _ => Err("binary data, not text".into()),
    }
}

/// The first line of a text file, for messages: at most 80 characters, control characters
/// shown escaped.
pub fn first_line_preview(bytes: &[u8]) -> String {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(line);
    let mut preview: String = text
        .trim_end_matches('\r')
        .chars()
        .take(80)
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    if text.chars().count() > 80 {
        preview.push_str("...");
    }
    preview
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_the_published_test_vectors_of_abc() {
        let digests = FileDigests::of(b"abc");
        assert_eq!(
            digests.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            digests.sha3_256,
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
        let streamed = hash_stream(&mut &b"abc"[..], |_| Ok(())).unwrap();
        assert_eq!(streamed, digests);
    }

    #[test]
    fn a_tree_digest_depends_on_names_and_contents_not_on_where_it_lies() {
        let make = |name: &str, body: &[u8]| {
            let dir = tempfile::tempdir().unwrap();
            fs::create_dir_all(dir.path().join("train/7")).unwrap();
            fs::write(dir.path().join("train/7").join(name), body).unwrap();
            fs::write(dir.path().join("a.txt"), b"x").unwrap();
            dir
        };
        let one = make("1.png", b"seven");
        let two = make("1.png", b"seven");
        let renamed = make("2.png", b"seven");
        let edited = make("1.png", b"eight");
        let digest = |dir: &tempfile::TempDir| digest_tree(dir.path()).unwrap();
        assert_eq!(digest(&one), digest(&two));
        assert_ne!(digest(&one), digest(&renamed));
        assert_ne!(digest(&one), digest(&edited));
    }

    #[test]
    fn the_refusal_names_the_file_what_was_found_and_what_is_accepted() {
        let error = unrecognized(
            Path::new("datasets/x.csv"),
            "a header 'a,b'",
            "UCI iris.data",
        );
        assert_eq!(
            error.to_string(),
            "datasets/x.csv: a header 'a,b'; accepted: UCI iris.data"
        );
    }

    #[test]
    fn previews_are_one_short_line() {
        assert_eq!(first_line_preview(b"a,b\r\nc"), "a,b");
        assert_eq!(first_line_preview(b"\x00\x01"), "\\u{0}\\u{1}");
        assert_eq!(first_line_preview(b"\"a\";b"), "\"a\";b");
        assert_eq!(first_line_preview(&[b'x'; 100]).len(), 83);
    }

    #[test]
    fn text_is_told_from_empty_archived_and_binary_files() {
        assert_eq!(as_text(b"\xEF\xBB\xBFa,b\n"), Ok("a,b\n"));
        assert_eq!(as_text(b" \r\n\n").unwrap_err(), "an empty file");
        assert!(as_text(b"\x1f\x8b\x08").unwrap_err().contains("gzip"));
        assert!(
            as_text(b"PK\x03\x04rest")
                .unwrap_err()
                .contains("zip archive")
        );
        assert_eq!(as_text(b"a\0b").unwrap_err(), "binary data, not text");
        assert_eq!(as_text(b"\xff\xfe").unwrap_err(), "binary data, not text");
    }

    #[test]
    fn a_missing_file_names_the_option() {
        let message = format!(
            "{:#}",
            read_dataset(Path::new("/nonexistent/x.csv")).unwrap_err()
        );
        assert!(message.contains("--dataset"), "{message}");
    }
}
