//! The whole program of `echo_<backend>` around the loop of
//! [`server`](crate::server): the command line (`program/args.rs`), the
//! descriptor limit, the `listening on` line, signals and the exit status.
//! Only the examples run it; the benches drive the loop themselves.

pub(crate) mod args;

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use sockpoll::event::Selector;

use sockpoll_conformance::support::raise_fd_limit;

use crate::server::{Options, Server, StartError};
use args::Command;

/// Parses the command line, binds, prints the `listening on` line and
/// serves until SIGINT/SIGTERM. Exit status: 0 after a signal, 2 for a bad
/// argument, 1 for any other failure; each failure is one line on stderr.
pub fn main_for<S: Selector>(make: impl FnOnce() -> sockpoll::Result<S>) -> ExitCode {
    let exe = std::env::args().next().unwrap_or_default();
    let name = Path::new(&exe)
        .file_name()
        .map_or("echo".into(), |n| n.to_string_lossy().into_owned());
    let (opts, addr) = match args::parse(std::env::args().skip(1)) {
        Ok(Command::Serve { opts, addr }) => (opts, addr),
        Ok(Command::Help) => {
            println!("{}", args::usage(&name));
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("{name}: {msg}");
            return ExitCode::from(2);
        }
    };

    let selector = match make() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(1);
        }
    };
    let backend = selector.name();
    if !selector.supports(opts.mode) {
        eprintln!(
            "{name}: mode {:?} is not supported by the {backend} backend",
            opts.mode
        );
        return ExitCode::from(2);
    }
    // Thousands of clients need more than the usual 1024 descriptors.
    let limit = raise_fd_limit(u64::MAX);
    let opts = Options {
        stop_on_signals: true,
        ..opts
    };
    let mut server = match Server::bind(selector, &addr, opts) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("{name}: {e}");
            let bad_argument = matches!(e, StartError::BadAddress { .. });
            return ExitCode::from(if bad_argument { 2 } else { 1 });
        }
    };
    eprintln!("{name}: fd limit {limit}");
    let mut stdout = io::stdout().lock();
    let line = writeln!(
        stdout,
        "listening on {} (tcp+udp, backend {backend})",
        server.local_addr()
    )
    .and_then(|()| stdout.flush());
    drop(stdout);
    if let Err(e) = line {
        eprintln!("{name}: cannot write to stdout: {e}");
        return ExitCode::from(1);
    }
    let result = server.run();
    eprintln!("{name}: {}", server.stats);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::from(1)
        }
    }
}
