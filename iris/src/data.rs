//! The UCI Iris file: where it comes from, how it is parsed, which flowers train and which
//! evaluate (the data plan), and how they are batched.

use std::path::Path;

use anyhow::{Context, Result, bail};
use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use runtime::standardize::Standardizer;
use serde::{Deserialize, Serialize};
use train_kit::download::{Checksum, RemoteFile};
use train_kit::split::stratified_split;

use crate::input::{CLASSES, IrisInput, model_input};

/// UCI's `iris.data`, stored as `iris/iris.csv` under the data directory.
pub const IRIS_DATA: RemoteFile = RemoteFile {
    relative_path: "iris/iris.csv",
    url: "https://archive.ics.uci.edu/ml/machine-learning-databases/iris/iris.data",
    checksum: Checksum::Sha256("6f608b71a7317216319b4d27b4d9bc84e6abd734eda7872b71a458569e2656c0"),
};

/// Share of each class held out for validation.
pub const VALIDATION_FRACTION: f64 = 0.2;

/// Which flowers evaluate the model, as `metrics.json` records it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataPlan {
    /// A seeded share of each class, held out from training.
    ValidationSplit { fraction: f64 },
}

/// The plan every run follows.
pub const DATA_PLAN: DataPlan = DataPlan::ValidationSplit {
    fraction: VALIDATION_FRACTION,
};

/// One labelled flower, measurements as in the file (not standardised).
#[derive(Debug, Clone, PartialEq)]
pub struct IrisItem {
    pub input: IrisInput,
    pub label: usize,
}

/// Parses the UCI format: no header, four numbers and a class name per line, blank lines
/// skipped.
pub fn load_items(path: &Path) -> Result<Vec<IrisItem>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut items = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("cannot parse {}", path.display()))?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        items.push(
            parse_record(&record).with_context(|| format!("{} line {line}", path.display()))?,
        );
    }
    if items.is_empty() {
        bail!("{} holds no flowers", path.display());
    }
    Ok(items)
}

fn parse_record(record: &csv::StringRecord) -> Result<IrisItem> {
    if record.len() != 5 {
        bail!(
            "expected 5 fields (4 measurements and a class), found {}",
            record.len()
        );
    }
    let mut measurements = [0f32; 4];
    for (slot, field) in measurements.iter_mut().zip(record.iter()) {
        *slot = field
            .trim()
            .parse()
            .with_context(|| format!("'{field}' is not a number"))?;
    }
    let name = record[4].trim();
    let Some(label) = CLASSES.iter().position(|c| *c == name) else {
        bail!(
            "unknown class '{name}' (expected one of {})",
            CLASSES.join(", ")
        );
    };
    Ok(IrisItem {
        input: IrisInput { measurements },
        label,
    })
}

/// The seeded, stratified 80/20 train/validation split.
pub fn split(items: Vec<IrisItem>, seed: u64) -> (Vec<IrisItem>, Vec<IrisItem>) {
    let mut parts = stratified_split(
        items,
        |item| item.label,
        &[1.0 - VALIDATION_FRACTION, VALIDATION_FRACTION],
        seed,
    );
    let valid = parts.pop().unwrap_or_default();
    let train = parts.pop().unwrap_or_default();
    (train, valid)
}

/// Standardisation statistics of a (training) split.
pub fn fit_preprocessing(items: &[IrisItem]) -> Standardizer {
    let rows: Vec<[f32; 4]> = items.iter().map(|item| item.input.measurements).collect();
    Standardizer::fit(&rows)
}

/// A batch ready for the model: standardised features and class indices.
#[derive(Debug, Clone)]
pub struct IrisBatch {
    pub inputs: Tensor<2>,
    pub targets: Tensor<1, Int>,
}

/// Standardises and stacks items with the training split's statistics.
#[derive(Debug, Clone)]
pub struct IrisBatcher {
    pub preprocessing: Standardizer,
}

impl Batcher<IrisItem, IrisBatch> for IrisBatcher {
    fn batch(&self, items: Vec<IrisItem>, device: &Device) -> IrisBatch {
        let inputs: Vec<IrisInput> = items.iter().map(|item| item.input).collect();
        let labels: Vec<i64> = items.iter().map(|item| item.label as i64).collect();
        IrisBatch {
            inputs: model_input(&inputs, &self.preprocessing, device),
            targets: Tensor::from_data(TensorData::new(labels, [items.len()]), device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_and_skips_the_trailing_blank_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("iris.csv");
        std::fs::write(
            &path,
            "5.1,3.5,1.4,0.2,Iris-setosa\n6.3,3.3,6.0,2.5,Iris-virginica\n\n",
        )
        .unwrap();
        let items = load_items(&path).unwrap();
        assert_eq!(
            items,
            vec![
                IrisItem {
                    input: IrisInput {
                        measurements: [5.1, 3.5, 1.4, 0.2]
                    },
                    label: 0
                },
                IrisItem {
                    input: IrisInput {
                        measurements: [6.3, 3.3, 6.0, 2.5]
                    },
                    label: 2
                },
            ]
        );
    }

    #[test]
    fn names_the_line_of_a_bad_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("iris.csv");
        std::fs::write(
            &path,
            "5.1,3.5,1.4,0.2,Iris-setosa\n5.1,x,1.4,0.2,Iris-setosa\n",
        )
        .unwrap();
        let message = format!("{:#}", load_items(&path).unwrap_err());
        assert!(
            message.contains("line 2") && message.contains("'x' is not a number"),
            "{message}"
        );
        std::fs::write(&path, "5.1,3.5,1.4,0.2,Iris-rosa\n").unwrap();
        let message = format!("{:#}", load_items(&path).unwrap_err());
        assert!(message.contains("unknown class 'Iris-rosa'"), "{message}");
    }
}
