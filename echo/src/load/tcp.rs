//! `echo_load` over TCP: C connections on one `DefaultSelector`
//! (level-triggered), every echoed byte checked against the pattern it was
//! sent with. Closed loop by default: each connection keeps its window of
//! M-byte messages in flight, the next sent when one comes back. Open loop
//! with `--rate R` (wrk2's model): message `g` of the run is due at
//! `start + g / R` on connection `g mod C`, sent then whatever is still in
//! flight, and its latency runs from that intended time, so a server that
//! stalls is charged for every message it delayed (no coordinated
//! omission).

use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use sockpoll::event::{DefaultSelector, Events, Interest, Mode, Selector, Token};
use sockpoll::TcpStream;

use super::args::{Args, Shape};
use super::report::Tally;
use super::{pattern, Schedule};

struct Conn {
    stream: TcpStream,
    sent: u64,
    recvd: u64,
    started: u64,
    inflight: VecDeque<Instant>,
    writing: bool,
    dead: bool,
}

/// Runs the TCP load of `a`, counting into `t`; `Err` when the first
/// connection or the selector cannot be set up.
pub(super) fn run(a: &Args, t: &mut Tally) -> Result<(), String> {
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
    // Open loop: no window; the schedule starts every message.
    let win = if let Shape::Rate(_) = a.shape {
        0
    } else {
        a.window()
    };
    let mut out = vec![0u8; a.size.min(64 * 1024)];
    let mut buf = vec![0u8; 64 * 1024];
    let mut events = Events::with_capacity(1024);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.seconds);
    let mut schedule = match a.shape {
        Shape::Rate(r) => Some(Schedule::new(start, r)),
        _ => None,
    };
    for (i, c) in conns.iter_mut().enumerate() {
        pump(&mut sel, i, c, m, win, &mut out, t);
    }
    loop {
        let now = Instant::now();
        if now >= deadline || conns.iter().all(|c| c.dead) {
            break;
        }
        let mut timeout = deadline - now;
        if let Some(s) = &mut schedule {
            // Every message due by now, each on its connection.
            while s.due() <= now {
                let i = (s.next % conns.len() as u64) as usize;
                let due = s.due();
                s.next += 1;
                let c = &mut conns[i];
                if c.dead {
                    continue;
                }
                c.started += 1;
                c.inflight.push_back(due);
                pump(&mut sel, i, c, m, win, &mut out, t);
            }
            timeout = timeout.min(s.due().saturating_duration_since(now));
        }
        if let Err(e) = sel.wait(&mut events, Some(timeout)) {
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
            t.record(now.duration_since(s).as_nanos() as u64);
        }
        t.messages += 1;
    }
}

/// Starts messages while the window has room (closed loop; `win` 0 starts
/// none) and writes what is due.
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
