//! `render` writes the text formats straight from the live metrics, without a
//! snapshot. These tests hold it to the snapshot path: for every kind of
//! metric (dense and hashed families of each type, overflow series, static
//! metrics, instrumented functions sharing their families, two families of
//! one name, clashing names), both texts parse, strictly, to the same
//! families in the same order with the same samples.
//!
//! One test function: the comparison needs no other thread recording while
//! both texts are taken.

use telltale::parse::{self, ParsedFamily};
use telltale::snapshot::Snapshot;
use telltale::{Counter, Family, Format, Gauge, Histogram, LabelSet, LabelValue};

#[derive(Clone, Copy, LabelValue)]
enum Method {
    Get,
    Post,
    #[label(rename = "PUT")]
    Put,
}

#[derive(Clone, Copy, LabelSet)]
struct Http {
    method: Method,
    ok: bool,
}

#[derive(LabelSet)]
struct Tenant {
    tenant: String,
    region: String,
}

static DENSE: Family<Http, Counter> = Family::new("render_test_requests_total", "Requests.");
static DENSE_LATENCY: Family<Http, Histogram> =
    Family::new("render_test_latency_seconds", "Latency.").with_buckets(&[0.01, 0.1, 1.0]);
static HASHED: Family<Tenant, Counter> = Family::new(
    "render_test_jobs_total",
    "Jobs by \"tenant\".\nSecond line.",
)
.with_cap(4);
static HASHED_DEPTH: Family<Tenant, Gauge> = Family::new("render_test_depth", "Queue depth.");
static HASHED_SIZES: Family<Tenant, Histogram> =
    Family::new("render_test_size_bytes", "Sizes.").with_buckets(&[10.0, 1000.0]);

// Two families of one name and type: their series merge, in both paths.
static SHARED_A: Family<Tenant, Counter> = Family::new("render_test_shared_total", "Shared.");
static SHARED_B: Family<Tenant, Counter> = Family::new("render_test_shared_total", "Shared.");

// Two histogram families of one name with other bounds: the first one's
// bounds are kept. And a family of the same name as a `Tenant` one, with its
// labels in the other order: the order of the first one is kept.
static SHARED_H_A: Family<Tenant, Histogram> =
    Family::new("render_test_shared_seconds", "Shared.").with_buckets(&[0.1, 1.0]);
static SHARED_H_B: Family<Tenant, Histogram> =
    Family::new("render_test_shared_seconds", "Shared.").with_buckets(&[0.5, 5.0]);

#[derive(LabelSet)]
struct TenantReversed {
    region: String,
    tenant: String,
}

static REVERSED: Family<TenantReversed, Counter> =
    Family::new("render_test_shared_total", "Shared.");

static DENSE_GAUGE: Family<Http, Gauge> = Family::new("render_test_in_flight", "In flight.");

// A gauge family whose name the counter family above takes (`_total`): the
// family registered later is left out, in both paths.
static CLASHING: Family<Tenant, Gauge> = Family::new("render_test_jobs_total", "Clash.");

static STATIC_COUNTER: Counter = Counter::new("render_test_static_total", "A static counter.");
static STATIC_HISTOGRAM: Histogram = Histogram::new("render_test_static_seconds", "Static.");

#[telltale::timed]
fn render_test_timed(n: u64) -> u64 {
    n + 1
}

#[telltale::tracked]
fn render_test_tracked(fail: bool) -> Result<(), std::fmt::Error> {
    if fail {
        Err(std::fmt::Error)
    } else {
        Ok(())
    }
}

fn tenant(tenant: &str, region: &str) -> Tenant {
    Tenant {
        tenant: tenant.to_owned(),
        region: region.to_owned(),
    }
}

