//! Starting and stopping: [`start`] binds and spawns the accept loop, [`Server`] stops it.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::error::Error;

use super::config::ServerConfig;
use super::connection::{accept_loop, Limits, Shared, MAX_TURNING_AWAY};
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
        endpoint: Handler::new(&config),
        header_read_timeout: config.header_read_timeout,
        idle_timeout: config.idle_timeout,
    });
    let limits = Limits {
        connections: Arc::new(Semaphore::new(config.max_connections)),
        turning_away: Arc::new(Semaphore::new(MAX_TURNING_AWAY)),
    };
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (done_tx, done) = watch::channel(());
    tokio::spawn(accept_loop(listener, shared, limits, shutdown_rx, done_tx));
    Ok(Server {
        running: Some(Running {
            local_addr,
            url,
            shutdown,
            done,
        }),
    })
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

#[derive(Debug)]
struct Running {
    local_addr: SocketAddr,
    url: String,
    /// `true` asks the accept loop and every connection to stop.
    shutdown: watch::Sender<bool>,
    /// Never written: its sender is dropped when the accept loop has ended.
    done: watch::Receiver<()>,
}

impl Server {
    /// The address the server listens on (with the real port when the
    /// configured one was `0`), or `None` when it is disabled.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.running.as_ref().map(|running| running.local_addr)
    }

    /// `http://host:port/path` of the metrics endpoint, or `None` when the
    /// server is disabled.
    pub fn url(&self) -> Option<&str> {
        self.running.as_ref().map(|running| running.url.as_str())
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
