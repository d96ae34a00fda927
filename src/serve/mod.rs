//! `brainsurgery serve`: the local Web UI workbench — a plan editor checked as you type, a tensor
//! browser, the compiled graph as a picture, and runs with live progress.
//!
//! [`Server::bind`] receives [`ServeOptions`] (address, port, root directory, body limit), binds
//! the socket, generates the per-server [`Token`] and returns a [`Server`] whose [`Server::url`]
//! is the address to open; [`Server::run`] serves until the process ends, [`Server::spawn`]
//! serves on a background thread until the returned handle is dropped (tests use it with port 0).
//! The HTTP API ([`api`]) calls the same functions as the command line — the plan front ends,
//! `compile`, `check`'s summary, the graph and inspect modules — so the page checks exactly as
//! `brainsurgery check` does. All assets are embedded ([`assets`]); nothing is fetched from
//! elsewhere, so the page works offline.
//!
//! **Safety guarantees** (`docs/serve.md`): every file path is confined to the root ([`root`]);
//! every `/api/` request must carry the token (header, or query for event streams), so another
//! web page cannot drive the server; when bound to a loopback address the `Host` header must be
//! a loopback name, which defeats DNS rebinding; request bodies are limited in size.

pub mod api;
pub mod assets;
pub mod document;
pub mod error;
pub mod histogram;
pub mod jobs;
pub mod report;
pub mod root;
mod router;
pub mod run;
pub mod svg;
pub mod token;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

pub use self::root::Root;
pub use self::token::Token;

/// The default port (BrainSurgery's `webui` port).
pub const DEFAULT_PORT: u16 = 8766;

/// The default limit of a request body: plans are text, a megabyte is generous.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub host: IpAddr,
    pub port: u16,
    /// The directory every path is confined to.
    pub root: PathBuf,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
}

impl ServeOptions {
    /// Loopback, the default port and limit, serving `root`.
    pub fn new(root: impl Into<PathBuf>) -> ServeOptions {
        ServeOptions {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            root: root.into(),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

/// What every request handler shares.
#[derive(Debug)]
pub struct AppState {
    pub root: Root,
    pub token: Token,
    pub body_limit: usize,
    /// Whether the `Host` header must name a loopback host (the server is bound to loopback).
    pub loopback_only: bool,
    pub runs: jobs::Runs,
}

/// Why the server could not start.
#[derive(Debug)]
pub enum ServeError {
    Root(PathBuf, std::io::Error),
    Bind(SocketAddr, std::io::Error),
    Token(std::io::Error),
    Runtime(std::io::Error),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Root(path, error) => {
                write!(formatter, "cannot serve {}: {error}", path.display())
            }
            ServeError::Bind(address, error) => write!(formatter, "cannot bind {address}: {error}"),
            ServeError::Token(error) => {
                write!(formatter, "cannot read the system's random source: {error}")
            }
            ServeError::Runtime(error) => write!(formatter, "cannot start the server: {error}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// A bound server, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: std::net::TcpListener,
    address: SocketAddr,
    state: Arc<AppState>,
}

impl Server {
    pub fn bind(options: &ServeOptions) -> Result<Server, ServeError> {
        let root = Root::new(&options.root)
            .map_err(|error| ServeError::Root(options.root.clone(), error))?;
        let token = Token::generate().map_err(ServeError::Token)?;
        let requested = SocketAddr::new(options.host, options.port);
        let listener = std::net::TcpListener::bind(requested)
            .map_err(|error| ServeError::Bind(requested, error))?;
        let address = listener
            .local_addr()
            .map_err(|error| ServeError::Bind(requested, error))?;
        listener
            .set_nonblocking(true)
            .map_err(|error| ServeError::Bind(requested, error))?;
        let state = Arc::new(AppState {
            root,
            token,
            body_limit: options.body_limit,
            loopback_only: options.host.is_loopback(),
            runs: jobs::Runs::default(),
        });
        Ok(Server {
            listener,
            address,
            state,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn token(&self) -> &str {
        self.state.token.as_str()
    }

    pub fn root(&self) -> &Root {
        &self.state.root
    }

    /// The address to open, with the token.
    pub fn url(&self) -> String {
        format!("http://{}/?token={}", self.address, self.token())
    }

    /// Serves until the process ends (or the listener fails).
    pub fn run(self) -> Result<(), ServeError> {
        let runtime = runtime()?;
        runtime.block_on(async move {
            let listener =
                tokio::net::TcpListener::from_std(self.listener).map_err(ServeError::Runtime)?;
            axum::serve(listener, router::router(self.state))
                .await
                .map_err(ServeError::Runtime)
        })
    }

    /// Serves on a background thread until the handle is dropped.
    pub fn spawn(self) -> Result<RunningServer, ServeError> {
        let runtime = runtime()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let address = self.address;
        let token = self.token().to_string();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(self.listener) else {
                    return;
                };
                // Stopping does not wait for open connections (an event stream may be open):
                // the runtime is dropped below, which ends them.
                tokio::select! {
                    _ = axum::serve(listener, router::router(self.state)) => {}
                    _ = stopped => {}
                }
            });
            runtime.shutdown_background();
        });
        Ok(RunningServer {
            address,
            token,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// A server serving on a background thread; dropping it stops the server and waits for it.
#[derive(Debug)]
pub struct RunningServer {
    pub address: SocketAddr,
    pub token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}/?token={}", self.address, self.token)
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Two worker threads are plenty for one user's page; heavy work goes to blocking threads.
fn runtime() -> Result<tokio::runtime::Runtime, ServeError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .build()
        .map_err(ServeError::Runtime)
}
