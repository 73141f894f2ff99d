//! `echo_load --udp`: C senders, one UDP socket each (connected to the
//! server, so the kernel drops datagrams from anyone else), each keeping
//! its window of datagrams in flight as the TCP mode keeps messages.
//!
//! Every datagram carries its sender's id and a sequence number, then a
//! pattern derived from both, and every echo is checked whole against the
//! datagram that was sent. UDP may lose datagrams, so nothing is ever
//! retransmitted: an echo not back within [`LOSS_TIMEOUT`] is counted lost
//! and its slot in the window goes to a new datagram. What the run counts:
//! - `messages`: echoes back in time and byte-exact (their round trips are
//!   the latencies);
//! - `lost`: given up after the timeout (`late`: of those, how many came
//!   back afterwards — still checked, still lost);
//! - `errors` (corruption): an echo of the wrong length or content, with
//!   another sender's id, of a sequence number never sent, or twice;
//! - `socket_errors`: failed sends and receives (e.g. `ECONNREFUSED` once
//!   the server's port is closed) — the datagrams they cost show up as lost.
//!
//! When the sending time is up, the datagrams still in flight get their
//! full timeout before the run ends, so every datagram sent is accounted
//! for: `sent = messages + lost + echoes that were corrupt`.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use sockpoll::event::{DefaultSelector, Events, Interest, Mode, Selector, Token};
use sockpoll::UdpSocket;

use super::args::Args;
use super::report::Tally;
use super::{pattern, HEADER};

/// An echo not back after this long is counted lost.
pub const LOSS_TIMEOUT: Duration = Duration::from_millis(500);
/// How often the windows are swept for datagrams past their timeout.
const SWEEP: Duration = Duration::from_millis(10);

/// One simulated client.
struct Sender {
    sock: UdpSocket,
    next_seq: u64,
    /// Sent and not yet echoed, oldest first (sequence numbers ascending).
    inflight: VecDeque<(u64, Instant)>,
    /// Counted lost; an echo of one of these afterwards is late, not corrupt.
    given_up: HashSet<u64>,
    /// Watching for writability: the last send would have blocked.
    writing: bool,
}

/// Datagram `seq` of sender `id`, `m` bytes, written into `out[..m]`.
fn datagram(id: usize, seq: u64, m: usize, out: &mut [u8]) {
    out[..4].copy_from_slice(&(id as u32).to_le_bytes());
    out[4..HEADER].copy_from_slice(&seq.to_le_bytes());
    let base = seq.wrapping_mul(m as u64);
    for (j, b) in out[HEADER..m].iter_mut().enumerate() {
        *b = pattern(id, base.wrapping_add(j as u64));
    }
}

/// Runs the UDP load of `a`, counting into `t`.
pub fn run(a: &Args, t: &mut Tally) -> Result<(), String> {
    let sel = DefaultSelector::new().map_err(|e| e.to_string())?;
    let local: SocketAddr = if a.addr.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let mut senders = Vec::with_capacity(a.conns);
    for i in 0..a.conns {
        let sock = UdpSocket::bind(local).map_err(|e| format!("bind: {e}"))?;
        sock.connect(a.addr)
            .map_err(|e| format!("connect {}: {e}", a.addr))?;
        sock.set_nonblocking(true).map_err(|e| e.to_string())?;
        sel.register(sock.as_fd(), Token(i), Interest::READABLE, Mode::Level)
            .map_err(|e| e.to_string())?;
        senders.push(Sender {
            sock,
            next_seq: 0,
            inflight: VecDeque::new(),
            given_up: HashSet::new(),
            writing: false,
        });
    }
    let m = a.size;
    let win = a.window() as usize;
    let mut out = vec![0u8; m];
    let mut expect = vec![0u8; m];
    let mut buf = vec![0u8; 65_536];
    let mut events = Events::with_capacity(1024);
    let deadline = Instant::now() + Duration::from_secs_f64(a.seconds);
    for (i, s) in senders.iter_mut().enumerate() {
        pump(&sel, i, s, m, win, &mut out, t);
    }
    let mut sending = true;
    let mut next_sweep = Instant::now() + SWEEP;
    loop {
        let now = Instant::now();
        if sending && now >= deadline {
            sending = false;
        }
        if now >= next_sweep {
            for (i, s) in senders.iter_mut().enumerate() {
                expire(s, now, t);
                // Also a sender whose last send failed gets its turn here.
                if sending && s.inflight.len() < win && !s.writing {
                    pump(&sel, i, s, m, win, &mut out, t);
                }
            }
            next_sweep = now + SWEEP;
        }
        if !sending && senders.iter().all(|s| s.inflight.is_empty()) {
            return Ok(());
        }
        let until = if sending {
            deadline.min(next_sweep)
        } else {
            next_sweep
        };
        sel.wait(&mut events, Some(until.saturating_duration_since(now)))
            .map_err(|e| format!("wait: {e}"))?;
        while let Some(ev) = sel.next_event(&mut events) {
            let i = ev.token().0;
            let Some(s) = senders.get_mut(i) else {
                continue;
            };
            if ev.is_readable() || ev.is_error() {
                receive(i, s, m, &mut buf, &mut expect, t);
            }
            if sending {
                pump(&sel, i, s, m, win, &mut out, t);
            }
        }
    }
}

