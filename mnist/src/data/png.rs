//! MNIST as PNG files, one folder per digit in each split folder: the data directory's
//! `mnist_png` folders, and the reading of any such split folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use module_kit::digest::sha256_hex;
use train_kit::dataset::{DatasetRecords, FileDigests};

use super::layout::{Split, png_layout};
use super::{DataPlan, MnistData, MnistItem};
use crate::input::{CLASSES, PIXELS, SIDE};

/// The PNG layout, under the data directory: `mnist_png/{train,valid}/<digit>/*.png`, where
/// `valid` holds the official test images.
pub const PNG_ROOT: &str = "mnist_png";
pub(super) const PNG_SPLITS: [&str; 2] = ["train", "valid"];

/// Reads `mnist_png/train` and `mnist_png/valid`.
pub fn load_png_folders(root: &Path) -> Result<MnistData> {
    let mut datasets = DatasetRecords::new();
    let mut splits = Vec::new();
    for (name, split) in PNG_SPLITS.into_iter().zip([Split::Training, Split::Test]) {
        let listing = list_png_split(&root.join(name))?;
        if listing.files.is_empty() {
            bail!(
                "{} holds no PNG images (expected <digit>/*.png for digits 0-9)",
                root.join(name).display()
            );
        }
        let (items, digests) = read_png_split(listing)?;
        datasets.insert(
            format!("{PNG_ROOT}/{name}"),
            digests.record(png_layout(items.len(), split)),
        );
        splits.push(items);
    }
    Ok(MnistData::from_splits(
        splits,
        DataPlan::PngFolders,
        datasets,
    ))
}

/// The PNG files of one split folder, and what else it holds (for refusals).
#[derive(Debug)]
pub(super) struct PngListing {
    dir: PathBuf,
    /// Every `<digit>/*.png`: sort key, path, label.
    pub(super) files: Vec<(PngOrder, PathBuf, u8)>,
    /// How many of the digit folders 0-9 exist.
    pub(super) digit_dirs: usize,
    /// Files in the digit folders that are not PNG files (a few names, for messages).
    pub(super) others: Vec<String>,
}

/// Lists `dir/<digit>/*.png` for digits 0-9.
pub(super) fn list_png_split(dir: &Path) -> Result<PngListing> {
    let mut listing = PngListing {
        dir: dir.to_path_buf(),
        files: Vec::new(),
        digit_dirs: 0,
        others: Vec::new(),
    };
    for (label, digit) in CLASSES.iter().enumerate() {
        let digit_dir = dir.join(digit);
        if !digit_dir.is_dir() {
            continue;
        }
        listing.digit_dirs += 1;
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
                listing.files.push((PngOrder::of(&path), path, label as u8));
            } else {
                listing.others.push(relative_name(dir, &path));
            }
        }
    }
    listing.files.sort();
    listing.others.sort();
    Ok(listing)
}

/// `path` relative to `dir`, with `/` separators.
fn relative_name(dir: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(dir).unwrap_or(path);
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// Decodes a split's images in the order of the files' numbers (the usual names are the
/// images' positions in the IDX files) and then names; plus the digests of the split's
/// `sha256sum` listing (`<sha256>  <digit>/<file>.png` per image, sorted by path), so
/// `find . -name '*.png' | sort | xargs sha256sum | sha256sum` in the folder gives the same.
pub(super) fn read_png_split(listing: PngListing) -> Result<(Vec<MnistItem>, FileDigests)> {
    let dir = listing.dir;
    let mut lines = Vec::with_capacity(listing.files.len());
    let mut items = Vec::with_capacity(listing.files.len());
    for (_, path, label) in listing.files {
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        items.push(MnistItem {
            pixels: decode_png(&bytes).with_context(|| format!("{}", path.display()))?,
            label,
        });
        lines.push((relative_name(&dir, &path), sha256_hex(&bytes)));
    }
    lines.sort();
    let listing: String = lines
        .iter()
        .map(|(name, sha256)| format!("{sha256}  {name}\n"))
        .collect();
    Ok((items, FileDigests::of(listing.as_bytes())))
}

/// Sort key of a PNG file: its number when the name is one, then the name.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct PngOrder(Option<u64>, String);

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

#[cfg(test)]
mod tests {
    use super::super::load;
    use super::super::test_files::{digit_image, write_png};
    use super::*;

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
        assert_eq!(data.datasets.len(), 2);
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
}
