//! The AG News release files: where they come from, how they are parsed (the release CSVs,
//! or the Kaggle copy with a header row, detected and announced), the files users hand over
//! with `--dataset`, which rows train and which evaluate (the data plan), and how articles are
//! batched.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use train_kit::classifier::{ClassBatch, hold_out};
use train_kit::dataset::{
    DatasetRecords, announce, dataset_name, first_line_preview, is_gzip, read_dataset, unrecognized,
};
use train_kit::download::{Checksum, RemoteFile};

use crate::config::AgNewsOptions;
use crate::input::{CLASSES, TokenBatch, model_input};
use crate::tokenizer::{Tokenizer, article_text};

/// The release's training file. Its publishers pin only an MD5 (torchtext's).
pub const TRAIN_CSV: RemoteFile = RemoteFile {
    relative_path: "ag-news/train.csv",
    url: "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/train.csv",
    checksum: Checksum::Md5("b1a00f826fdfbd249f79597b59e1dc12"),
};

pub const TEST_CSV: RemoteFile = RemoteFile {
    relative_path: "ag-news/test.csv",
    url: "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/test.csv",
    checksum: Checksum::Sha256("521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699"),
};

/// Share of each class held out for evaluation in single-file mode.
pub const EVALUATION_FRACTION: f64 = 0.2;

/// The release numbers classes 1 to 4; the model's outputs are 0 to 3.
pub fn label_from_class_index(class_index: u32) -> Option<usize> {
    (1..=CLASSES.len() as u32)
        .contains(&class_index)
        .then(|| class_index as usize - 1)
}

/// Which files trained and evaluated the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataPlan {
    /// The release's split: train.csv to train, all of test.csv to evaluate.
    OfficialSplit,
    /// A seeded, stratified 80/20 split of one file.
    SingleFileSplit { file: String },
    /// Two `--dataset` files, told apart by their names: all of `train` to train, all of
    /// `test` to evaluate.
    DatasetFiles { train: String, test: String },
    /// One `--dataset` file, split as [`DataPlan::SingleFileSplit`] splits one.
    DatasetSplit { file: String },
}

/// What `--dataset` accepts, for refusals.
pub const ACCEPTED: &str = "AG News CSVs as released (no header; class index 1-4, title, \
    description) or as on Kaggle (with the header Class Index,Title,Description): one file, \
    split 80/20, or a train and a test file, with train and test in their names";

/// How an AG News CSV is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvLayout {
    /// The release's files: no header row.
    Release,
    /// The Kaggle copy: the header `Class Index,Title,Description`, then the same rows.
    KaggleHeader,
}

impl std::fmt::Display for CsvLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CsvLayout::Release => "AG News release CSV (no header)",
            CsvLayout::KaggleHeader => "AG News CSV with the header Class Index,Title,Description",
        })
    }
}

/// The Kaggle copy's header row.
const HEADER: [&str; 3] = ["Class Index", "Title", "Description"];

/// One labelled article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgNewsItem {
    /// The article's index in its file (0-based; a header row is not counted), to name the
    /// evaluation rows.
    pub row: usize,
    pub title: String,
    pub description: String,
    /// 0 to 3 (the file's 1 to 4 minus one).
    pub label: usize,
}

impl AgNewsItem {
    pub fn text(&self) -> String {
        article_text(&self.title, &self.description)
    }
}

/// Parses a release CSV (no header; class index 1-4, title, description), or the Kaggle copy
/// with its header row.
pub fn load_items(path: &Path) -> Result<Vec<AgNewsItem>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (items, _) = parse_csv(&bytes).map_err(|found| anyhow!("{}: {found}", path.display()))?;
    Ok(items)
}

