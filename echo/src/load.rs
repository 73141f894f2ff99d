//! `echo_load`: a load generator for any echo server (TCP, or UDP with
//! `--udp`).
//!
//! ```text
//! cargo run --release --example echo_load -- [--connections C] [--size M]
//!     [--seconds T] [--pipeline] [--udp] [--max-loss P] [--json] ADDR
//! ```
//!
//! C connections (default 1) each send M-byte messages (default 64) for T
//! seconds (default 5): ping-pong by default (one message in flight per
//! connection), or with `--pipeline` a window of messages in flight (up to
//! 64 KiB or 64 messages per connection). Every echoed byte is checked
//! against what was sent. One thread, sockpoll's `DefaultSelector` and
//! non-blocking sockets. Prints msgs/s, MB/s, p50/p99/max round-trip
//! latency and errors; with `--json`, one JSON line instead.
//!
//! With `--udp`, C senders (one UDP socket each) keep the same windows of
//! datagrams in flight; each datagram (12 <= M <= 65507) carries its
//! sender's id and sequence number and its echo is checked whole (see
//! `load/udp.rs`). Nothing is retransmitted: an echo not back within
//! 500 ms is counted lost, and the report gives datagrams sent, echoed,
//! lost (and late) beside the rate and latencies.
//!
//! Exit 0 on a clean run; 1 if any error was seen (TCP: a connection
//! failed or an echo differed; UDP: an echo was corrupt, unexpected or
//! duplicated), nothing came back, or more than P percent of the datagrams
//! were lost (`--max-loss`, default 1, UDP only); 2 on a bad argument (one
//! line on stderr). The command line is parsed in `load/args.rs`, TCP
//! driven by `load/tcp.rs`, UDP by `load/udp.rs`, the result printed by
//! `load/report.rs`.

mod args;
mod report;
mod tcp;
mod udp;

use std::process::ExitCode;
use std::time::Instant;

use report::Tally;

/// A UDP datagram's header: the sender's id (u32, little-endian), then the
/// sequence number (u64); `--size` is at least this with `--udp`.
const HEADER: usize = 12;

/// The byte at stream offset `k` of connection `conn`.
fn pattern(conn: usize, k: u64) -> u8 {
    (k.wrapping_mul(31).wrapping_add(conn as u64 * 7) % 251) as u8
}

/// The whole `echo_load` program: parses the command line, runs, prints the
/// report and returns the exit status described above.
pub fn main() -> ExitCode {
    let a = match args::parse() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("echo_load: {e}; {}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let mut t = Tally::default();
    let start = Instant::now();
    let res = if a.udp {
        udp::run(&a, &mut t)
    } else {
        tcp::run(&a, &mut t)
    };
    let secs = start.elapsed().as_secs_f64();
    if let Err(e) = res {
        eprintln!("echo_load: {e}");
        return ExitCode::from(1);
    }
    report::print(&a, &mut t, secs);
    if t.errors > 0 || t.messages == 0 || t.loss_pct() > a.max_loss {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
