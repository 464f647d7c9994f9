//! How a file or folder of MNIST data is described, in messages and in `metrics.json`: which
//! split it is and what it holds.

use std::path::Path;

use crate::input::SIDE;

/// Which part of the data a file or folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Split {
    Training,
    Test,
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Split::Training => "training",
            Split::Test => "test",
        })
    }
}

/// An IDX file's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IdxKind {
    Images,
    Labels,
}

/// What was found in an IDX file: enough to pair files and to say what they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IdxSummary {
    /// The path as given.
    pub(super) name: String,
    pub(super) kind: IdxKind,
    /// Images or labels it holds.
    pub(super) count: usize,
    pub(super) gzipped: bool,
}

impl IdxSummary {
    /// `IDX images (gzipped), 60000 x 28x28`, `IDX labels, 10000 digits`.
    pub(super) fn describe(&self) -> String {
        let gzipped = if self.gzipped { " (gzipped)" } else { "" };
        match self.kind {
            IdxKind::Images => format!("IDX images{gzipped}, {} x {SIDE}x{SIDE}", self.count),
            IdxKind::Labels => format!("IDX labels{gzipped}, {} digits", self.count),
        }
    }

    /// What `metrics.json` records: `IDX images (gzipped), 60000 x 28x28, training`.
    pub(super) fn layout(&self, split: Split) -> String {
        format!("{}, {split}", self.describe())
    }

    /// The split its file name says, if it says exactly one: `train` for training, `t10k`
    /// or `test` for test.
    pub(super) fn named_split(&self) -> Option<Split> {
        let file = Path::new(&self.name)
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let train = file.contains("train");
        let test = file.contains("t10k") || file.contains("test");
        match (train, test) {
            (true, false) => Some(Split::Training),
            (false, true) => Some(Split::Test),
            _ => None,
        }
    }
}

/// What a PNG split is recorded as in `metrics.json`.
pub(super) fn png_layout(count: usize, split: Split) -> String {
    format!(
        "PNG folder tree <digit>/*.png, {count} images, {split} (digests of the sha256sum \
         listing of its PNG files, sorted by path)"
    )
}
