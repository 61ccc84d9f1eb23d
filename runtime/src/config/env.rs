//! [`Env`]: `TELLTALE_*` environment variables that override configuration values.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::duration::parse_duration;
use crate::error::Error;

/// Environment variables that override configuration values.
///
/// Holds the `TELLTALE_*` variables it was given (others are dropped) and
/// remembers which ones a section read, so that a variable nobody reads can
/// be reported ([`check_all_read`](Env::check_all_read)) rather than ignored.
///
/// ```
/// use std::time::Duration;
/// use telltale::config::Env;
///
/// let mut env = Env::from_pairs([
///     ("TELLTALE_APP_WORKERS", "8"),
///     ("TELLTALE_APP_TIMEOUT", "250ms"),
///     ("HOME", "/root"),
/// ]);
/// let (mut workers, mut timeout, mut verbose) = (1_u32, Duration::ZERO, false);
/// env.parse("TELLTALE_APP_WORKERS", &mut workers)?;
/// env.duration("TELLTALE_APP_TIMEOUT", &mut timeout)?;
/// env.bool("TELLTALE_APP_VERBOSE", &mut verbose)?; // unset: unchanged
/// assert_eq!((workers, timeout, verbose), (8, Duration::from_millis(250), false));
/// env.check_all_read("TELLTALE_APP_")?;
/// # Ok::<(), telltale::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
    read: BTreeSet<String>,
    known: BTreeSet<String>,
}

impl fmt::Debug for Env {
    /// Lists the variables' names only: values may be secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Env {
    /// The `TELLTALE_*` variables among `vars`.
    pub fn from_pairs<I, K, V>(vars: I) -> Env
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars = vars
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .filter(|(name, _)| name.starts_with("TELLTALE_"))
            .collect();
        Env {
            vars,
            read: BTreeSet::new(),
            known: BTreeSet::new(),
        }
    }

    /// The process's `TELLTALE_*` variables ([`std::env::vars_os`]); one whose
    /// name or value is not Unicode is left out.
    pub fn from_process() -> Env {
        Env::from_pairs(std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        }))
    }

    /// The value of `name`, without marking it read.
    pub fn peek(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The value of `name`, if set; marks it read.
    pub fn get(&mut self, name: &str) -> Option<&str> {
        self.known.insert(name.to_owned());
        let value = self.vars.get(name)?;
        self.read.insert(name.to_owned());
        Some(value.as_str())
    }

    /// Sets `target` to the value of `name`, if set.
    pub fn string(&mut self, name: &str, target: &mut String) {
        if let Some(value) = self.get(name) {
            value.clone_into(target);
        }
    }

    /// Sets `target` to the value of `name` if it is set: `None` when the
    /// value is empty, else `Some(value)`.
    pub fn optional_string(&mut self, name: &str, target: &mut Option<String>) {
        if let Some(value) = self.get(name) {
            *target = (!value.is_empty()).then(|| value.to_owned());
        }
    }

    /// Sets `target` to the value of `name` parsed with [`FromStr`], if set.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable, its value and the parse error.
    pub fn parse<T>(&mut self, name: &str, target: &mut T) -> Result<(), Error>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.with(name, target, |value| {
            value.trim().parse::<T>().map_err(|e| e.to_string())
        })
    }

    /// Sets `target` to the boolean value of `name`, if set: `true`, `1`,
    /// `yes`, `on` or `false`, `0`, `no`, `off`, in any case.
    pub fn bool(&mut self, name: &str, target: &mut bool) -> Result<(), Error> {
        self.with(name, target, |value| {
            match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err("expected true or false (also 1/0, yes/no, on/off)".to_owned()),
            }
        })
    }

    /// Sets `target` to the duration value of `name`, if set, as
    /// [`parse_duration`] reads it.
    pub fn duration(&mut self, name: &str, target: &mut Duration) -> Result<(), Error> {
        self.with(name, target, parse_duration)
    }

    /// Sets `target` to `parse(value)` when `name` is set; a parse error
    /// becomes an [`Error::Config`] naming the variable and its value.
    pub fn with<T>(
        &mut self,
        name: &str,
        target: &mut T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<(), Error> {
        let Some(value) = self.get(name) else {
            return Ok(());
        };
        match parse(value) {
            Ok(parsed) => {
                *target = parsed;
                Ok(())
            }
            Err(reason) => Err(Error::Config(format!(
                "environment variable {name}={value:?}: {reason}"
            ))),
        }
    }

    /// Checks that every variable starting with `prefix` was read.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the first one that was not, and the names
    /// under `prefix` that were asked for.
    pub fn check_all_read(&self, prefix: &str) -> Result<(), Error> {
        let Some(unread) = self
            .vars
            .keys()
            .find(|name| name.starts_with(prefix) && !self.read.contains(*name))
        else {
            return Ok(());
        };
        let known: Vec<&str> = self
            .known
            .iter()
            .filter(|name| name.starts_with(prefix))
            .map(String::as_str)
            .collect();
        Err(Error::Config(format!(
            "unknown environment variable {unread}; the {prefix}* variables are: {}",
            known.join(", ")
        )))
    }
}
