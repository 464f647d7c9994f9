//! One line per epoch for pipes and CI, instead of burn's per-iteration lines: a metrics
//! renderer that prints the epoch means of every metric, train and valid. burn asks a renderer
//! for five traits; all but the epoch line are no-ops.

use std::collections::{BTreeMap, HashMap};

use burn::train::LearnerSummary;
use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};

/// The renderer: the epoch means of every metric, printed when an epoch ends.
#[derive(Debug, Default)]
pub struct EpochLog {
    names: HashMap<MetricId, String>,
    train: BTreeMap<String, f64>,
    valid: BTreeMap<String, f64>,
    total_epochs: usize,
}

impl EpochLog {
    fn record(
        names: &HashMap<MetricId, String>,
        into: &mut BTreeMap<String, f64>,
        state: MetricState,
    ) {
        if let MetricState::Numeric(entry, Some(NumericEntry::Final(value))) = state {
            let name = names
                .get(&entry.metric_id)
                .cloned()
                .unwrap_or_else(|| "metric".into());
            into.insert(name, value);
        }
    }

    fn line(&self, epoch: usize) -> String {
        let mut line = format!("epoch {epoch:>3}/{}", self.total_epochs);
        for (split, values) in [("train", &self.train), ("valid", &self.valid)] {
            for (name, value) in values {
                let name = name.to_lowercase().replace(' ', "_");
                line.push_str(&format!("  {split}_{name} {value:.4}"));
            }
        }
        line
    }
}

impl MetricsRendererTraining for EpochLog {
    fn update_train(&mut self, state: MetricState) {
        Self::record(&self.names, &mut self.train, state);
    }

    fn update_valid(&mut self, state: MetricState) {
        Self::record(&self.names, &mut self.valid, state);
    }

    fn on_train_end(
        &mut self,
        _summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        Ok(())
    }
}

impl TrainingProgressLogger for EpochLog {
    fn start(
        &mut self,
        total_epochs: usize,
        _starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
        self.total_epochs = total_epochs;
    }

    fn update_epoch(&mut self, epoch: usize) {
        println!("{}", self.line(epoch));
        self.train.clear();
        self.valid.clear();
    }

    fn start_split(&mut self, _split: &str, _total_items: usize) {}
    fn update_split(&mut self, _items_processed: usize) {}
    fn end_split(&mut self) {}
    fn end(&mut self) {}
    fn log_event_training(&mut self, _event: String) {}
}

impl MetricsRendererEvaluation for EpochLog {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}

    fn on_test_end(
        &mut self,
        _summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        Ok(())
    }
}

impl EvaluationProgressLogger for EpochLog {
    fn start_global_progress(&mut self, _total_tests: usize) {}
    fn start_test(&mut self, _name: &str, _total_items: usize) {}
    fn update_test_progress(&mut self, _items_processed: usize) {}
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for EpochLog {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id.clone(), definition.name.to_string());
    }
}
