//! The MNIST data: the four official IDX files (downloaded from a public mirror and verified
//! when missing), or a folder of PNG files per split and digit; the files users hand over
//! with `--dataset` (IDX files under any names, gzipped or not, or a PNG folder tree unpacked
//! from a zip), detected and announced, never guessed; which images train and which evaluate
//! (the data plan); and how images are batched, with optional seeded random shifts for
//! training.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow, bail};
use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use module_kit::digest::sha256_hex;
use serde::{Deserialize, Serialize};
use train_kit::dataset::{
    DatasetRecords, FileDigests, announce, dataset_name, first_line_preview, is_gzip, read_dataset,
    unrecognized,
};
use train_kit::download::{Checksum, RemoteFile};

use crate::idx::{IMAGES_MAGIC, LABELS_MAGIC, gunzip, parse_images, parse_labels};
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
    let mut datasets = DatasetRecords::new();
    let train = read_idx_pair(data_dir, [TRAIN_IMAGES, TRAIN_LABELS], &mut datasets)
        .context("cannot read the MNIST training files")?;
    let test = read_idx_pair(data_dir, [TEST_IMAGES, TEST_LABELS], &mut datasets)
        .context("cannot read the MNIST test files")?;
    Ok(MnistData {
        train,
        test,
        plan: DataPlan::OfficialIdx,
        datasets,
    })
}

/// The 10,000 official test images alone (downloaded and verified when missing).
pub fn load_test_set(data_dir: &Path) -> Result<Vec<MnistItem>> {
    read_idx_pair(
        data_dir,
        [TEST_IMAGES, TEST_LABELS],
        &mut DatasetRecords::new(),
    )
    .context("cannot read the MNIST test files")
}

/// An image file and its label file, verified, with their digests added to `datasets`.
fn read_idx_pair(
    data_dir: &Path,
    [images, labels]: [RemoteFile; 2],
    datasets: &mut DatasetRecords,
) -> Result<Vec<MnistItem>> {
    let split = if images == TRAIN_IMAGES {
        Split::Training
    } else {
        Split::Test
    };
    let images_file = images.fetch(data_dir)?;
    let labels_file = labels.fetch(data_dir)?;
    let items = items(
        &gunzip(&images_file.bytes).with_context(|| images_file.path.display().to_string())?,
        &gunzip(&labels_file.bytes).with_context(|| labels_file.path.display().to_string())?,
    )?;
    let count = items.len();
    for (file, verified, kind) in [
        (images, images_file, IdxKind::Images),
        (labels, labels_file, IdxKind::Labels),
    ] {
        let layout = IdxSummary {
            name: file.relative_path.to_owned(),
            kind,
            count,
            gzipped: true,
        }
        .layout(split);
        datasets.insert(
            file.relative_path.to_owned(),
            verified.digests.record(layout),
        );
    }
    Ok(items)
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
    let test = splits.pop().unwrap_or_default();
    let train = splits.pop().unwrap_or_default();
    Ok(MnistData {
        train,
        test,
        plan: DataPlan::PngFolders,
        datasets,
    })
}

/// What a PNG split is recorded as in `metrics.json`.
fn png_layout(count: usize, split: Split) -> String {
    format!(
        "PNG folder tree <digit>/*.png, {count} images, {split} (digests of the sha256sum \
         listing of its PNG files, sorted by path)"
    )
}

/// The PNG files of one split folder, and what else it holds (for refusals).
#[derive(Debug)]
struct PngListing {
    dir: PathBuf,
    /// Every `<digit>/*.png`: sort key, path, label.
    files: Vec<(PngOrder, PathBuf, u8)>,
    /// How many of the digit folders 0-9 exist.
    digit_dirs: usize,
    /// Files in the digit folders that are not PNG files (a few names, for messages).
    others: Vec<String>,
}

