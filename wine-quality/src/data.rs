//! Wine Quality files: UCI's two originals (where they come from, their checksums) and the
//! layouts users upload, told apart by their header, with each wine's type from a type column
//! or the file's name; which wines train, validate and test (the data plan), and how they are
//! batched.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use module_kit::standardize::Standardizer;
use serde::{Deserialize, Serialize};
use train_kit::dataset::{
    DatasetBytes, FileDigests, as_text, first_line_preview, read_dataset, split_csv, unrecognized,
};
use train_kit::download::{Checksum, RemoteFile};
use train_kit::split::stratified_split;

use crate::input::{FEATURES, NUM_INPUTS, TYPE_KEY, TargetScale, WineInput, WineType, model_input};

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

/// The last column of every layout: the experts' score.
const QUALITY_COLUMN: &str = "quality";

/// The wine types in the order items are kept: UCI's red file, then its white one.
const TYPES: [WineType; 2] = [WineType::Red, WineType::White];

/// What `--dataset` accepts for Wine Quality, as refusals say it.
pub const ACCEPTED: &str = "UCI's semicolon CSV (header \"fixed acidity\";...;\"pH\";\
    \"sulphates\";\"alcohol\";\"quality\", quoted or not), the same columns separated by commas \
    (Kaggle's Red Wine Quality), each with a file name holding red or white; Kaggle's \
    winequalityN.csv (first column type, red or white, then the same columns)";

/// Whether a header column names `key`: the UCI files write `fixed acidity` and `pH` where the
/// JSON keys are `fixed_acidity` and `ph`; case, quotes and surrounding spaces do not count.
fn column_names(column: &str, key: &str) -> bool {
    column
        .trim()
        .trim_matches('"')
        .to_lowercase()
        .replace(' ', "_")
        == key
}

fn type_name(wine_type: WineType) -> &'static str {
    match wine_type {
        WineType::Red => "red",
        WineType::White => "white",
    }
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

/// The layouts of a Wine Quality file, told apart by the header: the separator, and whether a
/// `type` column comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WineLayout {
    pub separator: u8,
    pub type_column: bool,
}

impl WineLayout {
    /// How logs and `metrics.json` name the layout.
    pub fn name(self) -> &'static str {
        match (self.separator, self.type_column) {
            (b';', false) => "UCI semicolon CSV",
            (_, false) => "comma CSV with UCI's columns (as Kaggle's Red Wine Quality)",
            (b',', true) => "Kaggle winequalityN.csv (comma CSV, type column)",
            (_, true) => "semicolon CSV with a type column",
        }
    }

    /// The layout a header announces, if any.
    fn detect(header: &csv::StringRecord, separator: u8) -> Option<Self> {
        let columns: Vec<&str> = header.iter().collect();
        let type_column = columns.first().is_some_and(|c| column_names(c, TYPE_KEY));
        let measured = &columns[usize::from(type_column)..];
        let uci_columns = measured.len() == FEATURES.len() + 1
            && measured
                .iter()
                .zip(&FEATURES)
                .all(|(column, feature)| column_names(column, feature.key))
            && column_names(measured[FEATURES.len()], QUALITY_COLUMN);
        uci_columns.then_some(Self {
            separator,
            type_column,
        })
    }

    /// One wine from one line; `file_type` is the type of every wine of a file without a type
    /// column.
    fn parse_record(
        self,
        header: &csv::StringRecord,
        record: &csv::StringRecord,
        file_type: Option<WineType>,
    ) -> Result<WineItem> {
        if record.len() != header.len() {
            bail!("expected {} fields, found {}", header.len(), record.len());
        }
        let fields: Vec<&str> = record.iter().map(str::trim).collect();
        if let Some(empty) = fields.iter().position(|f| f.is_empty()) {
            bail!(
                "field {} ({}) is empty; fill it in or remove the row",
                empty + 1,
                header[empty].trim()
            );
        }
        let wine_type = match (self.type_column, file_type) {
            (true, _) => match fields[0] {
                "red" => WineType::Red,
                "white" => WineType::White,
                other => bail!("type '{other}' is neither red nor white"),
            },
            (false, Some(wine_type)) => wine_type,
            (false, None) => bail!("the wine type is unknown"),
        };
        let measured = &fields[usize::from(self.type_column)..];
        let mut measurements = [0f32; 11];
        for ((slot, field), feature) in measurements.iter_mut().zip(measured).zip(&FEATURES) {
            let value = feature.parse_field(field).map_err(anyhow::Error::msg)?;
            *slot = value;
        }
        let quality = measured[FEATURES.len()];
        let quality: u8 = quality
            .parse()
            .ok()
            .filter(|q| *q <= 10)
            .with_context(|| format!("quality '{quality}' is not an integer from 0 to 10"))?;
        Ok(WineItem {
            input: WineInput {
                measurements,
                wine_type,
            },
            quality,
        })
    }
}

