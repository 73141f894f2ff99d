//! `echo_load --churn R`: R new TCP connections per second, each sending
//! one M-byte message, checking its echo and closing. Connection `g` of the
//! run is due at `start + g / R` (an open loop, as `--rate`): it is opened
//! then (a blocking `connect`, which on loopback completes at once while
//! the server's accept queue has room), and its latency — connect plus
//! echo — runs from that intended time. Closing sends a reset
//! (`SO_LINGER` 0) rather than a FIN, so the client's ports do not pile up
//! in `TIME_WAIT` at thousands of connections a second.
//!
//! What it is for: how a multi-loop server spreads accepts (`echo_multi`'s
//! per-loop `accepted`). At most `MAX_OPEN` connections are open at once;
//! a connection due while that many wait for their echoes is opened when
//! one finishes, and its latency shows the wait.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use sockpoll::event::{DefaultSelector, Events, Interest, Mode, Selector, Token};
use sockpoll::TcpStream;

use super::args::Args;
use super::report::Tally;
use super::{pattern, Schedule};

/// Connections open at once, at most.
const MAX_OPEN: usize = 10_000;

struct Conn {
    stream: TcpStream,
    /// Its number in the run (what the pattern is derived from).
    g: u64,
    intended: Instant,
    recvd: usize,
}

/// Runs the churn load of `a` at `rate` connections a second, counting
/// into `t`; `Err` when the selector cannot be made or the very first
/// connection fails.
pub(super) fn run(a: &Args, rate: f64, t: &mut Tally) -> Result<(), String> {
    let sel = DefaultSelector::new().map_err(|e| e.to_string())?;
    let m = a.size;
    let mut slots: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut open = 0usize;
    let mut out = vec![0u8; m];
    let mut buf = vec![0u8; m.clamp(1, 64 * 1024)];
    let mut events = Events::with_capacity(1024);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.seconds);
    let mut schedule = Schedule::new(start, rate);
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        while open < MAX_OPEN && schedule.due() <= now {
            let (g, due) = (schedule.next, schedule.due());
            schedule.next += 1;
            t.connects += 1;
            let Some(conn) = connect(a, g, due, &mut out) else {
                if g == 0 {
                    return Err(format!("connect {}: refused or failed", a.addr));
                }
                t.errors += 1;
                continue;
            };
            let id = free.pop().unwrap_or_else(|| {
                slots.push(None);
                slots.len() - 1
            });
            let registered = sel.register(
                conn.stream.as_fd(),
                Token(id),
                Interest::READABLE,
                Mode::Level,
            );
            if registered.is_err() {
                t.errors += 1;
                free.push(id);
                continue;
            }
            slots[id] = Some(conn);
            open += 1;
        }
        let timeout = if open < MAX_OPEN {
            (deadline - now).min(schedule.due().saturating_duration_since(now))
        } else {
            deadline - now
        };
        if let Err(e) = sel.wait(&mut events, Some(timeout)) {
            return Err(format!("wait: {e}"));
        }
        while let Some(ev) = sel.next_event(&mut events) {
            let id = ev.token().0;
            let Some(Some(c)) = slots.get_mut(id) else {
                continue;
            };
            match read(c, m, &mut buf) {
                Step::More => continue,
                Step::Echoed => {
                    t.messages += 1;
                    t.bytes += m as u64;
                    t.record(c.intended.elapsed().as_nanos() as u64);
                }
                Step::Failed => t.errors += 1,
            }
            if let Some(c) = slots[id].take() {
                let _ = sel.deregister(c.stream.as_fd());
                // A reset, not a FIN: no TIME_WAIT on this side.
                let _ = c.stream.as_socket().set_linger(Some(Duration::ZERO));
            }
            free.push(id);
            open -= 1;
        }
    }
    Ok(())
}

/// Opens connection `g` and sends its message; `None` when either fails.
fn connect(a: &Args, g: u64, intended: Instant, out: &mut [u8]) -> Option<Conn> {
    let stream = TcpStream::connect(a.addr).ok()?;
    stream.set_nodelay(true).ok()?;
    for (j, b) in out.iter_mut().enumerate() {
        *b = pattern(g as usize, j as u64);
    }
    // A message that fits the socket buffer leaves in one blocking send.
    let mut sent = 0;
    while sent < out.len() {
        sent += stream.as_socket().send(&out[sent..]).ok()?;
    }
    stream.set_nonblocking(true).ok()?;
    Some(Conn {
        stream,
        g,
        intended,
        recvd: 0,
    })
}

enum Step {
    More,
    Echoed,
    Failed,
}

/// Reads what has come back of connection `c`'s message of `m` bytes.
fn read(c: &mut Conn, m: usize, buf: &mut [u8]) -> Step {
    loop {
        let want = (m - c.recvd).min(buf.len());
        match c.stream.as_socket().recv(&mut buf[..want.max(1)]) {
            Ok(0) => return Step::Failed,
            Ok(n) if c.recvd + n > m => return Step::Failed,
            Ok(n) => {
                let ok = buf[..n]
                    .iter()
                    .enumerate()
                    .all(|(j, &b)| b == pattern(c.g as usize, (c.recvd + j) as u64));
                if !ok {
                    return Step::Failed;
                }
                c.recvd += n;
                if c.recvd == m {
                    return Step::Echoed;
                }
            }
            Err(e) if e.is_would_block() => return Step::More,
            Err(_) => return Step::Failed,
        }
    }
}
