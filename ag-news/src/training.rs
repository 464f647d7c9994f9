//! Training: the data plan (official split, or an explicit single-file split), the learner's
//! steps, the evaluation and the run that writes `artifacts/ag-news/`.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::InMemDataset;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::AdamWConfig;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{ClassificationOutput, Learner, SupervisedTraining};
use clap::Args;
use common::artifact::{StagedDir, write_atomic, write_json_atomic};
use common::download::VerifiedFile;
use common::scores::argmax;
use common::train_cli::{TrainBinary, TrainDefaults, TrainRun};
use common::training::{EpochCurves, RunInfo, draw_classification_chart, launch, save_run};

use crate::data::{
    EncodedItem, NewsBatch, NewsBatcher, NewsItem, TEST_CSV, TRAIN_CSV, encode_items, load_items,
    single_file_split,
};
use crate::inference::AgNewsEvaluation;
use crate::model::{AgNewsArtifactConfig, AgNewsModel, AgNewsModelConfig, CLASSES, DataPlan};
use crate::tokenizer::Tokenizer;

/// The committed model was trained with these (and seed 42).
pub const DEFAULTS: TrainDefaults = TrainDefaults {
    epochs: 10,
    batch_size: 32,
    learning_rate: 0.002,
};

pub const CPU_BINARY: TrainBinary = TrainBinary {
    algorithm: "ag-news",
    binary: "ag-news-ndarray",
    about: "Trains the AG News topic classifier on the CPU and writes artifacts/ag-news/",
    defaults: DEFAULTS,
};

pub const WGPU_BINARY: TrainBinary = TrainBinary {
    algorithm: "ag-news",
    binary: "ag-news-wgpu",
    about: "Trains the AG News topic classifier on a GPU through wgpu and writes artifacts/ag-news/",
    defaults: DEFAULTS,
};

/// AG News options beside the common ones.
#[derive(Debug, Clone, Args)]
pub struct AgNewsArgs {
    /// Train on a seeded, stratified 80% of this one release file and evaluate on the other
    /// 20%, instead of train.csv / test.csv (for machines without train.csv)
    #[arg(long, value_name = "FILE", value_parser = ["test.csv", "train.csv"])]
    pub single_file_split: Option<String>,
    /// Size of the word and bigram embeddings
    #[arg(long, default_value_t = 32)]
    pub embedding_dim: usize,
    /// Hash buckets for word bigrams
    #[arg(long, default_value_t = 1 << 15)]
    pub bigram_buckets: u32,
    /// Times a word must appear in the training text to get its own embedding
    #[arg(long, default_value_t = 2)]
    pub min_count: usize,
    /// Tokens read per article at most
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// Dropout on the averaged embedding
    #[arg(long, default_value_t = 0.5)]
    pub dropout: f64,
    /// AdamW weight decay
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
}