/// Parses AG News CSV bytes and says which layout they have; or says, in a few words, what
/// was found instead (for a one-line refusal).
pub fn parse_csv(bytes: &[u8]) -> Result<(Vec<AgNewsItem>, CsvLayout), String> {
    if bytes.is_empty() {
        return Err("nothing (an empty file)".into());
    }
    if is_gzip(bytes) {
        return Err("gzip data (upload the CSV itself, uncompressed)".into());
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Err("a zip archive (upload the CSV itself, unpacked)".into());
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut layout = CsvLayout::Release;
    let mut items = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let first = line == 0;
        let record = record.map_err(|e| {
            if first {
                format!(
                    "a first row that is not CSV text ('{}': {e})",
                    first_line_preview(bytes)
                )
            } else {
                format!("row {} does not parse ({e})", line + 1)
            }
        })?;
        if first && is_header(&record) {
            layout = CsvLayout::KaggleHeader;
            continue;
        }
        if record.len() != 3 {
            return Err(if first {
                format!(
                    "a first row of {} fields ('{}'), not 3 (class, title, description)",
                    record.len(),
                    first_line_preview(bytes)
                )
            } else {
                format!(
                    "row {}: expected 3 fields (class, title, description), found {}",
                    line + 1,
                    record.len()
                )
            });
        }
        let label = record[0]
            .trim()
            .parse()
            .ok()
            .and_then(label_from_class_index)
            .ok_or_else(|| {
                if first {
                    format!(
                        "a first row that is neither an article (class 1 to {}) nor the header \
                         {} ('{}')",
                        CLASSES.len(),
                        HEADER.join(","),
                        first_line_preview(bytes)
                    )
                } else {
                    format!(
                        "row {}: class '{}' is not 1 to {}",
                        line + 1,
                        &record[0],
                        CLASSES.len()
                    )
                }
            })?;
        items.push(AgNewsItem {
            row: items.len(),
            title: record[1].to_owned(),
            description: record[2].to_owned(),
            label,
        });
    }
    if items.is_empty() {
        return Err(format!("{layout} holding no articles"));
    }
    Ok((items, layout))
}

fn is_header(record: &csv::StringRecord) -> bool {
    record.len() == HEADER.len()
        && record
            .iter()
            .zip(HEADER)
            .all(|(field, name)| field.trim().eq_ignore_ascii_case(name))
}

/// The seeded, stratified 80/20 split of one file: (training, evaluation).
pub fn single_file_split(items: Vec<AgNewsItem>, seed: u64) -> (Vec<AgNewsItem>, Vec<AgNewsItem>) {
    hold_out(items, |item| item.label, EVALUATION_FRACTION, seed)
}

/// The training and evaluation articles, and what they are.
#[derive(Debug)]
pub struct DataSplit {
    pub plan: DataPlan,
    pub train: Vec<AgNewsItem>,
    pub evaluation: Vec<AgNewsItem>,
    /// Every file read, recorded in `metrics.json`.
    pub datasets: DatasetRecords,
}

/// What a file is recorded as: `AG News release CSV (no header), 7600 articles, evaluation`.
fn layout(csv: CsvLayout, articles: usize, role: &str) -> String {
    format!("{csv}, {articles} articles, {role}")
}

/// The role of a single file that is split.
fn split_role(train: usize, evaluation: usize) -> String {
    format!("split 80/20: {train} training, {evaluation} evaluation")
}

/// Loads the data the options ask for. Without train.csv and without `--single-file-split`
/// this fails (after trying the download): it never falls back silently.
pub fn load_split(data_dir: &Path, options: &AgNewsOptions, seed: u64) -> Result<DataSplit> {
    let read = |remote: RemoteFile| -> Result<_> {
        let verified = remote.fetch(data_dir)?;
        let (items, csv) = parse_csv(&verified.bytes)
            .map_err(|found| anyhow!("{}: {found}", verified.path.display()))?;
        Ok((items, csv, verified.digests))
    };
    if let Some(file) = &options.single_file_split {
        let remote = if file == "train.csv" {
            TRAIN_CSV
        } else {
            TEST_CSV
        };
        let (items, csv, digests) = read(remote)?;
        let articles = items.len();
        let (train, evaluation) = single_file_split(items, seed);
        let role = split_role(train.len(), evaluation.len());
        return Ok(DataSplit {
            plan: DataPlan::SingleFileSplit { file: file.clone() },
            datasets: DatasetRecords::from([(
                remote.relative_path.to_owned(),
                digests.record(layout(csv, articles, &role)),
            )]),
            train,
            evaluation,
        });
    }
    let (train, train_csv, train_digests) = read(TRAIN_CSV).context(
        "without train.csv, pass --single-file-split test.csv to train and evaluate on a \
         seeded 80/20 split of test.csv",
    )?;
    let (evaluation, test_csv, test_digests) = read(TEST_CSV)?;
    let datasets = DatasetRecords::from([
        (
            TRAIN_CSV.relative_path.to_owned(),
            train_digests.record(layout(train_csv, train.len(), "training")),
        ),
        (
            TEST_CSV.relative_path.to_owned(),
            test_digests.record(layout(test_csv, evaluation.len(), "evaluation")),
        ),
    ]);
    Ok(DataSplit {
        plan: DataPlan::OfficialSplit,
        train,
        evaluation,
        datasets,
    })
}

