//! The single-threaded TCP + UDP echo server every `echo_<backend>` example
//! runs, generic over [`Selector`]. The benches pull it in too, with
//! `#[path]`, so they measure exactly this loop.
//!
//! What it guarantees under load and faults (see RELIABILITY.md):
//! - every byte a TCP client sends comes back, in order; after the client's
//!   FIN every pending byte is flushed, then the connection is closed;
//! - a client that never reads costs at most `out_max` bytes: reading from
//!   it pauses until its output drains;
//! - a reading budget per event, so one busy peer cannot starve the others
//!   (in edge mode, work left over is revisited before the next wait);
//! - running out of descriptors (`EMFILE`) pauses the listener for
//!   [`ACCEPT_BACKOFF`] instead of spinning on a ready listener;
//! - UDP: every datagram (empty ones and 65,507-byte ones included) is sent
//!   back to its sender; a bounded queue absorbs a full send buffer;
//! - idle, it sleeps in `wait(None)`: no timer, no CPU.
#![allow(dead_code)] // each example and bench uses a different part

use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sockpoll::event::{Events, Interest, Mode, Selector, Token, Waker};
use sockpoll::{TcpListener, TcpStream, UdpSocket};

/// How long the listener stays unwatched after `accept` ran out of fds.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Default bound on bytes waiting to be echoed to one TCP client.
pub const OUT_MAX: usize = 256 * 1024;
/// Reads per connection per event before other connections get a turn.
const READ_BUDGET: usize = 16;
/// Accepts per listener event.
const ACCEPT_BUDGET: usize = 256;
/// Datagrams per UDP event.
const UDP_BUDGET: usize = 64;
/// Datagrams held while the UDP send buffer is full; more are dropped.
const UDP_QUEUE_MAX: usize = 1024;
/// Room for any UDP payload (65,507 over IPv4, 65,527 over IPv6).
const UDP_BUF: usize = 65_536;
const READ_CHUNK: usize = 64 * 1024;

const LISTENER: Token = Token(0);
const UDP: Token = Token(1);
const WAKER: Token = Token(2);
const SIGNALS: Token = Token(3);
const FIRST_CONN: usize = 4;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Readiness mode of client connections (the listener and UDP socket
    /// use the same mode).
    pub mode: Mode,
    /// Per-connection output bound, in bytes.
    pub out_max: usize,
    /// Log connection-level events (resets, refusals) to stderr.
    pub verbose: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            mode: Mode::Level,
            out_max: OUT_MAX,
            verbose: false,
        }
    }
}

/// What the server counted, printed on exit.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub accepted: u64,
    pub refused: u64,
    pub tcp_bytes: u64,
    pub datagrams: u64,
    pub datagrams_dropped: u64,
    pub backoffs: u64,
}

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    /// The address argument is not usable (exit 2).
    BadArgument(sockpoll::Error),
    /// The selector, bind or registration failed (exit 1).
    Io(sockpoll::Error),
}

