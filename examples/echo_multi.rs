//! N echo loops on one port, one thread and one selector each, sharing the
//! connections by `SO_REUSEPORT`, an exclusive shared listener, or an
//! acceptor thread's handoff.
//!
//! ```text
//! cargo run --release --example echo_multi -- [--loops N]
//!     [--balance reuseport|exclusive|handoff] [--backend B]
//!     [--mode level|edge|oneshot] [--rearm K] [--pin] [-v] [ADDR]
//! ```
//!
//! Prints `listening on <ip:port> (tcp+udp, backend B, loops N, balance M)`
//! once bound; on SIGINT/SIGTERM, one `loop=I accepted=… messages=…
//! waits=… events=… idle_ms=…` line per loop and a `total …` line, then
//! exits 0. The program and its output format are documented in
//! `echo/src/multi.rs` (`sockpoll_echo::multi`).

#[cfg(not(any(target_os = "illumos", target_os = "solaris")))]
fn main() -> std::process::ExitCode {
    sockpoll_echo::multi::main()
}

#[cfg(any(target_os = "illumos", target_os = "solaris"))]
fn main() -> std::process::ExitCode {
    eprintln!("echo_multi: needs SO_REUSEPORT, which this platform lacks");
    std::process::ExitCode::from(1)
}
