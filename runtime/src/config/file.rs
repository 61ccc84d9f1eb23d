//! The configuration file: [`Config`], its sections, and reading TOML.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::config::env::Env;
use crate::error::Error;
use crate::{export::server, system};

/// The environment variable [`Config::load`] reads the path of a
/// configuration file from.
pub const CONFIG_FILE_VAR: &str = "TELLTALE_CONFIG";

/// Every configurable part of telltale, one section each.
///
/// In TOML each section is a table named after the field:
///
/// ```toml
/// [server]
/// host = "0.0.0.0"
/// port = 9464
/// path = "/metrics"
/// max_connections = 256
/// header_read_timeout = "10s"
/// idle_timeout = "90s"
/// bearer_token = "s3cret"
///
/// [system]
/// resources = "5s"          # or false
/// [system.window]
/// tick = "1s"
/// fine_retention = "5m"
/// [system.health]
/// max_error_rate = 0.05
/// [[system.exporters.endpoints]]
/// protocol = "remote_write"
/// url = "http://127.0.0.1:9090/api/v1/write"
/// interval = "15s"
/// ```
///
/// A missing section, or a missing key in a section, takes its default; an
/// unknown section or key is an error.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The HTTP endpoint scrapers read: `[server]`, `TELLTALE_SERVER_*`.
    pub server: server::ServerConfig,
    /// Windows, resource monitoring, health thresholds and push endpoints:
    /// `[system]`, with the tables `[system.window]`, `[system.health]` and
    /// `[system.exporters]` (push endpoints as `[[system.exporters.endpoints]]`);
    /// see [`system::SystemConfig`]. Read from the file only, not from
    /// environment variables. To push without a [`System`](crate::system::System),
    /// give `system.exporters` to [`push::start`](crate::push::start).
    pub system: system::SystemConfig,
    /// Metric sources and plugin directories: `[custom_metrics]`, with the
    /// sources as `[[custom_metrics.sources]]`; see
    /// [`sources::CustomMetricsConfig`](crate::sources::CustomMetricsConfig).
    /// Read from the file only.
    #[cfg(feature = "sources")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sources")))]
    pub custom_metrics: crate::sources::CustomMetricsConfig,
    // Further sections go below, each one a field named after its TOML
    // table, a `TELLTALE_<SECTION>_` prefix in `ENV_SECTIONS`, and a line in
    // `apply_env` and `validate`.
}

/// The variable prefixes of the sections [`Config::apply_env`] knows; a
/// variable under one of them that no section reads is an error.
const ENV_SECTIONS: &[&str] = &["TELLTALE_SERVER_"];

