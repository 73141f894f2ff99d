//! A load generator for any echo server (TCP, or UDP with `--udp`).
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
//! line on stderr). The command line is parsed in `load/args.rs`, the
//! result printed by `load/report.rs`.

#[path = "load/args.rs"]
mod args;
#[path = "load/report.rs"]
mod report;
#[path = "load/udp.rs"]
mod udp;

use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use sockpoll::event::{DefaultSelector, Events, Interest, Mode, Selector, Token};
use sockpoll::TcpStream;

use args::Args;
use report::Tally;

/// The byte at stream offset `k` of connection `conn`.
fn pattern(conn: usize, k: u64) -> u8 {
    (k.wrapping_mul(31).wrapping_add(conn as u64 * 7) % 251) as u8
}

struct Conn {
    stream: TcpStream,
    sent: u64,
    recvd: u64,
    started: u64,
    inflight: VecDeque<Instant>,
    writing: bool,
    dead: bool,
}

fn run_tcp(a: &Args, t: &mut Tally) -> Result<(), String> {
    let mut sel = DefaultSelector::new().map_err(|e| e.to_string())?;
    let mut conns = Vec::with_capacity(a.conns);
    for i in 0..a.conns {
        let stream = match TcpStream::connect(a.addr) {
            Ok(s) => s,
            Err(e) if i == 0 => return Err(format!("connect {}: {e}", a.addr)),
            Err(_) => {
                t.errors += 1;
                continue;
            }
        };
        let ok = stream.set_nodelay(true).is_ok()
            && stream.set_nonblocking(true).is_ok()
            && sel
                .register(
                    stream.as_fd(),
                    Token(conns.len()),
                    Interest::READABLE,
                    Mode::Level,
                )
                .is_ok();
        if !ok {
            t.errors += 1;
            continue;
        }
        conns.push(Conn {
            stream,
            sent: 0,
            recvd: 0,
            started: 0,
            inflight: VecDeque::new(),
            writing: false,
            dead: false,
        });
    }
    let m = a.size as u64;
    let win = a.window();
    let mut out = vec![0u8; a.size.min(64 * 1024)];
    let mut buf = vec![0u8; 64 * 1024];
    let mut events = Events::with_capacity(1024);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.seconds);
    for (i, c) in conns.iter_mut().enumerate() {
        pump(&mut sel, i, c, m, win, &mut out, t);
    }
    loop {
        let now = Instant::now();
        if now >= deadline || conns.iter().all(|c| c.dead) {
            break;
        }
        if let Err(e) = sel.wait(&mut events, Some(deadline - now)) {
            return Err(format!("wait: {e}"));
        }
        while let Some(ev) = sel.next_event(&mut events) {
            let i = ev.token().0;
            let Some(c) = conns.get_mut(i) else { continue };
            if c.dead {
                continue;
            }
            if ev.is_readable() {
                read_conn(&mut sel, i, c, m, &mut buf, t);
            }
            if !c.dead {
                pump(&mut sel, i, c, m, win, &mut out, t);
            }
        }
    }
    Ok(())
}

fn kill(sel: &mut DefaultSelector, c: &mut Conn, t: &mut Tally) {
    t.errors += 1;
    c.dead = true;
    let _ = sel.deregister(c.stream.as_fd());
}

fn read_conn(
    sel: &mut DefaultSelector,
    i: usize,
    c: &mut Conn,
    m: u64,
    buf: &mut [u8],
    t: &mut Tally,
) {
    let n = match c.stream.as_socket().recv(buf) {
        Ok(0) => return kill(sel, c, t),
        Ok(n) => n,
        Err(e) if e.is_would_block() => return,
        Err(_) => return kill(sel, c, t),
    };
    // More than was sent, or a byte that differs: the echo is wrong.
    if c.recvd + n as u64 > c.sent
        || buf[..n]
            .iter()
            .enumerate()
            .any(|(j, &b)| b != pattern(i, c.recvd + j as u64))
    {
        return kill(sel, c, t);
    }
    let before = c.recvd / m;
    c.recvd += n as u64;
    t.bytes += n as u64;
    let now = Instant::now();
    for _ in before..c.recvd / m {
        if let Some(s) = c.inflight.pop_front() {
            t.latencies.push(now.duration_since(s).as_nanos() as u64);
        }
        t.messages += 1;
    }
}

/// Starts messages while the window has room and writes what is due.
fn pump(
    sel: &mut DefaultSelector,
    i: usize,
    c: &mut Conn,
    m: u64,
    win: u64,
    out: &mut [u8],
    t: &mut Tally,
) {
    while c.started - c.recvd / m < win {
        c.started += 1;
        c.inflight.push_back(Instant::now());
    }
    let due = c.started * m;
    let mut blocked = false;
    while c.sent < due {
        let len = (due - c.sent).min(out.len() as u64) as usize;
        for (j, b) in out[..len].iter_mut().enumerate() {
            *b = pattern(i, c.sent + j as u64);
        }
        match c.stream.as_socket().send(&out[..len]) {
            Ok(n) => c.sent += n as u64,
            Err(e) if e.is_would_block() => {
                blocked = true;
                break;
            }
            Err(_) => return kill(sel, c, t),
        }
    }
    if blocked != c.writing {
        let interest = if blocked {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if sel
            .reregister(c.stream.as_fd(), Token(i), interest, Mode::Level)
            .is_err()
        {
            return kill(sel, c, t);
        }
        c.writing = blocked;
    }
}

fn main() -> ExitCode {
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
        run_tcp(&a, &mut t)
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
