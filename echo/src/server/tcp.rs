//! The TCP side: the listener (with its back-off when descriptors run
//! out) and the connections, each echoing what it reads.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sockpoll::event::{ExclusiveAccept, Interest, Mode, Selector, Token};
use sockpoll::{TcpListener, TcpStream};

use super::{interest, Server, Stats, FIRST_CONN, LISTENER};

/// How long the listener stays unwatched after `accept` ran out of fds.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Default bound on bytes waiting to be echoed to one TCP client.
pub const OUT_MAX: usize = 256 * 1024;
/// Reads per connection per event before other connections get a turn.
const READ_BUDGET: usize = 16;
/// Accepts per listener event.
const ACCEPT_BUDGET: usize = 256;
const READ_CHUNK: usize = 64 * 1024;

/// The listening socket a loop accepts from.
#[derive(Debug)]
pub enum Listener {
    /// The loop's own: the single-loop server's, or one of a
    /// `SO_REUSEPORT` group (one per loop, the kernel spreading
    /// connections over them).
    Own(TcpListener),
    /// One listener in every loop's selector, registered with
    /// `Interest::EXCLUSIVE` and re-added every K accepts
    /// ([`ExclusiveAccept`]).
    Shared(Arc<TcpListener>, ExclusiveAccept),
}

impl Listener {
    pub(super) fn socket(&self) -> &TcpListener {
        match self {
            Listener::Own(l) => l,
            Listener::Shared(l, _) => l,
        }
    }

    /// Registers it with `selector` (exclusively when shared).
    pub(super) fn register<S: Selector>(
        &mut self,
        selector: &S,
        mode: Mode,
    ) -> sockpoll::Result<()> {
        match self {
            Listener::Own(l) => selector.register(l.as_fd(), LISTENER, Interest::READABLE, mode),
            Listener::Shared(l, accept) => accept.register(selector, l.as_fd()),
        }
    }

    pub(super) fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket().as_fd()
    }
}

/// The listener and every connection.
pub(super) struct Tcp {
    /// `None` when connections come from another thread (a `Handoff`).
    listener: Option<Listener>,
    /// Connection `id` is `conns[id]`; a closed one leaves `None`, its id in
    /// `free` for the next.
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    /// Connections with work left after their budget (edge and oneshot).
    pub(super) again: Vec<usize>,
    /// The listener has connections left after its budget.
    pub(super) accept_again: bool,
    /// Out of descriptors: the listener is unwatched until then.
    pub(super) paused_until: Option<Instant>,
    /// Inside an EMFILE episode (logged once at its start and its end).
    backing_off: bool,
    scratch: Vec<u8>,
}

impl Tcp {
    pub(super) fn new(listener: Option<Listener>) -> Tcp {
        Tcp {
            listener,
            conns: Vec::new(),
            free: Vec::new(),
            again: Vec::new(),
            accept_again: false,
            paused_until: None,
            backing_off: false,
            scratch: vec![0; READ_CHUNK],
        }
    }
}

struct Conn {
    stream: TcpStream,
    /// Bytes not yet echoed: `out[sent..]`.
    out: Vec<u8>,
    sent: usize,
    /// The client sent FIN: flush, then close.
    peer_closed: bool,
    /// What the selector currently watches for this connection.
    registered: Interest,
}

