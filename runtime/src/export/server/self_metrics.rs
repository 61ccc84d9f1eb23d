//! The server's own series: scrapes by format and encoding, rejected requests by reason.

use crate::metric::family::Family;
use crate::metric::standalone::Counter;
use telltale_macros::{LabelSet, LabelValue};

#[derive(Debug, Clone, Copy, LabelValue)]
#[label(crate = crate, rename_all = "lowercase")]
pub(super) enum FormatLabel {
    Prometheus,
    OpenMetrics,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, LabelValue)]
#[label(crate = crate, rename_all = "lowercase")]
pub(super) enum EncodingLabel {
    Identity,
    Gzip,
}

#[derive(Debug, Clone, Copy, LabelSet)]
#[label(crate = crate)]
pub(super) struct ScrapeLabels {
    pub(super) format: FormatLabel,
    pub(super) encoding: EncodingLabel,
}

#[derive(Debug, Clone, Copy, LabelValue)]
#[label(crate = crate)]
pub(super) enum Rejection {
    ConnectionLimit,
    Unauthorized,
    HeaderTimeout,
    IdleTimeout,
}

#[derive(Debug, Clone, Copy, LabelSet)]
#[label(crate = crate)]
pub(super) struct RejectionLabels {
    pub(super) reason: Rejection,
}

pub(super) static SCRAPES: Family<ScrapeLabels, Counter> = Family::new(
    "telltale_server_scrapes_total",
    "Expositions the metrics server sent, by format and content encoding.",
);

pub(super) static REJECTED: Family<RejectionLabels, Counter> = Family::new(
    "telltale_server_rejected_total",
    "Connections the metrics server refused or closed, and requests it refused, by reason.",
);

pub(super) fn count_rejection(reason: Rejection) {
    REJECTED.labels(RejectionLabels { reason }).inc();
}
