//! The backends and their options, as plain values.

use std::path::PathBuf;
use std::time::Duration;

/// Where the values of shared metrics live (see the [module](crate::backend)).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum Backend {
    /// In this process only (the default).
    #[default]
    Single,
    /// One file per process in a directory; any process renders the sum
    /// over all of them (feature `backend-file`).
    File(FileOptions),
    /// A Redis server that every process flushes its changes to (feature
    /// `backend-redis`).
    Redis(RedisOptions),
}

impl Backend {
    /// `single`, `file` or `redis`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Single => "single",
            Backend::File(_) => "file",
            Backend::Redis(_) => "redis",
        }
    }
}

/// Options of the file backend.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FileOptions {
    /// The directory every cooperating process writes its file to.
    pub directory: PathBuf,
    /// How often a process writes its values to its file (default 100 ms):
    /// a process killed without exiting loses what it recorded since.
    pub flush_interval: Duration,
    /// How often a process folds the files of dead processes into the
    /// archive (default 10 s).
    pub compact_interval: Duration,
}

impl FileOptions {
    /// Files under `directory`, with the default intervals.
    pub fn new(directory: impl Into<PathBuf>) -> FileOptions {
        FileOptions {
            directory: directory.into(),
            flush_interval: Duration::from_millis(100),
            compact_interval: Duration::from_secs(10),
        }
    }

    /// Sets [`flush_interval`](Self::flush_interval).
    #[must_use]
    pub fn flush_interval(mut self, every: Duration) -> FileOptions {
        self.flush_interval = every;
        self
    }

    /// Sets [`compact_interval`](Self::compact_interval).
    #[must_use]
    pub fn compact_interval(mut self, every: Duration) -> FileOptions {
        self.compact_interval = every;
        self
    }
}

/// Options of the Redis backend.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RedisOptions {
    /// `redis://host:port/db` (`rediss://` is not supported).
    pub url: String,
    /// Prefix of every key telltale writes (default `telltale:`).
    pub key_prefix: String,
    /// How often changes are sent (default 1 s): a process killed without
    /// exiting loses what it recorded since its last flush.
    pub flush_interval: Duration,
    /// Most series one flush sends; more changed series go in several
    /// flushes, each applied exactly once (default 10,000).
    pub queue_size: usize,
    /// Connect and reply timeout (default 2 s).
    pub timeout: Duration,
}

impl RedisOptions {
    /// The server at `url`, with the defaults.
    pub fn new(url: impl Into<String>) -> RedisOptions {
        RedisOptions {
            url: url.into(),
            key_prefix: "telltale:".to_owned(),
            flush_interval: Duration::from_secs(1),
            queue_size: 10_000,
            timeout: Duration::from_secs(2),
        }
    }

    /// Sets [`key_prefix`](Self::key_prefix).
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> RedisOptions {
        self.key_prefix = prefix.into();
        self
    }

    /// Sets [`flush_interval`](Self::flush_interval).
    #[must_use]
    pub fn flush_interval(mut self, every: Duration) -> RedisOptions {
        self.flush_interval = every;
        self
    }

    /// Sets [`queue_size`](Self::queue_size).
    #[must_use]
    pub fn queue_size(mut self, size: usize) -> RedisOptions {
        self.queue_size = size;
        self
    }
}