/// Which part a `--dataset` file's name says it is: `train` or `test` in the file name
/// (folders do not count), exactly one of them.
fn named_role(path: &Path) -> Option<bool> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match (name.contains("train"), name.contains("test")) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// Loads the files given with `--dataset` (paths as given): one file is split 80/20 as
/// `--single-file-split` splits one; two are a train and a test file, told apart by their
/// names. Every file's layout is detected, announced and recorded; a file that is no AG News
/// CSV, or names that do not tell, are refused in one line.
pub fn load_datasets(paths: &[PathBuf], options: &AgNewsOptions, seed: u64) -> Result<DataSplit> {
    let names: Vec<String> = paths.iter().map(|path| dataset_name(path)).collect();
    if paths.len() > 2 {
        bail!(
            "{} --dataset files given ({}); accepted: {ACCEPTED}",
            paths.len(),
            names.join(", ")
        );
    }
    if let (Some(file), 2) = (&options.single_file_split, paths.len()) {
        bail!(
            "--single-file-split {file} splits one file, and two --dataset files were given; \
             give one --dataset file (one file is always split 80/20), or drop \
             --single-file-split to train on one file and evaluate on the other"
        );
    }
    let mut files = Vec::new();
    for path in paths {
        let dataset = read_dataset(path)?;
        let (items, csv) =
            parse_csv(&dataset.bytes).map_err(|found| unrecognized(path, &found, ACCEPTED))?;
        files.push((path, items, csv, dataset.digests));
    }
    if let Some(file) = &options.single_file_split {
        println!(
            "ag-news: --single-file-split {file} names a file of the data directory; with \
             --dataset, the one file given is split"
        );
    }
    let mut datasets = DatasetRecords::new();
    let mut record = |path: &Path, layout: String, digests: &train_kit::dataset::FileDigests| {
        announce("ag-news", path, &layout);
        datasets.insert(dataset_name(path), digests.record(layout));
    };
    if files.len() == 1 {
        let (path, items, csv, digests) = files.remove(0);
        let articles = items.len();
        let (train, evaluation) = single_file_split(items, seed);
        let role = split_role(train.len(), evaluation.len());
        record(path, layout(csv, articles, &role), &digests);
        return Ok(DataSplit {
            plan: DataPlan::DatasetSplit {
                file: dataset_name(path),
            },
            train,
            evaluation,
            datasets,
        });
    }
    let roles: Vec<Option<bool>> = paths.iter().map(|path| named_role(path)).collect();
    let test_index = match roles.as_slice() {
        [Some(true), Some(false)] => 1,
        [Some(false), Some(true)] => 0,
        _ => {
            let found: Vec<String> = files
                .iter()
                .map(|(path, items, csv, _)| {
                    format!("{} ({csv}, {} articles)", dataset_name(path), items.len())
                })
                .collect();
            bail!(
                "cannot tell which of {} trains and which evaluates: their names do not say \
                 (one must contain train, the other test); accepted: {ACCEPTED}",
                found.join(" and ")
            );
        }
    };
    let (test_path, evaluation, test_csv, test_digests) = files.remove(test_index);
    let (train_path, train, train_csv, train_digests) = files.remove(0);
    record(
        train_path,
        layout(train_csv, train.len(), "training"),
        &train_digests,
    );
    record(
        test_path,
        layout(test_csv, evaluation.len(), "evaluation"),
        &test_digests,
    );
    Ok(DataSplit {
        plan: DataPlan::DatasetFiles {
            train: dataset_name(train_path),
            test: dataset_name(test_path),
        },
        train,
        evaluation,
        datasets,
    })
}

/// The plan in words, for the log.
pub fn describe(plan: &DataPlan) -> String {
    match plan {
        DataPlan::OfficialSplit => {
            "the official split: train.csv to train, test.csv to evaluate".into()
        }
        DataPlan::SingleFileSplit { file } => format!(
            "SINGLE-FILE SPLIT (--single-file-split {file}): a seeded, stratified 80% of {file} \
             to train and the other 20% to evaluate; figures are not comparable with the \
             official test set"
        ),
        DataPlan::DatasetFiles { train, test } => format!(
            "{train} to train and {test} to evaluate (the --dataset files, told apart by \
             their names)"
        ),
        DataPlan::DatasetSplit { file } => format!(
            "SINGLE-FILE SPLIT (one --dataset file): a seeded, stratified 80% of {file} to \
             train and the other 20% to evaluate; figures are not comparable with the \
             official test set"
        ),
    }
}

/// An article as token ids, ready to batch.
#[derive(Debug, Clone)]
pub struct EncodedItem {
    pub tokens: Vec<u32>,
    pub label: usize,
}

