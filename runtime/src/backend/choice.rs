//! Which backend holds the shared metrics: chosen once, before the first
//! metric records, by code ([`load`]), by the configuration file's
//! `[backend]` section, or by `TELLTALE_BACKEND` / `TELLTALE_BACKEND_CONFIG`.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use crate::backend::kind::Backend;
use crate::error::Error;

/// The chosen backend and what chose it.
#[derive(Debug)]
struct Chosen {
    backend: Backend,
    by: &'static str,
}

static CHOSEN: Mutex<Option<Chosen>> = Mutex::new(None);

/// What chose `single` when nothing named a backend.
const DEFAULT: &str = "default";

/// Chooses the backend of every shared metric of this process. Call it at
/// the start of `main`, before any metric records; it takes precedence
/// over `TELLTALE_BACKEND`. Loading the backend already chosen again is
/// harmless. While nothing has named a backend (`TELLTALE_BACKEND` unset),
/// the process is `single` and may still load another: what it recorded
/// so far is kept, since a backend reads this process's own cells.
///
/// # Errors
///
/// [`Error::Backend`] when another backend was already chosen (by an
/// earlier call, by the environment at the first recording, or by the
/// configuration), when the backend's feature is not compiled in, or when
/// it cannot start (a directory that cannot be created or written).
pub fn load(backend: Backend) -> Result<(), Error> {
    choose(backend, "code")
}

/// Chooses `backend`, saying `by` what when another choice conflicts.
pub(crate) fn choose(backend: Backend, by: &'static str) -> Result<(), Error> {
    let mut chosen = CHOSEN.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(current) = chosen.as_ref() {
        if current.backend == backend {
            return Ok(());
        }
        // Single by default (nothing named a backend) leaves the choice
        // open: a backend reads this process's cells, so what they hold
        // already is kept.
        if current.by == DEFAULT {
            crate::backend::start::start(&backend)?;
            *chosen = Some(Chosen { backend, by });
            return Ok(());
        }
        return Err(Error::Backend {
            backend: backend.name(),
            reason: format!(
                "the {} backend was already chosen (by {}); the backend cannot change once \
                 chosen: choose it before any metric records",
                current.backend.name(),
                current.by
            ),
        });
    }
    crate::backend::start::start(&backend)?;
    *chosen = Some(Chosen { backend, by });
    Ok(())
}

/// The backend in use (`Single` before one is chosen).
pub fn current() -> Backend {
    CHOSEN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map(|c| c.backend.clone())
        .unwrap_or_default()
}

/// The backend `TELLTALE_BACKEND` (`single`, `file`, `redis`; unset or
/// empty is `single`) and `TELLTALE_BACKEND_CONFIG` (a JSON or TOML file
/// of the backend's options: `directory`, `flush_interval`,
/// `compact_interval` for `file`; `url`, `key_prefix`, `flush_interval`,
/// `queue_size`, `timeout` for `redis`) name.
///
/// # Errors
///
/// [`Error::Backend`] for an unknown backend name, a file backend without
/// a configuration file, or a configuration file that cannot be read or
/// does not parse (with its path, line and column).
pub fn from_env() -> Result<Backend, Error> {
    let name = std::env::var("TELLTALE_BACKEND").unwrap_or_default();
    let config = std::env::var_os("TELLTALE_BACKEND_CONFIG").map(PathBuf::from);
    from_parts(name.trim(), config.as_deref())
}

fn from_parts(name: &str, config: Option<&std::path::Path>) -> Result<Backend, Error> {
    let text = match config {
        None => None,
        Some(path) => Some((
            path,
            std::fs::read_to_string(path).map_err(|e| Error::Backend {
                backend: "file",
                reason: format!("TELLTALE_BACKEND_CONFIG {}: {e}", path.display()),
            })?,
        )),
    };
    match name {
        "" | "single" => Ok(Backend::Single),
        "file" | "redis" => {
            let text = text.as_ref().map(|(p, t)| (*p, t.as_str()));
            crate::backend::options::parse(name, text)
        }
        other => Err(Error::Backend {
            backend: "single",
            reason: format!(
                "TELLTALE_BACKEND={other:?} is not a backend: use single, file or redis"
            ),
        }),
    }
}

/// Run once before the first recording or collection: chooses the backend
/// the environment names unless code chose one already. A backend that
/// cannot start leaves this process recording on its own, says so on
/// standard error once and in [`status`](crate::backend::status).
fn start_from_env() {
    // Held: a `load` is choosing right now (maybe on this very thread, its
    // backend's first write running the starters): it decides.
    let chosen = match CHOSEN.try_lock() {
        Ok(chosen) => chosen.is_some(),
        Err(std::sync::TryLockError::WouldBlock) => true,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().is_some(),
    };
    if chosen {
        return;
    }
    let named = std::env::var("TELLTALE_BACKEND").is_ok_and(|v| !v.trim().is_empty());
    let by = if named { "TELLTALE_BACKEND" } else { DEFAULT };
    let outcome = from_env().and_then(|backend| choose(backend, by));
    if let Err(e) = outcome {
        eprintln!("telltale: {e}; metrics are kept in this process only");
        crate::backend::status::failed(&e.to_string());
        let _ = choose(Backend::Single, "TELLTALE_BACKEND");
    }
}

inventory::submit!(crate::collect::start::Starter(start_from_env));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_names_a_backend_or_says_what_is_wrong() {
        assert_eq!(from_parts("", None).unwrap(), Backend::Single);
        assert_eq!(from_parts("single", None).unwrap(), Backend::Single);
        let e = from_parts("mmap", None).unwrap_err().to_string();
        assert!(e.contains("\"mmap\" is not a backend"), "{e}");
        let e = from_parts("file", Some(std::path::Path::new("/nonexistent/b.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/b.toml"), "{e}");
    }
}