impl Config {
    /// Reads a configuration from TOML text; `origin` (a file name, say)
    /// names the text in error messages. See [`from_toml_str`]; besides,
    /// every `[[custom_metrics.sources]]` entry is read and checked on its
    /// own, so that the error lists (one a line) every wrong source, each
    /// with its `origin:line:column` and key.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Config, Error> {
        #[cfg(feature = "sources")]
        {
            let mut errors = sources_check::errors(text, origin);
            match from_toml_str::<Config>(text, origin) {
                Ok(config) if errors.is_empty() => Ok(config),
                Ok(_) => Err(Error::Config(errors.join("\n"))),
                Err(Error::Config(first)) => {
                    // The whole-file pass stops at the first mistake, which
                    // may be one a source's own pass found too.
                    let place = first.split(": ").next().unwrap_or_default();
                    let message = first.rsplit(": ").next().unwrap_or_default();
                    let same =
                        |e: &String| e.split(": ").next() == Some(place) && e.ends_with(message);
                    if !errors.iter().any(same) {
                        errors.insert(0, first);
                    }
                    Err(Error::Config(errors.join("\n")))
                }
                Err(other) => Err(other),
            }
        }
        #[cfg(not(feature = "sources"))]
        from_toml_str(text, origin)
    }

    /// Reads a configuration from a TOML file. See [`from_file`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, Error> {
        let path = path.as_ref();
        Config::from_toml_str(&read(path)?, &path.display().to_string())
    }

    /// Overrides values from `TELLTALE_*` variables: for each section, the
    /// variables its `apply_env` lists.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable and its value when a value does
    /// not parse, or when a variable under a section's prefix names no key.
    ///
    /// ```
    /// use telltale::config::{Config, Env};
    ///
    /// let mut config = Config::default();
    /// config.apply_env(Env::from_pairs([("TELLTALE_SERVER_PORT", "9100")]))?;
    /// assert_eq!(config.server.port, 9100);
    ///
    /// let error = config
    ///     .apply_env(Env::from_pairs([("TELLTALE_SERVER_PORT", "ninety")]))
    ///     .unwrap_err();
    /// assert!(error.to_string().contains("TELLTALE_SERVER_PORT=\"ninety\""));
    /// # Ok::<(), telltale::Error>(())
    /// ```
    pub fn apply_env(&mut self, mut env: Env) -> Result<(), Error> {
        self.server.apply_env(&mut env)?;
        for prefix in ENV_SECTIONS {
            env.check_all_read(prefix)?;
        }
        Ok(())
    }

    /// Checks every section as the code that uses it would, so a bad value
    /// is reported when the configuration is read rather than later.
    pub fn validate(&self) -> Result<(), Error> {
        self.server.validate()?;
        let window = &self.system.window;
        for (key, value) in [
            ("system.window.tick", window.tick),
            ("system.window.coarse_step", window.coarse_step),
        ] {
            if value.is_zero() {
                return Err(Error::Config(format!("{key} must be longer than zero")));
            }
        }
        if self.system.resources.is_some_and(|every| every.is_zero()) {
            return Err(Error::Config(
                "system.resources must be longer than zero (or false for none)".to_owned(),
            ));
        }
        let rate = self.system.health.max_error_rate;
        if !(0.0..=1.0).contains(&rate) {
            return Err(Error::Config(format!(
                "system.health.max_error_rate must be between 0 and 1, got {rate}"
            )));
        }
        #[cfg(feature = "push")]
        if let Some(push) = &self.system.exporters {
            push.validate()?;
        }
        #[cfg(feature = "sources")]
        if let Err(errors) = self.custom_metrics.build() {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| format!("custom_metrics: {e}"))
                .collect();
            return Err(Error::Config(lines.join("\n")));
        }
        Ok(())
    }

    /// The configuration of a process: the defaults, overridden by the TOML
    /// file named by `$TELLTALE_CONFIG` (if that variable is set), overridden
    /// by the process's `TELLTALE_*` variables; then validated.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), telltale::Error> {
    /// let config = telltale::config::Config::load()?;
    /// let server = telltale::server::start(config.server).await?;
    /// # server.stop().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn load() -> Result<Config, Error> {
        let env = Env::from_process();
        let mut config = match env.peek(CONFIG_FILE_VAR) {
            Some(path) if !path.is_empty() => Config::from_file(path)?,
            _ => Config::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }
}

/// Deserializes a `T` from TOML text.
///
/// `origin` names the text in error messages: a file name, or something like
/// `"<built-in>"`. An error is an [`Error::Config`] whose message reads
/// `origin:line:column: key: what is wrong`, for example
/// `telltale.toml:3:8: server.port: invalid type: string "x", expected u16`;
/// the key is the dotted path of the table and key the position falls in,
/// left out when the position is not on a `key = value` line.
///
/// ```
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Section {
///     size: u32,
/// }
///
/// let error = telltale::config::from_toml_str::<Section>("sise = 3\n", "app.toml")
///     .err()
///     .unwrap()
///     .to_string();
/// assert!(error.contains("app.toml:1:1"), "{error}");
/// assert!(error.contains("unknown field `sise`"), "{error}");
/// ```
pub fn from_toml_str<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, Error> {
    toml::from_str(text).map_err(|error| {
        let message = error.message().trim_end();
        Error::Config(located(
            text,
            origin,
            message,
            error.span().map(|s| s.start),
        ))
    })
}

/// Reads and deserializes a TOML file; errors name the file as
/// [`from_toml_str`] describes, and an unreadable file is an
/// [`Error::Config`] naming it and the reason.
pub fn from_file<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<T, Error> {
    let path = path.as_ref();
    from_toml_str(&read(path)?, &path.display().to_string())
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|error| {
        Error::Config(format!(
            "cannot read the configuration file {}: {error}",
            path.display()
        ))
    })
}

/// Where a `toml` error is: `origin:line:column: key: message`.
fn located(text: &str, origin: &str, message: &str, offset: Option<usize>) -> String {
    let Some(offset) = offset else {
        return format!("{origin}: {message}");
    };
    let (line, column) = line_and_column(text, offset);
    let key = key_at(text, offset);
    let key = key.map_or(String::new(), |key| format!("{key}: "));
    format!("{origin}:{line}:{column}: {key}{message}")
}

