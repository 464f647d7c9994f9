//! The MNIST data: the four official IDX files (downloaded from a public mirror and verified
//! when missing), or a folder of PNG files per split and digit; the files users hand over
//! with `--dataset` (IDX files under any names, gzipped or not, or a PNG folder tree unpacked
//! from a zip), detected and announced, never guessed; which images train and which evaluate
//! (the data plan); and how images are batched, with optional seeded random shifts for
//! training.
//!
//! One file per concern: `official` (the IDX files from the mirror), `png` (split folders of
//! PNG files), `upload_idx` and `upload_png` (what `--dataset` hands over), `layout` (how each
//! file or folder is described), `augment` and `batch`.

mod augment;
mod batch;
mod layout;
mod official;
mod png;
#[cfg(test)]
mod test_files;
mod upload_idx;
mod upload_png;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use train_kit::dataset::{DatasetRecords, unrecognized};

use crate::input::PIXELS;

pub use augment::{RandomShift, shift};
pub use batch::{MnistBatch, MnistBatcher};
pub use official::{
    IDX_FILES, MIRROR, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, load_idx,
    load_test_set,
};
use png::PNG_SPLITS;
pub use png::{PNG_ROOT, load_png_folders};
use upload_idx::load_idx_files;
use upload_png::load_png_tree;

/// Which images train and which evaluate, as `metrics.json` records it: where they came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataPlan {
    /// The four official IDX files: 60,000 training and 10,000 test images.
    OfficialIdx,
    /// `mnist_png/train` to train, `mnist_png/valid` to evaluate.
    PngFolders,
    /// Four IDX files given with `--dataset`: the larger image/label pair trains (or, when
    /// the counts are equal, the pair named train).
    DatasetIdx,
    /// A PNG folder tree given with `--dataset`: its train|training split trains, its
    /// test|testing|valid split evaluates.
    DatasetPng,
}

impl std::fmt::Display for DataPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DataPlan::OfficialIdx => "the official IDX files",
            DataPlan::PngFolders => "the PNG folders mnist_png/{train,valid}",
            DataPlan::DatasetIdx => "the IDX files given with --dataset",
            DataPlan::DatasetPng => "the PNG folder tree given with --dataset",
        })
    }
}

/// One labelled image: grey levels, row-major, 0 background to 255 ink.
#[derive(Clone, PartialEq, Eq)]
pub struct MnistItem {
    pub pixels: [u8; PIXELS],
    pub label: u8,
}

impl std::fmt::Debug for MnistItem {
    // 784 numbers per item would drown every log they appear in.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MnistItem {{ label: {} }}", self.label)
    }
}

/// The training images, the test images, and what they were read from.
#[derive(Debug)]
pub struct MnistData {
    pub train: Vec<MnistItem>,
    pub test: Vec<MnistItem>,
    /// Which files they were read from.
    pub plan: DataPlan,
    /// Digests of each file (IDX), or of each split's file listing (PNG), by path under the
    /// data directory.
    pub datasets: DatasetRecords,
}

impl MnistData {
    /// The splits read in order, training then test.
    fn from_splits(
        mut splits: Vec<Vec<MnistItem>>,
        plan: DataPlan,
        datasets: DatasetRecords,
    ) -> Self {
        let test = splits.pop().unwrap_or_default();
        let train = splits.pop().unwrap_or_default();
        Self {
            train,
            test,
            plan,
            datasets,
        }
    }

    /// Keeps the first `limit` images of each split, for quick runs.
    pub fn limit(mut self, limit: Option<usize>) -> Self {
        if let Some(limit) = limit {
            self.train.truncate(limit);
            self.test.truncate(limit);
        }
        self
    }
}

/// The official IDX files when all four are present; otherwise the PNG folders when they
/// exist; otherwise the IDX files, downloading the missing ones.
pub fn load(data_dir: &Path) -> Result<MnistData> {
    let idx_present = IDX_FILES
        .iter()
        .all(|file| file.local_path(data_dir).is_file());
    let png_root = data_dir.join(PNG_ROOT);
    let png_present = PNG_SPLITS.iter().all(|split| png_root.join(split).is_dir());
    if !idx_present && png_present {
        return load_png_folders(&png_root);
    }
    load_idx(data_dir)
}

/// What `--dataset` accepts, for refusals.
pub const ACCEPTED: &str = "the four MNIST IDX files (training and test images and labels, \
    each gzipped or not, any names, any order) or one folder holding train|training and \
    test|testing|valid folders of <digit>/*.png (directly or one folder down)";

/// Reads what was given with `--dataset` (paths as given, relative to the working
/// directory): one folder is a PNG folder tree, anything else must be the four IDX files.
/// Every file or folder used is announced with its detected layout and recorded.
pub fn load_datasets(paths: &[PathBuf]) -> Result<MnistData> {
    match paths {
        [] => bail!("no --dataset given"),
        [folder] if folder.is_dir() => load_png_tree(folder),
        _ => {
            if let Some(folder) = paths.iter().find(|path| path.is_dir()) {
                return Err(unrecognized(
                    folder,
                    &format!(
                        "a folder given beside {} other --dataset path(s)",
                        paths.len() - 1
                    ),
                    ACCEPTED,
                ));
            }
            load_idx_files(paths)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_files::{put, refusal, small_idx};
    use super::*;

    #[test]
    fn limit_keeps_the_first_images_of_each_split() {
        let item = |label| MnistItem {
            pixels: [0; PIXELS],
            label,
        };
        let data = MnistData {
            train: (0..10).map(item).collect(),
            test: (0..5).map(item).collect(),
            plan: DataPlan::OfficialIdx,
            datasets: DatasetRecords::new(),
        }
        .limit(Some(3));
        assert_eq!(
            data.train.iter().map(|i| i.label).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(data.test.len(), 3);
    }

    #[test]
    fn a_folder_beside_files_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = put(dir.path(), "a", &small_idx()[0]);
        let message = refusal(load_datasets(&[file, dir.path().to_path_buf()]));
        assert!(
            message.contains("a folder given beside 1 other --dataset path(s)"),
            "{message}"
        );
    }
}
