//! The configuration file: [`Config`], its sections, and reading TOML.

use serde::Deserialize;

use super::tree::redact;
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
///
/// `Debug` hides every value that came from `${VAR}` or `${file:...}`
/// (see [`interpolate`](super::interpolate)), as errors do.
#[derive(Clone, Default, PartialEq, Deserialize)]
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
    /// Where shared metrics live across processes: `[backend]` with `type =
    /// "single" | "file" | "redis"` and the backend's options (see
    /// [`backend::BackendSection`](crate::backend::BackendSection)). Chosen
    /// when a [`Live`](crate::config::reload::Live) configuration starts; it takes
    /// precedence over `TELLTALE_BACKEND`, and cannot change on a reload.
    #[cfg(any(feature = "backend-file", feature = "backend-redis"))]
    #[cfg_attr(
        docsrs,
        doc(cfg(any(feature = "backend-file", feature = "backend-redis")))
    )]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<crate::backend::BackendSection>,
    // Further sections go below, each one a field named after its TOML
    // table, a `TELLTALE_<SECTION>_` prefix in `ENV_SECTIONS`, a line in
    // `apply_env` and `problems`, and in `Debug`.
    /// The texts taken from variables and files, hidden by `Debug`.
    #[serde(skip)]
    pub(crate) secrets: Secrets,
}

/// Secret texts of a configuration: what `${VAR}` and `${file:...}` put in.
/// Two configurations equal in every section are equal whatever their
/// secrets' origin.
#[derive(Clone, Default)]
pub(crate) struct Secrets(pub(crate) std::sync::Arc<Vec<String>>);

impl PartialEq for Secrets {
    fn eq(&self, _: &Secrets) -> bool {
        true
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        #[derive(Debug)]
        #[allow(dead_code)] // read by Debug only
        struct Config<'a> {
            server: &'a server::ServerConfig,
            system: &'a system::SystemConfig,
            #[cfg(feature = "sources")]
            custom_metrics: &'a crate::sources::CustomMetricsConfig,
            #[cfg(any(feature = "backend-file", feature = "backend-redis"))]
            backend: &'a Option<crate::backend::BackendSection>,
        }
        let shown = Config {
            server: &self.server,
            system: &self.system,
            #[cfg(feature = "sources")]
            custom_metrics: &self.custom_metrics,
            #[cfg(any(feature = "backend-file", feature = "backend-redis"))]
            backend: &self.backend,
        };
        let text = if f.alternate() {
            format!("{shown:#?}")
        } else {
            format!("{shown:?}")
        };
        f.write_str(&redact(&text, &self.secrets.0))
    }
}

/// The variable prefixes of the sections [`Config::apply_env`] knows; a
/// variable under one of them that no section reads is an error.
const ENV_SECTIONS: &[&str] = &["TELLTALE_SERVER_"];

impl Config {
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
    ///
    /// # Errors
    ///
    /// [`Error::Config`] listing every problem [`problems`](Self::problems)
    /// finds, one a line (`key: what is wrong`).
    pub fn validate(&self) -> Result<(), Error> {
        let problems = self.problems();
        if problems.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> = problems
            .iter()
            .map(|(key, message)| format!("{key}: {message}"))
            .collect();
        Err(Error::Config(redact(&lines.join("\n"), &self.secrets.0)))
    }

