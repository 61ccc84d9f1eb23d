//! Plugin directories: every executable file in them is a plugin, run as
//! an exec source; an optional manifest beside it (`NAME.toml`) says how.
//!
//! ```toml
//! # plugins/disk_check.toml, beside plugins/disk_check (or disk_check.sh)
//! protocol = 1              # the plugin protocol version it speaks
//! interval = "30s"
//! timeout = "5s"
//! format = "openmetrics"    # "prometheus" (the default), "json"
//! mode = "one_shot"         # or "long_running": one process, a batch an interval
//! args = ["--fast"]
//! labels = { team = "storage" }
//! env = { MODE = "fast" }
//! ```
//!
//! The plugin's name is its file name without the extension; its source
//! is named `plugin:<name>`. A plugin whose manifest is invalid, or names a
//! protocol version other than 1, is refused with an error and not run.
//! A rescan (every `rescan_interval`, and when asked) starts new plugins,
//! stops removed ones and restarts changed ones (by the hash of the
//! executable and its manifest), leaving the others running.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hasher as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::breaker::BreakerConfig;
use super::exec::ExecSource;
use super::exposition::OutputFormat;
use super::process::{ExecConfig, ExecMode, DEFAULT_MAX_OUTPUT_BYTES};
use super::source::{SourceBox, SourceOptions};

/// The plugin protocol versions this build speaks.
pub const PROTOCOL_VERSIONS: &[u32] = &[1];

/// A plugin's manifest, `NAME.toml` beside it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    protocol: u32,
    #[serde(default, with = "crate::config::duration::option")]
    interval: Option<Duration>,
    #[serde(default, with = "crate::config::duration::option")]
    timeout: Option<Duration>,
    #[serde(default, with = "crate::config::duration::option")]
    stale_after: Option<Duration>,
    #[serde(default)]
    format: OutputFormat,
    #[serde(default)]
    mode: ExecMode,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    max_output_bytes: Option<usize>,
    #[serde(default)]
    breaker: Option<BreakerConfig>,
}

/// A plugin found by a scan.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// `plugin:<name>`.
    pub(crate) source: String,
    /// The executable and its manifest, hashed.
    pub(crate) hash: u64,
    pub(crate) build: Result<SourceBox, String>,
}

/// A plugin a scan refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize))]
pub struct RefusedPlugin {
    /// The executable (or the manifest without one).
    pub path: PathBuf,
    /// Why it is not run.
    pub reason: String,
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

fn hash_files(paths: &[&Path]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for path in paths {
        hasher.write(path.as_os_str().as_encoded_bytes());
        match std::fs::read(path) {
            Ok(bytes) => hasher.write(&bytes),
            Err(_) => hasher.write_u8(0),
        }
    }
    hasher.finish()
}

/// Scans `dirs` in order: the plugins found (the first of a name wins) and
/// those refused.
pub(crate) fn scan(dirs: &[PathBuf], defaults: &SourceOptions) -> (Vec<Found>, Vec<RefusedPlugin>) {
    let mut found = Vec::new();
    let mut refused = Vec::new();
    let mut names = BTreeSet::new();
    for dir in dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                refused.push(RefusedPlugin {
                    path: dir.clone(),
                    reason: format!("cannot read the plugin directory: {e}"),
                });
                continue;
            }
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if file_name.starts_with('.')
                || path.extension().is_some_and(|e| e == "toml")
                || !is_executable(&path)
            {
                continue;
            }
            let name = path
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !names.insert(name.clone()) {
                refused.push(RefusedPlugin {
                    path: path.clone(),
                    reason: format!("a plugin named {name:?} was found first in an earlier directory or with another extension"),
                });
                continue;
            }
            let manifest_path = path.with_file_name(format!("{name}.toml"));
            let manifest = read_manifest(&manifest_path);
            let hash = hash_files(&[&path, &manifest_path]);
            let source = format!("plugin:{name}");
            let build = manifest.and_then(|m| plugin_source(&source, &path, m, defaults));
            if let Err(reason) = &build {
                refused.push(RefusedPlugin {
                    path: path.clone(),
                    reason: reason.clone(),
                });
            }
            found.push(Found {
                source,
                hash,
                build,
            });
        }
    }
    (found, refused)
}

/// The manifest at `path`; `None` when there is none.
fn read_manifest(path: &Path) -> Result<Option<Manifest>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let manifest: Manifest = toml::from_str(&text).map_err(|e| {
        let at = e
            .span()
            .map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(":{line}:{column}")
            })
            .unwrap_or_default();
        format!("{}{at}: {}", path.display(), e.message().trim_end())
    })?;
    if !PROTOCOL_VERSIONS.contains(&manifest.protocol) {
        return Err(format!(
            "{}: the plugin speaks protocol version {}; this telltale speaks {PROTOCOL_VERSIONS:?}",
            path.display(),
            manifest.protocol
        ));
    }
    Ok(Some(manifest))
}

fn plugin_source(
    source: &str,
    path: &Path,
    manifest: Option<Manifest>,
    defaults: &SourceOptions,
) -> Result<SourceBox, String> {
    let mut options = defaults.clone();
    let mut config = ExecConfig::new([path.to_string_lossy().into_owned()]);
    config.working_dir = path.parent().map(Path::to_path_buf);
    if let Some(m) = manifest {
        options.interval = m.interval.unwrap_or(options.interval);
        options.timeout = m.timeout.unwrap_or(options.timeout);
        options.stale_after = m.stale_after.or(options.stale_after);
        options.labels = m.labels.into_iter().collect();
        if let Some(breaker) = m.breaker {
            options.breaker = breaker;
        }
        config.command.extend(m.args);
        config.env = m.env;
        config.format = m.format;
        config.mode = m.mode;
        config.max_output_bytes = m.max_output_bytes.unwrap_or(DEFAULT_MAX_OUTPUT_BYTES);
    }
    ExecSource::new(source, config, options)
        .map(SourceBox::new)
        .map_err(|e| e.to_string())
}

/// The plugins of a running set of sources.
#[derive(Debug, Default)]
pub(crate) struct PluginState {
    pub(crate) dirs: Vec<PathBuf>,
    pub(crate) defaults: SourceOptions,
    /// Running plugins: source name → hash.
    pub(crate) running: BTreeMap<String, u64>,
    pub(crate) refused: Vec<RefusedPlugin>,
}

/// What a rescan changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginScan {
    /// Plugins started (new ones).
    pub started: Vec<String>,
    /// Plugins stopped (their executable is gone, or now refused).
    pub stopped: Vec<String>,
    /// Plugins restarted because the executable or its manifest changed.
    pub restarted: Vec<String>,
    /// Plugins refused, and why.
    pub refused: Vec<RefusedPlugin>,
}
