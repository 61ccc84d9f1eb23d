//! Serde support for [`Duration`] fields, as [`parse_duration`] spells them:
//! `#[serde(with = "telltale::config::duration")]`.
//!
//! ```
//! use std::time::Duration;
//!
//! #[derive(serde::Deserialize)]
//! struct Section {
//!     #[serde(deserialize_with = "telltale::config::duration::deserialize")]
//!     timeout: Duration,
//! }
//!
//! let a: Section = telltale::config::from_toml_str("timeout = \"200ms\"", "a.toml")?;
//! let b: Section = telltale::config::from_toml_str("timeout = 3", "b.toml")?;
//! assert_eq!(a.timeout, Duration::from_millis(200));
//! assert_eq!(b.timeout, Duration::from_secs(3));
//! assert!(telltale::config::from_toml_str::<Section>("timeout = -3", "c.toml").is_err());
//! # Ok::<(), telltale::Error>(())
//! ```
//!
//! [`parse_duration`] and [`format_duration`] read and write the text form.

#[cfg(feature = "json")]
use std::fmt;
use std::time::Duration;

#[cfg(feature = "json")]
use serde::de::{self, Visitor};
#[cfg(feature = "json")]
use serde::{Deserializer, Serializer};

/// Parses a duration: a number and a unit (`ms`, `s`, `m`, `h`), or a bare
/// integer of seconds.
///
/// ```
/// use std::time::Duration;
/// use telltale::config::parse_duration;
///
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
/// assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
/// assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
/// assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
/// assert!(parse_duration("fast").is_err());
/// assert!(parse_duration("-1s").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let problem = || {
        format!(
            "{text:?} is not a duration: write a number with a unit (\"250ms\", \"30s\", \"2m\", \"1h\") or whole seconds (\"30\")"
        )
    };
    let unit_start = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(unit_start);
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(problem()),
    };
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(problem());
    }
    let value: f64 = number.parse().map_err(|_| problem())?;
    Duration::try_from_secs_f64(value * scale).map_err(|_| problem())
}

/// Writes a duration the way [`parse_duration`] reads it: whole seconds as
/// `"30s"`, anything else in milliseconds (`"250ms"`, `"1500ms"`).
pub fn format_duration(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_secs_f64() * 1000.0)
    }
}

#[cfg(feature = "json")]
/// Reads a duration from a string with a unit or an integer of seconds.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    deserializer.deserialize_any(DurationVisitor)
}

#[cfg(feature = "json")]
/// Writes a duration as [`format_duration`] does.
pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_duration(*duration))
}

#[cfg(feature = "json")]
struct DurationVisitor;

#[cfg(feature = "json")]
impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"250ms\", \"30s\", \"2m\" or whole seconds")
    }

    fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<Duration, E> {
        Ok(Duration::from_secs(seconds))
    }

    fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<Duration, E> {
        u64::try_from(seconds)
            .map(Duration::from_secs)
            .map_err(|_| {
                E::custom(format!(
                    "{seconds} is not a duration: it must not be negative"
                ))
            })
    }

    fn visit_f64<E: de::Error>(self, seconds: f64) -> Result<Duration, E> {
        Duration::try_from_secs_f64(seconds).map_err(|_| {
            E::custom(format!(
                "{seconds} is not a duration: it must be a finite number of seconds, not negative"
            ))
        })
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        parse_duration(text).map_err(E::custom)
    }
}

#[cfg(feature = "json")]
/// The same for `Option<Duration>` fields: a missing key (with
/// `#[serde(default)]`) is `None`, a present one a duration.
///
/// ```
/// use std::time::Duration;
///
/// #[derive(serde::Deserialize)]
/// struct Section {
///     #[serde(default, deserialize_with = "telltale::config::duration::option::deserialize")]
///     every: Option<Duration>,
/// }
///
/// let set: Section = telltale::config::from_toml_str("every = \"1.5s\"", "a.toml")?;
/// let unset: Section = telltale::config::from_toml_str("", "b.toml")?;
/// assert_eq!(set.every, Some(Duration::from_millis(1500)));
/// assert_eq!(unset.every, None);
/// # Ok::<(), telltale::Error>(())
/// ```
pub mod option {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    /// Reads a present duration as `Some`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        deserializer
            .deserialize_any(super::DurationVisitor)
            .map(Some)
    }

    /// Writes `Some` as [`format_duration`](super::format_duration)
    /// does, `None` as a unit value.
    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(d) => super::serialize(d, serializer),
            None => serializer.serialize_none(),
        }
    }
}