    /// Every value the code using it would refuse, each as its key
    /// (`server.port`, `custom_metrics.sources[1].interval`) and what is
    /// wrong; empty when all is well.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> = self
            .server
            .problems()
            .into_iter()
            .map(|(field, message)| (format!("server.{field}"), message))
            .collect();
        let window = &self.system.window;
        for (key, value) in [
            ("system.window.tick", window.tick),
            ("system.window.coarse_step", window.coarse_step),
        ] {
            if value.is_zero() {
                problems.push((key.to_owned(), "must be longer than zero".to_owned()));
            }
        }
        if self.system.resources.is_some_and(|every| every.is_zero()) {
            problems.push((
                "system.resources".to_owned(),
                "must be longer than zero (or false for none)".to_owned(),
            ));
        }
        let rate = self.system.health.max_error_rate;
        if !(0.0..=1.0).contains(&rate) {
            problems.push((
                "system.health.max_error_rate".to_owned(),
                format!("must be between 0 and 1, got {rate}"),
            ));
        }
        #[cfg(feature = "push")]
        if let Some(push) = &self.system.exporters {
            for (i, error) in push.problems() {
                let (field, reason) = match error {
                    Error::Push { field, reason, .. } => (field, reason),
                    other => (None, other.to_string()),
                };
                let key = match field {
                    Some(field) => format!("system.exporters.endpoints[{i}].{field}"),
                    None => format!("system.exporters.endpoints[{i}]"),
                };
                problems.push((key, reason));
            }
        }
        #[cfg(feature = "sources")]
        problems.extend(
            self.custom_metrics
                .problems()
                .into_iter()
                .map(|(key, message)| (format!("custom_metrics.{key}"), message)),
        );
        #[cfg(all(feature = "sources", feature = "aggregate"))]
        problems.extend(self.aggregator_problems());
        #[cfg(any(feature = "backend-file", feature = "backend-redis"))]
        if let Some(Err(e)) = self
            .backend
            .as_ref()
            .map(|b| b.to_backend(None, "[backend]"))
        {
            let reason = match e {
                Error::Backend { reason, .. } => reason,
                other => other.to_string(),
            };
            let reason = reason
                .strip_prefix("[backend]: ")
                .unwrap_or(&reason)
                .to_owned();
            problems.push(("backend".to_owned(), reason));
        }
        problems
    }

    /// The backend the `[backend]` section names, if there is one.
    #[cfg(all(
        feature = "reload",
        any(feature = "backend-file", feature = "backend-redis")
    ))]
    pub(crate) fn chosen_backend(&self) -> Result<Option<crate::backend::Backend>, Error> {
        self.backend
            .as_ref()
            .map(|b| b.to_backend(None, "[backend]"))
            .transpose()
    }

    /// The rules' mistakes, and rules naming a source that is not
    /// configured (`plugin:` sources come and go, and are not checked).
    #[cfg(all(feature = "sources", feature = "aggregate"))]
    fn aggregator_problems(&self) -> Vec<(String, String)> {
        let custom = &self.custom_metrics;
        let key = |i: usize, field: Option<&str>| match field {
            Some(field) => format!("custom_metrics.aggregators[{i}].{field}"),
            None => format!("custom_metrics.aggregators[{i}]"),
        };
        let mut problems = Vec::new();
        if let Err(errors) = crate::aggregate::check(
            &custom.aggregators,
            custom.aggregation_window,
            &self.system.window,
        ) {
            for e in errors {
                problems.push((key(e.index, e.field), e.reason));
            }
        }
        let names: Vec<&str> = custom.sources.iter().map(|s| s.name.as_str()).collect();
        for (i, rule) in custom.aggregators.iter().enumerate() {
            for (field, source) in rule.sources() {
                if !names.contains(&source.as_str()) && !source.starts_with("plugin:") {
                    problems.push((
                        key(i, Some(field)),
                        format!(
                            "no source is named {source:?} (configured: {})",
                            if names.is_empty() {
                                "none".to_owned()
                            } else {
                                names.join(", ")
                            }
                        ),
                    ));
                }
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[cfg(feature = "push")]
    use super::Config;
    use crate::config::duration::{format_duration, parse_duration};
    use crate::config::env::Env;

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

        // Values the code would refuse are refused when read, at their place.
        for (text, expected) in [
            (
                "[system.window]\ntick = \"0s\"\n",
                "bad.toml:2:8: system.window.tick",
            ),
            (
                "[system]\nresources = \"0ms\"\n",
                "bad.toml:2:13: system.resources",
            ),
            (
                "[system.health]\nmax_error_rate = 2.0\n",
                "bad.toml:2:18: system.health.max_error_rate",
            ),
            (
                "[[system.exporters.endpoints]]\nprotocol = \"otlp\"\nurl = \"ftp://x\"\n",
                "bad.toml:3:7: system.exporters.endpoints[0].url",
            ),
        ] {
            let error = Config::from_toml_str(text, "bad.toml")
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{text}: {error}");
            let mut config = Config::default();
            config.system = crate::config::from_toml_str::<Config>(text, "bad.toml")
                .unwrap()
                .system;
            assert!(config.validate().is_err(), "{text}");
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