/// Where a file's wine types came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeSource {
    /// Its `type` column, row by row.
    Column,
    /// Its name, which holds `red` or `white` (as UCI's files do).
    FileName,
    /// The caller, who knows which file it is.
    Given,
}

/// A Wine Quality file, read once: its digests, the layout detected, where the types came
/// from, and its wines in file order.
#[derive(Debug, Clone)]
pub struct WineFile {
    pub path: PathBuf,
    pub digests: FileDigests,
    pub layout: WineLayout,
    pub types_from: TypeSource,
    pub items: Vec<WineItem>,
}

impl WineFile {
    /// How many wines of `wine_type` the file holds.
    pub fn count(&self, wine_type: WineType) -> usize {
        self.items
            .iter()
            .filter(|item| item.input.wine_type == wine_type)
            .count()
    }

    /// The types the file holds, red first.
    pub fn types(&self) -> Vec<WineType> {
        TYPES.into_iter().filter(|t| self.count(*t) > 0).collect()
    }

    /// What the file was read as, for the log and `metrics.json`: `UCI semicolon CSV, red wines
    /// (type from the file name), 1599 wines` or `Kaggle winequalityN.csv (comma CSV, type
    /// column), 1593 red and 4870 white wines`.
    pub fn description(&self) -> String {
        let layout = self.layout.name();
        let types: Vec<&str> = self.types().into_iter().map(type_name).collect();
        let types = types.join(" and ");
        let count = self.items.len();
        match self.types_from {
            TypeSource::Column => {
                let counts: Vec<String> = self
                    .types()
                    .into_iter()
                    .map(|t| format!("{} {}", self.count(t), type_name(t)))
                    .collect();
                format!("{layout}, {} wines", counts.join(" and "))
            }
            TypeSource::FileName => {
                format!("{layout}, {types} wines (type from the file name), {count} wines")
            }
            TypeSource::Given => format!("{layout}, {types} wines, {count} wines"),
        }
    }
}

/// The type a file name says, for a file without a type column.
fn type_from_name(path: &Path) -> Result<WineType> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match (name.contains("red"), name.contains("white")) {
        (true, false) => Ok(WineType::Red),
        (false, true) => Ok(WineType::White),
        (red, _) => bail!(
            "{}: the wine type cannot be told: the file has no type column and its name says {}; \
             name the file with red or white as UCI does (winequality-red.csv, \
             winequality-white.csv), or add a first column type holding red or white",
            path.display(),
            if red {
                "both red and white"
            } else {
                "neither red nor white"
            }
        ),
    }
}

/// Reads a Wine Quality file in any accepted layout, detected from its header; the wines' type
/// comes from a type column or else from the file name.
pub fn read_wines(path: &Path) -> Result<WineFile> {
    read_file(path, None)
}

/// The wines of a file all of `wine_type` (UCI's files, whose type the caller knows).
pub fn load_items(path: &Path, wine_type: WineType) -> Result<Vec<WineItem>> {
    let file = read_file(path, Some(wine_type))?;
    if file.types() != [wine_type] {
        bail!(
            "{} holds {} wines, not only {}",
            path.display(),
            file.types()
                .into_iter()
                .map(type_name)
                .collect::<Vec<_>>()
                .join(" and "),
            type_name(wine_type)
        );
    }
    Ok(file.items)
}

fn read_file(path: &Path, given: Option<WineType>) -> Result<WineFile> {
    wine_file(read_dataset(path)?, given)
}

/// A Wine Quality file from bytes already read (and, for UCI's files, verified); the type is
/// `given` when the file has no type column.
pub fn wine_file(data: DatasetBytes, given: Option<WineType>) -> Result<WineFile> {
    let (layout, types_from, items) = parse(&data.path, &data.bytes, given)?;
    Ok(WineFile {
        path: data.path,
        digests: data.digests,
        layout,
        types_from,
        items,
    })
}