/// Each `[[custom_metrics.sources]]` entry read and built on its own.
#[cfg(feature = "sources")]
mod sources_check {
    use serde::Deserialize as _;
    use toml::de::{DeTable, DeValue, ValueDeserializer};

    use super::{line_and_column, located};
    use crate::error::Error;
    use crate::sources::SourceConfig;

    /// One message per wrong source (none when the text is not TOML: the
    /// whole-file pass reports that).
    pub(super) fn errors(text: &str, origin: &str) -> Vec<String> {
        let Ok(root) = DeTable::parse(text) else {
            return Vec::new();
        };
        let root = DeValue::Table(root.into_inner());
        let Some(sources) = root
            .get("custom_metrics")
            .and_then(|c| c.get_ref().get("sources"))
        else {
            return Vec::new();
        };
        let DeValue::Array(items) = sources.get_ref() else {
            return Vec::new();
        };
        let mut errors = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let span = item.span();
            match SourceConfig::deserialize(ValueDeserializer::from(item.clone())) {
                Err(e) => errors.push(
                    located(
                        text,
                        origin,
                        e.message().trim_end(),
                        e.span().map(|s| s.start),
                    )
                    .replacen(
                        ": custom_metrics.sources.",
                        &format!(": custom_metrics.sources[{i}]."),
                        1,
                    ),
                ),
                Ok(config) => {
                    if let Err(Error::Source { field, reason, .. }) = config.build() {
                        let field = field.unwrap_or_default();
                        let at = key_offset(text, span.clone(), &field).unwrap_or(span.start);
                        let (line, column) = line_and_column(text, at);
                        errors.push(format!(
                            "{origin}:{line}:{column}: custom_metrics.sources[{i}].{field}: source {:?}: {reason}",
                            config.name
                        ));
                    }
                }
            }
        }
        errors
    }

    /// Where, within the source at `span` (an inline table, or the header
    /// of a `[[...]]` table and the lines up to the next header), the line
    /// assigning the last part of `field` (`failures` of
    /// `breaker.failures`) starts its key.
    fn key_offset(text: &str, span: std::ops::Range<usize>, field: &str) -> Option<usize> {
        let key = field.rsplit('.').next().filter(|k| !k.is_empty())?;
        let after = text.get(span.start..)?;
        let header = after.starts_with("[[");
        let end = if header {
            let body = after.find('\n').map_or(after.len(), |i| i + 1);
            after[body..]
                .match_indices('\n')
                .map(|(i, _)| body + i + 1)
                .find(|&i| after[i..].trim_start().starts_with('['))
                .unwrap_or(after.len())
        } else {
            span.len()
        };
        let region = after.get(..end)?;
        let mut offset = 0;
        for line in region.split_inclusive('\n') {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            // `key = ...` on its own line, or `{key = ...}` inline.
            let at =
                if trimmed.starts_with(key) && trimmed[key.len()..].trim_start().starts_with('=') {
                    Some(indent)
                } else {
                    trimmed
                        .find(&format!(" {key} ="))
                        .or_else(|| trimmed.find(&format!("{{{key} =")))
                        .map(|i| indent + i + 1)
                };
            if let Some(at) = at {
                return Some(span.start + offset + at);
            }
            offset += line.len();
        }
        None
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The dotted key that the line holding byte `offset` assigns, prefixed by
/// the table the line is in: `server.port` for `port = "x"` under
/// `[server]`. `None` when the line assigns nothing.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    let key = line.split_once('=').and_then(|(key, _)| {
        let key = key.trim();
        let valid = !key.is_empty() && !key.starts_with(['[', '#']);
        valid.then(|| unquote_key(key))
    })?;
    let table = text[..line_start].lines().rev().find_map(|line| {
        let line = line.trim();
        let header = line
            .strip_prefix("[[")
            .and_then(|rest| rest.split_once("]]"))
            .or_else(|| line.strip_prefix('[').and_then(|rest| rest.split_once(']')))?;
        Some(unquote_key(header.0.trim()))
    });
    Some(match table {
        Some(table) if !table.is_empty() => format!("{table}.{key}"),
        _ => key,
    })
}

