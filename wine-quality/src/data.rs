//! The two UCI Wine Quality files: where they come from, how they are parsed, which wines
//! train, validate and test (the data plan), and how they are batched.

use std::path::Path;

use anyhow::{Context, Result, bail};
use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use runtime::standardize::Standardizer;
use serde::{Deserialize, Serialize};
use train_kit::download::{Checksum, RemoteFile};
use train_kit::split::stratified_split;

use crate::input::{FEATURES, NUM_INPUTS, TargetScale, WineInput, WineType, model_input};

pub const RED_WINES: RemoteFile = RemoteFile {
    relative_path: "wine-quality/winequality-red.csv",
    url: "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv",
    checksum: Checksum::Sha256("4a402cf041b025d4566d954c3b9ba8635a3a8a01e039005d97d6a710278cf05e"),
};

pub const WHITE_WINES: RemoteFile = RemoteFile {
    relative_path: "wine-quality/winequality-white.csv",
    url: "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-white.csv",
    checksum: Checksum::Sha256("76c3f809815c17c07212622f776311faeb31e87610d52c26d87d6e361b169836"),
};

/// The last column of both files: the experts' score.
const QUALITY_COLUMN: &str = "quality";

/// Whether a header column names `key`: the UCI files write `fixed acidity` and `pH` where the
/// JSON keys are `fixed_acidity` and `ph`.
fn column_names(column: &str, key: &str) -> bool {
    column.to_lowercase().replace(' ', "_") == key
}

/// Train / validation / test shares, stratified by wine type and quality.
pub const SPLIT_FRACTIONS: [f64; 3] = [0.7, 0.15, 0.15];

/// Which wines evaluate the model, as `metrics.json` records it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataPlan {
    /// Seeded train / validation / test shares, stratified by type and quality; the figures
    /// are on the test share, used once.
    TestSplit { fractions: [f64; 3] },
}

/// The plan every run follows.
pub const DATA_PLAN: DataPlan = DataPlan::TestSplit {
    fractions: SPLIT_FRACTIONS,
};

/// One rated wine.
#[derive(Debug, Clone, PartialEq)]
pub struct WineItem {
    pub input: WineInput,
    /// The experts' median score, 0 to 10.
    pub quality: u8,
}

/// Parses one UCI file: a quoted header, then eleven numbers and an integer score per line,
/// separated by semicolons.
pub fn load_items(path: &Path, wine_type: WineType) -> Result<Vec<WineItem>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let header = reader
        .headers()
        .with_context(|| format!("cannot read the header of {}", path.display()))?;
    let expected = FEATURES.len() + 1;
    let measurements_match = header
        .iter()
        .zip(&FEATURES)
        .all(|(column, feature)| column_names(column, feature.key));
    if header.len() != expected || !measurements_match || &header[FEATURES.len()] != QUALITY_COLUMN
    {
        let columns: Vec<String> = FEATURES.iter().map(|f| f.key.replace('_', " ")).collect();
        bail!(
            "{} does not have the UCI header ({};{QUALITY_COLUMN})",
            path.display(),
            columns.join(";")
        );
    }
    let mut items = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("cannot parse {}", path.display()))?;
        let line = record.position().map_or(0, |p| p.line());
        let item = parse_record(&record, wine_type)
            .with_context(|| format!("{} line {line}", path.display()))?;
        items.push(item);
    }
    if items.is_empty() {
        bail!("{} holds no wines", path.display());
    }
    Ok(items)
}

fn parse_record(record: &csv::StringRecord, wine_type: WineType) -> Result<WineItem> {
    let expected = FEATURES.len() + 1;
    if record.len() != expected {
        bail!("expected {expected} fields, found {}", record.len());
    }
    let mut measurements = [0f32; 11];
    for (slot, field) in measurements.iter_mut().zip(record.iter()) {
        *slot = field
            .trim()
            .parse()
            .with_context(|| format!("'{field}' is not a number"))?;
    }
    let quality: u8 = record[11]
        .trim()
        .parse()
        .ok()
        .filter(|q| *q <= 10)
        .with_context(|| format!("quality '{}' is not an integer from 0 to 10", &record[11]))?;
    Ok(WineItem {
        input: WineInput {
            measurements,
            wine_type,
        },
        quality,
    })
}

