//! A PNG folder tree given with `--dataset` (often unpacked from a zip): its training and
//! test folders found directly in it or one folder down, or the tree refused saying what was
//! found.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use train_kit::dataset::{DatasetRecords, announce, dataset_name, unrecognized};

use super::layout::{Split, png_layout};
use super::png::{list_png_split, read_png_split};
use super::{ACCEPTED, DataPlan, MnistData};
use crate::input::CLASSES;

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
pub(super) fn load_png_tree(root: &Path) -> Result<MnistData> {
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
    Ok(MnistData::from_splits(
        splits,
        DataPlan::DatasetPng,
        datasets,
    ))
}

#[cfg(test)]
mod tests {
    use module_kit::digest::sha256_hex;
    use train_kit::dataset::FileDigests;

    use super::super::load_datasets;
    use super::super::test_files::{digit_image, put, refusal, write_png};
    use super::*;

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
}
