// #[derive(LabelSet)]: names from fields (raw identifiers unraw'd),
// `rename`, `skip`, `flatten`, generics and lifetimes, the names telltale's
// function series use (allowed in a set), and a set without labels.

#![deny(warnings, unused_qualifications)]

use std::borrow::Cow;

use telltale::{LabelSet, LabelValue};

#[derive(Clone, Copy, LabelValue)]
enum Method {
    Get,
    Post,
    Put,
}

#[derive(Clone, Copy, LabelValue)]
enum Class {
    Ok,
    Error,
}

#[derive(LabelSet)]
struct Http {
    method: Method,
    #[label(rename = "status_class")]
    status: Class,
}

#[derive(LabelSet)]
struct Request<'a> {
    #[label(skip)]
    started: std::time::Instant,
    #[label(flatten)]
    http: Http,
    r#type: &'a str,
    #[label(rename = "cached")]
    hit: bool,
    #[label(skip, /* trailing comma allowed */)]
    note: Vec<u8>,
}

#[derive(LabelSet)]
struct Generic<T, S>
where
    S: Sized,
{
    value: T,
    #[label(flatten)]
    nested: S,
    count: u32,
}

#[derive(LabelSet)]
struct Owned {
    name: String,
    source: Cow<'static, str>,
    error: bool,
    function: &'static str,
}

#[derive(LabelSet)]
struct Empty {}

#[derive(LabelSet)]
struct OnlySkipped {
    #[label(skip)]
    _ignored: u8,
}

mod metrics {
    pub use telltale as runtime;
}

#[derive(LabelSet)]
#[label(crate = metrics::runtime)]
struct ThroughReexport {
    method: Method,
}

fn names<L: LabelSet>() -> Vec<&'static str> {
    let mut out = Vec::new();
    L::names(&mut out);
    out
}

fn values(set: &impl LabelSet) -> Vec<String> {
    let mut out = Vec::new();
    set.visit(&mut |v| out.push(v.to_owned()));
    out
}

fn main() {
    assert_eq!(names::<Http>(), ["method", "status_class"]);
    assert_eq!(Http::CARDINALITY, Some(6));
    assert_eq!(
        names::<Request<'_>>(),
        ["method", "status_class", "type", "cached"]
    );
    assert_eq!(Request::CARDINALITY, None);
    let request = Request {
        started: std::time::Instant::now(),
        http: Http {
            method: Method::Put,
            status: Class::Error,
        },
        r#type: "api",
        hit: true,
        note: Vec::new(),
    };
    assert_eq!(values(&request), ["put", "error", "api", "true"]);
    let _ = (request.started, &request.note);

    type G = Generic<bool, Http>;
    assert_eq!(names::<G>(), ["value", "method", "status_class", "count"]);
    assert_eq!(<Generic<bool, Http>>::CARDINALITY, None);
    let g = Generic {
        value: Method::Post,
        nested: Http {
            method: Method::Get,
            status: Class::Ok,
        },
        count: 7u32,
    };
    assert_eq!(values(&g), ["post", "get", "ok", "7"]);

    assert_eq!(names::<Owned>(), ["name", "source", "error", "function"]);
    let owned = Owned {
        name: "a".to_owned(),
        source: Cow::Borrowed("b"),
        error: false,
        function: "f",
    };
    assert_eq!(values(&owned), ["a", "b", "false", "f"]);

    assert_eq!(names::<Empty>(), Vec::<&str>::new());
    assert_eq!(Empty::CARDINALITY, Some(1));
    assert_eq!(Empty {}.index(), 0);
    assert_eq!(OnlySkipped::CARDINALITY, Some(1));
    assert_eq!(values(&OnlySkipped { _ignored: 0 }), Vec::<String>::new());

    assert_eq!(ThroughReexport::CARDINALITY, Some(3));
    let mut tables = Vec::new();
    ThroughReexport::value_tables(&mut tables);
    assert_eq!(tables, [&["get", "post", "put"][..]]);

    assert_eq!(values(&private_field::make()), ["a"]);
}

// A public set with a private field type: no private type leaks into a
// public bound.
mod private_field {
    #[derive(telltale::LabelValue)]
    enum Hidden {
        A,
    }

    #[derive(telltale::LabelSet)]
    pub struct Public {
        hidden: Hidden,
    }

    pub fn make() -> Public {
        Public { hidden: Hidden::A }
    }
}