impl<S: Selector> Server<S> {
    /// The listener is ready: accept up to the budget.
    pub(super) fn accept_ready(&mut self) {
        if self.tcp.paused_until.is_some() {
            return;
        }
        let mut spent = true;
        let mut accepted = 0;
        for _ in 0..ACCEPT_BUDGET {
            let Some(listener) = &self.tcp.listener else {
                return;
            };
            match listener.socket().accept_nonblocking() {
                Ok((stream, peer)) => {
                    if std::mem::take(&mut self.tcp.backing_off) {
                        self.log
                            .line(format_args!("descriptors available again; accepting"));
                    }
                    accepted += 1;
                    self.add_conn(stream, peer);
                }
                Err(e) if e.is_would_block() => {
                    spent = false;
                    break;
                }
                Err(e) if e.is_fd_exhausted() => {
                    self.pause_listener(&e);
                    return; // deregistered: nothing to re-arm
                }
                // The client gave up before we accepted: nothing to do.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    self.log.line(format_args!("{e}"));
                    spent = false;
                    break;
                }
            }
        }
        let mode = self.opts.mode;
        let (selector, tcp) = (&self.selector, &mut self.tcp);
        let Some(listener) = &mut tcp.listener else {
            return;
        };
        let result = match listener {
            // Exclusive (level or edge only): re-added every K accepts,
            // otherwise left as registered.
            Listener::Shared(l, accept) => accept.accepted(selector, l.as_fd(), accepted).map(drop),
            Listener::Own(l) => {
                let readable = Some(Interest::READABLE);
                let next = interest::next(mode, readable, Interest::READABLE, spent);
                tcp.accept_again |= next.again;
                if next.tell {
                    selector.reregister(l.as_fd(), LISTENER, next.interest, mode)
                } else {
                    Ok(())
                }
            }
        };
        if let Err(e) = result {
            self.log.line(format_args!("{e}"));
        }
    }

    /// EMFILE/ENFILE: the pending connection keeps a level-triggered
    /// listener ready forever, so stop watching it for a moment.
    fn pause_listener(&mut self, err: &sockpoll::Error) {
        self.stats.backoffs += 1;
        if !self.tcp.backing_off || self.opts.verbose {
            self.log.line(format_args!(
                "{err}; not accepting new connections until descriptors free up"
            ));
        }
        self.tcp.backing_off = true;
        if let Some(listener) = &self.tcp.listener {
            let _ = self.selector.deregister(listener.as_fd());
        }
        self.tcp.paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
    }

    /// After a pause: watch the listener again, and accept what waited.
    pub(super) fn resume_listener(&mut self) {
        let Some(until) = self.tcp.paused_until else {
            return;
        };
        if Instant::now() < until {
            return;
        }
        self.tcp.paused_until = None;
        let Some(listener) = &mut self.tcp.listener else {
            return;
        };
        match listener.register(&self.selector, self.opts.mode) {
            Ok(()) => self.accept_ready(),
            Err(e) => {
                self.log
                    .line(format_args!("cannot watch the listener again: {e}"));
                self.tcp.paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
            }
        }
    }

    pub(super) fn add_conn(&mut self, stream: TcpStream, peer: SocketAddr) {
        // Echo replies are small writes that must leave at once.
        let _ = stream.set_nodelay(true);
        let tcp = &mut self.tcp;
        let id = tcp.free.pop().unwrap_or_else(|| {
            tcp.conns.push(None);
            tcp.conns.len() - 1
        });
        let interest = interest::next(self.opts.mode, None, Interest::READABLE, false).interest;
        if let Err(e) = self
            .selector
            .register(stream.as_fd(), token(id), interest, self.opts.mode)
        {
            // e.g. select past its set size: refuse this one cleanly.
            self.stats.refused += 1;
            self.log.line(format_args!("refusing {peer}: {e}"));
            self.tcp.free.push(id);
            return;
        }
        self.stats.accepted += 1;
        if let Some(handoff) = &self.handoff {
            handoff.served(1);
        }
        self.tcp.conns[id] = Some(Conn {
            stream,
            out: Vec::new(),
            sent: 0,
            peer_closed: false,
            registered: interest,
        });
    }

    /// Connection `id` is ready: flush, read and echo up to the budget,
    /// then close it or have it watched for what it needs next.
    pub(super) fn conn_ready(&mut self, id: usize) {
        let (mode, out_max) = (self.opts.mode, self.opts.out_max);
        let Some(Some(conn)) = self.tcp.conns.get_mut(id) else {
            return;
        };
        // Write first: room in the output buffer lets reading resume.
        let turn = conn.flush().and_then(|()| {
            conn.read_and_echo(&mut self.tcp.scratch, out_max, mode, &mut self.stats)
        });
        let spent = match turn {
            Ok(spent) => spent,
            Err(e) => {
                let reason = if self.opts.verbose {
                    e.to_string()
                } else {
                    String::new()
                };
                self.close(id, &reason);
                return;
            }
        };
        if conn.peer_closed && conn.pending() == 0 {
            self.close(id, "");
            return;
        }
        let next = interest::next(mode, Some(conn.registered), conn.wanted(out_max), spent);
        if next.again {
            self.tcp.again.push(id);
        }
        if next.tell {
            conn.registered = next.interest;
            let fd = conn.stream.as_fd();
            if let Err(e) = self.selector.reregister(fd, token(id), next.interest, mode) {
                self.log.line(format_args!("{e}"));
                self.close(id, "");
            }
        }
    }

    /// Closes connection `id`, logging `reason` unless it is empty.
    pub(super) fn close(&mut self, id: usize, reason: &str) {
        let Some(slot) = self.tcp.conns.get_mut(id) else {
            return;
        };
        let Some(conn) = slot.take() else { return };
        let _ = self.selector.deregister(conn.stream.as_fd());
        if !reason.is_empty() {
            self.log
                .line(format_args!("closing a connection: {reason}"));
        }
        drop(conn);
        self.tcp.free.push(id);
        if let Some(handoff) = &self.handoff {
            handoff.served(-1);
        }
    }
}