/// Gives up on the datagrams of `s` older than [`LOSS_TIMEOUT`], which
/// frees their slots in the window.
fn expire(s: &mut Sender, now: Instant, t: &mut Tally) {
    while let Some(&(seq, sent)) = s.inflight.front() {
        if now.duration_since(sent) <= LOSS_TIMEOUT {
            break;
        }
        s.inflight.pop_front();
        s.given_up.insert(seq);
        t.lost += 1;
    }
}

/// Receives every echo waiting on sender `i` and checks each.
fn receive(i: usize, s: &mut Sender, m: usize, buf: &mut [u8], expect: &mut [u8], t: &mut Tally) {
    loop {
        let n = match s.sock.recv(buf) {
            Ok(n) => n,
            Err(e) if e.is_would_block() => return,
            // A pending ICMP error (ECONNREFUSED) is reported once; the
            // datagrams it cost time out as lost.
            Err(_) => {
                t.socket_errors += 1;
                return;
            }
        };
        let got = &buf[..n];
        let header = (n >= HEADER).then(|| {
            let mut id = [0u8; 4];
            let mut seq = [0u8; 8];
            id.copy_from_slice(&got[..4]);
            seq.copy_from_slice(&got[4..HEADER]);
            (u32::from_le_bytes(id) as usize, u64::from_le_bytes(seq))
        });
        let Some((id, seq)) = header.filter(|&(id, _)| id == i) else {
            t.errors += 1; // too short to be ours, or another sender's
            continue;
        };
        let sent = match s.inflight.iter().position(|&(q, _)| q == seq) {
            Some(pos) => s.inflight.remove(pos).map(|(_, at)| at),
            None if s.given_up.remove(&seq) => {
                t.late += 1;
                None
            }
            None => {
                t.errors += 1; // never sent, or echoed twice
                continue;
            }
        };
        datagram(id, seq, m, expect);
        if got != &expect[..] {
            t.errors += 1;
            continue;
        }
        if let Some(at) = sent {
            t.record(at.elapsed().as_nanos() as u64);
            t.messages += 1;
            t.bytes += n as u64;
        }
    }
}

/// Sends new datagrams while the window of sender `i` has room.
fn pump(
    sel: &DefaultSelector,
    i: usize,
    s: &mut Sender,
    m: usize,
    win: usize,
    out: &mut [u8],
    t: &mut Tally,
) {
    let mut blocked = false;
    while s.inflight.len() < win {
        datagram(i, s.next_seq, m, out);
        match s.sock.send(&out[..m]) {
            Ok(_) => {
                s.inflight.push_back((s.next_seq, Instant::now()));
                s.next_seq += 1;
                t.sent += 1;
            }
            Err(e) if e.is_would_block() => {
                blocked = true;
                break;
            }
            // Nothing was sent; try again at the next event or sweep.
            Err(_) => {
                t.socket_errors += 1;
                break;
            }
        }
    }
    if blocked != s.writing {
        let interest = if blocked {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if sel
            .reregister(s.sock.as_fd(), Token(i), interest, Mode::Level)
            .is_ok()
        {
            s.writing = blocked;
        } else {
            t.socket_errors += 1;
        }
    }
}