/// The data set's three parts.
#[derive(Debug, Clone)]
pub struct WineSplits {
    pub train: Vec<WineItem>,
    pub valid: Vec<WineItem>,
    pub test: Vec<WineItem>,
}

/// The seeded 70/15/15 split, stratified by wine type and quality.
pub fn split(items: Vec<WineItem>, seed: u64) -> WineSplits {
    let stratum = |item: &WineItem| {
        let type_offset = match item.input.wine_type {
            WineType::Red => 0,
            WineType::White => 11,
        };
        type_offset + usize::from(item.quality)
    };
    let mut parts = stratified_split(items, stratum, &SPLIT_FRACTIONS, seed).into_iter();
    WineSplits {
        train: parts.next().unwrap_or_default(),
        valid: parts.next().unwrap_or_default(),
        test: parts.next().unwrap_or_default(),
    }
}

/// Input standardisation and target scale of a (training) split.
pub fn fit_preprocessing(items: &[WineItem]) -> (Standardizer, TargetScale) {
    let rows: Vec<[f32; NUM_INPUTS]> = items.iter().map(|item| item.input.row()).collect();
    let qualities: Vec<[f32; 1]> = items.iter().map(|item| [f32::from(item.quality)]).collect();
    let quality = Standardizer::fit(&qualities);
    (
        Standardizer::fit(&rows),
        TargetScale {
            mean: quality.mean[0],
            std: quality.std[0],
        },
    )
}

/// A batch ready for the model: standardised inputs and scaled targets (`[batch, 1]`).
#[derive(Debug, Clone)]
pub struct WineBatch {
    pub inputs: Tensor<2>,
    pub targets: Tensor<2>,
}

#[derive(Debug, Clone)]
pub struct WineBatcher {
    pub preprocessing: Standardizer,
    pub target: TargetScale,
}

impl Batcher<WineItem, WineBatch> for WineBatcher {
    fn batch(&self, items: Vec<WineItem>, device: &Device) -> WineBatch {
        let inputs: Vec<WineInput> = items.iter().map(|item| item.input).collect();
        let targets: Vec<f32> = items
            .iter()
            .map(|item| self.target.to_model(f32::from(item.quality)))
            .collect();
        WineBatch {
            inputs: model_input(&inputs, &self.preprocessing, device),
            targets: Tensor::from_data(TensorData::new(targets, [items.len(), 1]), device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER_LINE: &str = "\"fixed acidity\";\"volatile acidity\";\"citric acid\";\"residual sugar\";\"chlorides\";\"free sulfur dioxide\";\"total sulfur dioxide\";\"density\";\"pH\";\"sulphates\";\"alcohol\";\"quality\"\n";

    #[test]
    fn parses_the_uci_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("red.csv");
        let body = format!("{HEADER_LINE}7.4;0.7;0;1.9;0.076;11;34;0.9978;3.51;0.56;9.4;5\n");
        std::fs::write(&path, body).unwrap();
        let items = load_items(&path, WineType::Red).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].quality, 5);
        assert_eq!(items[0].input.measurements[8], 3.51, "pH");
        assert_eq!(items[0].input.measurements[10], 9.4, "alcohol");
        assert_eq!(items[0].input.row()[11], 1.0, "red is 1");
    }

    #[test]
    fn rejects_a_foreign_header_and_bad_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("red.csv");
        std::fs::write(&path, "a;b\n1;2\n").unwrap();
        let message = format!("{:#}", load_items(&path, WineType::Red).unwrap_err());
        assert!(message.contains("UCI header"), "{message}");
        let body = format!("{HEADER_LINE}7.4;0.7;0;1.9;0.076;11;34;0.9978;3.51;0.56;9.4;11\n");
        std::fs::write(&path, body).unwrap();
        let message = format!("{:#}", load_items(&path, WineType::Red).unwrap_err());
        assert!(
            message.contains("line 2") && message.contains("quality '11'"),
            "{message}"
        );
    }
}