fn token(id: usize) -> Token {
    Token(FIRST_CONN + id)
}

impl Conn {
    fn pending(&self) -> usize {
        self.out.len() - self.sent
    }

    /// What the connection should be watched for: readable while it may
    /// read (not closed by the peer, output under its bound), writable
    /// while output waits.
    fn wanted(&self, out_max: usize) -> Interest {
        let readable = !self.peer_closed && self.pending() < out_max;
        match (readable, self.pending() > 0) {
            (true, true) => Interest::READABLE | Interest::WRITABLE,
            (false, true) => Interest::WRITABLE,
            // (false, false) means closed-and-flushed, which the caller closes.
            _ => Interest::READABLE,
        }
    }

    /// Reads and echoes until the socket is drained for now, the output
    /// reaches `out_max` or the read budget is spent; says whether it was.
    fn read_and_echo(
        &mut self,
        scratch: &mut [u8],
        out_max: usize,
        mode: Mode,
        stats: &mut Stats,
    ) -> sockpoll::Result<bool> {
        if self.peer_closed {
            return Ok(false);
        }
        let mut reads = 0;
        loop {
            let room = out_max.saturating_sub(self.pending()).min(scratch.len());
            if room == 0 {
                return Ok(false);
            }
            if reads == READ_BUDGET {
                return Ok(true);
            }
            reads += 1;
            match self.stream.as_socket().recv(&mut scratch[..room]) {
                Ok(0) => {
                    self.peer_closed = true;
                    return Ok(false);
                }
                Ok(n) => {
                    stats.tcp_bytes += n as u64;
                    stats.tcp_reads += 1;
                    self.echo(&scratch[..n])?;
                    // A short read drained the socket for now: in level and
                    // oneshot mode the selector reports anything newer. An
                    // edge is not reported again for a FIN that came with
                    // the data, so edge mode reads on until WouldBlock or
                    // EOF.
                    if n < room && mode != Mode::Edge {
                        return Ok(false);
                    }
                }
                Err(e) if e.is_would_block() => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends `data` now if nothing is queued before it; queues what the
    /// socket does not take.
    fn echo(&mut self, data: &[u8]) -> sockpoll::Result<()> {
        let mut written = 0;
        if self.pending() == 0 {
            self.out.clear();
            self.sent = 0;
            while written < data.len() {
                match self.stream.as_socket().send(&data[written..]) {
                    Ok(n) => written += n,
                    Err(e) if e.is_would_block() => break,
                    Err(e) => return Err(e),
                }
            }
        }
        if written < data.len() {
            if self.sent > 0 && self.sent >= self.out.len() / 2 {
                self.out.drain(..self.sent);
                self.sent = 0;
            }
            self.out.extend_from_slice(&data[written..]);
        }
        Ok(())
    }

    /// Sends queued output until it is gone or the socket is full.
    fn flush(&mut self) -> sockpoll::Result<()> {
        while self.pending() > 0 {
            match self.stream.as_socket().send(&self.out[self.sent..]) {
                Ok(n) => self.sent += n,
                Err(e) if e.is_would_block() => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        self.sent = 0;
        Ok(())
    }
}