/// Lists `dir/<digit>/*.png` for digits 0-9.
fn list_png_split(dir: &Path) -> Result<PngListing> {
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
fn read_png_split(listing: PngListing) -> Result<(Vec<MnistItem>, FileDigests)> {
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

/// What `--dataset` accepts, for refusals.
pub const ACCEPTED: &str = "the four MNIST IDX files (training and test images and labels, \
    each gzipped or not, any names, any order) or one folder holding train|training and \
    test|testing|valid folders of <digit>/*.png (directly or one folder down)";

/// Which part of the data a file or folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Split {
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

/// An IDX file's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdxKind {
    Images,
    Labels,
}

/// What was found in an IDX file: enough to pair files and to say what they are.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IdxSummary {
    /// The path as given.
    name: String,
    kind: IdxKind,
    /// Images or labels it holds.
    count: usize,
    gzipped: bool,
}

impl IdxSummary {
    /// `IDX images (gzipped), 60000 x 28x28`, `IDX labels, 10000 digits`.
    fn describe(&self) -> String {
        let gzipped = if self.gzipped { " (gzipped)" } else { "" };
        match self.kind {
            IdxKind::Images => format!("IDX images{gzipped}, {} x {SIDE}x{SIDE}", self.count),
            IdxKind::Labels => format!("IDX labels{gzipped}, {} digits", self.count),
        }
    }

    /// What `metrics.json` records: `IDX images (gzipped), 60000 x 28x28, training`.
    fn layout(&self, split: Split) -> String {
        format!("{}, {split}", self.describe())
    }

