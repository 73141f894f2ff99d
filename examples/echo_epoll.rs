//! A single-threaded TCP + UDP echo server driven by the `epoll` backend.
//!
//! ```text
//! cargo run --release --example echo_epoll [-- [--mode level|edge|oneshot] [-v] [ADDR]]
//! ```
//!
//! ADDR defaults to `127.0.0.1:7007`; `host:port`, `[v6]:port` and host
//! names work, port 0 picks a free port. Once bound it prints exactly one
//! line to stdout, `listening on <ip:port> (tcp+udp, backend epoll)`; logs go
//! to stderr. SIGINT/SIGTERM stop it with exit code 0; a bad argument exits
//! 2, a bind failure 1. The loop is `sockpoll_echo::server` (`echo/src/server.rs`),
//! shared by all the echo examples and the benches; `echo/src/program.rs`
//! is the rest of the program (command line, signals, exit status).

#[cfg(any(target_os = "linux", target_os = "android"))]
fn main() -> std::process::ExitCode {
    sockpoll_echo::program::main_for(sockpoll::event::EpollSelector::new)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn main() -> std::process::ExitCode {
    eprintln!("echo_epoll: epoll is Linux-only; run echo_poll here");
    std::process::ExitCode::from(1)
}
