//! The AG News release files: where they come from, how they are parsed, which rows train
//! and which evaluate (the data plan), and how articles are batched.

use std::path::Path;

use anyhow::{Context, Result, bail};
use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use train_kit::download::{Checksum, RemoteFile, VerifiedFile};
use train_kit::split::stratified_split;

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
}

/// One labelled article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgNewsItem {
    /// Row number in its file (0-based), to name the evaluation rows.
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

/// Parses a release CSV: no header; class index 1-4, title, description.
pub fn load_items(path: &Path) -> Result<Vec<AgNewsItem>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut items = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("cannot parse {}", path.display()))?;
        if record.len() != 3 {
            bail!(
                "{} row {}: expected 3 fields (class, title, description), found {}",
                path.display(),
                row + 1,
                record.len()
            );
        }
        let label = record[0]
            .trim()
            .parse()
            .ok()
            .and_then(label_from_class_index)
            .with_context(|| {
                format!(
                    "{} row {}: class '{}' is not 1 to {}",
                    path.display(),
                    row + 1,
                    &record[0],
                    CLASSES.len()
                )
            })?;
        items.push(AgNewsItem {
            row,
            title: record[1].to_owned(),
            description: record[2].to_owned(),
            label,
        });
    }
    if items.is_empty() {
        bail!("{} holds no articles", path.display());
    }
    Ok(items)
}

/// The seeded, stratified 80/20 split of one file: (training, evaluation).
pub fn single_file_split(items: Vec<AgNewsItem>, seed: u64) -> (Vec<AgNewsItem>, Vec<AgNewsItem>) {
    let mut parts = stratified_split(
        items,
        |item| item.label,
        &[1.0 - EVALUATION_FRACTION, EVALUATION_FRACTION],
        seed,
    )
    .into_iter();
    (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    )
}

/// The training and evaluation articles, and what they are.
#[derive(Debug)]
pub struct DataSplit {
    pub plan: DataPlan,
    pub train: Vec<AgNewsItem>,
    pub evaluation: Vec<AgNewsItem>,
    pub files: Vec<(&'static str, VerifiedFile)>,
}

/// Loads the data the options ask for. Without train.csv and without `--single-file-split`
/// this fails (after trying the download): it never falls back silently.
pub fn load_split(data_dir: &Path, options: &AgNewsOptions, seed: u64) -> Result<DataSplit> {
    if let Some(file) = &options.single_file_split {
        let remote = if file == "train.csv" {
            TRAIN_CSV
        } else {
            TEST_CSV
        };
        let verified = remote.fetch(data_dir)?;
        let (train, evaluation) = single_file_split(load_items(&verified.path)?, seed);
        return Ok(DataSplit {
            plan: DataPlan::SingleFileSplit { file: file.clone() },
            train,
            evaluation,
            files: vec![(remote.relative_path, verified)],
        });
    }
    let train_file = TRAIN_CSV.fetch(data_dir).context(
        "without train.csv, pass --single-file-split test.csv to train and evaluate on a \
         seeded 80/20 split of test.csv",
    )?;
    let test_file = TEST_CSV.fetch(data_dir)?;
    Ok(DataSplit {
        plan: DataPlan::OfficialSplit,
        train: load_items(&train_file.path)?,
        evaluation: load_items(&test_file.path)?,
        files: vec![
            (TRAIN_CSV.relative_path, train_file),
            (TEST_CSV.relative_path, test_file),
        ],
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

#[derive(Debug, Clone)]
pub struct AgNewsBatch {
    pub inputs: TokenBatch,
    pub targets: Tensor<1, Int>,
}

#[derive(Debug, Clone)]
pub struct AgNewsBatcher {
    pub tokenizer: Tokenizer,
}

impl Batcher<EncodedItem, AgNewsBatch> for AgNewsBatcher {
    fn batch(&self, items: Vec<EncodedItem>, device: &Device) -> AgNewsBatch {
        let token_lists: Vec<Vec<u32>> = items.iter().map(|item| item.tokens.clone()).collect();
        let labels: Vec<i64> = items.iter().map(|item| item.label as i64).collect();
        AgNewsBatch {
            inputs: model_input(&token_lists, &self.tokenizer, device),
            targets: Tensor::from_data(TensorData::new(labels, [items.len()]), device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_release_format_and_maps_classes_to_zero_based_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.csv");
        std::fs::write(
            &path,
            "\"3\",\"Fed raises rates\",\"The \"\"Fed\"\" acted.\\nMore.\"\n\"4\",\"New chip\",\"Faster.\"\n",
        )
        .unwrap();
        let items = load_items(&path).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(CLASSES[items[0].label], "Business");
        assert_eq!(CLASSES[items[1].label], "Sci/Tech");
        assert_eq!(items[0].description, "The \"Fed\" acted.\\nMore.");
        assert_eq!(items[1].row, 1);
    }

    #[test]
    fn rejects_a_class_outside_one_to_four() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.csv");
        std::fs::write(&path, "\"5\",\"t\",\"d\"\n").unwrap();
        let message = format!("{:#}", load_items(&path).unwrap_err());
        assert!(message.contains("class '5' is not 1 to 4"), "{message}");
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
