//! A single-threaded TCP + UDP echo server driven by the `io_uring` backend
//! (readiness from `POLL_ADD` requests; Linux, cargo feature `uring`, on by
//! default).
//!
//! ```text
//! cargo run --release --example echo_uring [-- [--mode level|edge|oneshot] [-v] [ADDR]]
//! ```
//!
//! ADDR defaults to `127.0.0.1:7007`; `host:port`, `[v6]:port` and host
//! names work, port 0 picks a free port. Once bound it prints exactly one
//! line to stdout, `listening on <ip:port> (tcp+udp, backend uring)`; logs go
//! to stderr. SIGINT/SIGTERM stop it with exit code 0; a bad argument exits
//! 2, a bind failure 1. The loop is `sockpoll_echo::server` (`echo/src/server.rs`),
//! shared by all the echo examples and the benches; `echo/src/program.rs`
//! is the rest of the program (command line, signals, exit status).

#[cfg(uring)]
fn main() -> std::process::ExitCode {
    sockpoll_echo::program::main_for(sockpoll::event::UringSelector::new)
}

// A Linux architecture the backend is not built for: the selector's
// constructor says why (`UnavailableReason::NotBuilt`), exit status 1.
#[cfg(all(uring_kind, not(uring)))]
fn main() -> std::process::ExitCode {
    use sockpoll::event::{AnySelector, BackendKind};
    sockpoll_echo::program::main_for(|| AnySelector::new(BackendKind::Uring))
}

#[cfg(not(uring_kind))]
fn main() -> std::process::ExitCode {
    eprintln!("echo_uring: io_uring is Linux-only; run echo_poll here");
    std::process::ExitCode::from(1)
}
