//! Reading a source's output into a batch: Prometheus text, OpenMetrics
//! text (both with the strict parsers of [`crate::parse`]) or the JSON
//! document of [`Format::Json`](crate::Format::Json).

use std::collections::BTreeMap;

use super::batch::{Batch, HistogramPoints};
use crate::parse::{self, FamilyKind, ParsedFamily};

/// The format of a source's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "json", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "json", serde(rename_all = "snake_case"))]
pub enum OutputFormat {
    /// The Prometheus text format 0.0.4 (the default).
    #[default]
    Prometheus,
    /// OpenMetrics 1.0 text, ending with `# EOF`.
    #[cfg_attr(feature = "json", serde(alias = "open_metrics"))]
    Openmetrics,
    /// The JSON document of [`Format::Json`](crate::Format::Json), schema 1.
    Json,
}

impl OutputFormat {
    /// The format's name in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Prometheus => "prometheus",
            OutputFormat::Openmetrics => "openmetrics",
            OutputFormat::Json => "json",
        }
    }
}

/// Reads `text`, in `format`, into a batch: the families of types telltale
/// exports (counters, gauges, histograms; `unknown`/untyped families and
/// OpenMetrics `info` and `stateset` families as gauges). Summaries and
/// gauge histograms are refused, as is anything the strict parsers refuse.
///
/// # Errors
///
/// What is wrong and where (`line N: ...`).
pub fn read(format: OutputFormat, text: &str) -> Result<Batch, String> {
    match format {
        OutputFormat::Prometheus => {
            let families = parse::prometheus(text).map_err(|e| e.to_string())?;
            from_families(&families, false)
        }
        OutputFormat::Openmetrics => {
            let families = parse::openmetrics(text).map_err(|e| e.to_string())?;
            from_families(&families, true)
        }
        OutputFormat::Json => from_json(text),
    }
}

fn labels_of(pairs: &[(String, String)], skip: &str) -> Vec<(String, String)> {
    pairs.iter().filter(|(k, _)| k != skip).cloned().collect()
}

