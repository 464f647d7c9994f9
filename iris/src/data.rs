//! Iris files: UCI's original (where it comes from, its checksum) and the layouts users upload,
//! told apart by their first line and parsed into the same flowers; which flowers train and
//! which evaluate (the data plan), and how they are batched.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use module_kit::standardize::Standardizer;
use serde::{Deserialize, Serialize};
use train_kit::classifier::{ClassBatch, hold_out};
use train_kit::dataset::{
    DatasetBytes, FileDigests, as_text, first_line_preview, read_dataset, split_csv, unrecognized,
};
use train_kit::download::{Checksum, RemoteFile};

use crate::input::{CLASSES, FEATURES, IrisInput, model_input};

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

/// The header of Kaggle's `Iris.csv`.
const KAGGLE_HEADER: [&str; 6] = [
    "Id",
    "SepalLengthCm",
    "SepalWidthCm",
    "PetalLengthCm",
    "PetalWidthCm",
    "Species",
];

/// The header of seaborn's `iris.csv` (and of the R-style copies that follow it).
const SEABORN_HEADER: [&str; 5] = [
    "sepal_length",
    "sepal_width",
    "petal_length",
    "petal_width",
    "species",
];

/// seaborn's class names, in [`CLASSES`] order.
const SEABORN_CLASSES: [&str; 3] = ["setosa", "versicolor", "virginica"];

/// What `--dataset` accepts for Iris, as refusals say it.
pub const ACCEPTED: &str = "UCI iris.data (no header; 4 measurements and Iris-setosa, \
    Iris-versicolor or Iris-virginica per line), Kaggle Iris.csv (header Id,SepalLengthCm,\
    SepalWidthCm,PetalLengthCm,PetalWidthCm,Species), seaborn iris.csv (header sepal_length,\
    sepal_width,petal_length,petal_width,species; classes setosa, versicolor, virginica)";

/// The layouts of an Iris file, told apart by the first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IrisLayout {
    /// UCI's `iris.data`: no header; four measurements and a class (`Iris-setosa`) per line.
    UciData,
    /// Kaggle's `Iris.csv`: a header, an `Id` column, then UCI's columns and class names.
    KaggleCsv,
    /// seaborn's `iris.csv`: a header, UCI's columns, short class names (`setosa`).
    SeabornCsv,
}

impl IrisLayout {
    /// How logs and `metrics.json` name the layout.
    pub fn name(self) -> &'static str {
        match self {
            IrisLayout::UciData => "UCI iris.data (no header)",
            IrisLayout::KaggleCsv => "Kaggle Iris.csv (header, Id column)",
            IrisLayout::SeabornCsv => {
                "seaborn iris.csv (header, classes setosa/versicolor/virginica)"
            }
        }
    }

    /// The layout a first record announces: a known header, or (no header) a flower.
    fn detect(first: &csv::StringRecord) -> Option<Self> {
        let matches = |header: &[&str]| {
            first.len() == header.len()
                && first
                    .iter()
                    .zip(header)
                    .all(|(field, name)| field.trim().trim_matches('"').eq_ignore_ascii_case(name))
        };
        if matches(&KAGGLE_HEADER) {
            Some(IrisLayout::KaggleCsv)
        } else if matches(&SEABORN_HEADER) {
            Some(IrisLayout::SeabornCsv)
        } else if first.len() == 5
            && first
                .iter()
                .take(4)
                .all(|f| f.trim().parse::<f32>().is_ok())
        {
            Some(IrisLayout::UciData)
        } else {
            None
        }
    }

    fn has_header(self) -> bool {
        self != IrisLayout::UciData
    }

    fn classes(self) -> &'static [&'static str; 3] {
        match self {
            IrisLayout::UciData | IrisLayout::KaggleCsv => &CLASSES,
            IrisLayout::SeabornCsv => &SEABORN_CLASSES,
        }
    }

    /// What one line holds, for the message on a line with the wrong number of fields.
    fn line_fields(self) -> &'static str {
        match self {
            IrisLayout::KaggleCsv => "an Id, 4 measurements and a species",
            IrisLayout::UciData | IrisLayout::SeabornCsv => "4 measurements and a class",
        }
    }

    /// One flower from one line.
    fn parse_record(self, record: &csv::StringRecord) -> Result<IrisItem> {
        let fields: Vec<&str> = record.iter().map(str::trim).collect();
        let id_columns = usize::from(self == IrisLayout::KaggleCsv);
        let expected = id_columns + FEATURES.len() + 1;
        if fields.len() != expected {
            bail!(
                "expected {expected} fields ({}), found {}",
                self.line_fields(),
                fields.len()
            );
        }
        if let Some(id) = fields.first().filter(|_| id_columns == 1) {
            id.parse::<u64>()
                .with_context(|| format!("Id '{id}' is not a whole number"))?;
        }
        let mut measurements = [0f32; 4];
        for ((slot, field), feature) in measurements
            .iter_mut()
            .zip(&fields[id_columns..])
            .zip(&FEATURES)
        {
            let value = feature.parse_field(field).map_err(anyhow::Error::msg)?;
            *slot = value;
        }
        let name = fields[expected - 1];
        let classes = self.classes();
        let Some(label) = classes.iter().position(|c| *c == name) else {
            bail!(
                "unknown class '{name}' (expected one of {})",
                classes.join(", ")
            );
        };
        Ok(IrisItem {
            input: IrisInput { measurements },
            label,
        })
    }
}