/// Detects the layout of `bytes` (the contents of `path`) from the header and parses every
/// wine. Header case and quotes, CRLF line ends, a byte-order mark and blank lines are
/// tolerated; any other departure is refused, naming the line. Without a type column, the
/// type is `given`, or else the one the file name says.
pub fn parse(
    path: &Path,
    bytes: &[u8],
    given: Option<WineType>,
) -> Result<(WineLayout, TypeSource, Vec<WineItem>)> {
    let text = as_text(bytes).map_err(|found| unrecognized(path, &found, ACCEPTED))?;
    let first_line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let separator = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let (header, rows) = split_csv(path, text, separator)?;
    let Some(layout) = WineLayout::detect(&header, separator) else {
        let found = format!(
            "a first line '{}' ({} columns separated by '{}') that is not a Wine Quality header",
            first_line_preview(first_line.as_bytes()),
            header.len(),
            char::from(separator)
        );
        return Err(unrecognized(path, &found, ACCEPTED));
    };
    let (types_from, file_type) = match (layout.type_column, given) {
        (true, _) => (TypeSource::Column, None),
        (false, Some(wine_type)) => (TypeSource::Given, Some(wine_type)),
        (false, None) => (TypeSource::FileName, Some(type_from_name(path)?)),
    };
    let items = rows.parse_each(None, |record| {
        layout.parse_record(&header, record, file_type)
    })?;
    if items.is_empty() {
        bail!("{}: {} but no wines", path.display(), layout.name());
    }
    Ok((layout, types_from, items))
}

/// The wines of one or more files, red before white (UCI's order) whatever the order of the
/// files; each type may come from one file only.
pub fn combine(files: Vec<WineFile>) -> Result<Vec<WineItem>> {
    for wine_type in TYPES {
        let holders: Vec<String> = files
            .iter()
            .filter(|f| f.count(wine_type) > 0)
            .map(|f| f.path.display().to_string())
            .collect();
        if holders.len() > 1 {
            bail!(
                "{} each hold {} wines; give each type once (a file per type, or one file with a \
                 type column)",
                holders.join(" and "),
                type_name(wine_type)
            );
        }
    }
    let mut items: Vec<WineItem> = files.into_iter().flat_map(|f| f.items).collect();
    items.sort_by_key(|item| item.input.wine_type != WineType::Red);
    Ok(items)
}