fn borrowed(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The parsed families as a batch.
fn from_families(families: &[ParsedFamily], openmetrics: bool) -> Result<Batch, String> {
    let mut batch = Batch::new();
    for f in families {
        let help = f.help.as_deref().unwrap_or("");
        let add = |batch: &mut Batch| -> Result<(), crate::error::Error> {
            match f.kind {
                FamilyKind::Counter => {
                    for s in &f.samples {
                        let total = if openmetrics {
                            s.name.ends_with("_total")
                        } else {
                            true
                        };
                        if total {
                            batch.counter(&f.name, help, &borrowed(&s.labels), s.value)?;
                        }
                    }
                }
                FamilyKind::Gauge
                | FamilyKind::Unknown
                | FamilyKind::Info
                | FamilyKind::StateSet => {
                    for s in &f.samples {
                        batch.gauge(&s.name, help, &borrowed(&s.labels), s.value)?;
                    }
                }
                FamilyKind::Histogram => histograms(batch, f, help)?,
                FamilyKind::Summary | FamilyKind::GaugeHistogram => {
                    return Err(crate::error::Error::Conflict {
                        name: f.name.clone(),
                        reason: format!(
                            "as a {}: sources export counters, gauges and histograms",
                            f.kind
                        ),
                    })
                }
            }
            Ok(())
        };
        add(&mut batch).map_err(|e| e.to_string())?;
        if let Some(unit) = f.unit.as_deref().filter(|u| !u.is_empty()) {
            if batch.families.contains_key(&f.name) {
                batch.set_unit(&f.name, unit).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(batch)
}

/// The histograms of `f`: its `_bucket`, `_count` and `_sum` samples
/// grouped by their labels (without `le`).
fn histograms(batch: &mut Batch, f: &ParsedFamily, help: &str) -> Result<(), crate::error::Error> {
    #[derive(Default)]
    struct Parts {
        buckets: Vec<(f64, u64)>,
        inf: Option<u64>,
        count: Option<u64>,
        sum: f64,
    }
    let mut by_labels: BTreeMap<Vec<(String, String)>, Parts> = BTreeMap::new();
    let bad = |reason: String| crate::error::Error::Conflict {
        name: f.name.clone(),
        reason,
    };
    for s in &f.samples {
        let labels = labels_of(&s.labels, "le");
        let parts = by_labels.entry(labels).or_default();
        let suffix = s.name.strip_prefix(f.name.as_str()).unwrap_or("");
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        // checked whole and not negative
        let whole = |v: f64| -> Result<u64, crate::error::Error> {
            if v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(63) {
                Ok(v as u64)
            } else {
                Err(bad(format!(
                    "with the count {v}: counts are whole numbers of at least 0"
                )))
            }
        };
        match suffix {
            "_bucket" => {
                let le = s.label("le").unwrap_or("");
                let bound: f64 = match le {
                    "+Inf" => f64::INFINITY,
                    text => text
                        .parse()
                        .map_err(|_| bad(format!("with the bucket le={text:?}")))?,
                };
                if bound == f64::INFINITY {
                    parts.inf = Some(whole(s.value)?);
                } else {
                    parts.buckets.push((bound, whole(s.value)?));
                }
            }
            "_count" => parts.count = Some(whole(s.value)?),
            "_sum" => parts.sum = s.value,
            _ => {}
        }
    }
    for (labels, mut parts) in by_labels {
        parts
            .buckets
            .sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
        let count = parts.count.or(parts.inf).unwrap_or(0);
        batch.histogram(
            &f.name,
            help,
            &borrowed(&labels),
            HistogramPoints {
                count,
                sum: parts.sum,
                buckets: parts.buckets,
            },
        )?;
    }
    Ok(())
}

/// A number in the JSON document: a number, or `"NaN"`, `"+Inf"`, `"-Inf"`.
#[cfg(feature = "json")]
fn json_number(value: &serde_json::Value, what: &str) -> Result<f64, String> {
    match value {
        serde_json::Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| format!("{what}: {n} is not a number")),
        serde_json::Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "+Inf" => Ok(f64::INFINITY),
            "-Inf" => Ok(f64::NEG_INFINITY),
            other => Err(format!("{what}: {other:?} is not a number")),
        },
        other => Err(format!("{what}: {other} is not a number")),
    }
}

/// The JSON document (schema 1) as a batch.
#[cfg(feature = "json")]
fn from_json(text: &str) -> Result<Batch, String> {
    use serde_json::Value as J;
    let doc: J = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if doc.get("schema").and_then(J::as_u64) != Some(1) {
        return Err("`schema` must be 1".to_owned());
    }
    let families = doc
        .get("families")
        .and_then(J::as_array)
        .ok_or("`families` must be an array")?;
    let mut batch = Batch::new();
    for (i, f) in families.iter().enumerate() {
        let at = |what: &str| format!("families[{i}].{what}");
        let name = f
            .get("name")
            .and_then(J::as_str)
            .ok_or_else(|| format!("{} must be a string", at("name")))?;
        let kind = f
            .get("type")
            .and_then(J::as_str)
            .ok_or_else(|| format!("{} must be a string", at("type")))?;
        let help = f.get("help").and_then(J::as_str).unwrap_or("");
        let series = f
            .get("series")
            .and_then(J::as_array)
            .ok_or_else(|| format!("{} must be an array", at("series")))?;
        for (j, s) in series.iter().enumerate() {
            let at = |what: &str| format!("families[{i}].series[{j}].{what}");
            let labels: Vec<(String, String)> = match s.get("labels") {
                None => Vec::new(),
                Some(J::Object(map)) => map
                    .iter()
                    .map(|(k, v)| {
                        v.as_str()
                            .map(|v| (k.clone(), v.to_owned()))
                            .ok_or_else(|| format!("{}: label values are strings", at("labels")))
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(format!("{} must be an object", at("labels"))),
            };
            let labels = borrowed(&labels);
            let value = |key: &str| -> Result<f64, String> {
                json_number(s.get(key).unwrap_or(&J::Null), &at(key))
            };
            let result = match kind {
                "counter" => batch.counter(name, help, &labels, value("value")?),
                "gauge" => batch.gauge(name, help, &labels, value("value")?),
                "histogram" => {
                    let count = s
                        .get("count")
                        .and_then(J::as_u64)
                        .ok_or_else(|| format!("{} must be a whole number", at("count")))?;
                    let mut buckets = Vec::new();
                    for b in s.get("buckets").and_then(J::as_array).into_iter().flatten() {
                        let le = json_number(b.get("le").unwrap_or(&J::Null), &at("buckets.le"))?;
                        let n = b.get("count").and_then(J::as_u64).ok_or_else(|| {
                            format!("{} must be a whole number", at("buckets.count"))
                        })?;
                        if le != f64::INFINITY {
                            buckets.push((le, n));
                        }
                    }
                    batch.histogram(
                        name,
                        help,
                        &labels,
                        HistogramPoints {
                            count,
                            sum: value("sum")?,
                            buckets,
                        },
                    )
                }
                other => return Err(format!("{}: unknown type {other:?}", at("type"))),
            };
            result.map_err(|e| e.to_string())?;
        }
        if let Some(unit) = f.get("unit").and_then(J::as_str).filter(|u| !u.is_empty()) {
            if batch.families.contains_key(name)
                || batch.families.contains_key(name.trim_end_matches("_total"))
            {
                batch.set_unit(name, unit).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(batch)
}

#[cfg(not(feature = "json"))]
fn from_json(_text: &str) -> Result<Batch, String> {
    Err("the JSON format needs telltale's `json` feature".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_becomes_a_batch() {
        let text = "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total{q=\"a\"} 3\n\
                    # TYPE temp gauge\ntemp 21.5\nuntyped_thing 7\n\
                    # TYPE lat_seconds histogram\nlat_seconds_bucket{le=\"0.5\"} 1\nlat_seconds_bucket{le=\"+Inf\"} 4\nlat_seconds_count 4\nlat_seconds_sum 3.5\n";
        let b = read(OutputFormat::Prometheus, text).unwrap();
        assert_eq!(b.value("jobs_total", &[("q", "a")]), Some(3.0));
        assert_eq!(b.value("temp", &[]), Some(21.5));
        assert_eq!(b.value("untyped_thing", &[]), Some(7.0));
        assert_eq!(b.value("lat_seconds", &[]), Some(4.0));
        assert_eq!(b.families["jobs"].help, "Jobs.");
        let err = read(
            OutputFormat::Prometheus,
            "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_count 1\ns_sum 1\n",
        )
        .unwrap_err();
        assert!(err.contains("summary"), "{err}");
        let err = read(OutputFormat::Prometheus, "garbage here\n").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn openmetrics_text_becomes_a_batch() {
        let text = "# TYPE jobs counter\njobs_total 3\njobs_created 1700000000\n# TYPE size_bytes gauge\n# UNIT size_bytes bytes\nsize_bytes 10\n# EOF\n";
        let b = read(OutputFormat::Openmetrics, text).unwrap();
        assert_eq!(b.value("jobs", &[]), Some(3.0));
        assert_eq!(b.families["size_bytes"].unit, Some("bytes"));
        assert!(
            read(OutputFormat::Openmetrics, "jobs_total 3\n").is_err(),
            "no # EOF"
        );
    }

    #[cfg(feature = "json")]
    #[test]
    fn the_json_document_becomes_a_batch() {
        let mut b = Batch::new();
        b.counter("c_total", "C.", &[("k", "v")], 2.0).unwrap();
        b.gauge("g", "", &[], f64::INFINITY).unwrap();
        let text = r#"{"schema":1,"timestamp_ms":1,"families":[
            {"name":"c","type":"counter","unit":null,"help":"C.","series":[{"labels":{"k":"v"},"value":2,"created":null}]},
            {"name":"g","type":"gauge","unit":null,"help":"","series":[{"labels":{},"value":"+Inf","created":null}]},
            {"name":"h_seconds","type":"histogram","unit":"seconds","help":"","series":[{"labels":{},"count":3,"sum":0.75,
              "buckets":[{"le":0.1,"count":0},{"le":0.25,"count":2},{"le":"+Inf","count":3}],"created":null}]}]}"#;
        let read = read(OutputFormat::Json, text).unwrap();
        assert_eq!(read.value("c", &[("k", "v")]), Some(2.0));
        assert_eq!(read.value("g", &[]), Some(f64::INFINITY));
        assert_eq!(read.value("h_seconds", &[]), Some(3.0));
        assert_eq!(read.families["h_seconds"].unit, Some("seconds"));
        for (bad, says) in [
            ("{}", "schema"),
            (
                r#"{"schema":1,"families":[{"name":"x","type":"summary","series":[{}]}]}"#,
                "unknown type",
            ),
            (
                r#"{"schema":1,"families":[{"name":"x","type":"gauge","series":[{"value":"lots"}]}]}"#,
                "families[0].series[0].value",
            ),
            ("not json", "not JSON"),
        ] {
            let err = super::read(OutputFormat::Json, bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
