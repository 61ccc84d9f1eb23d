//! Deserializing the configuration's structs from a [`tree`](super::tree),
//! with errors that know where they are: the path of the value at fault and
//! its place in its file.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::tree::{At, Entry, Node, Step, Table, Value};

/// A deserialization error: the message, and the path and place of the
/// value (or key) it is about, once known.
#[derive(Debug, Clone)]
pub(crate) struct DeError {
    pub(crate) message: String,
    pub(crate) path: Option<Vec<Step>>,
    pub(crate) at: Option<At>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        DeError {
            message: message.to_string(),
            path: None,
            at: None,
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let mut message = format!("unknown key `{field}`");
        match closest(field, expected) {
            Some(near) => {
                let _ =
                    fmt::Write::write_fmt(&mut message, format_args!(": did you mean `{near}`?"));
            }
            None if expected.is_empty() => message.push_str(": this table takes no keys"),
            None => {
                let list: Vec<String> = expected.iter().map(|k| format!("`{k}`")).collect();
                let _ = fmt::Write::write_fmt(
                    &mut message,
                    format_args!(" (known keys: {})", list.join(", ")),
                );
            }
        }
        DeError::custom(message)
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let list: Vec<String> = expected.iter().map(|k| format!("`{k}`")).collect();
        let mut message = format!(
            "unknown value `{variant}`, expected one of {}",
            list.join(", ")
        );
        if let Some(near) = closest(variant, expected) {
            let _ = fmt::Write::write_fmt(&mut message, format_args!(": did you mean `{near}`?"));
        }
        DeError::custom(message)
    }
}

/// The word of `known` nearest to `word`, if near enough to be a typo.
pub(crate) fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| (levenshtein(word, k), *k))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// The optimal-string-alignment distance: edits, with a swap of two
/// neighbours counting as one.
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0_usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// A node being deserialized, and its path.
pub(crate) struct NodeDe<'a> {
    pub(crate) node: &'a Node,
    pub(crate) path: Vec<Step>,
}

impl NodeDe<'_> {
    /// Adds this node's path and place to an error that has none yet, and
    /// masks a secret value in its message.
    fn locate(&self, mut error: DeError) -> DeError {
        if error.at.is_none() {
            error.at = Some(self.node.at);
            error.path = Some(self.path.clone());
            if self.node.secret {
                if let Value::String(s) = &self.node.value {
                    if !s.is_empty() {
                        error.message = error.message.replace(s.as_str(), "***");
                    }
                }
            }
        }
        error
    }
}

/// A table deserialized as a map (or struct) of its live entries.
struct TableAccess<'a> {
    entries: Vec<&'a Entry>,
    next: usize,
    path: &'a [Step],
}

impl<'de> de::MapAccess<'de> for TableAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(entry) = self.entries.get(self.next) else {
            return Ok(None);
        };
        let de: de::value::StrDeserializer<'_, DeError> = entry.key.as_str().into_deserializer();
        seed.deserialize(de).map(Some).map_err(|mut error| {
            if error.at.is_none() {
                error.at = Some(entry.key_at);
                let mut path = self.path.to_vec();
                path.push(Step::Key(entry.key.clone()));
                error.path = Some(path);
            }
            error
        })
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let entry = self.entries[self.next];
        self.next += 1;
        let mut path = self.path.to_vec();
        path.push(Step::Key(entry.key.clone()));
        let de = NodeDe {
            node: &entry.node,
            path,
        };
        // An error raised after the value was read (by a `deserialize_with`
        // function, an untagged enum) is the value's too.
        let located = NodeDe {
            node: de.node,
            path: de.path.clone(),
        };
        seed.deserialize(de).map_err(|e| located.locate(e))
    }
}

struct ArrayAccess<'a> {
    items: &'a [Node],
    next: usize,
    path: &'a [Step],
}

impl<'de> de::SeqAccess<'de> for ArrayAccess<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        while let Some(item) = self.items.get(self.next) {
            let index = self.next;
            self.next += 1;
            if item.value == Value::Removed {
                continue;
            }
            let mut path = self.path.to_vec();
            path.push(Step::Index(index));
            let located = NodeDe {
                node: item,
                path: path.clone(),
            };
            return seed
                .deserialize(NodeDe { node: item, path })
                .map(Some)
                .map_err(|e| located.locate(e));
        }
        Ok(None)
    }
}

/// `{ variant = value }` or a string naming a unit variant.
struct TableEnum<'a> {
    entry: &'a Entry,
    path: Vec<Step>,
}

