//! Prometheus metrics at `/metrics`: requests by model and status, latency, instantiation time,
//! fuel and memory used per run.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::sandbox::Usage;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    model: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
}

type Histograms = Family<ModelLabels, Histogram, fn() -> Histogram>;

/// The server's metrics and the registry that renders them.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Histograms,
    instantiation: Histograms,
    run: Histograms,
    fuel: Histograms,
    memory: Histograms,
}

fn seconds() -> Histogram {
    // 20 microseconds to about 10 seconds.
    Histogram::new(exponential_buckets(2e-5, 2.0, 20))
}

fn fuel_units() -> Histogram {
    Histogram::new(exponential_buckets(1e4, 4.0, 14))
}

fn memory_bytes() -> Histogram {
    Histogram::new(exponential_buckets(65536.0, 2.0, 16))
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("model_server");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Histograms::new_with_constructor(seconds);
        let instantiation = Histograms::new_with_constructor(seconds);
        let run = Histograms::new_with_constructor(seconds);
        let fuel = Histograms::new_with_constructor(fuel_units);
        let memory = Histograms::new_with_constructor(memory_bytes);
        registry.register(
            "requests",
            "Requests answered, by model and HTTP status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its answer, queueing included",
            latency.clone(),
        );
        registry.register(
            "instantiation_seconds",
            "Time to make the fresh instance of a request",
            instantiation.clone(),
        );
        registry.register(
            "run_seconds",
            "Time one run spent in its module, instantiation excluded",
            run.clone(),
        );
        registry.register("fuel_used", "WebAssembly fuel one run used", fuel.clone());
        registry.register(
            "memory_bytes",
            "Peak linear memory of one run",
            memory.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            requests,
            latency,
            instantiation,
            run,
            fuel,
            memory,
        }
    }

    /// Counts one answered request.
    pub(crate) fn request(&self, model: &str, status: u16, took: Duration) {
        let labels = RequestLabels {
            model: model.to_owned(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&ModelLabels {
                model: model.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Records what one run cost.
    pub(crate) fn run(&self, model: &str, usage: &Usage) {
        let labels = ModelLabels {
            model: model.to_owned(),
        };
        self.instantiation
            .get_or_create(&labels)
            .observe(usage.instantiate.as_secs_f64());
        self.run
            .get_or_create(&labels)
            .observe(usage.run.as_secs_f64());
        self.fuel.get_or_create(&labels).observe(usage.fuel as f64);
        self.memory
            .get_or_create(&labels)
            .observe(usage.memory_bytes as f64);
    }

    /// The text exposition format.
    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        encode(&mut text, &registry).expect("writing to a String cannot fail");
        text
    }
}
