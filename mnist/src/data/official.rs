//! The four official IDX files: where they are downloaded from, their checksums, and how a
//! data directory's copies are read.

use std::path::Path;

use anyhow::{Context, Result, bail};
use train_kit::dataset::DatasetRecords;
use train_kit::download::{Checksum, RemoteFile};

use super::layout::{IdxKind, IdxSummary, Split};
use super::{DataPlan, MnistData, MnistItem};
use crate::idx::{gunzip, parse_images, parse_labels};

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

#[cfg(test)]
mod tests {
    use super::super::test_files::{digit_image, gzip};
    use super::*;
    use crate::idx::tests::{images_file, labels_file};

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
}