/// `"a b".c` → `a b.c`: a TOML dotted key with its quotes removed.
fn unquote_key(key: &str) -> String {
    key.split('.')
        .map(|part| part.trim().trim_matches(|c| c == '"' || c == '\''))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::duration::{format_duration, parse_duration};
    use crate::config::env::Env;

    #[test]
    fn positions_are_one_based_in_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_and_column(text, 0), (1, 1));
        assert_eq!(line_and_column(text, 6), (2, 1));
        let quote = text.find('"').unwrap();
        assert_eq!(line_and_column(text, quote), (2, 6));
    }

    #[test]
    fn keys_carry_their_table() {
        let text = "top = 1\n[server]\nport = \"x\"\n[[list]]\n\"quoted key\" = 2\n";
        assert_eq!(key_at(text, 2).as_deref(), Some("top"));
        let port = text.find("\"x\"").unwrap();
        assert_eq!(key_at(text, port).as_deref(), Some("server.port"));
        let quoted = text.find("2\n").unwrap();
        assert_eq!(key_at(text, quoted).as_deref(), Some("list.quoted key"));
        assert_eq!(key_at(text, text.find("[server]").unwrap()), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(" 200ms "), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_hours(1)));
        for bad in ["", "s", "1.s", ".5s", "1d", "1 sec", "1e3s", "-1", "1s2"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        for d in [Duration::from_secs(30), Duration::from_millis(250)] {
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }

    #[cfg(feature = "push")]
    #[test]
    fn the_system_section_reads_windows_health_resources_and_exporters() {
        let config = Config::from_toml_str(
            r#"
            [system]
            resources = false
            [system.window]
            tick = 0.5
            coarse_retention = "2h"
            [system.health]
            window = "5m"
            min_calls = 3
            [[system.exporters.endpoints]]
            name = "central"
            protocol = "otlp"
            url = "http://127.0.0.1:4318"
            interval = "2min"
            "#,
            "all.toml",
        )
        .unwrap();
        let system = &config.system;
        assert_eq!(system.resources, None);
        assert_eq!(system.window.tick, Duration::from_millis(500));
        assert_eq!(system.window.coarse_retention, Duration::from_hours(2));
        assert_eq!(
            system.window.fine_retention,
            Duration::from_mins(5),
            "default kept"
        );
        assert_eq!(system.health.window, Duration::from_mins(5));
        assert_eq!(system.health.min_calls, 3);
        let exporters = system.exporters.as_ref().unwrap();
        assert_eq!(exporters.endpoints[0].interval, Duration::from_mins(2));
        config.validate().unwrap();

        for (text, expected) in [
            ("[system.window]\ntick = \"0s\"\n", "system.window.tick"),
            ("[system]\nresources = \"0ms\"\n", "system.resources"),
            ("[system.health]\nmax_error_rate = 2.0\n", "max_error_rate"),
            (
                "[[system.exporters.endpoints]]\nprotocol = \"otlp\"\nurl = \"ftp://x\"\n",
                "url",
            ),
        ] {
            let config = Config::from_toml_str(text, "bad.toml").unwrap();
            let error = config.validate().unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        for (text, expected) in [
            ("[system.window]\ntik = \"1s\"\n", "bad.toml:2:1"),
            ("[system]\nresources = \"often\"\n", "system.resources"),
            ("[system.health]\nwindow = -1\n", "system.health.window"),
        ] {
            let error = Config::from_toml_str(text, "bad.toml")
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn env_reports_variable_and_value() {
        let mut env = Env::from_pairs([("TELLTALE_X_N", "many"), ("TELLTALE_X_B", "maybe")]);
        let mut n = 0_u16;
        let error = env.parse("TELLTALE_X_N", &mut n).unwrap_err().to_string();
        assert!(error.contains("TELLTALE_X_N=\"many\""), "{error}");
        assert_eq!(n, 0);
        let mut b = true;
        let error = env.bool("TELLTALE_X_B", &mut b).unwrap_err().to_string();
        assert!(error.contains("TELLTALE_X_B=\"maybe\""), "{error}");
        let env = Env::from_pairs([("TELLTALE_X_TYPO", "1"), ("OTHER", "2")]);
        let error = env.check_all_read("TELLTALE_X_").unwrap_err().to_string();
        assert!(error.contains("TELLTALE_X_TYPO"), "{error}");
        assert!(env.check_all_read("TELLTALE_Y_").is_ok());
        assert!(format!("{env:?}").contains("TELLTALE_X_TYPO"));
    }

    #[test]
    fn optional_strings_clear_when_empty() {
        let mut env = Env::from_pairs([("TELLTALE_A", ""), ("TELLTALE_B", "b")]);
        let mut a = Some("old".to_owned());
        let mut b = None;
        env.optional_string("TELLTALE_A", &mut a);
        env.optional_string("TELLTALE_B", &mut b);
        assert_eq!((a, b), (None, Some("b".to_owned())));
    }
}
