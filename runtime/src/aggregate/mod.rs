//! Aggregation rules (feature `aggregate`): windowed percentiles, means,
//! rates, moving averages, ratios and expressions, declared once,
//! evaluated after every tick of the windows (never on the hot path), and
//! exported as gauge families beside the program's own, so every exporter,
//! the API and the stream see them.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use telltale::aggregate::{self, Rule};
//! use telltale::window::{MockClock, WindowConfig, Windows};
//!
//! static SERVED: telltale::Counter = telltale::Counter::new("aggregate_doc_served_total", "Requests served.");
//!
//! let clock = MockClock::new(Duration::from_secs(1_000));
//! let windows = Arc::new(Windows::with_clock(WindowConfig::default(), clock.clone()));
//! SERVED.inc_by(0); // a static registers on first use (or with `telltale::register!`)
//! let rules = [Rule::rate("aggregate_doc_served_total").window(Duration::from_secs(10))];
//! let aggregator = aggregate::start(&windows, &rules).map_err(|e| format!("{e:?}"))?;
//! for _ in 0..=10 {
//!     SERVED.inc_by(3);
//!     windows.tick(); // the rules run after every tick
//!     clock.advance(Duration::from_secs(1));
//! }
//! let text = telltale::render(telltale::Format::Prometheus);
//! assert!(text.contains("aggregate_doc_served_rate 3\n"), "{text}");
//! # drop(aggregator);
//! # Ok::<(), String>(())
//! ```
//!
//! # Rules
//!
//! | `type` | reads | exports, per series (or per `by` group) |
//! |---|---|---|
//! | `percentile` | a histogram | its observations' percentiles over the window, from the classic buckets, interpolated as Prometheus's `histogram_quantile`; one family with a `quantile` label (`"0.5"`, `"0.95"`) |
//! | `percentile` | a gauge | the percentiles of its samples over the window, as `quantile_over_time` |
//! | `mean` | a gauge / a histogram | the time-weighted mean / the mean observation |
//! | `min`, `max` | a gauge | its smallest / largest sample |
//! | `sum`, `count` | a histogram / a counter / a gauge | observations' sum and count / the increase / the samples' sum and count |
//! | `rate`, `increase` | a counter | its increase per second / its increase, restarts counted from zero |
//! | `moving_average` | a gauge | simple over the window, or exponential with `half_life` |
//! | `ratio` | `numerator`, `denominator` | counters' increases (gauges' values) divided, series matched by equal label sets |
//! | `expression` | other rules and metrics by name | `+ - * /`, parentheses, numbers, `min`, `max`, `abs`, `clamp` |
//!
//! A rule reading a metric of the program's own is checked when it starts:
//! the metric must be registered then (`#[timed]` and `#[tracked]`
//! functions and `telltale::register!`ed metrics are; another static metric
//! registers on its first use), and of a type the rule reads.
//!
//! A selector is `metric`, `metric{label="value", ...}`, or a configured
//! source's metric, `SOURCE.METRIC{...}`. With `by = ["label", ...]` the
//! selected series are first summed by those labels (histograms merged
//! bucket by bucket), and the others aggregated away; without it each
//! series is its own output, its labels kept.
//!
//! A window is sliding (`window = "5m"`: the last five minutes, ending at
//! the latest tick) or tumbling (`tumbling = true`: aligned five-minute
//! windows, the last completed one exported). A rule exports nothing
//! until the windows hold its whole window, and nothing for a series with
//! no observations in it; division by zero gives no sample. In an
//! expression, a name is a rule's output of the same tick (rules that read
//! others run after them), else a metric's value at the latest tick.
//!
//! # Cost
//!
//! Rules read the windows' frames, which keep with each series a running
//! total (a counter's increase, a gauge's integral), so a `rate`,
//! `increase`, `mean` or histogram rule reads each series at the two ends
//! of its window, whatever its length: its work per tick is linear in the
//! series it matches. `min`, `max`, and percentiles, sums and counts of
//! gauge samples read every tick of the window, so their window may be at
//! most `system.window.fine_retention`. A rule holds its outputs (and, for
//! an exponential moving average, one state per series); its outputs are
//! served, not stored in the windows' frames (rules read other rules
//! through expressions). Memory is bounded by the rules times the series
//! they match, independent of traffic and of time running.
//!
//! A source's histogram (classic buckets only) is read from its buckets; a
//! histogram of the program's own from its exponential store, through the
//! classic bounds it exports, so both give what `histogram_quantile` gives.

mod engine;
mod eval;
mod expr;
mod rule;
mod selector;

#[cfg(feature = "sources")]
pub(crate) use engine::set_source_scope;
pub use engine::{check, start, start_with, Aggregator, RuleStatus};
pub use rule::{Rule, RuleError, RuleKind, DEFAULT_WINDOW};
pub use selector::Selector;
