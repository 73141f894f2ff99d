//! A load generator for any echo server (TCP, or UDP with `--udp`).
//!
//! ```text
//! cargo run --release --example echo_load -- [--connections C] [--size M]
//!     [--seconds T] [--pipeline] [--udp] [--json] ADDR
//! ```
//!
//! C connections (default 1) each send M-byte messages (default 64) for T
//! seconds (default 5): ping-pong by default (one message in flight per
//! connection), or with `--pipeline` a window of messages in flight (up to
//! 64 KiB or 64 messages per connection). Every echoed byte is checked
//! against what was sent. One thread, sockpoll's `DefaultSelector` and
//! non-blocking sockets. Prints msgs/s, MB/s, p50/p99/max round-trip
//! latency and errors; with `--json`, one JSON line instead. Exit 0 on a
//! clean run, 1 if any error was seen or nothing could connect, 2 on a bad
//! argument (one line on stderr). The command line is parsed in
//! `load/args.rs`, the result printed by `load/report.rs`.

#[path = "load/args.rs"]
mod args;
#[path = "load/report.rs"]
mod report;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use sockpoll::event::{DefaultSelector, Events, Interest, Mode, Selector, Token};
use sockpoll::{TcpStream, UdpSocket};

use args::Args;
use report::Tally;

/// A lost datagram is given up on after this long.
const UDP_TIMEOUT: Duration = Duration::from_millis(500);

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

struct Dgram {
    sock: UdpSocket,
    next_seq: u64,
    inflight: VecDeque<(u64, Instant)>,
}

fn datagram(i: usize, seq: u64, m: usize, out: &mut [u8]) {
    out[..8].copy_from_slice(&seq.to_le_bytes());
    for (j, b) in out[8..m].iter_mut().enumerate() {
        *b = pattern(i, seq * m as u64 + j as u64);
    }
}

fn run_udp(a: &Args, t: &mut Tally) -> Result<(), String> {
    let sel = DefaultSelector::new().map_err(|e| e.to_string())?;
    let local: SocketAddr = if a.addr.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let mut socks = Vec::with_capacity(a.conns);
    for i in 0..a.conns {
        let sock = UdpSocket::bind(local).map_err(|e| format!("bind: {e}"))?;
        sock.connect(a.addr)
            .map_err(|e| format!("connect {}: {e}", a.addr))?;
        sock.set_nonblocking(true).map_err(|e| e.to_string())?;
        sel.register(sock.as_fd(), Token(i), Interest::READABLE, Mode::Level)
            .map_err(|e| e.to_string())?;
        socks.push(Dgram {
            sock,
            next_seq: 0,
            inflight: VecDeque::new(),
        });
    }
    let m = a.size;
    let win = a.window() as usize;
    let mut out = vec![0u8; m];
    let mut buf = vec![0u8; 65_536];
    let mut events = Events::with_capacity(1024);
    let deadline = Instant::now() + Duration::from_secs_f64(a.seconds);
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        for (i, d) in socks.iter_mut().enumerate() {
            // Lost datagrams: give up on them after UDP_TIMEOUT.
            while d
                .inflight
                .front()
                .is_some_and(|&(_, s)| now.duration_since(s) > UDP_TIMEOUT)
            {
                d.inflight.pop_front();
                t.errors += 1;
            }
            while d.inflight.len() < win {
                datagram(i, d.next_seq, m, &mut out);
                match d.sock.send(&out) {
                    Ok(_) => {
                        d.inflight.push_back((d.next_seq, Instant::now()));
                        d.next_seq += 1;
                    }
                    Err(e) if e.is_would_block() => break,
                    Err(_) => {
                        t.errors += 1;
                        break;
                    }
                }
            }
        }
        let wait = (deadline - now).min(UDP_TIMEOUT);
        sel.wait(&mut events, Some(wait))
            .map_err(|e| format!("wait: {e}"))?;
        while let Some(ev) = sel.next_event(&mut events) {
            let i = ev.token().0;
            let Some(d) = socks.get_mut(i) else { continue };
            loop {
                let n = match d.sock.recv(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.is_would_block() => break,
                    Err(_) => {
                        t.errors += 1;
                        break;
                    }
                };
                let seq = buf[..n.min(8)]
                    .try_into()
                    .map(u64::from_le_bytes)
                    .unwrap_or(u64::MAX);
                let Some(pos) = d.inflight.iter().position(|&(s, _)| s == seq) else {
                    t.errors += 1; // unknown, late or duplicated
                    continue;
                };
                datagram(i, seq, m, &mut out);
                if n != m || buf[..n] != out[..] {
                    t.errors += 1;
                    continue;
                }
                if let Some((_, s)) = d.inflight.remove(pos) {
                    t.latencies.push(s.elapsed().as_nanos() as u64);
                }
                t.messages += 1;
                t.bytes += n as u64;
            }
        }
    }
    Ok(())
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
        run_udp(&a, &mut t)
    } else {
        run_tcp(&a, &mut t)
    };
    let secs = start.elapsed().as_secs_f64();
    if let Err(e) = res {
        eprintln!("echo_load: {e}");
        return ExitCode::from(1);
    }
    report::print(&a, &mut t, secs);
    if t.errors > 0 || t.messages == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
