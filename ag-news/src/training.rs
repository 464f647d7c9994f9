//! Training: the algorithm as its binaries present it, the learner's steps, and the run that
//! writes `artifacts/ag-news/`.

use std::time::Instant;

use anyhow::Result;
use burn::train::metric::{AccuracyMetric, LossMetric};
use module_kit::settings::{Optimizer, Schedule};
use train_kit::artifact::{write_atomic, write_json_atomic};
use train_kit::cli::{TrainAlgorithm, TrainDefaults, TrainRun};
use train_kit::finish::TrainedRun;
use train_kit::loader::EpochLoader;
use train_kit::resume::TrainingSession;
use train_kit::runner::{launch, learner};
use train_kit::save::RunInfo;

use crate::config::{AgNewsConfig, AgNewsOptions};
use crate::data::{
    AgNewsBatch, AgNewsBatcher, AgNewsItem, DataPlan, EncodedItem, describe, encode_items,
    load_datasets, load_split,
};
use crate::evaluation::evaluate;
use crate::inference::VOCAB_JSON;
use crate::model::{AgNewsModel, AgNewsModelConfig};
use crate::tokenizer::Tokenizer;

/// The committed model was trained with these defaults (and seed 42).
pub const ALGORITHM: TrainAlgorithm = TrainAlgorithm {
    name: "ag-news",
    model: "the AG News topic classifier",
    defaults: TrainDefaults {
        epochs: 10,
        batch_size: 32,
        learning_rate: 0.002,
        optimizer: Optimizer::adamw(0.0),
        schedule: Schedule::Constant,
    },
};

train_kit::impl_classification_steps!(AgNewsModel, AgNewsBatch);

/// Trains with `run`'s settings and replaces the artifact directory with the results.
pub fn train(run: &TrainRun<AgNewsOptions>) -> Result<()> {
    let started = Instant::now();
    let settings = &run.settings;
    let options = &settings.options;
    // `--dataset` files are read as given (layouts detected and announced); without them,
    // the canonical files under the data directory, verified against their checksums.
    let split = if run.datasets.is_empty() {
        load_split(&run.data_dir.path, options, settings.seed)?
    } else {
        load_datasets(&run.datasets, options, settings.seed)?
    };
    println!("ag-news: data: {}", describe(&split.plan));
    println!(
        "ag-news: {} training and {} evaluation articles",
        split.train.len(),
        split.evaluation.len()
    );
    let texts: Vec<String> = split.train.iter().map(AgNewsItem::text).collect();
    let built = Tokenizer::build(
        texts.iter().map(String::as_str),
        options.min_count,
        options.bigram_buckets,
        options.max_tokens,
    );
    // Train with the tokenizer exactly as vocab.json will give it to the inference module.
    let vocab_json = serde_json::to_vec(&built)?;
    let tokenizer: Tokenizer = serde_json::from_slice(&vocab_json)?;
    println!(
        "ag-news: vocabulary of {} words and {} bigram buckets",
        tokenizer.num_words(),
        options.bigram_buckets
    );
    let train_items: Vec<EncodedItem> = encode_items(&split.train, &tokenizer);
    let evaluation_items: Vec<EncodedItem> = encode_items(&split.evaluation, &tokenizer);

    let session = TrainingSession::open(run, &split.datasets)?;
    run.device.seed(settings.seed);
    let model_config = AgNewsModelConfig::new(tokenizer.vocab_size())
        .with_embedding_dim(options.embedding_dim)
        .with_dropout(options.dropout);
    // Parameters are created where gradients are tracked: on the autodiff device.
    let model = model_config.init(&run.device.clone().autodiff());
    let batcher = AgNewsBatcher {
        tokenizer: tokenizer.clone(),
    };
    let steps_per_epoch = train_items.len().div_ceil(settings.batch_size);
    let train = (train_items, settings.batch_size);
    let train_loader = session.train_loader(batcher.clone(), train, &run.device);
    let valid_loader = EpochLoader::validation(batcher, (evaluation_items, 256), &run.device);
    let training = session
        .training(train_loader, valid_loader)?
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .num_epochs(settings.epochs);
    let learner = learner(model, settings, settings.epochs * steps_per_epoch)?;
    let model = launch(training, learner)?;
    let training_seconds = started.elapsed().as_secs_f64();

    let trained = TrainedRun::classifier(session, "AG News training")?;
    let device = run.device.clone().inner();
    let evaluation = evaluate(
        &model,
        &tokenizer,
        &split.evaluation,
        split.plan.clone(),
        &device,
    )?;
    write_atomic(&trained.stage.path().join(VOCAB_JSON), &vocab_json)?;
    if let DataPlan::SingleFileSplit { .. } | DataPlan::DatasetSplit { .. } = split.plan {
        let rows: Vec<usize> = split.evaluation.iter().map(|item| item.row).collect();
        write_json_atomic(&trained.stage.path().join("evaluation_rows.json"), &rows)?;
    }

    let config = AgNewsConfig {
        model: model_config,
        training: settings.clone(),
    };
    let info = RunInfo::new(run, started, split.datasets);
    let (report, destination) = trained.save(model, &config, info, evaluation)?;
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
