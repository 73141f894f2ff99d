//! `echo_load`: a load generator for any echo server (TCP, or UDP with
//! `--udp`).
//!
//! ```text
//! cargo run --release --example echo_load -- [--connections C] [--size M]
//!     [--seconds T] [--pipeline | --rate R | --churn R] [--udp]
//!     [--max-loss P] [--json] ADDR
//! ```
//!
//! C connections (default 1) each send M-byte messages (default 64) for T
//! seconds (default 5): ping-pong by default (one message in flight per
//! connection), or with `--pipeline` a window of messages in flight (up to
//! 64 KiB or 64 messages per connection). Every echoed byte is checked
//! against what was sent. One thread, sockpoll's `DefaultSelector` and
//! non-blocking sockets. Prints msgs/s, MB/s, p50/p99/max round-trip
//! latency and errors; with `--json`, one JSON line instead (which also
//! has p90 and p99.9). Latencies are kept in an HDR histogram
//! (`load/report.rs`).
//!
//! Two open-loop shapes (TCP), for latency at a fixed offered load and for
//! accept distribution:
//! - `--rate R`: R messages per second in all, message `g` due at
//!   `start + g / R` on connection `g mod C`, sent at its time whatever is
//!   in flight; latency from that *intended* time (wrk2's correction for
//!   coordinated omission). Prints p50/p90/p99/p99.9/max and the achieved
//!   rate (messages echoed per second) beside the intended one.
//! - `--churn R`: R new connections per second, each one M-byte echo and a
//!   close (`load/churn.rs`); latency is connect + echo from the intended
//!   start. `--connections` is not used; M is at most 65536.
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
//! driven by `load/tcp.rs` (closed loop and `--rate`) and `load/churn.rs`,
//! UDP by `load/udp.rs`, the result printed by `load/report.rs`.

mod args;
mod churn;
mod report;
mod tcp;
mod udp;

use std::process::ExitCode;
use std::time::{Duration, Instant};

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
    let res = match a.shape {
        _ if a.udp => udp::run(&a, &mut t),
        args::Shape::Churn(rate) => churn::run(&a, rate, &mut t),
        _ => tcp::run(&a, &mut t),
    };
    let secs = start.elapsed().as_secs_f64();
    if let Err(e) = res {
        eprintln!("echo_load: {e}");
        return ExitCode::from(1);
    }
    report::print(&a, &t, secs);
    if t.errors > 0 || t.messages == 0 || t.loss_pct() > a.max_loss {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The open loops' clock (`--rate`, `--churn`): message (or connection)
/// `next` of the run is due at `start + next / rate`.
struct Schedule {
    start: Instant,
    rate: f64,
    /// The next message (or connection) to start.
    next: u64,
}

impl Schedule {
    fn new(start: Instant, rate: f64) -> Schedule {
        Schedule {
            start,
            rate,
            next: 0,
        }
    }

    fn due(&self) -> Instant {
        self.start + Duration::from_secs_f64(self.next as f64 / self.rate)
    }
}
