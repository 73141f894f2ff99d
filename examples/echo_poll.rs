//! A single-threaded TCP + UDP echo server driven by the `poll` backend.
//!
//! ```text
//! cargo run --release --example echo_poll [-- [--mode level|edge|oneshot] [-v] [ADDR]]
//! ```
//!
//! ADDR defaults to `127.0.0.1:7007`; `host:port`, `[v6]:port` and host
//! names work, port 0 picks a free port. Once bound it prints exactly one
//! line to stdout, `listening on <ip:port> (tcp+udp, backend poll)`; logs go
//! to stderr. SIGINT/SIGTERM stop it with exit code 0; a bad argument exits
//! 2, a bind failure 1. The loop is `sockpoll_echo::server` (`echo/src/server.rs`),
//! shared by all the echo examples and the benches; `echo/src/program.rs`
//! is the rest of the program (command line, signals, exit status).

fn main() -> std::process::ExitCode {
    sockpoll_echo::program::main_for(sockpoll::event::PollSelector::new)
}