pub fn encode_items(items: &[AgNewsItem], tokenizer: &Tokenizer) -> Vec<EncodedItem> {
    items
        .iter()
        .map(|item| EncodedItem {
            tokens: tokenizer.encode(&item.text()),
            label: item.label,
        })
        .collect()
}

pub type AgNewsBatch = ClassBatch<TokenBatch>;

#[derive(Debug, Clone)]
pub struct AgNewsBatcher {
    pub tokenizer: Tokenizer,
}

impl Batcher<EncodedItem, AgNewsBatch> for AgNewsBatcher {
    fn batch(&self, items: Vec<EncodedItem>, device: &Device) -> AgNewsBatch {
        let token_lists: Vec<Vec<u32>> = items.iter().map(|item| item.tokens.clone()).collect();
        let labels: Vec<i64> = items.iter().map(|item| item.label as i64).collect();
        let inputs = model_input(&token_lists, &self.tokenizer, device);
        ClassBatch::new(inputs, labels, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary directory holding `files` (name, bytes), and their paths.
    fn dataset_files<const N: usize>(
        files: [(&str, &[u8]); N],
    ) -> (tempfile::TempDir, [PathBuf; N]) {
        let dir = tempfile::tempdir().unwrap();
        let paths = files.map(|(name, bytes)| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        });
        (dir, paths)
    }

    #[test]
    fn parses_the_release_format_and_maps_classes_to_zero_based_labels() {
        let (_dir, [path]) = dataset_files([(
            "test.csv",
            b"\"3\",\"Fed raises rates\",\"The \"\"Fed\"\" acted.\\nMore.\"\n\"4\",\"New chip\",\"Faster.\"\n",
        )]);
        let items = load_items(&path).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(CLASSES[items[0].label], "Business");
        assert_eq!(CLASSES[items[1].label], "Sci/Tech");
        assert_eq!(items[0].description, "The \"Fed\" acted.\\nMore.");
        assert_eq!(items[1].row, 1);
    }

    #[test]
    fn rejects_a_class_outside_one_to_four() {
        let (_dir, [path]) =
            dataset_files([("test.csv", b"\"1\",\"t\",\"d\"\n\"5\",\"t\",\"d\"\n")]);
        let message = format!("{:#}", load_items(&path).unwrap_err());
        assert!(
            message.contains("test.csv: row 2: class '5' is not 1 to 4"),
            "{message}"
        );
    }

    /// `n` articles per class, in the release format.
    fn release_csv(n: usize) -> String {
        (0..4 * n)
            .map(|i| format!("\"{}\",\"Title {i}\",\"Text of article {i}.\"\n", i % 4 + 1))
            .collect()
    }

    fn kaggle_csv(n: usize) -> String {
        format!("Class Index,Title,Description\n{}", release_csv(n))
    }

    fn options(single_file_split: Option<&str>) -> AgNewsOptions {
        AgNewsOptions {
            single_file_split: single_file_split.map(str::to_owned),
            embedding_dim: 32,
            bigram_buckets: 1 << 15,
            min_count: 2,
            max_tokens: 256,
            dropout: 0.5,
        }
    }

    #[test]
    fn the_kaggle_header_is_detected_and_gives_the_same_articles() {
        let (release, layout) = parse_csv(release_csv(3).as_bytes()).unwrap();
        assert_eq!(layout, CsvLayout::Release);
        let (kaggle, layout) = parse_csv(kaggle_csv(3).as_bytes()).unwrap();
        assert_eq!(layout, CsvLayout::KaggleHeader);
        assert_eq!(kaggle, release, "rows are counted without the header");
        assert_eq!(kaggle.len(), 12);
        assert_eq!(kaggle[0].row, 0);
        let (lower, _) = parse_csv(b"class index, title ,DESCRIPTION\n3,a,b\n").unwrap();
        assert_eq!(lower[0].label, 2);
    }

    #[test]
    fn what_is_not_ag_news_is_described() {
        let cases: [(&[u8], &str); 8] = [
            (b"", "nothing (an empty file)"),
            (b"\x1f\x8b\x08\x00", "gzip data"),
            (b"PK\x03\x04", "a zip archive"),
            (
                b"5.1,3.5,1.4,0.2,Iris-setosa\n",
                "a first row of 5 fields ('5.1,3.5,1.4,0.2,Iris-setosa'), not 3",
            ),
            (
                b"label,headline,body\n1,a,b\n",
                "a first row that is neither an article (class 1 to 4) nor the header \
                 Class Index,Title,Description ('label,headline,body')",
            ),
            (
                b"1,a,b\n2,c\n",
                "row 2: expected 3 fields (class, title, description), found 2",
            ),
            (b"\xff\xfe,\x00\x01,x\n", "a first row that is not CSV text"),
            (
                b"Class Index,Title,Description\n",
                "AG News CSV with the header Class Index,Title,Description holding no articles",
            ),
        ];
        for (bytes, found) in cases {
            let message = parse_csv(bytes).unwrap_err();
            assert!(message.starts_with(found), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn one_dataset_file_is_split_80_20_and_recorded() {
        let (_dir, [path]) = dataset_files([("ag_news.csv", release_csv(5).as_bytes())]);
        for split_option in [None, Some("test.csv")] {
            let split =
                load_datasets(std::slice::from_ref(&path), &options(split_option), 42).unwrap();
            let name = dataset_name(&path);
            assert_eq!(split.plan, DataPlan::DatasetSplit { file: name.clone() });
            assert_eq!((split.train.len(), split.evaluation.len()), (16, 4));
            let record = &split.datasets[&name];
            assert_eq!(
                record.layout,
                "AG News release CSV (no header), 20 articles, split 80/20: 16 training, 4 \
                 evaluation"
            );
            assert_eq!(
                record.sha256,
                module_kit::digest::sha256_hex(&std::fs::read(&path).unwrap())
            );
            let expected = single_file_split(load_items(&path).unwrap(), 42).1;
            assert_eq!(
                split.evaluation, expected,
                "the split --single-file-split makes"
            );
        }
    }

    #[test]
    fn two_dataset_files_are_told_apart_by_their_names() {
        let (_dir, [train, test]) = dataset_files([
            ("Kaggle_Train.csv", kaggle_csv(4).as_bytes()),
            ("news-test.csv", release_csv(1).as_bytes()),
        ]);
        for paths in [[train.clone(), test.clone()], [test.clone(), train.clone()]] {
            let split = load_datasets(&paths, &options(None), 42).unwrap();
            assert_eq!(
                split.plan,
                DataPlan::DatasetFiles {
                    train: dataset_name(&train),
                    test: dataset_name(&test)
                }
            );
            assert_eq!((split.train.len(), split.evaluation.len()), (16, 4));
            assert_eq!(
                split.datasets[&dataset_name(&train)].layout,
                "AG News CSV with the header Class Index,Title,Description, 16 articles, training"
            );
            assert_eq!(
                split.datasets[&dataset_name(&test)].layout,
                "AG News release CSV (no header), 4 articles, evaluation"
            );
        }
    }

    #[test]
    fn dataset_files_that_do_not_fit_are_refused_in_one_line() {
        let (_dir, [a, b, both, train, iris]) = dataset_files([
            ("a.csv", release_csv(1).as_bytes()),
            ("b.csv", release_csv(2).as_bytes()),
            ("train_test.csv", release_csv(1).as_bytes()),
            ("train.csv", release_csv(1).as_bytes()),
            ("iris.csv", b"5.1,3.5,1.4,0.2,Iris-setosa\n"),
        ]);
        let refusal = |paths: &[PathBuf], split: Option<&str>| {
            let message = format!(
                "{:#}",
                load_datasets(paths, &options(split), 42).unwrap_err()
            );
            assert!(!message.contains('\n'), "{message}");
            message
        };
        let message = refusal(&[a.clone(), b.clone()], None);
        assert!(
            message.starts_with(&format!(
                "cannot tell which of {} (AG News release CSV (no header), 4 articles) and {} \
                 (AG News release CSV (no header), 8 articles) trains",
                a.display(),
                b.display()
            )) && message.ends_with(ACCEPTED),
            "{message}"
        );
        assert!(refusal(&[train.clone(), both], None).starts_with("cannot tell"));
        assert!(refusal(&[a.clone(), b, train.clone()], None).starts_with("3 --dataset files"));
        let message = refusal(&[train.clone(), a], Some("test.csv"));
        assert!(
            message.starts_with("--single-file-split test.csv splits one file"),
            "{message}"
        );
        let message = refusal(&[train, iris.clone()], None);
        assert_eq!(
            message,
            format!(
                "{}: a first row of 5 fields ('5.1,3.5,1.4,0.2,Iris-setosa'), not 3 (class, \
                 title, description); accepted: {ACCEPTED}",
                iris.display()
            )
        );
    }

    #[test]
    fn class_indices_one_to_four_map_to_labels_zero_to_three() {
        assert_eq!(label_from_class_index(1), Some(0));
        assert_eq!(CLASSES[label_from_class_index(3).unwrap()], "Business");
        assert_eq!(CLASSES[label_from_class_index(4).unwrap()], "Sci/Tech");
        assert_eq!(label_from_class_index(0), None);
        assert_eq!(label_from_class_index(5), None);
    }
}