/// Stops a running server from another thread.
#[derive(Debug, Clone)]
pub struct Stopper {
    flag: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl Stopper {
    /// Asks the loop to return; it does within one wake-up.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::Release);
        // A full waker is already a pending wake-up.
        let _ = self.waker.wake();
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

impl Conn {
    fn pending(&self) -> usize {
        self.out.len() - self.sent
    }
}

/// The echo server: one TCP listener and one UDP socket on the same
/// address and port, driven by one selector.
pub struct Server<S: Selector> {
    selector: S,
    events: Events,
    listener: TcpListener,
    udp: UdpSocket,
    addr: SocketAddr,
    opts: Options,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    /// Edge mode: connections with work left after their budget.
    again: Vec<usize>,
    udp_again: bool,
    accept_again: bool,
    scratch: Vec<u8>,
    udp_buf: Vec<u8>,
    udp_queue: VecDeque<(Vec<u8>, SocketAddr)>,
    udp_writable_registered: bool,
    listener_paused_until: Option<Instant>,
    /// Inside an EMFILE episode (logged once at its start and its end).
    backing_off: bool,
    signals: Option<StdUnixStream>,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    stats: Stats,
    log_prefix: String,
}

impl<S: Selector> Server<S> {
    /// Binds TCP on `addr` (resolved through sockpoll's getaddrinfo) and UDP
    /// on the same IP and port, and registers both with `selector`.
    pub fn bind(mut selector: S, addr: &str, opts: Options) -> Result<Server<S>, StartError> {
        use sockpoll::ToSockAddrs;
        let candidates = addr.to_sock_addrs().map_err(StartError::BadArgument)?;
        let (listener, udp) = bind_pair(&candidates).map_err(StartError::Io)?;
        let local = listener.local_addr().map_err(StartError::Io)?;
        for s in [listener.as_socket(), udp.as_socket()] {
            s.set_nonblocking(true).map_err(StartError::Io)?;
        }
        // Room for bursts of large datagrams (the kernel caps these at
        // net.core.[rw]mem_max; failure to grow them is not fatal).
        let _ = udp.as_socket().set_recv_buffer_size(4 << 20);
        let _ = udp.as_socket().set_send_buffer_size(4 << 20);
        let waker = Arc::new(Waker::new().map_err(StartError::Io)?);
        let mode = opts.mode;
        selector
            .register(listener.as_fd(), LISTENER, Interest::READABLE, mode)
            .map_err(StartError::Io)?;
        selector
            .register(udp.as_fd(), UDP, Interest::READABLE, mode)
            .map_err(StartError::Io)?;
        selector
            .register(waker.as_fd(), WAKER, Interest::READABLE, Mode::Level)
            .map_err(StartError::Io)?;
        let log_prefix = format!("echo_{}", selector.name());
        Ok(Server {
            selector,
            events: Events::with_capacity(1024),
            listener,
            udp,
            addr: local,
            opts,
            conns: Vec::new(),
            free: Vec::new(),
            again: Vec::new(),
            udp_again: false,
            accept_again: false,
            scratch: vec![0; READ_CHUNK],
            udp_buf: vec![0; UDP_BUF],
            udp_queue: VecDeque::new(),
            udp_writable_registered: false,
            listener_paused_until: None,
            backing_off: false,
            signals: None,
            stop: Arc::new(AtomicBool::new(false)),
            waker,
            stats: Stats::default(),
            log_prefix,
        })
    }

    /// The bound address (the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The backend's name.
    pub fn backend(&self) -> &'static str {
        self.selector.name()
    }

    /// What the server has counted so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// A handle that stops [`run`](Server::run) from another thread.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            flag: Arc::clone(&self.stop),
            waker: Arc::clone(&self.waker),
        }
    }

    /// Stops the loop when a byte arrives on `signals` (the read end of a
    /// signal-hook self-pipe).
    pub fn stop_on(&mut self, signals: StdUnixStream) -> sockpoll::Result<()> {
        signals
            .set_nonblocking(true)
            .map_err(sockpoll::Error::from)?;
        self.selector
            .register(signals.as_fd(), SIGNALS, Interest::READABLE, Mode::Level)?;
        self.signals = Some(signals);
        Ok(())
    }

    fn log(&self, msg: std::fmt::Arguments<'_>) {
        eprintln!("{}: {msg}", self.log_prefix);
    }

    /// Serves until stopped (a signal on the `stop_on` pipe, or a
    /// [`Stopper`]). Errors of one client never end it; only a failing
    /// `wait` does.
    pub fn run(&mut self) -> sockpoll::Result<()> {
        while !self.stop.load(Ordering::Acquire) {
            let timeout = self.next_timeout();
            self.selector.wait(&mut self.events, timeout)?;
            self.resume_listener();
            while let Some(event) = self.selector.next_event(&mut self.events) {
                match event.token() {
                    LISTENER => self.accept_all(),
                    UDP => self.udp_ready(event.is_writable()),
                    WAKER => {
                        let _ = self.waker.reset();
                    }
                    SIGNALS => self.drain_signals(),
                    Token(t) => {
                        if event.is_invalid() {
                            self.close(t - FIRST_CONN, "invalid descriptor");
                        } else {
                            self.conn_ready(t - FIRST_CONN);
                        }
                    }
                }
            }
            self.run_leftovers();
        }
        Ok(())
    }

    fn next_timeout(&self) -> Option<Duration> {
        if !self.again.is_empty() || self.udp_again || self.accept_again {
            return Some(Duration::ZERO);
        }
        self.listener_paused_until
            .map(|until| until.saturating_duration_since(Instant::now()))
    }

    /// Edge mode: work that stopped at its budget gets another turn.
    fn run_leftovers(&mut self) {
        if std::mem::take(&mut self.accept_again) {
            self.accept_all();
        }
        if std::mem::take(&mut self.udp_again) {
            self.udp_ready(true);
        }
        for id in std::mem::take(&mut self.again) {
            self.conn_ready(id);
        }
    }

    fn drain_signals(&mut self) {
        if let Some(signals) = &mut self.signals {
            let mut buf = [0u8; 64];
            while matches!(signals.read(&mut buf), Ok(n) if n > 0) {}
        }
        self.log(format_args!("signal received, shutting down"));
        self.stop.store(true, Ordering::Release);
    }

    // ---- TCP ------------------------------------------------------------

    fn accept_all(&mut self) {
        if self.listener_paused_until.is_some() {
            return;
        }
        let mut budget_spent = true;
        for _ in 0..ACCEPT_BUDGET {
            match self.listener.accept_nonblocking() {
                Ok((stream, peer)) => {
                    if std::mem::take(&mut self.backing_off) {
                        self.log(format_args!("descriptors available again; accepting"));
                    }
                    self.add_conn(stream, peer);
                }
                Err(e) if e.is_would_block() => {
                    budget_spent = false;
                    break;
                }
                Err(e) if e.is_fd_exhausted() => {
                    self.pause_listener(&e);
                    return; // deregistered: nothing to re-arm
                }
                // The client gave up before we accepted: nothing to do.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    self.log(format_args!("{e}"));
                    budget_spent = false;
                    break;
                }
            }
        }
        if budget_spent && self.opts.mode != Mode::Level {
            self.accept_again = true;
        } else if self.opts.mode == Mode::Oneshot {
            self.rearm(LISTENER);
        }
    }

    /// EMFILE/ENFILE: the pending connection keeps a level-triggered
    /// listener ready forever, so stop watching it for a moment.
    fn pause_listener(&mut self, err: &sockpoll::Error) {
        self.stats.backoffs += 1;
        if !self.backing_off || self.opts.verbose {
            self.log(format_args!(
                "{err}; not accepting new connections until descriptors free up"
            ));
        }
        self.backing_off = true;
        let _ = self.selector.deregister(self.listener.as_fd());
        self.listener_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
    }

    fn resume_listener(&mut self) {
        let Some(until) = self.listener_paused_until else {
            return;
        };
        if Instant::now() < until {
            return;
        }
        self.listener_paused_until = None;
        match self.selector.register(
            self.listener.as_fd(),
            LISTENER,
            Interest::READABLE,
            self.opts.mode,
        ) {
            Ok(()) => self.accept_all(),
            Err(e) => {
                self.log(format_args!("cannot watch the listener again: {e}"));
                self.listener_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
            }
        }
    }

    fn add_conn(&mut self, stream: TcpStream, peer: SocketAddr) {
        // Echo replies are small writes that must leave at once.
        let _ = stream.set_nodelay(true);
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.conns.push(None);
                self.conns.len() - 1
            }
        };
        let token = Token(FIRST_CONN + id);
        let interest = if self.opts.mode == Mode::Edge {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if let Err(e) = self
            .selector
            .register(stream.as_fd(), token, interest, self.opts.mode)
        {
            // e.g. select past its set size: refuse this one cleanly.
            self.stats.refused += 1;
            self.log(format_args!("refusing {peer}: {e}"));
            self.free.push(id);
            return;
        }
        self.stats.accepted += 1;
        self.conns[id] = Some(Conn {
            stream,
            out: Vec::new(),
            sent: 0,
            peer_closed: false,
            registered: interest,
        });
    }

    fn conn_ready(&mut self, id: usize) {
        let mode = self.opts.mode;
        let out_max = self.opts.out_max;
        let Some(Some(conn)) = self.conns.get_mut(id) else {
            return;
        };
        let mut outcome = Ok(());
        let mut budget_left = true;
        // Write first: room in the output buffer lets reading resume.
        if conn.pending() > 0 {
            outcome = flush(conn);
        }
        if outcome.is_ok() && !conn.peer_closed {
            let mut reads = 0;
            loop {
                let room = out_max
                    .saturating_sub(conn.pending())
                    .min(self.scratch.len());
                if room == 0 {
                    break;
                }
                if reads == READ_BUDGET {
                    budget_left = false;
                    break;
                }
                reads += 1;
                match conn.stream.as_socket().recv(&mut self.scratch[..room]) {
                    Ok(0) => {
                        conn.peer_closed = true;
                        break;
                    }
                    Ok(n) => {
                        self.stats.tcp_bytes += n as u64;
                        if let Err(e) = echo(conn, &self.scratch[..n]) {
                            outcome = Err(e);
                            break;
                        }
                        // A short read drained the socket for now: in level
                        // and oneshot mode the selector reports anything
                        // newer. An edge is not reported again for a FIN
                        // that came with the data, so edge mode reads on
                        // until WouldBlock or EOF.
                        if n < room && mode != Mode::Edge {
                            break;
                        }
                    }
                    Err(e) if e.is_would_block() => break,
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                }
            }
        }
        if let Err(e) = outcome {
            let reason = if self.opts.verbose {
                e.to_string()
            } else {
                String::new()
            };
            self.close(id, &reason);
            return;
        }
        if conn.peer_closed && conn.pending() == 0 {
            self.close(id, "");
            return;
        }
        if !budget_left && mode != Mode::Level {
            self.again.push(id);
        }
        let want = wanted(conn, out_max);
        // Edge: registered for both directions once; a writable edge flushes
        // and then resumes reading in the same turn. Level: re-register only
        // when the wanted interest changed (never per message). Oneshot:
        // always re-arm, unless a leftover turn will do it.
        let rearm = match mode {
            Mode::Edge => false,
            Mode::Level => want != conn.registered,
            Mode::Oneshot => !self.again.contains(&id),
        };
        if rearm {
            conn.registered = want;
            let token = Token(FIRST_CONN + id);
            if let Err(e) = self
                .selector
                .reregister(conn.stream.as_fd(), token, want, mode)
            {
                self.log(format_args!("{e}"));
                self.close(id, "");
            }
        }
    }

    fn close(&mut self, id: usize, reason: &str) {
        let Some(slot) = self.conns.get_mut(id) else {
            return;
        };
        let Some(conn) = slot.take() else { return };
        let _ = self.selector.deregister(conn.stream.as_fd());
        if !reason.is_empty() {
            self.log(format_args!("closing a connection: {reason}"));
        }
        drop(conn);
        self.free.push(id);
    }

    fn rearm(&mut self, token: Token) {
        let fd = match token {
            LISTENER => self.listener.as_fd(),
            _ => self.udp.as_fd(),
        };
        let interest = if token == UDP && !self.udp_queue.is_empty() {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if let Err(e) = self.selector.reregister(fd, token, interest, Mode::Oneshot) {
            self.log(format_args!("{e}"));
        }
    }

    // ---- UDP ------------------------------------------------------------

    fn udp_ready(&mut self, writable: bool) {
        if writable || !self.udp_queue.is_empty() {
            self.udp_flush();
        }
        let mut budget_left = false;
        for _ in 0..UDP_BUDGET {
            match self.udp.as_socket().recv_from(&mut self.udp_buf) {
                Ok((n, from)) => {
                    self.stats.datagrams += 1;
                    let Some(from) = from.as_socket() else {
                        continue;
                    };
                    if self.udp_queue.is_empty() {
                        match self
                            .udp
                            .as_socket()
                            .send_to(&self.udp_buf[..n], &from.into())
                        {
                            Ok(_) => continue,
                            Err(e) if e.is_would_block() => {}
                            // e.g. a peer address the route rejects: drop it.
                            Err(_) => {
                                self.stats.datagrams_dropped += 1;
                                continue;
                            }
                        }
                    }
                    if self.udp_queue.len() < UDP_QUEUE_MAX {
                        self.udp_queue.push_back((self.udp_buf[..n].to_vec(), from));
                    } else {
                        self.stats.datagrams_dropped += 1;
                    }
                }
                Err(e) if e.is_would_block() => {
                    budget_left = true;
                    break;
                }
                Err(_) => {
                    budget_left = true;
                    break;
                }
            }
        }
        if !budget_left && self.opts.mode != Mode::Level {
            self.udp_again = true;
        }
        self.update_udp_interest();
    }

    fn udp_flush(&mut self) {
        while let Some((datagram, to)) = self.udp_queue.front() {
            match self.udp.as_socket().send_to(datagram, &(*to).into()) {
                Ok(_) => {}
                Err(e) if e.is_would_block() => return,
                Err(_) => self.stats.datagrams_dropped += 1,
            }
            self.udp_queue.pop_front();
        }
    }

    fn update_udp_interest(&mut self) {
        let mode = self.opts.mode;
        let want_writable = !self.udp_queue.is_empty();
        if mode == Mode::Oneshot {
            self.rearm(UDP);
            return;
        }
        if mode == Mode::Level && want_writable != self.udp_writable_registered {
            let interest = if want_writable {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if self
                .selector
                .reregister(self.udp.as_fd(), UDP, interest, mode)
                .is_ok()
            {
                self.udp_writable_registered = want_writable;
            }
        }
        if mode == Mode::Edge && want_writable && !self.udp_writable_registered {
            let interest = Interest::READABLE | Interest::WRITABLE;
            if self
                .selector
                .reregister(self.udp.as_fd(), UDP, interest, mode)
                .is_ok()
            {
                self.udp_writable_registered = true;
            }
        }
    }
}

/// What a connection should be watched for: readable while it may read
/// (not closed by the peer, output under its bound), writable while output
/// waits.
fn wanted(conn: &Conn, out_max: usize) -> Interest {
    let readable = !conn.peer_closed && conn.pending() < out_max;
    match (readable, conn.pending() > 0) {
        (true, true) => Interest::READABLE | Interest::WRITABLE,
        (false, true) => Interest::WRITABLE,
        // (false, false) means closed-and-flushed, which the caller closes.
        _ => Interest::READABLE,
    }
}

/// Sends `data` now if nothing is queued before it; queues what the socket
/// does not take.
fn echo(conn: &mut Conn, data: &[u8]) -> sockpoll::Result<()> {
    let mut written = 0;
    if conn.pending() == 0 {
        conn.out.clear();
        conn.sent = 0;
        while written < data.len() {
            match conn.stream.as_socket().send(&data[written..]) {
                Ok(n) => written += n,
                Err(e) if e.is_would_block() => break,
                Err(e) => return Err(e),
            }
        }
    }
    if written < data.len() {
        if conn.sent > 0 && conn.sent >= conn.out.len() / 2 {
            conn.out.drain(..conn.sent);
            conn.sent = 0;
        }
        conn.out.extend_from_slice(&data[written..]);
    }
    Ok(())
}

/// Sends queued output until it is gone or the socket is full.
fn flush(conn: &mut Conn) -> sockpoll::Result<()> {
    while conn.pending() > 0 {
        match conn.stream.as_socket().send(&conn.out[conn.sent..]) {
            Ok(n) => conn.sent += n,
            Err(e) if e.is_would_block() => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    conn.out.clear();
    conn.sent = 0;
    Ok(())
}

/// Binds TCP then UDP on the same IP and port, trying each candidate
/// address; with port 0, retries when the kernel's TCP pick is taken for
/// UDP.
fn bind_pair(candidates: &[sockpoll::SockAddr]) -> sockpoll::Result<(TcpListener, UdpSocket)> {
    let mut last = None;
    for addr in candidates {
        let attempts = if addr.as_socket().is_some_and(|a| a.port() == 0) {
            16
        } else {
            1
        };
        for _ in 0..attempts {
            let pair = TcpListener::bind(addr).and_then(|tcp| {
                let udp = UdpSocket::bind(tcp.local_addr()?)?;
                Ok((tcp, udp))
            });
            match pair {
                Ok(pair) => return Ok(pair),
                Err(e) => last = Some(e),
            }
        }
    }
    Err(last.unwrap_or_else(|| {
        sockpoll::Error::from(io::Error::new(io::ErrorKind::InvalidInput, "no address"))
    }))
}
