//! The MNIST data: the four official IDX files (downloaded from a public mirror and verified
//! when missing), or a folder of PNG files per split and digit; which images train and which
//! evaluate (the data plan); and how images are batched, with optional seeded random shifts
//! for training.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use runtime::digest::sha256_hex;
use serde::{Deserialize, Serialize};
use train_kit::download::{Checksum, RemoteFile};

use crate::idx::{parse_images, parse_labels, read_gzip};
use crate::input::{CLASSES, PIXELS, PixelNormalization, SIDE, model_input};

/// The mirror torchvision uses; the original host is often unreachable.
pub const MIRROR: &str = "https://ossci-datasets.s3.amazonaws.com/mnist/";

pub const TRAIN_IMAGES: RemoteFile = RemoteFile {
    relative_path: "mnist/train-images-idx3-ubyte.gz",
    url: "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
    checksum: Checksum::Sha256("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
};

pub const TRAIN_LABELS: RemoteFile = RemoteFile {
    relative_path: "mnist/train-labels-idx1-ubyte.gz",
    url: "https://ossci-datasets.s3.amazonaws.com/mnist/train-labels-idx1-ubyte.gz",
    checksum: Checksum::Sha256("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
};

pub const TEST_IMAGES: RemoteFile = RemoteFile {
    relative_path: "mnist/t10k-images-idx3-ubyte.gz",
    url: "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz",
    checksum: Checksum::Sha256("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
};

pub const TEST_LABELS: RemoteFile = RemoteFile {
    relative_path: "mnist/t10k-labels-idx1-ubyte.gz",
    url: "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz",
    checksum: Checksum::Sha256("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
};

/// The four official files.
pub const IDX_FILES: [RemoteFile; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// The PNG layout, under the data directory: `mnist_png/{train,valid}/<digit>/*.png`, where
/// `valid` holds the official test images.
pub const PNG_ROOT: &str = "mnist_png";
const PNG_SPLITS: [&str; 2] = ["train", "valid"];

/// Which images train and which evaluate, as `metrics.json` records it: where they came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataPlan {
    /// The four official IDX files: 60,000 training and 10,000 test images.
    OfficialIdx,
    /// `mnist_png/train` to train, `mnist_png/valid` to evaluate.
    PngFolders,
}

impl std::fmt::Display for DataPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DataPlan::OfficialIdx => "the official IDX files",
            DataPlan::PngFolders => "the PNG folders mnist_png/{train,valid}",
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
    /// SHA-256 of each file (IDX), or of each split's file listing and contents (PNG), by
    /// path under the data directory.
    pub sha256: BTreeMap<String, String>,
}

impl MnistData {
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

/// Reads (and when missing downloads) the four official files.
pub fn load_idx(data_dir: &Path) -> Result<MnistData> {
    let mut sha256 = BTreeMap::new();
    let train = read_idx_pair(data_dir, [TRAIN_IMAGES, TRAIN_LABELS], &mut sha256)
        .context("cannot read the MNIST training files")?;
    let test = read_idx_pair(data_dir, [TEST_IMAGES, TEST_LABELS], &mut sha256)
        .context("cannot read the MNIST test files")?;
    Ok(MnistData {
        train,
        test,
        plan: DataPlan::OfficialIdx,
        sha256,
    })
}

/// The 10,000 official test images alone (downloaded and verified when missing).
pub fn load_test_set(data_dir: &Path) -> Result<Vec<MnistItem>> {
    read_idx_pair(data_dir, [TEST_IMAGES, TEST_LABELS], &mut BTreeMap::new())
        .context("cannot read the MNIST test files")
}

/// An image file and its label file, verified, with their digests added to `sha256`.
fn read_idx_pair(
    data_dir: &Path,
    [images, labels]: [RemoteFile; 2],
    sha256: &mut BTreeMap<String, String>,
) -> Result<Vec<MnistItem>> {
    let mut read = |file: RemoteFile| -> Result<Vec<u8>> {
        let verified = file.fetch(data_dir)?;
        sha256.insert(file.relative_path.to_owned(), verified.sha256);
        read_gzip(&verified.path)
    };
    items(&read(images)?, &read(labels)?)
}

/// Pairs an image file with its label file.
fn items(images: &[u8], labels: &[u8]) -> Result<Vec<MnistItem>> {
    let images = parse_images(images).context("image file")?;
    let labels = parse_labels(labels).context("label file")?;
    if images.len() != labels.len() {
        bail!(
            "{} images but {} labels; the files do not belong together",
            images.len(),
            labels.len()
        );
    }
    Ok(images
        .into_iter()
        .zip(labels)
        .map(|(pixels, label)| MnistItem { pixels, label })
        .collect())
}

/// Reads `mnist_png/train` and `mnist_png/valid`.
pub fn load_png_folders(root: &Path) -> Result<MnistData> {
    let mut sha256 = BTreeMap::new();
    let mut splits = Vec::new();
    for split in PNG_SPLITS {
        let (items, digest) = load_png_split(&root.join(split))?;
        sha256.insert(format!("{PNG_ROOT}/{split}"), digest);
        splits.push(items);
    }
    let test = splits.pop().unwrap_or_default();
    let train = splits.pop().unwrap_or_default();
    Ok(MnistData {
        train,
        test,
        plan: DataPlan::PngFolders,
        sha256,
    })
}

/// One split: every `<digit>/*.png`, in the order of the files' numbers (the usual names are
/// the images' positions in the IDX files) and then names; plus one digest of the whole split.
fn load_png_split(dir: &Path) -> Result<(Vec<MnistItem>, String)> {
    let mut files: Vec<(PngOrder, PathBuf, u8)> = Vec::new();
    for (label, digit) in CLASSES.iter().enumerate() {
        let digit_dir = dir.join(digit);
        if !digit_dir.is_dir() {
            continue;
        }
        let entries = std::fs::read_dir(&digit_dir)
            .with_context(|| format!("cannot list {}", digit_dir.display()))?;
        for entry in entries {
            let path = entry
                .with_context(|| format!("cannot list {}", digit_dir.display()))?
                .path();
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("png"))
            {
                files.push((PngOrder::of(&path), path, label as u8));
            }
        }
    }
    if files.is_empty() {
        bail!(
            "{} holds no PNG images (expected <digit>/*.png for digits 0-9)",
            dir.display()
        );
    }
    files.sort();
    let mut listing = String::new();
    let mut items = Vec::with_capacity(files.len());
    for (_, path, label) in files {
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        items.push(MnistItem {
            pixels: decode_png(&bytes).with_context(|| format!("{}", path.display()))?,
            label,
        });
        let name = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        listing.push_str(&format!("{name}\t{}\n", sha256_hex(&bytes)));
    }
    Ok((items, sha256_hex(listing.as_bytes())))
}

/// Sort key of a PNG file: its number when the name is one, then the name.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct PngOrder(Option<u64>, String);

impl PngOrder {
    fn of(path: &Path) -> Self {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self(stem.parse().ok(), stem)
    }
}

/// A 28x28 PNG as grey levels (colour images are converted to luma).
fn decode_png(bytes: &[u8]) -> Result<[u8; PIXELS]> {
    let image = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
        .context("not a readable PNG file")?
        .to_luma8();
    if image.dimensions() != (SIDE as u32, SIDE as u32) {
        let (width, height) = image.dimensions();
        bail!("the image is {width}x{height}, not {SIDE}x{SIDE}");
    }
    let mut pixels = [0u8; PIXELS];
    pixels.copy_from_slice(image.as_raw());
    Ok(pixels)
}

/// A batch ready for the model: normalised images and class indices.
#[derive(Debug, Clone)]
pub struct MnistBatch {
    pub inputs: Tensor<4>,
    pub targets: Tensor<1, Int>,
}

/// Random translations of training images by up to `max_shift` pixels each way, drawn from
/// one seeded generator. The data loader asks for batches one after another, so the same seed
/// gives the same shifts.
#[derive(Debug, Clone)]
pub struct RandomShift {
    pub max_shift: usize,
    rng: Arc<Mutex<ChaCha8Rng>>,
}

impl RandomShift {
    pub fn new(max_shift: usize, seed: u64) -> Self {
        Self {
            max_shift,
            rng: Arc::new(Mutex::new(ChaCha8Rng::seed_from_u64(seed))),
        }
    }

    /// One `(dx, dy)` per image.
    fn draw(&self, count: usize) -> Vec<(isize, isize)> {
        let max = self.max_shift as i32;
        // A poisoned lock only means another batch panicked; its generator state is still valid.
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let mut offset = || rng.random_range(-max..=max) as isize;
        (0..count).map(|_| (offset(), offset())).collect()
    }
}

/// `image` moved `dx` pixels right and `dy` down, with background filling the gap.
pub fn shift(image: &[u8; PIXELS], dx: isize, dy: isize) -> [u8; PIXELS] {
    let mut out = [0u8; PIXELS];
    let side = SIDE as isize;
    for y in 0..side {
        let source_y = y - dy;
        if !(0..side).contains(&source_y) {
            continue;
        }
        for x in 0..side {
            let source_x = x - dx;
            if (0..side).contains(&source_x) {
                out[(y * side + x) as usize] = image[(source_y * side + source_x) as usize];
            }
        }
    }
    out
}

/// Normalises and stacks items; with `augmentation`, shifts each training image first.
#[derive(Debug, Clone)]
pub struct MnistBatcher {
    pub normalization: PixelNormalization,
    pub augmentation: Option<RandomShift>,
}

impl Batcher<MnistItem, MnistBatch> for MnistBatcher {
    fn batch(&self, items: Vec<MnistItem>, device: &Device) -> MnistBatch {
        let shifts = match &self.augmentation {
            Some(augmentation) if augmentation.max_shift > 0 => augmentation.draw(items.len()),
            _ => vec![(0, 0); items.len()],
        };
        let mut pixels = Vec::with_capacity(items.len() * PIXELS);
        for (item, (dx, dy)) in items.iter().zip(shifts) {
            let image = if (dx, dy) == (0, 0) {
                item.pixels
            } else {
                shift(&item.pixels, dx, dy)
            };
            pixels.extend(image.iter().map(|&p| f32::from(p)));
        }
        let labels: Vec<i64> = items.iter().map(|item| i64::from(item.label)).collect();
        MnistBatch {
            inputs: model_input(&pixels, &self.normalization, device),
            targets: Tensor::from_data(TensorData::new(labels, [items.len()]), device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::tests::{images_file, labels_file};

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn digit_image(value: u8) -> [u8; PIXELS] {
        let mut image = [0u8; PIXELS];
        image[SIDE * 14 + 14] = value;
        image
    }

    fn write_png(path: &Path, pixels: &[u8; PIXELS]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        image::GrayImage::from_raw(SIDE as u32, SIDE as u32, pixels.to_vec())
            .unwrap()
            .save(path)
            .unwrap();
    }

    #[test]
    fn the_urls_are_the_mirror_and_the_file_names() {
        for file in IDX_FILES {
            let name = file.relative_path.trim_start_matches("mnist/");
            assert_eq!(file.url, format!("{MIRROR}{name}"));
        }
    }

    #[test]
    fn images_and_labels_of_different_lengths_are_refused() {
        let images = images_file(&[digit_image(1), digit_image(2)]);
        let message = format!("{:#}", items(&images, &labels_file(&[1])).unwrap_err());
        assert!(message.contains("2 images but 1 labels"), "{message}");
        let pairs = items(&images, &labels_file(&[1, 2])).unwrap();
        assert_eq!(pairs[1].label, 2);
    }

    /// The checksum comes first: a corrupt official file never reaches the reader.
    #[test]
    fn an_idx_file_with_the_wrong_checksum_is_refused_before_parsing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TRAIN_IMAGES.relative_path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, gzip(&labels_file(&[1, 2]))).unwrap();
        let message = format!("{:#}", load_idx(dir.path()).unwrap_err());
        assert!(message.contains("not the expected"), "{message}");
    }

    #[test]
    fn reads_png_folders_in_file_number_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join(PNG_ROOT);
        write_png(&root.join("train/7/2.png"), &digit_image(70));
        write_png(&root.join("train/3/10.png"), &digit_image(30));
        write_png(&root.join("train/1/0.png"), &digit_image(10));
        write_png(&root.join("valid/4/5.png"), &digit_image(40));
        std::fs::write(root.join("train/1/notes.txt"), "ignored").unwrap();
        let data = load(dir.path()).unwrap();
        assert_eq!(data.plan, DataPlan::PngFolders);
        let labels: Vec<u8> = data.train.iter().map(|item| item.label).collect();
        assert_eq!(labels, vec![1, 7, 3]);
        assert_eq!(data.train[1].pixels, digit_image(70));
        assert_eq!(data.test.len(), 1);
        assert_eq!(data.sha256.len(), 2);
    }

    #[test]
    fn png_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join(PNG_ROOT);
        write_png(&root.join("valid/0/0.png"), &digit_image(1));
        std::fs::create_dir_all(root.join("train/5")).unwrap();
        image::GrayImage::new(10, 12)
            .save(root.join("train/5/3.png"))
            .unwrap();
        let message = format!("{:#}", load(dir.path()).unwrap_err());
        assert!(
            message.contains("3.png") && message.contains("10x12, not 28x28"),
            "{message}"
        );
        std::fs::write(root.join("train/5/3.png"), b"not a png").unwrap();
        let message = format!("{:#}", load(dir.path()).unwrap_err());
        assert!(message.contains("not a readable PNG"), "{message}");
        std::fs::remove_file(root.join("train/5/3.png")).unwrap();
        let message = format!("{:#}", load(dir.path()).unwrap_err());
        assert!(message.contains("holds no PNG images"), "{message}");
    }

    #[test]
    fn shifting_moves_ink_and_fills_with_background() {
        let image = digit_image(200);
        let moved = shift(&image, 2, -1);
        assert_eq!(moved[SIDE * 13 + 16], 200);
        assert_eq!(moved.iter().filter(|&&p| p > 0).count(), 1);
        let mut corner = [0u8; PIXELS];
        corner[0] = 9;
        assert!(shift(&corner, -1, 0).iter().all(|&p| p == 0), "moved out");
    }

    #[test]
    fn the_same_seed_draws_the_same_shifts() {
        let a = RandomShift::new(2, 5).draw(100);
        assert_eq!(a, RandomShift::new(2, 5).draw(100));
        assert_ne!(a, RandomShift::new(2, 6).draw(100));
        assert!(a.iter().all(|&(dx, dy)| dx.abs() <= 2 && dy.abs() <= 2));
        assert!(a.iter().any(|&(dx, _)| dx == -2) && a.iter().any(|&(dx, _)| dx == 2));
    }

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
            sha256: BTreeMap::new(),
        }
        .limit(Some(3));
        assert_eq!(
            data.train.iter().map(|i| i.label).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(data.test.len(), 3);
    }
}
