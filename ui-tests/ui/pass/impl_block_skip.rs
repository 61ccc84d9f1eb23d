// #[tracked] on an inherent impl block instruments every method, reported as
// `Type::method`; `#[telltale::skip]` leaves one alone; consts and types
// in the block are untouched.

#![deny(warnings, unused_qualifications)]

use telltale::tracked;

struct Store<K> {
    keys: Vec<K>,
}

#[tracked]
impl<K: PartialEq + Clone> Store<K> {
    const LIMIT: usize = 8;

    fn new() -> Self {
        Store { keys: Vec::new() }
    }

    fn insert(&mut self, key: K) -> Result<(), String> {
        if self.keys.len() >= Self::LIMIT {
            return Err("full".to_owned());
        }
        self.keys.push(key);
        Ok(())
    }

    #[telltale::skip]
    fn contains(&self, key: &K) -> bool {
        self.keys.contains(key)
    }

    #[telltale::skip]
    const fn limit() -> usize {
        Self::LIMIT
    }
}

fn main() {
    let mut store = Store::new();
    store.insert(1).unwrap();
    assert!(store.contains(&1));
    assert_eq!(Store::<u8>::limit(), 8);

    let snapshot = telltale::Snapshot::collect();
    let calls = snapshot.family("function_calls").expect("function_calls");
    let functions: Vec<_> = calls
        .series
        .iter()
        .filter_map(|s| s.label("function"))
        .collect();
    assert!(functions.contains(&"Store::new"));
    assert!(functions.contains(&"Store::insert"));
    assert!(!functions
        .iter()
        .any(|f| f.contains("contains") || f.contains("limit")));
}
