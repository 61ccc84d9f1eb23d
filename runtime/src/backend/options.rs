//! The backend's options as a configuration file spells them (the file
//! `TELLTALE_BACKEND_CONFIG` names, or the configuration's `[backend]`).

use std::path::Path;

use crate::backend::kind::Backend;
#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
use crate::backend::kind::{FileOptions, RedisOptions};
use crate::error::Error;

/// The keys of a backend's options; which ones apply depends on `type`.
#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSection {
    /// `single`, `file` or `redis` (in `TELLTALE_BACKEND_CONFIG`, optional:
    /// `TELLTALE_BACKEND` names it; when both do, they must agree).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// File: the shared directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<std::path::PathBuf>,
    /// Redis: `redis://host:port/db`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Redis: prefix of every key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
    /// Both: how often values are written or sent (`"100ms"`, or seconds).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration")]
    pub flush_interval: Option<std::time::Duration>,
    /// File: how often dead processes' files are archived.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration")]
    pub compact_interval: Option<std::time::Duration>,
    /// Redis: most series one flush sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_size: Option<usize>,
    /// Redis: connect and reply timeout.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration")]
    pub timeout: Option<std::time::Duration>,
}

#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
mod duration {
    use std::time::Duration;

    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(f64),
        Text(String),
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let raw: Option<Raw> = serde::Deserialize::deserialize(d)?;
        match raw {
            None => Ok(None),
            Some(Raw::Seconds(s)) => Duration::try_from_secs_f64(s)
                .map(Some)
                .map_err(|_| serde::de::Error::custom(format!("{s} is not a duration in seconds"))),
            Some(Raw::Text(t)) => crate::config::duration::parse_duration(&t)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }

    #[allow(clippy::ref_option)] // the signature `serde(with)` calls
    pub(super) fn serialize<S: serde::Serializer>(
        d: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&format!("{}ms", d.as_millis())),
            None => s.serialize_none(),
        }
    }
}

#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
impl BackendSection {
    /// The backend these options describe; `name` is the backend named
    /// elsewhere (`TELLTALE_BACKEND`), if anywhere. `at` says where the
    /// options come from, for errors.
    pub fn to_backend(&self, name: Option<&str>, at: &str) -> Result<Backend, Error> {
        let kind = match (name, self.kind.as_deref()) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::Backend {
                    backend: "single",
                    reason: format!("{at}: type = {b:?} but TELLTALE_BACKEND={a:?}"),
                })
            }
            (Some(a), _) => a,
            (None, Some(b)) => b,
            (None, None) => "single",
        };
        let problem = |backend: &'static str, reason: String| Error::Backend {
            backend,
            reason: format!("{at}: {reason}"),
        };
        let only = |backend: &'static str, keys: &[(&str, bool)]| -> Result<(), Error> {
            match keys.iter().find(|(_, set)| *set) {
                Some((key, _)) => Err(problem(
                    backend,
                    format!("`{key}` is not an option of the {backend} backend"),
                )),
                None => Ok(()),
            }
        };
        match kind {
            "single" => Ok(Backend::Single),
            "file" => {
                only(
                    "file",
                    &[
                        ("url", self.url.is_some()),
                        ("key_prefix", self.key_prefix.is_some()),
                        ("queue_size", self.queue_size.is_some()),
                        ("timeout", self.timeout.is_some()),
                    ],
                )?;
                let Some(directory) = &self.directory else {
                    return Err(problem("file", "the file backend needs `directory`".into()));
                };
                let mut options = FileOptions::new(directory);
                if let Some(d) = self.flush_interval {
                    options.flush_interval = positive("file", at, "flush_interval", d)?;
                }
                if let Some(d) = self.compact_interval {
                    options.compact_interval = positive("file", at, "compact_interval", d)?;
                }
                Ok(Backend::File(options))
            }
            "redis" => {
                only(
                    "redis",
                    &[
                        ("directory", self.directory.is_some()),
                        ("compact_interval", self.compact_interval.is_some()),
                    ],
                )?;
                let mut options =
                    RedisOptions::new(self.url.as_deref().unwrap_or("redis://127.0.0.1:6379"));
                if let Some(p) = &self.key_prefix {
                    options.key_prefix.clone_from(p);
                }
                if let Some(d) = self.flush_interval {
                    options.flush_interval = positive("redis", at, "flush_interval", d)?;
                }
                if let Some(d) = self.timeout {
                    options.timeout = positive("redis", at, "timeout", d)?;
                }
                if let Some(n) = self.queue_size {
                    if n == 0 {
                        return Err(problem("redis", "`queue_size` must be at least 1".into()));
                    }
                    options.queue_size = n;
                }
                Ok(Backend::Redis(options))
            }
            other => Err(problem(
                "single",
                format!("type = {other:?} is not a backend: use single, file or redis"),
            )),
        }
    }
}

#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
fn positive(
    backend: &'static str,
    at: &str,
    key: &str,
    d: std::time::Duration,
) -> Result<std::time::Duration, Error> {
    if d.is_zero() {
        Err(Error::Backend {
            backend,
            reason: format!("{at}: `{key}` must be longer than zero"),
        })
    } else {
        Ok(d)
    }
}

/// The backend `name` (`file` or `redis`) with the options of `config`
/// (its path and text: JSON when it starts with `{`, TOML otherwise).
#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
pub(crate) fn parse(name: &str, config: Option<(&Path, &str)>) -> Result<Backend, Error> {
    let (section, at) = match config {
        None => (
            BackendSection::default(),
            "TELLTALE_BACKEND_CONFIG (unset)".to_owned(),
        ),
        Some((path, text)) => {
            let at = format!("TELLTALE_BACKEND_CONFIG {}", path.display());
            let parsed = if text.trim_start().starts_with('{') {
                serde_json::from_str(text).map_err(|e| e.to_string())
            } else {
                toml::from_str(text).map_err(|e| e.to_string())
            };
            let section = parsed.map_err(|e| Error::Backend {
                backend: if name == "file" { "file" } else { "redis" },
                reason: format!("{}: {}", path.display(), e.trim_end()),
            })?;
            (section, at)
        }
    };
    section.to_backend(Some(name), &at)
}

/// Without a multi-process backend compiled in, only `single` exists.
#[cfg(not(any(feature = "backend-file", feature = "backend-redis")))]
pub(crate) fn parse(name: &str, _config: Option<(&Path, &str)>) -> Result<Backend, Error> {
    Err(Error::Backend {
        backend: if name == "file" { "file" } else { "redis" },
        reason: format!(
            "TELLTALE_BACKEND={name}: telltale was built without the backend-{name} feature"
        ),
    })
}