impl<'de, 'a> de::EnumAccess<'de> for TableEnum<'a> {
    type Error = DeError;
    type Variant = NodeDe<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, NodeDe<'a>), DeError> {
        let de: de::value::StrDeserializer<'_, DeError> =
            self.entry.key.as_str().into_deserializer();
        let mut path = self.path;
        path.push(Step::Key(self.entry.key.clone()));
        let variant = seed.deserialize(de).map_err(|mut e| {
            e.at.get_or_insert(self.entry.key_at);
            e.path.get_or_insert_with(|| path.clone());
            e
        })?;
        Ok((
            variant,
            NodeDe {
                node: &self.entry.node,
                path,
            },
        ))
    }
}

impl<'de> de::VariantAccess<'de> for NodeDe<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Err(self.locate(de::Error::custom("expected a name, not a table")))
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

fn live(table: &Table) -> Vec<&Entry> {
    table.live().collect()
}

/// Number and boolean methods: a string written with `${...}` (always
/// text, as TOML has no unquoted substitution) is read as the number or
/// boolean it spells, so `port = "${PORT:-9464}"` fills a `u16`.
macro_rules! coerced {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            match &self.node.value {
                Value::String(text) if self.node.interpolated => {
                    let text = text.trim();
                    let result = if let Ok(n) = text.parse::<i64>() {
                        visitor.visit_i64(n)
                    } else if let Ok(n) = text.parse::<u64>() {
                        visitor.visit_u64(n)
                    } else if let Ok(b) = text.parse::<bool>() {
                        visitor.visit_bool(b)
                    } else if let Ok(f) = text.parse::<f64>() {
                        visitor.visit_f64(f)
                    } else {
                        visitor.visit_str(text)
                    };
                    result.map_err(|e| self.locate(e))
                }
                _ => self.deserialize_any(visitor),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match &self.node.value {
            Value::String(s) => visitor.visit_str(s),
            Value::Integer(n) => visitor.visit_i64(*n),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Boolean(b) => visitor.visit_bool(*b),
            Value::Datetime(d) => visitor.visit_str(d),
            Value::Array(items) => visitor.visit_seq(ArrayAccess {
                items,
                next: 0,
                path: &self.path,
            }),
            Value::Table(table) => visitor.visit_map(TableAccess {
                entries: live(table),
                next: 0,
                path: &self.path,
            }),
            Value::Removed => visitor.visit_unit(),
        };
        result.map_err(|e| self.locate(e))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let result = match &self.node.value {
            Value::String(s) => {
                let de: de::value::StrDeserializer<'_, DeError> = s.as_str().into_deserializer();
                visitor.visit_enum(de)
            }
            Value::Table(table) => {
                let entries = live(table);
                match entries.as_slice() {
                    [entry] => visitor.visit_enum(TableEnum {
                        entry,
                        path: self.path.clone(),
                    }),
                    _ => Err(de::Error::custom(
                        "expected a table with one key, naming the kind",
                    )),
                }
            }
            _ => Err(de::Error::invalid_type(
                unexpected(&self.node.value),
                &visitor,
            )),
        };
        result.map_err(|e| self.locate(e))
    }

    coerced! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_bool
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct
        map struct identifier ignored_any
    }
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::String(s) | Value::Datetime(s) => de::Unexpected::Str(s),
        Value::Integer(n) => de::Unexpected::Signed(*n),
        Value::Float(f) => de::Unexpected::Float(*f),
        Value::Boolean(b) => de::Unexpected::Bool(*b),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Table(_) => de::Unexpected::Map,
        Value::Removed => de::Unexpected::Unit,
    }
}

/// Deserializes a `T` from the root table (lent to the deserializer and
/// put back, not copied).
pub(crate) fn from_table<T: de::DeserializeOwned>(root: &mut Table) -> Result<T, DeError> {
    let node = Node {
        value: Value::Table(std::mem::take(root)),
        at: At { file: 0, offset: 0 },
        secret: false,
        interpolated: false,
    };
    let result = T::deserialize(NodeDe {
        node: &node,
        path: Vec::new(),
    });
    if let Value::Table(table) = node.value {
        *root = table;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_a_suggestion() {
        assert_eq!(closest("prot", &["host", "port", "path"]), Some("port"));
        assert_eq!(
            closest("intervall", &["interval", "timeout"]),
            Some("interval")
        );
        assert_eq!(closest("zzzzzz", &["interval", "timeout"]), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}
