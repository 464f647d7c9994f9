//! IDX files given with `--dataset`: under any names, gzipped or not, in any order; each is
//! read once, described, and paired into a training and a test split, or refused in one line
//! saying what it holds.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use train_kit::dataset::{
    DatasetRecords, FileDigests, announce, dataset_name, first_line_preview, is_gzip, read_dataset,
    unrecognized,
};

use super::layout::{IdxKind, IdxSummary, Split};
use super::{ACCEPTED, DataPlan, MnistData, MnistItem};
use crate::idx::{IMAGES_MAGIC, LABELS_MAGIC, gunzip, parse_images, parse_labels};
use crate::input::PIXELS;

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
pub(super) fn load_idx_files(paths: &[PathBuf]) -> Result<MnistData> {
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
    Ok(MnistData::from_splits(
        splits,
        DataPlan::DatasetIdx,
        datasets,
    ))
}

#[cfg(test)]
mod tests {
    use module_kit::digest::sha256_hex;

    use super::super::load_datasets;
    use super::super::test_files::{digit_image, gzip, put, refusal, small_idx};
    use super::*;

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
}
