// #[derive(LabelValue)]: unit, tuple and struct variants, snake_case by
// default, `rename`, `rename_all`, generics, and use as an error kind.

#![deny(warnings, unused_qualifications)]

use telltale::{BoundedLabelValue, LabelValue};

#[derive(Debug, LabelValue)]
enum FetchError {
    Timeout,
    NotFound {
        path: String,
    },
    Io(std::io::Error),
    HTTPError,
    #[label(rename = "tls")]
    TlsHandshake,
}

#[derive(LabelValue)]
#[label(rename_all = "kebab-case")]
enum Kebab {
    NotFound,
    #[label(rename = "gone")]
    Gone,
}

#[derive(LabelValue)]
#[label(rename_all = "SCREAMING_SNAKE_CASE")]
enum Screaming {
    NotFound,
}

#[derive(LabelValue)]
#[label(rename_all = "camelCase")]
enum Camel {
    NotFound,
}

#[derive(LabelValue)]
#[label(rename_all = "PascalCase")]
#[allow(non_camel_case_types)]
enum Pascal {
    not_found,
}

#[derive(LabelValue)]
#[label(rename_all = "lowercase")]
enum Lower {
    NotFound,
}

#[derive(LabelValue)]
#[label(rename_all = "UPPERCASE")]
enum Upper {
    NotFound,
}

#[derive(LabelValue)]
enum Wrapper<T, E: std::fmt::Debug>
where
    T: Clone,
{
    Value(T),
    Failed { error: E },
}

fn value(v: &impl LabelValue) -> String {
    v.label_value().to_string()
}

#[telltale::tracked]
fn fetch(fail: bool) -> Result<(), FetchError> {
    if fail {
        Err(FetchError::NotFound {
            path: "/".to_owned(),
        })
    } else {
        Ok(())
    }
}

fn main() {
    assert_eq!(value(&FetchError::Timeout), "timeout");
    assert_eq!(
        value(&FetchError::NotFound {
            path: String::new()
        }),
        "not_found"
    );
    assert_eq!(value(&FetchError::Io(std::io::Error::other("x"))), "io");
    assert_eq!(value(&FetchError::HTTPError), "http_error");
    assert_eq!(value(&FetchError::TlsHandshake), "tls");
    assert_eq!(
        <FetchError as BoundedLabelValue>::VALUES,
        ["timeout", "not_found", "io", "http_error", "tls"]
    );
    assert_eq!(FetchError::HTTPError.index(), 3);
    assert_eq!(value(&Kebab::NotFound), "not-found");
    assert_eq!(value(&Kebab::Gone), "gone");
    assert_eq!(value(&Screaming::NotFound), "NOT_FOUND");
    assert_eq!(value(&Camel::NotFound), "notFound");
    assert_eq!(value(&Pascal::not_found), "NotFound");
    assert_eq!(value(&Lower::NotFound), "notfound");
    assert_eq!(value(&Upper::NotFound), "NOTFOUND");
    assert_eq!(value(&Wrapper::<u8, ()>::Value(1)), "value");
    assert_eq!(value(&Wrapper::<u8, ()>::Failed { error: () }), "failed");

    fetch(true).unwrap_err();
    let snapshot = telltale::Snapshot::collect();
    let calls = snapshot.family("function_calls").expect("function_calls");
    assert!(calls
        .series
        .iter()
        .any(|s| s.label("function") == Some("fetch") && s.label("error") == Some("not_found")));
}