/// An Iris file, read once: its digests, the layout detected, its flowers in file order.
#[derive(Debug, Clone)]
pub struct IrisFile {
    pub path: PathBuf,
    pub digests: FileDigests,
    pub layout: IrisLayout,
    pub items: Vec<IrisItem>,
}

impl IrisFile {
    /// What the file was read as, for the log and `metrics.json`:
    /// `Kaggle Iris.csv (header, Id column), 150 flowers`.
    pub fn description(&self) -> String {
        let count = self.items.len();
        let plural = if count == 1 { "" } else { "s" };
        format!("{}, {count} flower{plural}", self.layout.name())
    }
}

/// Reads an Iris file in any accepted layout, detected from its first line.
pub fn read_iris(path: &Path) -> Result<IrisFile> {
    iris_file(read_dataset(path)?)
}

/// An Iris file from bytes already read (and, for the canonical file, verified).
pub fn iris_file(data: DatasetBytes) -> Result<IrisFile> {
    let (layout, items) = parse(&data.path, &data.bytes)?;
    Ok(IrisFile {
        path: data.path,
        digests: data.digests,
        layout,
        items,
    })
}

/// The flowers of an Iris file in any accepted layout.
pub fn load_items(path: &Path) -> Result<Vec<IrisItem>> {
    Ok(read_iris(path)?.items)
}

/// Detects the layout of `bytes` (the contents of `path`) from the first line and parses every
/// flower. Header case and quotes, CRLF line ends, a byte-order mark and blank lines are
/// tolerated; any other departure is refused, naming the line.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<(IrisLayout, Vec<IrisItem>)> {
    let text = as_text(bytes).map_err(|found| unrecognized(path, &found, ACCEPTED))?;
    let (first, rows) = split_csv(path, text, b',')?;
    let Some(layout) = IrisLayout::detect(&first) else {
        let line = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default();
        let found = format!(
            "a first line '{}' ({} comma-separated field{}) that is neither an Iris header \
             nor a flower",
            first_line_preview(line.as_bytes()),
            first.len(),
            if first.len() == 1 { "" } else { "s" }
        );
        return Err(unrecognized(path, &found, ACCEPTED));
    };
    let first = (!layout.has_header()).then_some(first);
    let items = rows.parse_each(first, |record| layout.parse_record(record))?;
    if items.is_empty() {
        bail!("{}: {} but no flowers", path.display(), layout.name());
    }
    Ok((layout, items))
}

/// The seeded, stratified 80/20 train/validation split.
pub fn split(items: Vec<IrisItem>, seed: u64) -> (Vec<IrisItem>, Vec<IrisItem>) {
    hold_out(items, |item| item.label, VALIDATION_FRACTION, seed)
}

