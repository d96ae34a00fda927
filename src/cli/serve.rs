//! `brainsurgery serve [--port 8766] [--root DIR] [--host ADDR] [--open]`: the local Web UI.
//!
//! Receives the parsed arguments, binds the server ([`crate::serve::Server`]), prints the URL
//! with the per-server token, optionally opens it in the desktop's browser, and serves until the
//! process is stopped. Binding to an address that is not loopback happens only when `--host`
//! names it, and prints a warning, because anyone who can reach the port and learns the token can
//! read and write files under the root. Exit code 3 when the server cannot start (the port is
//! taken, the root does not exist), 0 never (it serves until interrupted).

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

use super::EXIT_IO;
use crate::serve::{ServeOptions, Server, DEFAULT_BODY_LIMIT, DEFAULT_PORT};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The TCP port (0 picks a free one).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// The directory the UI may read and write in; every path is confined to it.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// The address to bind. Anything but a loopback address exposes the server to the network.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Open the page in the default browser.
    #[arg(long)]
    pub open: bool,
}

/// Runs the subcommand and returns the process exit code.
pub fn run(args: &ServeArgs) -> i32 {
    let options = ServeOptions {
        host: args.host,
        port: args.port,
        root: args.root.clone(),
        body_limit: DEFAULT_BODY_LIMIT,
    };
    let server = match Server::bind(&options) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_IO;
        }
    };
    if !args.host.is_loopback() {
        eprintln!(
            "warning: serving on {}, which is reachable from other machines; anyone with the \
             token can read and write files under {}",
            server.address(),
            server.root().path().display()
        );
    }
    let url = server.url();
    println!("brainsurgery serve: {}", server.root().path().display());
    println!("open {url}");
    if args.open {
        open_browser(&url);
    }
    match server.run() {
        Ok(()) => super::EXIT_OK,
        Err(error) => {
            eprintln!("error: {error}");
            EXIT_IO
        }
    }
}

/// Asks the desktop to open `url` (best effort: a headless machine just has the printed URL).
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if let Err(error) = std::process::Command::new(opener).arg(url).spawn() {
        eprintln!("note: could not open a browser ({opener}: {error}); open the URL above");
    }
}
