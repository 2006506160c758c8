//! Prometheus metrics: HTTP requests and latencies, actions taken, mail queued and sent.
//! One registry per application; `/metrics` renders it in the Prometheus text format.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    /// The route pattern (`/api/v1/projects/{id}`), never the raw path, so ids do not
    /// multiply the series. Static: a count costs no allocation.
    pub route: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub definition: String,
    pub action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TemplateLabels {
    pub template: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    pub actions: Family<ActionLabels, Counter>,
    pub mail_queued: Family<TemplateLabels, Counter>,
    pub mail_sent: Family<OutcomeLabels, Counter>,
    pub appraisals: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~4 s
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.000_25, 2.0, 15,
    ))
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("sp");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let actions = Family::<ActionLabels, Counter>::default();
        let mail_queued = Family::<TemplateLabels, Counter>::default();
        let mail_sent = Family::<OutcomeLabels, Counter>::default();
        let appraisals = Counter::default();
        registry.register(
            "appraisals",
            "Resident appraisals accepted",
            appraisals.clone(),
        );
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            latency.clone(),
        );
        registry.register("actions", "Workflow actions taken", actions.clone());
        registry.register(
            "mail_queued",
            "Mails written to the outbox",
            mail_queued.clone(),
        );
        registry.register(
            "mail_delivered",
            "Mail delivery attempts by outcome (sent, retry, dead)",
            mail_sent.clone(),
        );
        Arc::new(Metrics {
            registry,
            requests,
            latency,
            actions,
            mail_queued,
            mail_sent,
            appraisals,
        })
    }

    pub fn action_taken(&self, definition: &str, action: &str) {
        self.actions
            .get_or_create(&ActionLabels {
                definition: definition.to_string(),
                action: action.to_string(),
            })
            .inc();
    }

    pub fn mail_queued(&self, template: &str, n: u64) {
        if n > 0 {
            self.mail_queued
                .get_or_create(&TemplateLabels {
                    template: template.to_string(),
                })
                .inc_by(n);
        }
    }

    pub fn mail_outcome(&self, outcome: &str, n: u64) {
        self.mail_sent
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_string(),
            })
            .inc_by(n);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