/// Standardisation statistics of a (training) split.
pub fn fit_preprocessing(items: &[IrisItem]) -> Standardizer {
    let rows: Vec<[f32; 4]> = items.iter().map(|item| item.input.measurements).collect();
    Standardizer::fit(&rows)
}

/// A batch ready for the model: standardised features and class indices.
pub type IrisBatch = ClassBatch<Tensor<2>>;

/// Standardises and stacks items with the training split's statistics.
#[derive(Debug, Clone)]
pub struct IrisBatcher {
    pub preprocessing: Standardizer,
}

impl Batcher<IrisItem, IrisBatch> for IrisBatcher {
    fn batch(&self, items: Vec<IrisItem>, device: &Device) -> IrisBatch {
        let inputs: Vec<IrisInput> = items.iter().map(|item| item.input).collect();
        let labels: Vec<i64> = items.iter().map(|item| item.label as i64).collect();
        let inputs = model_input(&inputs, &self.preprocessing, device);
        ClassBatch::new(inputs, labels, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UCI: &str = "5.1,3.5,1.4,0.2,Iris-setosa\n7.0,3.2,4.7,1.4,Iris-versicolor\n\
                       6.3,3.3,6.0,2.5,Iris-virginica\n\n";

    fn flowers() -> Vec<IrisItem> {
        let item = |measurements, label| IrisItem {
            input: IrisInput { measurements },
            label,
        };
        vec![
            item([5.1, 3.5, 1.4, 0.2], 0),
            item([7.0, 3.2, 4.7, 1.4], 1),
            item([6.3, 3.3, 6.0, 2.5], 2),
        ]
    }

    fn parsed(text: &str) -> Result<(IrisLayout, Vec<IrisItem>)> {
        parse(Path::new("datasets/iris.csv"), text.as_bytes())
    }

    fn refusal(text: &str) -> String {
        format!("{:#}", parsed(text).unwrap_err())
    }

    /// Asserts that `text` is refused with a message that contains `expected`.
    fn assert_refused(text: &str, expected: &str) {
        let message = refusal(text);
        assert!(message.contains(expected), "{message}");
    }

    #[test]
    fn reads_uci_iris_data_and_skips_the_trailing_blank_line() {
        assert_eq!(parsed(UCI).unwrap(), (IrisLayout::UciData, flowers()));
    }

    #[test]
    fn reads_kaggle_iris_csv_with_crlf_quotes_and_any_header_case() {
        let text = "\"Id\",\"sepallengthcm\",SepalWidthCm,PetalLengthCm,PetalWidthCm,SPECIES\r\n\
                    1,5.1,3.5,1.4,0.2,Iris-setosa\r\n2,7.0,3.2,4.7,1.4,Iris-versicolor\r\n\
                    3,6.3,3.3,6.0,2.5,\"Iris-virginica\"\r\n\r\n";
        assert_eq!(parsed(text).unwrap(), (IrisLayout::KaggleCsv, flowers()));
    }

    #[test]
    fn reads_seaborn_iris_csv_and_maps_its_class_names() {
        let text = "\u{feff}sepal_length,sepal_width,petal_length,petal_width,species\n\
                    5.1,3.5,1.4,0.2,setosa\n7.0,3.2,4.7,1.4,versicolor\n6.3,3.3,6.0,2.5,virginica\n";
        assert_eq!(parsed(text).unwrap(), (IrisLayout::SeabornCsv, flowers()));
    }

    #[test]
    fn the_description_names_the_layout_and_counts_the_flowers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Iris.csv");
        std::fs::write(
            &path,
            format!(
                "{}\n1,5.1,3.5,1.4,0.2,Iris-setosa\n",
                KAGGLE_HEADER.join(",")
            ),
        )
        .unwrap();
        let file = read_iris(&path).unwrap();
        assert_eq!(
            file.description(),
            "Kaggle Iris.csv (header, Id column), 1 flower"
        );
        assert_eq!(
            file.digests,
            FileDigests::of(&std::fs::read(&path).unwrap())
        );
    }

    #[test]
    fn a_foreign_header_is_refused_naming_the_file_what_was_found_and_what_is_accepted() {
        let message = refusal("\"fixed acidity\";\"volatile acidity\";\"quality\"\n7.4;0.7;5\n");
        assert!(
            message.starts_with("datasets/iris.csv: a first line"),
            "{message}"
        );
        assert!(message.contains("fixed acidity"), "{message}");
        assert!(
            message.contains(&format!("; accepted: {ACCEPTED}")),
            "{message}"
        );
        assert_refused(
            "sepal_length,sepal_width,petal_length,petal_width,class\n",
            "neither an Iris header",
        );
        assert_refused("Id,5.1,3.5,1.4,0.2,Iris-setosa\n", "accepted: ");
    }

    #[test]
    fn an_unknown_class_is_refused_naming_the_line() {
        assert_refused(
            "5.1,3.5,1.4,0.2,Iris-setosa\n5.1,3.5,1.4,0.2,Iris-rosa\n",
            "datasets/iris.csv line 2: unknown class 'Iris-rosa'",
        );
        // Each layout keeps its own class names.
        assert_refused("5.1,3.5,1.4,0.2,setosa\n", "line 1: unknown class 'setosa'");
        let text = format!(
            "{}\n5.1,3.5,1.4,0.2,Iris-setosa\n",
            SEABORN_HEADER.join(",")
        );
        assert_refused(
            &text,
            "line 2: unknown class 'Iris-setosa' (expected one of setosa, versicolor, virginica)",
        );
    }

    #[test]
    fn wrong_field_counts_bad_numbers_and_bad_ids_are_refused_naming_the_line() {
        assert_refused(
            "5.1,3.5,1.4,0.2,Iris-setosa\n5.1,3.5,1.4,Iris-setosa\n",
            "line 2: expected 5 fields (4 measurements and a class), found 4",
        );
        assert_refused(
            "5.1,3.5,1.4,0.2,Iris-setosa\n5.1,x,1.4,0.2,Iris-setosa\n",
            "line 2: sepal_width 'x' is not a number",
        );
        assert_refused(
            "5.1,3.5,1.4,0.2,Iris-setosa\n5.1,3.5,-1.4,0.2,Iris-setosa\n",
            "line 2: petal_length '-1.4' is outside",
        );
        let text = format!("{}\n1,5.1,3.5,1.4,0.2\n", KAGGLE_HEADER.join(","));
        assert_refused(
            &text,
            "line 2: expected 6 fields (an Id, 4 measurements and a species), found 5",
        );
        let text = format!(
            "{}\nA,5.1,3.5,1.4,0.2,Iris-setosa\n",
            KAGGLE_HEADER.join(",")
        );
        assert_refused(&text, "line 2: Id 'A' is not a whole number");
    }

    #[test]
    fn empty_header_only_and_binary_files_are_refused() {
        assert_eq!(
            refusal(""),
            format!("datasets/iris.csv: an empty file; accepted: {ACCEPTED}")
        );
        assert_eq!(
            refusal(&KAGGLE_HEADER.join(",")),
            "datasets/iris.csv: Kaggle Iris.csv (header, Id column) but no flowers"
        );
        let garbage = [0u8, 159, 146, 150, 1, 2, 3, 255];
        let message = format!(
            "{:#}",
            parse(Path::new("datasets/iris.csv"), &garbage).unwrap_err()
        );
        assert_eq!(
            message,
            format!("datasets/iris.csv: binary data, not text; accepted: {ACCEPTED}")
        );
        let message = format!(
            "{:#}",
            parse(Path::new("datasets/iris.csv.gz"), &[0x1f, 0x8b, 8, 0]).unwrap_err()
        );
        assert!(
            message.contains("gzip-compressed data (unpack it first)"),
            "{message}"
        );
    }

    #[test]
    fn a_directory_or_a_missing_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let message = format!("{:#}", read_iris(dir.path()).unwrap_err());
        assert!(message.contains("is a directory"), "{message}");
        let message = format!("{:#}", read_iris(&dir.path().join("none.csv")).unwrap_err());
        assert!(
            message.contains("cannot read") && message.contains("none.csv"),
            "{message}"
        );
    }
}
