//! Starting and stopping: [`start`] binds and spawns the accept loop, [`Server`] stops it.

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::error::Error;

use super::config::ServerConfig;
use super::connection::{accept_loop, Limits, Settings, Shared, MAX_TURNING_AWAY};
use super::request::Handler;

/// Starts serving metrics as `config` says; call it inside a Tokio runtime.
///
/// Returns once the socket is bound, so a scrape can follow at once. With
/// `enabled: false` nothing is bound (and nothing else is checked) and the
/// returned [`Server`] is a no-op.
///
/// # Errors
///
/// [`Error::Bind`], naming the address, when the socket cannot be bound (the
/// port is taken, the host does not resolve, ...); [`Error::Config`] when
/// [`ServerConfig::validate`] refuses the configuration.
pub async fn start(config: ServerConfig) -> Result<Server, Error> {
    if !config.enabled {
        return Ok(Server { running: None });
    }
    config.validate()?;
    let bracketed = if config.host.contains(':') {
        format!("[{}]", config.host)
    } else {
        config.host.clone()
    };
    let host_port = format!("{bracketed}:{}", config.port);
    let listener = TcpListener::bind((config.host.as_str(), config.port))
        .await
        .map_err(|source| Error::Bind {
            addr: host_port.clone(),
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: host_port,
        source,
    })?;
    let url = format!("http://{bracketed}:{}{}", local_addr.port(), config.path);

    let shared = Arc::new(Shared {
        settings: RwLock::new(Arc::new(settings(&config, None))),
    });
    let limits = Limits {
        turning_away: Arc::new(Semaphore::new(MAX_TURNING_AWAY)),
    };
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (done_tx, done) = watch::channel(());
    tokio::spawn(accept_loop(
        listener,
        Arc::clone(&shared),
        limits,
        shutdown_rx,
        done_tx,
    ));
    Ok(Server {
        running: Some(Running {
            local_addr,
            host: config.host.clone(),
            port: config.port,
            bracketed,
            url: RwLock::new(url),
            shared,
            shutdown,
            done,
        }),
    })
}

/// The settings of `config`; the connection cap of `previous` is kept when
/// the number is the same (its connections stay counted).
fn settings(config: &ServerConfig, previous: Option<&Settings>) -> Settings {
    let connections = match previous {
        Some(previous) if previous.max_connections == config.max_connections => {
            Arc::clone(&previous.connections)
        }
        _ => Arc::new(Semaphore::new(config.max_connections)),
    };
    Settings {
        endpoint: Handler::new(config),
        header_read_timeout: config.header_read_timeout,
        idle_timeout: config.idle_timeout,
        max_connections: config.max_connections,
        connections,
    }
}

/// A running metrics server, or a no-op when it was disabled.
///
/// [`stop`](Server::stop) shuts it down gracefully. Dropping the handle stops
/// it too (without waiting for requests in flight); to keep it serving for the
/// life of the process without holding the handle, call
/// [`detach`](Server::detach).
#[derive(Debug)]
#[must_use = "the server stops when this handle is dropped; keep it, or call `detach`"]
pub struct Server {
    running: Option<Running>,
}

struct Running {
    local_addr: SocketAddr,
    /// The address as configured (the port may be `0`).
    host: String,
    port: u16,
    /// The host as a URL writes it.
    bracketed: String,
    url: RwLock<String>,
    shared: Arc<Shared>,
    /// `true` asks the accept loop and every connection to stop.
    shutdown: watch::Sender<bool>,
    /// Never written: its sender is dropped when the accept loop has ended.
    done: watch::Receiver<()>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("local_addr", &self.local_addr)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Applies `config` to the running server without closing its socket:
    /// paths, credentials, gzip, timeouts (for connections opened from now
    /// on) and the connection cap. Requests already read are answered as
    /// before; the next request on any connection sees the new settings.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `config` is invalid
    /// ([`ServerConfig::validate`]), when it changes `host`, `port` or
    /// `enabled` (which need a new server: [`start`] one, then
    /// [`stop`](Server::stop) this one), or when the server is disabled.
    pub fn reconfigure(&self, config: &ServerConfig) -> Result<(), Error> {
        config.validate()?;
        let Some(running) = &self.running else {
            return Err(Error::Config(
                "a disabled server cannot be reconfigured; start a new one".to_owned(),
            ));
        };
        if !config.enabled || config.host != running.host || config.port != running.port {
            return Err(Error::Config(format!(
                "server.host, server.port or server.enabled changed (from {}:{}); that needs a new server",
                running.host, running.port
            )));
        }
        let mut settings = running
            .shared
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let next = self::settings(config, Some(&settings));
        *settings = Arc::new(next);
        *running.url.write().unwrap_or_else(PoisonError::into_inner) = format!(
            "http://{}:{}{}",
            running.bracketed,
            running.local_addr.port(),
            config.path
        );
        Ok(())
    }

    /// Whether `config` would be served by this server as it is bound
    /// (same `enabled`, `host` and `port`), so that
    /// [`reconfigure`](Self::reconfigure) can apply it.
    pub fn same_address(&self, config: &ServerConfig) -> bool {
        match &self.running {
            Some(running) => {
                config.enabled && config.host == running.host && config.port == running.port
            }
            None => !config.enabled,
        }
    }

    /// The address the server listens on (with the real port when the
    /// configured one was `0`), or `None` when it is disabled.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.running.as_ref().map(|running| running.local_addr)
    }

    /// `http://host:port/path` of the metrics endpoint, or `None` when the
    /// server is disabled.
    pub fn url(&self) -> Option<String> {
        self.running.as_ref().map(|running| {
            running
                .url
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        })
    }

    /// Whether the server is accepting connections: enabled, and neither
    /// stopped nor stopping.
    pub fn is_running(&self) -> bool {
        self.running
            .as_ref()
            .is_some_and(|running| !*running.shutdown.borrow() && !running.shutdown.is_closed())
    }

    /// Stops the server and waits until it has stopped.
    ///
    /// The listening socket is closed at once, so the port is free again when
    /// this returns; requests in flight get up to 5 seconds to finish, idle
    /// keep-alive connections are closed. Calling it again, concurrently or
    /// later, or on a disabled server, is fine and returns once the server
    /// is stopped.
    pub async fn stop(&self) {
        let Some(running) = &self.running else {
            return;
        };
        running.shutdown.send_replace(true);
        let mut done = running.done.clone();
        // Resolves (with an error) when the accept loop drops its sender.
        while done.changed().await.is_ok() {}
    }

    /// Lets the server run until the process exits, without a handle.
    pub fn detach(mut self) {
        if let Some(running) = self.running.take() {
            // The loop treats a vanished sender as "never asked to stop".
            drop(running);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            running.shutdown.send_replace(true);
        }
    }
}