    /// The split its file name says, if it says exactly one: `train` for training, `t10k`
    /// or `test` for test.
    fn named_split(&self) -> Option<Split> {
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

/// The parsed contents of an IDX file.
#[derive(Debug)]
enum IdxContent {
    Images(Vec<[u8; PIXELS]>),
    Labels(Vec<u8>),
}

/// One IDX file given with `--dataset`, read once: digests of its bytes as uploaded.
#[derive(Debug)]
struct IdxUpload {
    path: PathBuf,
    digests: FileDigests,
    summary: IdxSummary,
    content: IdxContent,
}

/// Reads one `--dataset` file as IDX (after gunzipping it when it starts with gzip's magic
/// number), or refuses it in one line saying what it holds.
fn read_idx_upload(path: &Path) -> Result<IdxUpload> {
    let file = read_dataset(path)?;
    let gzipped = is_gzip(&file.bytes);
    let bytes = if gzipped {
        gunzip(&file.bytes).map_err(|e| {
            unrecognized(
                path,
                &format!("gzip data that does not decompress ({e:#})"),
                ACCEPTED,
            )
        })?
    } else {
        file.bytes
    };
    let compression = if gzipped { " (gzipped)" } else { "" };
    let not_parsed = |what: &str, e: anyhow::Error| {
        unrecognized(
            path,
            &format!("IDX {what}{compression} that do not parse ({e:#})"),
            ACCEPTED,
        )
    };
    let content = match bytes.get(..4).map(read_magic) {
        Some(IMAGES_MAGIC) => {
            IdxContent::Images(parse_images(&bytes).map_err(|e| not_parsed("images", e))?)
        }
        Some(LABELS_MAGIC) => {
            IdxContent::Labels(parse_labels(&bytes).map_err(|e| not_parsed("labels", e))?)
        }
        _ => {
            return Err(unrecognized(
                path,
                &describe_unknown(&bytes, gzipped),
                ACCEPTED,
            ));
        }
    };
    let (kind, count) = match &content {
        IdxContent::Images(images) => (IdxKind::Images, images.len()),
        IdxContent::Labels(labels) => (IdxKind::Labels, labels.len()),
    };
    Ok(IdxUpload {
        path: path.to_path_buf(),
        digests: file.digests,
        summary: IdxSummary {
            name: dataset_name(path),
            kind,
            count,
            gzipped,
        },
        content,
    })
}

fn read_magic(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// What a file that is not an MNIST IDX file holds, in a few words.
fn describe_unknown(bytes: &[u8], gzipped: bool) -> String {
    let prefix = if gzipped { "gzip data holding " } else { "" };
    let what = if bytes.is_empty() {
        "nothing (an empty file)".to_owned()
    } else if bytes.starts_with(b"PK\x03\x04") {
        "a zip archive (unpack it, e.g. with Cocos AI's --decompress, and give the folder)"
            .to_owned()
    } else if bytes.starts_with(b"\x89PNG") {
        "a single PNG image (give the folder tree of PNG images)".to_owned()
    } else if bytes.len() >= 4 && bytes[..2] == [0, 0] && bytes[2] == 0x08 {
        format!(
            "an IDX file of type 0x{:08x}, neither images (0x{IMAGES_MAGIC:08x}) nor labels \
             (0x{LABELS_MAGIC:08x})",
            read_magic(bytes)
        )
    } else if looks_like_text(bytes) {
        format!("text starting '{}'", first_line_preview(bytes))
    } else {
        let start: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("binary data starting {}", start.join(" "))
    };
    format!("{prefix}{what}")
}

/// Whether the start of a file reads as text.
fn looks_like_text(bytes: &[u8]) -> bool {
    let start = &bytes[..bytes.len().min(512)];
    let text = match std::str::from_utf8(start) {
        Ok(text) => text,
        // A multi-byte character cut at the end of the sample is still text.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&start[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
}

/// Which files are the training pair and which the test pair: `[images, labels]` indices
/// into `files` for training, then for test, and how they were told apart.
type Pairing = ([[usize; 2]; 2], &'static str);

/// Pairs images with labels by their counts; the larger pair trains. With equal counts,
/// only names can tell training from test: `train` versus `t10k`/`test`.
fn pair_idx_files(files: &[IdxSummary]) -> Result<Pairing> {
    let of = |kind| -> Vec<usize> {
        (0..files.len())
            .filter(|&i| files[i].kind == kind)
            .collect()
    };
    let (images, labels) = (of(IdxKind::Images), of(IdxKind::Labels));
    let mismatch = || {
        let found: Vec<String> = files
            .iter()
            .map(|file| format!("{}: {}", file.name, file.describe()))
            .collect();
        anyhow!(
            "the --dataset files are not MNIST's two image/label pairs: {}; needed: four IDX \
             files, training images and labels and test images and labels, each pair with \
             equal counts (or one PNG folder tree)",
            found.join("; ")
        )
    };
    let (Ok([i0, i1]), Ok([l0, l1])) = (
        <[usize; 2]>::try_from(images),
        <[usize; 2]>::try_from(labels),
    ) else {
        return Err(mismatch());
    };
    let count = |i: usize| files[i].count;
    if count(i0) != count(i1) {
        let (large, small) = if count(i0) > count(i1) {
            (i0, i1)
        } else {
            (i1, i0)
        };
        let labels_of = |images: usize| [l0, l1].into_iter().find(|&l| count(l) == count(images));
        let (Some(large_labels), Some(small_labels)) = (labels_of(large), labels_of(small)) else {
            return Err(mismatch());
        };
        return Ok((
            [[large, large_labels], [small, small_labels]],
            "told apart by their counts: the larger pair trains",
        ));
    }
    if [l0, l1].iter().any(|&l| count(l) != count(i0)) {
        return Err(mismatch());
    }
    let find = |kind, split| {
        let matching: Vec<usize> = (0..files.len())
            .filter(|&i| files[i].kind == kind && files[i].named_split() == Some(split))
            .collect();
        <[usize; 1]>::try_from(matching).ok().map(|[i]| i)
    };
    match (
        find(IdxKind::Images, Split::Training),
        find(IdxKind::Labels, Split::Training),
        find(IdxKind::Images, Split::Test),
        find(IdxKind::Labels, Split::Test),
    ) {
        (Some(a), Some(b), Some(c), Some(d)) => Ok((
            [[a, b], [c, d]],
            "told apart by their names: both pairs hold the same count",
        )),
        _ => {
            let names: Vec<&str> = files.iter().map(|file| file.name.as_str()).collect();
            Err(anyhow!(
                "{}: all four IDX files hold {} items, so only their names can tell training \
                 from test, and they do not; needed: names with train for the training pair \
                 and t10k or test for the test pair",
                names.join(", "),
                count(i0)
            ))
        }
    }
}

/// Reads the four IDX files given with `--dataset`, in any order and under any names.
fn load_idx_files(paths: &[PathBuf]) -> Result<MnistData> {
    let mut uploads = paths
        .iter()
        .map(|path| read_idx_upload(path))
        .collect::<Result<Vec<_>>>()?;
    let summaries: Vec<IdxSummary> = uploads.iter().map(|u| u.summary.clone()).collect();
    let (pairs, how) = pair_idx_files(&summaries)?;
    let mut datasets = DatasetRecords::new();
    let mut splits = Vec::new();
    for ([images, labels], split) in pairs.into_iter().zip([Split::Training, Split::Test]) {
        for index in [images, labels] {
            let upload = &uploads[index];
            let layout = upload.summary.layout(split);
            announce("mnist", &upload.path, &layout);
            datasets.insert(upload.summary.name.clone(), upload.digests.record(layout));
        }
        let take = |upload: &mut IdxUpload| {
            std::mem::replace(&mut upload.content, IdxContent::Labels(Vec::new()))
        };
        let (IdxContent::Images(pixels), IdxContent::Labels(digits)) =
            (take(&mut uploads[images]), take(&mut uploads[labels]))
        else {
            unreachable!("pair_idx_files pairs images with labels");
        };
        splits.push(
            pixels
                .into_iter()
                .zip(digits)
                .map(|(pixels, label)| MnistItem { pixels, label })
                .collect::<Vec<_>>(),
        );
    }
    let name = |index: usize| summaries[index].name.as_str();
    let [[train_images, train_labels], [test_images, test_labels]] = pairs;
    println!(
        "mnist: training pair {} + {}, test pair {} + {} ({how})",
        name(train_images),
        name(train_labels),
        name(test_images),
        name(test_labels)
    );
    let test = splits.pop().unwrap_or_default();
    let train = splits.pop().unwrap_or_default();
    Ok(MnistData {
        train,
        test,
        plan: DataPlan::DatasetIdx,
        datasets,
    })
}

/// Folder names of the training split, then of the test split.
const TRAIN_FOLDERS: [&str; 2] = ["train", "training"];
const TEST_FOLDERS: [&str; 3] = ["test", "testing", "valid"];

/// The split folders directly in `dir`: training candidates, test candidates.
fn split_folders(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for sub in subfolders(dir)? {
        let name = sub
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if TRAIN_FOLDERS.contains(&name.as_str()) {
            train.push(sub);
        } else if TEST_FOLDERS.contains(&name.as_str()) {
            test.push(sub);
        }
    }
    Ok((train, test))
}

/// The folders directly in `dir`, sorted.
fn subfolders(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        if path.is_dir() {
            folders.push(path);
        }
    }
    folders.sort();
    Ok(folders)
}

/// A few of the names in `dir`, for messages: `a.txt, b/, ... (12 entries)`.
fn contents(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let slash = if e.path().is_dir() { "/" } else { "" };
                    format!("{}{slash}", e.file_name().to_string_lossy())
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    match names.len() {
        0 => "nothing".to_owned(),
        n if n <= 6 => names.join(", "),
        n => format!("{}, ... ({n} entries)", names[..5].join(", ")),
    }
}

/// Finds the training and test folders of a PNG tree: directly in `root` or in one folder
/// below it (the top folder of an unpacked zip); refuses when there are none, only one, or
/// more than one candidate for either.
fn find_png_splits(root: &Path) -> Result<[PathBuf; 2]> {
    let refuse = |found: String| unrecognized(root, &found, ACCEPTED);
    let (mut train, mut test) = split_folders(root)?;
    if train.is_empty() && test.is_empty() {
        let mut levels = Vec::new();
        for sub in subfolders(root)? {
            let (t, v) = split_folders(&sub)?;
            if !t.is_empty() || !v.is_empty() {
                levels.push((sub, t, v));
            }
        }
        match levels.len() {
            0 => {
                let digits = CLASSES.iter().filter(|d| root.join(d).is_dir()).count();
                return Err(refuse(if digits > 0 {
                    format!(
                        "a folder of {digits} digit folders, one split only, with no \
                         train|training and test|testing|valid folders (give the folder that \
                         holds both)"
                    )
                } else {
                    format!(
                        "a folder with no train|training or test|testing|valid folder in it or \
                         one folder down (it holds {})",
                        contents(root)
                    )
                }));
            }
            1 => (_, train, test) = levels.remove(0),
            _ => {
                let names: Vec<String> = levels.iter().map(|(d, ..)| dataset_name(d)).collect();
                return Err(refuse(format!(
                    "split folders in several folders ({}), so which to use is unclear",
                    names.join(", ")
                )));
            }
        }
    }
    match (train.as_slice(), test.as_slice()) {
        ([train], [test]) => Ok([train.clone(), test.clone()]),
        ([train], []) => Err(refuse(format!(
            "a training split ({}) but no test|testing|valid folder beside it",
            dataset_name(train)
        ))),
        ([], [test]) => Err(refuse(format!(
            "a test split ({}) but no train|training folder beside it",
            dataset_name(test)
        ))),
        _ => {
            let names: Vec<String> = train.iter().chain(&test).map(|f| dataset_name(f)).collect();
            Err(refuse(format!(
                "more than one folder for a split ({}), so which to use is unclear",
                names.join(", ")
            )))
        }
    }
}

/// Reads a PNG folder tree given with `--dataset`.
fn load_png_tree(root: &Path) -> Result<MnistData> {
    let folders = find_png_splits(root)?;
    let mut datasets = DatasetRecords::new();
    let mut splits = Vec::new();
    for (folder, split) in folders.into_iter().zip([Split::Training, Split::Test]) {
        let listing = list_png_split(&folder)?;
        if listing.files.is_empty() {
            let found = if listing.digit_dirs == 0 {
                format!(
                    "a {split} folder with no digit folders 0-9 (it holds {})",
                    contents(&folder)
                )
            } else if listing.others.is_empty() {
                format!("{} digit folders holding no files", listing.digit_dirs)
            } else {
                format!(
                    "{} digit folders holding no PNG files, only {} other file(s) such as {}",
                    listing.digit_dirs,
                    listing.others.len(),
                    listing.others[0]
                )
            };
            return Err(unrecognized(&folder, &found, ACCEPTED));
        }
        let (items, digests) = read_png_split(listing)?;
        let layout = png_layout(items.len(), split);
        announce("mnist", &folder, &layout);
        datasets.insert(dataset_name(&folder), digests.record(layout));
        splits.push(items);
    }
    let test = splits.pop().unwrap_or_default();
    let train = splits.pop().unwrap_or_default();
    Ok(MnistData {
        train,
        test,
        plan: DataPlan::DatasetPng,
        datasets,
    })
}

/// A batch ready for the model: normalised images and class indices.
#[derive(Debug, Clone)]
pub struct MnistBatch {
    pub inputs: Tensor<4>,
    pub targets: Tensor<1, Int>,
}

/// The augmentation's stream among an epoch's random streams (see `train_kit::loader`).
const SHIFT_STREAM: u64 = 3;

/// Random translations of training images by up to `max_shift` pixels each way, drawn from
/// one seeded generator, restarted from `(seed, epoch)` at every epoch. The data loader asks
/// for batches one after another, so the same seed gives the same shifts.
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

    /// Restarts the generator from `(seed, epoch)`: an epoch's shifts do not depend on the
    /// epochs before it, so a run resumed after epoch N draws the same shifts for epoch N+1.
    pub fn reseed_for_epoch(&self, seed: u64, epoch: usize) {
        let seed = train_kit::loader::epoch_seed(seed, epoch, SHIFT_STREAM);
        // A poisoned lock only means another batch panicked; the generator is replaced anyway.
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) = ChaCha8Rng::seed_from_u64(seed);
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
            datasets: DatasetRecords::new(),
        }
        .limit(Some(3));
        assert_eq!(
            data.train.iter().map(|i| i.label).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(data.test.len(), 3);
    }

    /// Writes `bytes` as `dir/name`, returning the path.
    fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn refusal(result: Result<MnistData>) -> String {
        let message = format!("{:#}", result.unwrap_err());
        assert!(!message.contains('\n'), "one line: {message}");
        message
    }

    /// Three training and two test images, as IDX files: images, labels of each split.
    fn small_idx() -> [Vec<u8>; 4] {
        let train: Vec<[u8; PIXELS]> = (1..=3).map(digit_image).collect();
        let test: Vec<[u8; PIXELS]> = (7..=8).map(digit_image).collect();
        [
            images_file(&train),
            labels_file(&[1, 2, 3]),
            images_file(&test),
            labels_file(&[7, 8]),
        ]
    }

    #[test]
    fn idx_files_are_read_gzipped_or_not_in_any_order_under_any_names() {
        let dir = tempfile::tempdir().unwrap();
        let [train_images, train_labels, test_images, test_labels] = small_idx();
        let files = [
            ("upload-1", test_labels),
            ("pixels.gz", gzip(&train_images)),
            ("x", gzip(&train_labels)),
            ("y.bin", test_images),
        ];
        let paths: Vec<PathBuf> = files
            .iter()
            .map(|(name, bytes)| put(dir.path(), name, bytes))
            .collect();
        let data = load_datasets(&paths).unwrap();
        assert_eq!(data.plan, DataPlan::DatasetIdx);
        let labels = |items: &[MnistItem]| items.iter().map(|i| i.label).collect::<Vec<_>>();
        assert_eq!(labels(&data.train), vec![1, 2, 3]);
        assert_eq!(labels(&data.test), vec![7, 8]);
        assert_eq!(data.train[1].pixels, digit_image(2));
        let layouts = [
            "IDX labels, 2 digits, test",
            "IDX images (gzipped), 3 x 28x28, training",
            "IDX labels (gzipped), 3 digits, training",
            "IDX images, 2 x 28x28, test",
        ];
        for ((path, (_, bytes)), layout) in paths.iter().zip(&files).zip(layouts) {
            let record = &data.datasets[&dataset_name(path)];
            assert_eq!(record.layout, layout);
            assert_eq!(
                record.sha256,
                sha256_hex(bytes),
                "digests of the bytes as given"
            );
            assert_eq!(record.sha3_256, FileDigests::of(bytes).sha3_256);
        }
    }

    fn summary(name: &str, kind: IdxKind, count: usize) -> IdxSummary {
        IdxSummary {
            name: format!("datasets/{name}"),
            kind,
            count,
            gzipped: false,
        }
    }

    #[test]
    fn the_larger_pair_trains_whatever_the_names_say() {
        use IdxKind::{Images, Labels};
        let files = [
            summary("train-labels", Labels, 10),
            summary("b", Images, 60),
            summary("train-images", Images, 10),
            summary("d", Labels, 60),
        ];
        let (pairs, how) = pair_idx_files(&files).unwrap();
        assert_eq!(pairs, [[1, 3], [2, 0]]);
        assert!(how.contains("counts"), "{how}");
    }

    #[test]
    fn equal_counts_are_told_apart_by_names_or_refused() {
        use IdxKind::{Images, Labels};
        let named = [
            summary("t10k-images.idx", Images, 5),
            summary("Train_Labels", Labels, 5),
            summary("test-labels.gz", Labels, 5),
            summary("mnist_train_images", Images, 5),
        ];
        let (pairs, how) = pair_idx_files(&named).unwrap();
        assert_eq!(pairs, [[3, 1], [0, 2]]);
        assert!(how.contains("names"), "{how}");
        let mut unnamed = named.clone();
        unnamed[0].name = "datasets/images-a".into();
        let message = pair_idx_files(&unnamed).unwrap_err().to_string();
        assert!(
            message.contains("all four IDX files hold 5 items")
                && message.contains("datasets/images-a")
                && message.contains("t10k or test"),
            "{message}"
        );
        // A directory called train/ says nothing: only file names count.
        let mut in_folders = named.clone();
        in_folders[0].name = "train/images".into();
        assert!(pair_idx_files(&in_folders).is_err());
    }

    #[test]
    fn files_that_do_not_pair_are_refused_saying_what_each_holds() {
        use IdxKind::{Images, Labels};
        let cases: [&[IdxSummary]; 3] = [
            &[
                summary("a", Images, 60),
                summary("b", Labels, 60),
                summary("c", Images, 10),
            ],
            &[
                summary("a", Images, 60),
                summary("b", Labels, 60),
                summary("c", Labels, 10),
                summary("d", Labels, 10),
            ],
            &[
                summary("a", Images, 60),
                summary("b", Labels, 60),
                summary("c", Images, 10),
                summary("d", Labels, 9),
            ],
        ];
        for files in cases {
            let message = pair_idx_files(files).unwrap_err().to_string();
            assert!(
                message.starts_with("the --dataset files are not MNIST's two image/label pairs")
                    && message.contains("datasets/a: IDX images, 60 x 28x28; ")
                    && message.contains("datasets/c: IDX ")
                    && message.contains("needed: four IDX files"),
                "{message}"
            );
        }
        // Through the reader too: three real files.
        let dir = tempfile::tempdir().unwrap();
        let [images, labels, test_images, _] = small_idx();
        let paths = [
            put(dir.path(), "a", &images),
            put(dir.path(), "b", &labels),
            put(dir.path(), "c", &test_images),
        ];
        let message = refusal(load_datasets(&paths));
        assert!(message.contains("IDX images, 2 x 28x28"), "{message}");
    }

    #[test]
    fn a_file_that_is_not_mnist_is_refused_in_one_line_saying_what_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let [images, labels, ..] = small_idx();
        let mut truncated = images.clone();
        truncated.pop();
        let mut other_idx = labels.clone();
        other_idx[3] = 0x02;
        let cases: [(&str, Vec<u8>, &str); 8] = [
            (
                "notes.csv",
                b"label,pixels\n1,2\n".to_vec(),
                "text starting 'label,pixels'",
            ),
            ("empty", Vec::new(), "nothing (an empty file)"),
            ("mnist.zip", b"PK\x03\x04rest".to_vec(), "a zip archive"),
            (
                "noise.gz",
                gzip(b"\x01\x02\x03\x04\xff"),
                "gzip data holding binary data starting 01 02 03 04 ff",
            ),
            (
                "broken.gz",
                b"\x1f\x8b\x08garbage".to_vec(),
                "gzip data that does not decompress",
            ),
            (
                "short",
                truncated,
                "IDX images that do not parse (truncated",
            ),
            ("other.idx", other_idx, "an IDX file of type 0x00000802"),
            (
                "digit.png",
                b"\x89PNG\r\n\x1a\n".to_vec(),
                "a single PNG image",
            ),
        ];
        for (name, bytes, found) in cases {
            let path = put(dir.path(), name, &bytes);
            let others = [
                put(dir.path(), "i", &images),
                put(dir.path(), "l", &labels),
                put(dir.path(), "j", &images),
            ];
            let paths = [
                others[0].clone(),
                path.clone(),
                others[1].clone(),
                others[2].clone(),
            ];
            let message = refusal(load_datasets(&paths));
            assert!(
                message.starts_with(&format!("{}: {found}", path.display()))
                    && message.ends_with(&format!("; accepted: {ACCEPTED}")),
                "{name}: {message}"
            );
        }
    }

    /// A tiny tree: `<root>/<train>/{1,7}/*.png` and `<root>/<test>/4/*.png`.
    fn png_tree(root: &Path, train: &str, test: &str) {
        write_png(&root.join(train).join("7/2.png"), &digit_image(70));
        write_png(&root.join(train).join("1/10.png"), &digit_image(10));
        write_png(&root.join(train).join("1/9.png"), &digit_image(11));
        write_png(&root.join(test).join("4/5.png"), &digit_image(40));
    }

    #[test]
    fn png_trees_are_found_directly_or_one_folder_down_under_the_usual_split_names() {
        for (layout, train, test) in [
            ("", "train", "test"),
            ("mnist_png", "training", "testing"),
            ("", "Training", "valid"),
            ("top", "train", "testing"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let given = dir.path().join("datasets");
            let root = given.join(layout);
            png_tree(&root, train, test);
            std::fs::write(given.join("readme.txt"), "x").unwrap();
            let data = load_datasets(std::slice::from_ref(&given)).unwrap();
            assert_eq!(data.plan, DataPlan::DatasetPng);
            let labels: Vec<u8> = data.train.iter().map(|i| i.label).collect();
            assert_eq!(labels, vec![7, 1, 1], "by file number: 2, 9, 10");
            assert_eq!(data.train[1].pixels, digit_image(11), "9.png before 10.png");
            assert_eq!(data.test.len(), 1);
            let train_key = dataset_name(&root.join(train));
            let keys: Vec<&String> = data.datasets.keys().collect();
            let mut expected = vec![&train_key];
            let test_key = dataset_name(&root.join(test));
            expected.push(&test_key);
            expected.sort();
            assert_eq!(keys, expected);
            assert_eq!(
                data.datasets[&train_key].layout,
                "PNG folder tree <digit>/*.png, 3 images, training (digests of the sha256sum \
                 listing of its PNG files, sorted by path)"
            );
        }
    }

    /// The digests are those of `sha256sum`'s output over the split's PNG files sorted by path.
    #[test]
    fn a_png_split_is_recorded_by_its_sha256sum_listing() {
        let dir = tempfile::tempdir().unwrap();
        png_tree(dir.path(), "train", "test");
        let data = load_datasets(&[dir.path().to_path_buf()]).unwrap();
        let train = dir.path().join("train");
        let listing: String = ["1/10.png", "1/9.png", "7/2.png"]
            .iter()
            .map(|name| {
                let bytes = std::fs::read(train.join(name)).unwrap();
                format!("{}  {name}\n", sha256_hex(&bytes))
            })
            .collect();
        let record = &data.datasets[&dataset_name(&train)];
        assert_eq!(record.sha256, sha256_hex(listing.as_bytes()));
        assert_eq!(
            record.sha3_256,
            FileDigests::of(listing.as_bytes()).sha3_256
        );
    }

    #[test]
    fn png_trees_that_do_not_fit_are_refused_saying_what_was_found() {
        /// What is wrong, how to make such a tree, what the refusal says was found.
        type Case = (&'static str, fn(&Path), &'static str);
        let cases: [Case; 7] = [
            (
                "no split folders",
                |root| {
                    put(root, "a.txt", b"x");
                    std::fs::create_dir_all(root.join("images")).unwrap();
                },
                "a folder with no train|training or test|testing|valid folder in it or one \
                 folder down (it holds a.txt, images/)",
            ),
            (
                "one split",
                |root| write_png(&root.join("top/training/3/1.png"), &digit_image(3)),
                "a training split (",
            ),
            (
                "a split's digit folders",
                |root| write_png(&root.join("3/1.png"), &digit_image(3)),
                "a folder of 1 digit folders, one split only",
            ),
            (
                "two training folders",
                |root| {
                    png_tree(root, "train", "test");
                    png_tree(root, "training", "test");
                },
                "more than one folder for a split (",
            ),
            (
                "two candidate tops",
                |root| {
                    png_tree(&root.join("a"), "train", "test");
                    png_tree(&root.join("b"), "train", "test");
                },
                "split folders in several folders (",
            ),
            (
                "no digit folders",
                |root| {
                    put(root, "train/x.png", b"x");
                    png_tree(root, "unused", "test");
                },
                "a training folder with no digit folders 0-9 (it holds x.png)",
            ),
            (
                "not PNG files",
                |root| {
                    png_tree(root, "train", "test");
                    put(root, "test/4/5.png", b"");
                    std::fs::remove_file(root.join("test/4/5.png")).unwrap();
                    put(root, "test/4/5.jpg", b"jpeg");
                },
                "1 digit folders holding no PNG files, only 1 other file(s) such as 4/5.jpg",
            ),
        ];
        for (case, make, found) in cases {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("datasets");
            std::fs::create_dir_all(&root).unwrap();
            make(&root);
            let message = refusal(load_datasets(std::slice::from_ref(&root)));
            assert!(
                message.contains(&format!(": {found}"))
                    && message.ends_with(&format!("; accepted: {ACCEPTED}")),
                "{case}: {message}"
            );
        }
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