fn record() {
    DENSE
        .labels(Http {
            method: Method::Get,
            ok: true,
        })
        .inc_by(3);
    DENSE
        .labels(Http {
            method: Method::Put,
            ok: false,
        })
        .inc();
    for v in [0.005, 0.05, 0.5, 5.0] {
        DENSE_LATENCY
            .labels(Http {
                method: Method::Post,
                ok: true,
            })
            .observe(v);
    }
    // Five tenants past a cap of four: one goes to the overflow series.
    for (i, name) in ["a", "b\"quoted\"", "c\\d", "new\nline", "e"]
        .into_iter()
        .enumerate()
    {
        HASHED.labels(tenant(name, "eu")).inc_by(i as u64 + 1);
    }
    HASHED_DEPTH.labels(tenant("a", "eu")).set(-2.5);
    // Interned but never set: written as 0.
    let _ = HASHED_DEPTH.labels(tenant("b", "us"));
    HASHED_SIZES.labels(tenant("a", "eu")).observe(12.0);
    let _ = HASHED_SIZES.labels(tenant("z", "us"));
    SHARED_A.labels(tenant("a", "eu")).inc_by(2);
    SHARED_A.labels(tenant("only_a", "eu")).inc();
    // The first to join `SHARED_A`'s family has its labels in the other
    // order; the series keeps `SHARED_A`'s.
    REVERSED
        .labels(TenantReversed {
            region: "eu".to_owned(),
            tenant: "a".to_owned(),
        })
        .inc_by(10);
    SHARED_B.labels(tenant("a", "eu")).inc_by(5);
    SHARED_B.labels(tenant("only_b", "eu")).inc();
    CLASHING.labels(tenant("a", "eu")).set(1.0);
    SHARED_H_A.labels(tenant("a", "eu")).observe(0.3);
    SHARED_H_B.labels(tenant("a", "eu")).observe(0.3);
    SHARED_H_B.labels(tenant("b", "eu")).observe(3.0);
    DENSE_GAUGE
        .labels(Http {
            method: Method::Get,
            ok: true,
        })
        .set(2.0);
    let dynamic = telltale::dynamic::histogram("render_test_dynamic_seconds")
        .help("A dynamic histogram.")
        .required_labels(["queue"])
        .register()
        .expect("a new dynamic histogram");
    dynamic
        .labels([("queue", "emails")])
        .observe(0.02)
        .expect("every label bound");
    STATIC_COUNTER.inc_by(7);
    STATIC_HISTOGRAM.observe(0.25);
    for n in 0..3 {
        render_test_timed(n);
    }
    let _ = render_test_tracked(true);
    let _ = render_test_tracked(false);
}

/// Each family as (name, type, unit, help) with its samples, sorted:
/// everything but the order of series within a family.
type Families = Vec<(
    (String, String, Option<String>, Option<String>),
    Vec<String>,
)>;

fn families(parsed: Vec<ParsedFamily>) -> Families {
    parsed
        .into_iter()
        .map(|f| {
            let mut samples: Vec<String> = f
                .samples
                .iter()
                // Labels in the order written: both paths keep a series'
                // first order.
                .map(|s| format!("{}{:?} {}", s.name, s.labels, s.value))
                .collect();
            samples.sort();
            (
                (f.name, f.kind.as_str().to_owned(), f.unit, f.help),
                samples,
            )
        })
        .collect()
}

fn snapshot_text(format: Format) -> String {
    let mut out = String::new();
    telltale::encode::encode(&Snapshot::collect(), format, &mut out);
    out
}

/// The value of the sample `name` with exactly these `labels`, in parsed text.
fn value(parsed: &[ParsedFamily], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut wanted: Vec<(String, String)> = labels
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    wanted.sort();
    parsed.iter().flat_map(|f| &f.samples).find_map(|s| {
        let mut got = s.labels.clone();
        got.sort();
        (s.name == name && got == wanted).then_some(s.value)
    })
}

