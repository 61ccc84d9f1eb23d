// The attribute on single methods of an inherent impl: receivers by
// reference, by mutable reference and by value, and returned borrows.

#![deny(warnings, unused_qualifications)]

use telltale::{timed, tracked};

struct Cache {
    items: Vec<String>,
}

impl Cache {
    #[timed]
    fn len(&self) -> usize {
        self.items.len()
    }

    #[tracked(error_if = Option::is_none)]
    fn first(&self) -> Option<&String> {
        self.items.first()
    }

    #[tracked]
    fn first_mut(&mut self) -> Result<&mut String, String> {
        self.items.first_mut().ok_or_else(|| "empty".to_owned())
    }

    #[tracked]
    fn into_items(self) -> Vec<String> {
        self.items
    }

    #[timed]
    fn new() -> Self {
        Cache {
            items: vec!["a".to_owned()],
        }
    }
}

fn main() {
    let mut cache = Cache::new();
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.first().map(String::as_str), Some("a"));
    cache.first_mut().unwrap().push('b');
    assert_eq!(cache.into_items(), ["ab"]);
}