impl AgNewsModel {
    fn forward_classification(&self, batch: NewsBatch) -> ClassificationOutput {
        let logits = self.forward(batch.tokens);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

common::impl_supervised_steps!(
    AgNewsModel,
    NewsBatch,
    ClassificationOutput,
    forward_classification
);

/// The training and evaluation articles, and what they are.
pub struct DataSplit {
    pub plan: DataPlan,
    pub train: Vec<NewsItem>,
    pub evaluation: Vec<NewsItem>,
    pub files: Vec<(&'static str, VerifiedFile)>,
}

/// Loads the data the options ask for. Without train.csv and without `--single-file-split`
/// this fails (after trying the download): it never falls back silently.
pub fn load_split(
    run_data_dir: &std::path::Path,
    args: &AgNewsArgs,
    seed: u64,
) -> Result<DataSplit> {
    if let Some(file) = &args.single_file_split {
        let remote = if file == "train.csv" {
            TRAIN_CSV
        } else {
            TEST_CSV
        };
        let verified = remote.fetch(run_data_dir)?;
        let (train, evaluation) = single_file_split(load_items(&verified.path)?, seed);
        return Ok(DataSplit {
            plan: DataPlan::SingleFileSplit { file: file.clone() },
            train,
            evaluation,
            files: vec![(remote.relative_path, verified)],
        });
    }
    let train_file = TRAIN_CSV.fetch(run_data_dir).context(
        "without train.csv, pass --single-file-split test.csv to train and evaluate on a \
         seeded 80/20 split of test.csv",
    )?;
    let test_file = TEST_CSV.fetch(run_data_dir)?;
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

fn describe(plan: &DataPlan) -> String {
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

/// Accuracy, mean cross-entropy and confusion matrix of `model` on `items`.
pub fn evaluate(
    model: &AgNewsModel,
    tokenizer: &Tokenizer,
    items: &[NewsItem],
    plan: DataPlan,
    device: &Device,
) -> Result<AgNewsEvaluation> {
    let encoded = encode_items(items, tokenizer);
    let mut confusion = vec![vec![0usize; CLASSES.len()]; CLASSES.len()];
    let mut loss_sum = 0f64;
    let batcher = NewsBatcher {
        tokenizer: tokenizer.clone(),
    };
    for chunk in encoded.chunks(512) {
        let batch = batcher.batch(chunk.to_vec(), device);
        let log_probabilities = log_softmax(model.forward(batch.tokens), 1)
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| anyhow!("cannot read the model's output: {e:?}"))?;
        for (scores, item) in log_probabilities.chunks_exact(CLASSES.len()).zip(chunk) {
            loss_sum -= f64::from(scores[item.label]);
            confusion[item.label][argmax(scores)] += 1;
        }
    }
    let correct: usize = (0..CLASSES.len()).map(|c| confusion[c][c]).sum();
    Ok(AgNewsEvaluation {
        data: plan,
        accuracy: correct as f64 / items.len().max(1) as f64,
        loss: loss_sum / items.len().max(1) as f64,
        examples: items.len(),
        confusion,
    })
}

/// Trains with `run`'s settings and replaces the artifact directory with the results.
pub fn train(run: TrainRun<AgNewsArgs>) -> Result<()> {
    let started = Instant::now();
    let args = &run.args;
    let split = load_split(&run.data_dir.path, &run.extra, args.seed)?;
    println!("ag-news: data: {}", describe(&split.plan));
    println!(
        "ag-news: {} training and {} evaluation articles",
        split.train.len(),
        split.evaluation.len()
    );
    let texts: Vec<String> = split.train.iter().map(NewsItem::text).collect();
    let built = Tokenizer::build(
        texts.iter().map(String::as_str),
        run.extra.min_count,
        run.extra.bigram_buckets,
        run.extra.max_tokens,
    );
    // Train with the tokenizer exactly as vocab.json will give it to the inference module.
    let vocab_json = serde_json::to_vec(&built)?;
    let tokenizer: Tokenizer = serde_json::from_slice(&vocab_json)?;
    println!(
        "ag-news: vocabulary of {} words and {} bigram buckets",
        tokenizer.num_words(),
        run.extra.bigram_buckets
    );
    let train_items: Vec<EncodedItem> = encode_items(&split.train, &tokenizer);
    let evaluation_items: Vec<EncodedItem> = encode_items(&split.evaluation, &tokenizer);

    run.device.seed(args.seed);
    let model_config = AgNewsModelConfig::new(tokenizer.vocab_size())
        .with_embedding_dim(run.extra.embedding_dim)
        .with_dropout(run.extra.dropout);
    // Parameters are created where gradients are tracked: on the autodiff device.
    let model = model_config.init(&run.device.clone().autodiff());
    let batcher = NewsBatcher {
        tokenizer: tokenizer.clone(),
    };
    let train_loader = DataLoaderBuilder::new(batcher.clone())
        .batch_size(args.batch_size)
        .shuffle(args.seed)
        .build(InMemDataset::new(train_items));
    let valid_loader = DataLoaderBuilder::new(batcher)
        .batch_size(256)
        .build(InMemDataset::new(evaluation_items));

    let stage = StagedDir::new(&run.artifact_dir)?;
    let training = SupervisedTraining::new(stage.path(), train_loader, valid_loader)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .num_epochs(args.epochs);
    let optimizer = AdamWConfig::new()
        .with_weight_decay(run.extra.weight_decay)
        .init();
    let learner = Learner::new(model, optimizer, args.learning_rate);
    let model = launch(training, learner)?;
    let training_seconds = started.elapsed().as_secs_f64();

    let curves = EpochCurves::read(stage.path(), &["Loss", "Accuracy"])?;
    println!("{}", curves.summary);
    draw_classification_chart(stage.path(), "AG News training", &curves)?;
    let device = run.device.clone().inner();
    let evaluation = evaluate(
        &model,
        &tokenizer,
        &split.evaluation,
        split.plan.clone(),
        &device,
    )?;
    write_atomic(&stage.path().join("vocab.json"), &vocab_json)?;
    if let DataPlan::SingleFileSplit { .. } = split.plan {
        let rows: Vec<usize> = split.evaluation.iter().map(|item| item.row).collect();
        write_json_atomic(&stage.path().join("evaluation_rows.json"), &rows)?;
    }

    let settings = args.settings();
    let config = AgNewsArtifactConfig {
        model: model_config,
        training: settings.clone(),
        data: split.plan.clone(),
    };
    let info = RunInfo {
        algorithm: "ag-news",
        backend: run.backend.clone(),
        settings,
        started,
        dataset_sha256: split
            .files
            .into_iter()
            .map(|(path, file)| (path.to_owned(), file.sha256))
            .collect::<BTreeMap<_, _>>(),
    };
    let (report, destination) = save_run(
        stage,
        model,
        &config,
        info,
        curves.summary.epochs,
        evaluation,
    )?;
    println!(
        "ag-news: accuracy {:.2}% (loss {:.4}) on {} evaluation articles; trained in {training_seconds:.0} s; artifacts in {}",
        report.evaluation.accuracy * 100.0,
        report.evaluation.loss,
        report.evaluation.examples,
        destination.display()
    );
    println!("ag-news: data: {}", describe(&split.plan));
    Ok(())
}
