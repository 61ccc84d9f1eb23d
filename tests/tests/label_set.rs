//! `#[derive(LabelSet)]` and `#[derive(LabelValue)]` as label sets see them:
//! names, values, cardinality, the mixed-radix index and the value tables.

use std::borrow::Cow;
use std::collections::HashSet;

use telltale::{BoundedLabelValue, LabelSet, LabelValue};

#[derive(Clone, Copy, Debug, PartialEq, LabelValue)]
enum Method {
    Get,
    Post,
    #[label(rename = "PUT")]
    Put,
}

#[derive(Clone, Copy, Debug, PartialEq, LabelValue)]
enum Class {
    Success,
    Failure,
}

const METHODS: [Method; 3] = [Method::Get, Method::Post, Method::Put];
const CLASSES: [Class; 2] = [Class::Success, Class::Failure];

/// 3 × 2 label sets.
#[derive(Clone, Copy, LabelSet)]
struct Http {
    method: Method,
    #[label(rename = "status_class")]
    class: Class,
}

/// 2 × (3 × 2) × 2 = 24 label sets, with a flattened set in the middle.
#[derive(Clone, Copy, LabelSet)]
struct Request {
    cached: bool,
    #[label(flatten)]
    http: Http,
    #[label(skip)]
    #[allow(dead_code)]
    attempt: u32,
    r#async: bool,
}

/// An unbounded label makes the whole set unbounded.
#[derive(LabelSet)]
struct Tagged<'a> {
    method: Method,
    tenant: &'a str,
}

#[derive(LabelSet)]
struct Nested<'a> {
    #[label(flatten)]
    tagged: Tagged<'a>,
    #[label(flatten)]
    http: Http,
}

#[derive(LabelSet)]
struct Strings {
    owned: String,
    cow: Cow<'static, str>,
    number: i64,
}

#[derive(LabelSet)]
struct Generic<V, S> {
    value: V,
    #[label(flatten)]
    rest: S,
}

fn names<L: LabelSet + ?Sized>() -> Vec<&'static str> {
    let mut out = Vec::new();
    L::names(&mut out);
    out
}

fn values<L: LabelSet + ?Sized>(set: &L) -> Vec<String> {
    let mut out = Vec::new();
    set.visit(&mut |v| out.push(v.to_owned()));
    out
}

fn tables<L: LabelSet + ?Sized>() -> Vec<&'static [&'static str]> {
    let mut out = Vec::new();
    L::value_tables(&mut out);
    out
}

#[test]
fn derived_enums_are_bounded_label_values() {
    assert_eq!(Method::BOUNDED, Some(&["get", "post", "PUT"][..]));
    assert_eq!(
        <Method as BoundedLabelValue>::VALUES,
        ["get", "post", "PUT"]
    );
    for (i, m) in METHODS.iter().enumerate() {
        assert_eq!(m.bounded_index(), i);
        assert_eq!(BoundedLabelValue::index(m), i);
    }
    // Through a reference too.
    assert_eq!(
        <&Class as LabelValue>::BOUNDED,
        Some(&["success", "failure"][..])
    );
    assert_eq!(<&Class as LabelValue>::bounded_index(&&Class::Failure), 1);
}

#[test]
fn names_values_and_tables_follow_the_fields() {
    assert_eq!(names::<Http>(), ["method", "status_class"]);
    let http = Http {
        method: Method::Put,
        class: Class::Failure,
    };
    assert_eq!(values(&http), ["PUT", "failure"]);
    assert_eq!(
        tables::<Http>(),
        [&["get", "post", "PUT"][..], &["success", "failure"][..]]
    );

    assert_eq!(
        names::<Request>(),
        ["cached", "method", "status_class", "async"]
    );
    let request = Request {
        cached: true,
        http,
        attempt: 3,
        r#async: false,
    };
    assert_eq!(values(&request), ["true", "PUT", "failure", "false"]);
    assert_eq!(
        tables::<Request>(),
        [
            &["false", "true"][..],
            &["get", "post", "PUT"][..],
            &["success", "failure"][..],
            &["false", "true"][..],
        ]
    );

    let strings = Strings {
        owned: "a b".to_owned(),
        cow: Cow::Borrowed("c"),
        number: -12,
    };
    assert_eq!(names::<Strings>(), ["owned", "cow", "number"]);
    assert_eq!(values(&strings), ["a b", "c", "-12"]);
    let empty: &[&str] = &[];
    assert_eq!(tables::<Strings>(), [empty, empty, empty]);
}

#[test]
fn mixed_radix_index_by_hand() {
    assert_eq!(Http::CARDINALITY, Some(6));
    // The first field is the most significant digit: index = method * 2 + class.
    let expected = [
        (Method::Get, Class::Success, 0),
        (Method::Get, Class::Failure, 1),
        (Method::Post, Class::Success, 2),
        (Method::Post, Class::Failure, 3),
        (Method::Put, Class::Success, 4),
        (Method::Put, Class::Failure, 5),
    ];
    for (method, class, index) in expected {
        assert_eq!(
            Http { method, class }.index(),
            index,
            "{method:?} {class:?}"
        );
    }
}

#[test]
fn every_combination_has_its_own_index_below_the_cardinality() {
    let cardinality = Request::CARDINALITY.expect("all fields are bounded");
    assert_eq!(cardinality, 2 * 3 * 2 * 2);
    let mut seen = HashSet::new();
    for cached in [false, true] {
        for method in METHODS {
            for class in CLASSES {
                for r#async in [false, true] {
                    let set = Request {
                        cached,
                        http: Http { method, class },
                        attempt: 0,
                        r#async,
                    };
                    let index = set.index();
                    assert!(index < cardinality);
                    assert!(seen.insert(index), "index {index} given twice");
                    // The flattened set is one digit of radix 6.
                    let expected =
                        ((usize::from(cached) * 6 + set.http.index()) * 2) + usize::from(r#async);
                    assert_eq!(index, expected);
                }
            }
        }
    }
    assert_eq!(seen.len(), cardinality);
}

#[test]
fn an_unbounded_label_makes_the_set_unbounded() {
    assert_eq!(Tagged::CARDINALITY, None);
    assert_eq!(Strings::CARDINALITY, None);
    assert_eq!(Nested::CARDINALITY, None);
    assert_eq!(
        names::<Nested<'_>>(),
        ["method", "tenant", "method", "status_class"],
        "flattened names are spliced in order; the repeated `method` is for the runtime to reject"
    );
    let tagged = Tagged {
        method: Method::Post,
        tenant: "acme",
    };
    assert_eq!(values(&tagged), ["post", "acme"]);
    assert_eq!(
        tables::<Tagged<'_>>(),
        [&["get", "post", "PUT"][..], &[][..]]
    );
}

#[test]
fn generic_sets_follow_their_parameters() {
    type Bounded = Generic<Class, Http>;
    type Unbounded = Generic<u8, Http>;
    assert_eq!(Bounded::CARDINALITY, Some(12));
    assert_eq!(Unbounded::CARDINALITY, None);
    assert_eq!(names::<Bounded>(), ["value", "method", "status_class"]);
    let set = Bounded {
        value: Class::Failure,
        rest: Http {
            method: Method::Post,
            class: Class::Success,
        },
    };
    assert_eq!(set.index(), 6 + 2);
    assert_eq!(values(&set), ["failure", "post", "success"]);
    assert_eq!(
        values(&Generic {
            value: 7u8,
            rest: ()
        }),
        ["7"]
    );
    assert_eq!(<Generic<bool, ()>>::CARDINALITY, Some(2));
}