#[test]
fn render_writes_what_the_snapshot_path_writes() {
    record();
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let direct = telltale::render(format);
        let via_snapshot = snapshot_text(format);
        let parse = |text: &str| match format {
            Format::OpenMetrics => parse::openmetrics(text),
            _ => parse::prometheus(text),
        };
        let parsed = parse(&direct).unwrap_or_else(|e| panic!("{format:?}: {e}\n{direct}"));
        let expected = parse(&via_snapshot).expect("the snapshot path parses");
        assert_eq!(
            families(parsed.clone()),
            families(expected),
            "{format:?}:\n{direct}\n---\n{via_snapshot}"
        );

        // And the values are the ones recorded, not only the same in both.
        let total = |f: &str| match format {
            Format::OpenMetrics => f.trim_end_matches("_total").to_owned() + "_total",
            _ => f.to_owned(),
        };
        let jobs = total("render_test_jobs_total");
        assert_eq!(
            value(&parsed, &jobs, &[("tenant", "a"), ("region", "eu")]),
            Some(1.0)
        );
        assert_eq!(
            value(&parsed, &jobs, &[("tenant", "new\nline"), ("region", "eu")]),
            Some(4.0)
        );
        assert_eq!(
            value(&parsed, &jobs, &[("otel_metric_overflow", "true")]),
            Some(5.0)
        );
        let shared = total("render_test_shared_total");
        assert_eq!(
            value(&parsed, &shared, &[("tenant", "a"), ("region", "eu")]),
            Some(17.0),
            "the three families of one name merge"
        );
        assert_eq!(
            value(&parsed, &shared, &[("tenant", "only_b"), ("region", "eu")]),
            Some(1.0)
        );
        assert_eq!(
            value(
                &parsed,
                &total("render_test_requests_total"),
                &[("method", "PUT"), ("ok", "false")]
            ),
            Some(1.0)
        );
        // A dense series never recorded is left out.
        assert_eq!(
            value(
                &parsed,
                &total("render_test_requests_total"),
                &[("method", "get"), ("ok", "false")]
            ),
            None
        );
        // Written with the first family's label order.
        let first_order = "\nrender_test_shared_total{tenant=\"a\",region=\"eu\"} 17\n";
        assert!(direct.contains(first_order), "{direct}");
        let shared_bucket = "render_test_shared_seconds_bucket";
        let a_eu = |le: &'static str| [("tenant", "a"), ("region", "eu"), ("le", le)];
        assert_eq!(value(&parsed, shared_bucket, &a_eu("1.0")), Some(2.0));
        assert_eq!(value(&parsed, shared_bucket, &a_eu("0.5")), None);
        assert_eq!(
            value(
                &parsed,
                "render_test_in_flight",
                &[("method", "get"), ("ok", "true")]
            ),
            Some(2.0)
        );
        assert_eq!(
            value(
                &parsed,
                "render_test_dynamic_seconds_count",
                &[("queue", "emails")]
            ),
            Some(1.0)
        );
        let post = [("method", "post"), ("ok", "true")];
        let le = |le: &'static str| [post[0], post[1], ("le", le)];
        let bucket = "render_test_latency_seconds_bucket";
        assert_eq!(value(&parsed, bucket, &le("0.01")), Some(1.0));
        assert_eq!(value(&parsed, bucket, &le("1.0")), Some(3.0));
        assert_eq!(value(&parsed, bucket, &le("+Inf")), Some(4.0));
        assert_eq!(
            value(&parsed, "render_test_latency_seconds_count", &post),
            Some(4.0)
        );
        assert_eq!(
            value(
                &parsed,
                "render_test_depth",
                &[("tenant", "b"), ("region", "us")]
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                &parsed,
                "render_test_size_bytes_count",
                &[("tenant", "z"), ("region", "us")]
            ),
            Some(0.0)
        );
        // Families in the order of their names (a counter's without `_total`).
        let names: Vec<&str> = parsed.iter().map(|f| f.name.as_str()).collect();
        let stems: Vec<&str> = parsed
            .iter()
            .map(|f| match f.kind {
                parse::FamilyKind::Counter => f.name.trim_end_matches("_total"),
                _ => &f.name,
            })
            .collect();
        assert!(
            stems.windows(2).all(|w| w[0] < w[1]),
            "families in name order: {names:?}"
        );
        // The clashing gauge is left out whichever family survived; one
        // family holds the name.
        let jobs_family = match format {
            Format::OpenMetrics => "render_test_jobs",
            _ => "render_test_jobs_total",
        };
        assert_eq!(names.iter().filter(|n| **n == jobs_family).count(), 1);
        if format == Format::OpenMetrics {
            assert!(direct.ends_with("# EOF\n"));
        }

        // `render_into` appends to what the buffer holds.
        let mut out = String::from("# before\n");
        telltale::encode::render_into(format, &mut out);
        assert_eq!(out.strip_prefix("# before\n"), Some(direct.as_str()));
    }
}
