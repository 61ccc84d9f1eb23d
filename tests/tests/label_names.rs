//! Label names the derive cannot check (a set field named like one of the
//! function labels, a name repeated through `flatten`, `le` on a histogram
//! family) are exported renamed, so the exposition stays valid.

use telltale::{tracked, Counter, Family, Histogram, LabelSet, LabelValue, Snapshot};

#[derive(Clone, Copy, LabelValue)]
enum Kind {
    Read,
}

#[derive(Clone, Copy, LabelSet)]
struct Inner {
    kind: Kind,
}

#[derive(Clone, Copy, LabelSet)]
struct Outer {
    kind: Kind,
    #[label(flatten)]
    inner: Inner,
}

#[derive(LabelSet)]
struct Clashing<'a> {
    function: &'a str,
    result: &'a str,
}

#[tracked(labels = Clashing { function: "user", result: "mine" })]
fn label_names_clash() -> Result<(), std::fmt::Error> {
    Ok(())
}

/// Written by hand: the derive would reject the name `le` at compile time.
struct Le;

impl LabelSet for Le {
    const CARDINALITY: Option<usize> = None;
    fn names(out: &mut Vec<&'static str>) {
        out.push("le");
    }
    fn visit(&self, f: &mut dyn FnMut(&str)) {
        f("true");
    }
    fn index(&self) -> usize {
        0
    }
    fn value_tables(out: &mut Vec<&'static [&'static str]>) {
        out.push(&[]);
    }
}

static NESTED: Family<Outer, Counter> = Family::new("label_names_nested_total", "t");

fn labels_of(
    s: &Snapshot,
    family: &str,
    pick: impl Fn(&telltale::snapshot::Series) -> bool,
) -> Vec<(String, String)> {
    s.family(family)
        .unwrap_or_else(|| panic!("no family {family}"))
        .series
        .iter()
        .find(|x| pick(x))
        .unwrap_or_else(|| panic!("no series in {family}"))
        .labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn colliding_label_names_are_exported_renamed_and_the_text_parses() {
    static LE: Family<Le, Histogram> = Family::new("label_names_le_seconds", "t");
    label_names_clash().unwrap();
    NESTED
        .labels(Outer {
            kind: Kind::Read,
            inner: Inner { kind: Kind::Read },
        })
        .inc();
    LE.labels(Le).observe(0.5);

    let s = Snapshot::collect();
    assert_eq!(
        labels_of(&s, "function_calls", |x| x.label("function")
            == Some("label_names_clash")),
        pairs(&[
            ("function", "label_names_clash"),
            ("module", "label_names"),
            ("exported_function", "user"),
            ("exported_result", "mine"),
            ("result", "ok"),
            ("error", ""),
        ])
    );
    assert_eq!(
        labels_of(&s, "label_names_nested", |_| true),
        pairs(&[("kind", "read"), ("exported_kind", "read")])
    );
    assert_eq!(
        labels_of(&s, "label_names_le_seconds", |_| true),
        pairs(&[("exported_le", "true")])
    );

    let text = telltale::render(telltale::Format::OpenMetrics);
    telltale::parse::openmetrics(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    telltale::parse::prometheus(&telltale::render(telltale::Format::Prometheus)).unwrap();
}