/// Which types `items` hold, for the log: `red and white`, `red only`, `white only`.
pub fn types_used(items: &[WineItem]) -> &'static str {
    let has = |t: WineType| items.iter().any(|item| item.input.wine_type == t);
    match (has(WineType::Red), has(WineType::White)) {
        (true, true) => "red and white",
        (true, false) => "red only",
        (false, true) => "white only",
        (false, false) => "none",
    }
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
    const KAGGLE_HEADER: &str = "fixed acidity,volatile acidity,citric acid,residual sugar,chlorides,free sulfur dioxide,total sulfur dioxide,density,pH,sulphates,alcohol,quality";
    const RED_ROW: &str = "7.4;0.7;0;1.9;0.076;11;34;0.9978;3.51;0.56;9.4;5";
    const WHITE_ROW: &str = "7;0.27;0.36;20.7;0.045;45;170;1.001;3;0.45;8.8;6";

    fn comma(row: &str) -> String {
        row.replace(';', ",")
    }

    fn parsed(name: &str, text: &str) -> Result<(WineLayout, TypeSource, Vec<WineItem>)> {
        parse(&Path::new("datasets").join(name), text.as_bytes(), None)
    }

    fn refusal(name: &str, text: &str) -> String {
        format!("{:#}", parsed(name, text).unwrap_err())
    }

    /// Asserts that `text`, read as `name`, is refused with a message that contains `expected`.
    fn assert_refused(name: &str, text: &str, expected: &str) {
        let message = refusal(name, text);
        assert!(message.contains(expected), "{message}");
    }

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn reads_the_uci_semicolon_csv_with_the_type_from_the_file_name() {
        let text = format!("{HEADER_LINE}{RED_ROW}\n\n");
        let (layout, source, items) = parsed("winequality-red.csv", &text).unwrap();
        assert_eq!(layout.name(), "UCI semicolon CSV");
        assert_eq!(source, TypeSource::FileName);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].quality, 5);
        assert_eq!(items[0].input.measurements[8], 3.51, "pH");
        assert_eq!(items[0].input.measurements[10], 9.4, "alcohol");
        assert_eq!(items[0].input.row()[11], 1.0, "red is 1");
        let (_, _, items) = parsed("WineQuality-WHITE.csv", &text).unwrap();
        assert_eq!(items[0].input.wine_type, WineType::White);
    }

    #[test]
    fn reads_comma_separated_copies_with_an_unquoted_header_and_crlf() {
        let text = format!("{KAGGLE_HEADER}\r\n{}\r\n", comma(RED_ROW));
        let (layout, _, items) = parsed("winequality-red.csv", &text).unwrap();
        assert_eq!(
            layout.name(),
            "comma CSV with UCI's columns (as Kaggle's Red Wine Quality)"
        );
        let (_, _, uci) =
            parsed("winequality-red.csv", &format!("{HEADER_LINE}{RED_ROW}\n")).unwrap();
        assert_eq!(items, uci, "the same wine whichever the separator");
    }

    #[test]
    fn reads_kaggle_winequality_n_with_its_type_column() {
        let text = format!(
            "type,{KAGGLE_HEADER}\nwhite,{}\nred,{}\nwhite,{}\n",
            comma(WHITE_ROW),
            comma(RED_ROW),
            comma(WHITE_ROW)
        );
        let dir = tempfile::tempdir().unwrap();
        let file = read_wines(&write(&dir, "wines.csv", &text)).unwrap();
        assert_eq!(file.types_from, TypeSource::Column);
        assert_eq!(
            file.description(),
            "Kaggle winequalityN.csv (comma CSV, type column), 1 red and 2 white wines"
        );
        let types: Vec<WineType> = file.items.iter().map(|i| i.input.wine_type).collect();
        assert_eq!(types, [WineType::White, WineType::Red, WineType::White]);
        assert_eq!(file.items[1].input.measurements[0], 7.4);
    }

    #[test]
    fn descriptions_say_the_layout_the_type_and_its_source_and_the_count() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{HEADER_LINE}{RED_ROW}\n{RED_ROW}\n");
        let file = read_wines(&write(&dir, "winequality-red.csv", &text)).unwrap();
        assert_eq!(
            file.description(),
            "UCI semicolon CSV, red wines (type from the file name), 2 wines"
        );
        assert_eq!(file.digests, FileDigests::of(text.as_bytes()));
    }

    #[test]
    fn rows_with_empty_fields_are_refused_naming_the_line_and_the_column() {
        let text = format!(
            "type,{KAGGLE_HEADER}\nwhite,{}\nred,7.4,0.7,0,1.9,,11,34,0.9978,3.51,0.56,9.4,5\n",
            comma(WHITE_ROW)
        );
        assert!(
            refusal("winequalityN.csv", &text).ends_with(
                "datasets/winequalityN.csv line 3: field 6 (chlorides) is empty; fill it in or remove the row"
            ),
            "{}",
            refusal("winequalityN.csv", &text)
        );
    }

    #[test]
    fn a_file_whose_type_cannot_be_told_is_refused_with_the_fix() {
        let text = format!("{HEADER_LINE}{RED_ROW}\n");
        let message = refusal("wines.csv", &text);
        assert!(
            message.starts_with("datasets/wines.csv: the wine type cannot be told")
                && message.contains("neither red nor white")
                && message.contains("name the file with red or white")
                && message.contains("add a first column type"),
            "{message}"
        );
        assert_refused("red-and-white.csv", &text, "says both red and white");
    }

    #[test]
    fn foreign_headers_and_bad_rows_are_refused() {
        let message = refusal("winequality-red.csv", "a;b\n1;2\n");
        assert_eq!(
            message,
            format!(
                "datasets/winequality-red.csv: a first line 'a;b' (2 columns separated by ';') \
                 that is not a Wine Quality header; accepted: {ACCEPTED}"
            )
        );
        assert_refused(
            "red.csv",
            "5.1,3.5,1.4,0.2,Iris-setosa\n",
            "'5.1,3.5,1.4,0.2,Iris-setosa' (5 columns",
        );
        // A header, a good row, then a bad third line.
        for (last, expected) in [
            (
                "7.4;0.7;0;1.9;0.076;11;34;0.9978;3.51;0.56;9.4;11",
                "red.csv line 3: quality '11' is not an integer from 0 to 10",
            ),
            (
                "7.4;0.7;0;1.9;0.076;11;34;0.9978;3.51;0.56;9.4",
                "line 3: expected 12 fields, found 11",
            ),
            (
                "7.4;0.7;0;1.9;0.076;11;34;0.9978;x;0.56;9.4;5",
                "line 3: ph 'x' is not a number",
            ),
            (
                "7.4;0.7;0;1.9;0.076;11;34;9.978;3.51;0.56;9.4;5",
                "line 3: density '9.978' is outside",
            ),
        ] {
            let text = format!("{HEADER_LINE}{RED_ROW}\n{last}\n");
            assert_refused("red.csv", &text, expected);
        }
        let text = format!("type,{KAGGLE_HEADER}\nrose,{}\n", comma(RED_ROW));
        assert_refused(
            "wines.csv",
            &text,
            "line 2: type 'rose' is neither red nor white",
        );
    }

    #[test]
    fn empty_header_only_binary_and_directory_files_are_refused() {
        assert_eq!(
            refusal("red.csv", "\n"),
            format!("datasets/red.csv: an empty file; accepted: {ACCEPTED}")
        );
        assert_eq!(
            refusal("red.csv", HEADER_LINE),
            "datasets/red.csv: UCI semicolon CSV but no wines"
        );
        let garbage = [0x7fu8, b'E', b'L', b'F', 0, 1, 2, 0xff];
        let message = format!(
            "{:#}",
            parse(Path::new("red.csv"), &garbage, None).unwrap_err()
        );
        assert_eq!(
            message,
            format!("red.csv: binary data, not text; accepted: {ACCEPTED}")
        );
        let dir = tempfile::tempdir().unwrap();
        let message = format!("{:#}", read_wines(dir.path()).unwrap_err());
        assert!(message.contains("is a directory"), "{message}");
    }

    #[test]
    fn each_type_comes_from_one_file_and_red_comes_first() {
        let dir = tempfile::tempdir().unwrap();
        let red = read_wines(&write(
            &dir,
            "red.csv",
            &format!("{HEADER_LINE}{RED_ROW}\n"),
        ))
        .unwrap();
        let white = read_wines(&write(
            &dir,
            "white.csv",
            &format!("{HEADER_LINE}{WHITE_ROW}\n"),
        ))
        .unwrap();
        let also_red = read_wines(&write(
            &dir,
            "winequality-red.csv",
            &format!("{HEADER_LINE}{RED_ROW}\n"),
        ))
        .unwrap();
        let items = combine(vec![white.clone(), red.clone()]).unwrap();
        assert_eq!(items, combine(vec![red.clone(), white]).unwrap());
        assert_eq!(items[0].input.wine_type, WineType::Red);
        assert_eq!(types_used(&items), "red and white");
        assert_eq!(types_used(&combine(vec![red.clone()]).unwrap()), "red only");
        let message = format!("{:#}", combine(vec![red, also_red]).unwrap_err());
        assert!(
            message.contains("red.csv and ") && message.contains("each hold red wines"),
            "{message}"
        );
    }

    #[test]
    fn load_items_refuses_a_file_of_another_type() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("type,{KAGGLE_HEADER}\nwhite,{}\n", comma(WHITE_ROW));
        let path = write(&dir, "x.csv", &text);
        assert_eq!(load_items(&path, WineType::White).unwrap().len(), 1);
        let message = format!("{:#}", load_items(&path, WineType::Red).unwrap_err());
        assert!(
            message.contains("holds white wines, not only red"),
            "{message}"
        );
    }

    #[test]
    fn one_type_alone_still_splits_by_quality() {
        let items: Vec<WineItem> = (0..200)
            .map(|i| WineItem {
                input: WineInput {
                    measurements: [1.0; 11],
                    wine_type: WineType::Red,
                },
                quality: 5 + (i % 3) as u8,
            })
            .collect();
        let splits = split(items, 42);
        assert_eq!(
            (splits.train.len(), splits.valid.len(), splits.test.len()),
            (140, 30, 30)
        );
        for part in [&splits.train, &splits.valid, &splits.test] {
            for quality in 5..8 {
                assert!(part.iter().any(|item| item.quality == quality));
            }
        }
    }
}
