//! A load generator for any echo server (TCP, or UDP with `--udp`).
//!
//! ```text
//! cargo run --release --example echo_load -- [--connections C] [--size M]
//!     [--seconds T] [--pipeline | --rate R | --churn R] [--udp]
//!     [--max-loss P] [--json] ADDR
//! ```
//!
//! C connections (default 1) each send M-byte messages (default 64) for T
//! seconds (default 5), ping-pong or pipelined, or open loop at a fixed
//! rate (`--rate`: latency from each message's intended send time), or R
//! new connections a second (`--churn`), every echoed byte checked;
//! prints msgs/s, MB/s, p50/p99/max latency and errors (one JSON line with
//! `--json`). Exit 0 on a clean run, 1 on any error or too much UDP loss,
//! 2 on a bad argument. The program is `sockpoll_echo::load` (`echo/src/load.rs`),
//! whose docs give every option.

fn main() -> std::process::ExitCode {
    sockpoll_echo::load::main()
}
