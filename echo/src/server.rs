//! The single-threaded TCP + UDP echo server every `echo_<backend>` example
//! runs, generic over [`Selector`]. The benches run it too, so they measure
//! exactly this loop.
//!
//! What it guarantees under load and faults:
//! - every byte a TCP client sends comes back, in order; after the client's
//!   FIN every pending byte is flushed, then the connection is closed;
//! - a client that never reads costs at most `out_max` bytes: reading from
//!   it pauses until its output drains;
//! - a reading budget per event, so one busy peer cannot starve the others
//!   (in edge and oneshot mode, work left over is revisited before the next
//!   wait);
//! - running out of descriptors (`EMFILE`) pauses the listener for
//!   `ACCEPT_BACKOFF` (`server/tcp.rs`) instead of spinning on a ready
//!   listener;
//! - UDP: every datagram (empty ones and 65,507-byte ones included) is sent
//!   back to its sender; a bounded queue absorbs a full send buffer;
//! - idle, it sleeps in `wait(None)`: no timer, no CPU.
//!
//! This file is the loop; the rest is one concern a file in `server/`:
//! `tcp.rs` (the listener and its back-off, the connections), `udp.rs`,
//! `interest.rs` (how each mode is armed, for every socket), `stop.rs`
//! (signals and [`Stopper`]), `handoff.rs` (connections another thread
//! accepted, for `echo_multi`) and `stats.rs`. The examples' command line is
//! in [`program`](crate::program), which the benches leave out.

mod handoff;
mod interest;
mod stats;
pub(crate) mod stop;
mod tcp;
mod udp;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sockpoll::event::{Events, Interest, Mode, Selector, Token};
use sockpoll::{TcpListener, UdpSocket};

pub use handoff::Handoff;
pub use stats::Stats;
pub use stop::Stopper;
pub use tcp::Listener;

const LISTENER: Token = Token(0);
const UDP: Token = Token(1);
const WAKER: Token = Token(2);
const SIGNALS: Token = Token(3);
/// Connection `id` has token `FIRST_CONN + id`.
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
    /// SIGINT and SIGTERM stop the loop. This installs process-wide
    /// handlers: right for a program, not for a loop embedded in one (the
    /// benches stop theirs with the [`Stopper`]).
    pub stop_on_signals: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            mode: Mode::Level,
            out_max: tcp::OUT_MAX,
            verbose: false,
            stop_on_signals: false,
        }
    }
}

/// The sockets of one loop, for [`Server::with_sockets`].
#[derive(Debug)]
pub struct Sockets {
    /// Where it accepts TCP connections; `None` when they all come
    /// through `handoff`.
    pub listener: Option<Listener>,
    /// Its UDP socket (bound).
    pub udp: UdpSocket,
    /// Connections accepted by another thread for this loop.
    pub handoff: Option<Arc<Handoff>>,
}

/// Why the server could not start; displays as the line to print.
#[derive(Debug)]
pub enum StartError {
    /// The address does not resolve (a bad argument: exit 2).
    BadAddress {
        /// The address as given.
        addr: String,
        /// What resolving it returned.
        error: sockpoll::Error,
    },
    /// The bind or a registration failed (exit 1).
    Io(sockpoll::Error),
    /// The signal handlers could not be installed (exit 1).
    Signals(io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::BadAddress { addr, error } => write!(f, "bad address {addr:?}: {error}"),
            StartError::Io(e) => write!(f, "{e}"),
            StartError::Signals(e) => {
                write!(f, "cannot install the SIGINT/SIGTERM handler: {e}")
            }
        }
    }
}

/// The echo server: one TCP listener and one UDP socket on the same
/// address and port, driven by one selector.
pub struct Server<S: Selector> {
    selector: S,
    events: Events,
    addr: SocketAddr,
    opts: Options,
    log: Log,
    tcp: tcp::Tcp,
    udp: udp::Udp,
    /// The read end of the signal pipe, with `stop_on_signals`.
    signals: Option<UnixStream>,
    /// Where another thread hands this loop its connections.
    handoff: Option<Arc<Handoff>>,
    /// Stops [`run`](Server::run) from another thread (clone it first).
    pub stopper: Stopper,
    /// What the server has counted so far.
    pub stats: Stats,
}

impl<S: Selector> Server<S> {
    /// Binds TCP on `addr` (resolved through sockpoll's getaddrinfo) and UDP
    /// on the same IP and port, and registers both with `selector`.
    pub fn bind(selector: S, addr: &str, opts: Options) -> Result<Server<S>, StartError> {
        use sockpoll::ToSockAddrs;
        let candidates = addr
            .to_sock_addrs()
            .map_err(|error| StartError::BadAddress {
                addr: addr.to_string(),
                error,
            })?;
        let (listener, udp) = bind_pair(&candidates).map_err(StartError::Io)?;
        let sockets = Sockets {
            listener: Some(Listener::Own(listener)),
            udp,
            handoff: None,
        };
        Server::with_sockets(selector, sockets, opts)
    }

    /// A server on sockets bound elsewhere (`echo_multi`'s loops): makes
    /// them non-blocking and registers them with `selector`.
    pub fn with_sockets(
        selector: S,
        sockets: Sockets,
        opts: Options,
    ) -> Result<Server<S>, StartError> {
        let Sockets {
            mut listener,
            udp,
            handoff,
        } = sockets;
        let local = udp.local_addr().map_err(StartError::Io)?;
        if let Some(l) = &listener {
            l.socket()
                .as_socket()
                .set_nonblocking(true)
                .map_err(StartError::Io)?;
        }
        udp.as_socket()
            .set_nonblocking(true)
            .map_err(StartError::Io)?;
        // Room for bursts of large datagrams (the kernel caps these at
        // net.core.[rw]mem_max; failure to grow them is not fatal).
        let _ = udp.as_socket().set_recv_buffer_size(4 << 20);
        let _ = udp.as_socket().set_send_buffer_size(4 << 20);
        let stopper = Stopper::new().map_err(StartError::Io)?;
        let mode = opts.mode;
        if let Some(l) = &mut listener {
            l.register(&selector, mode).map_err(StartError::Io)?;
        }
        for (fd, token, mode) in [
            (udp.as_fd(), UDP, mode),
            (stopper.waker_fd(), WAKER, Mode::Level),
        ] {
            selector
                .register(fd, token, Interest::READABLE, mode)
                .map_err(StartError::Io)?;
        }
        let signals = if opts.stop_on_signals {
            Some(stop::watch_signals(&selector).map_err(StartError::Signals)?)
        } else {
            None
        };
        Ok(Server {
            log: Log {
                prefix: format!("echo_{}", selector.name()),
            },
            selector,
            events: Events::with_capacity(1024),
            addr: local,
            opts,
            tcp: tcp::Tcp::new(listener),
            udp: udp::Udp::new(udp).map_err(StartError::Io)?,
            signals,
            handoff,
            stopper,
            stats: Stats::default(),
        })
    }

    /// The selector's loop metrics (waits, events, time blocked).
    pub fn metrics(&self) -> sockpoll::event::LoopMetrics {
        self.selector.metrics()
    }

    /// The bound address (the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until stopped (a signal with `stop_on_signals`, or the
    /// [`Stopper`]). Errors of one client never end it; only a failing
    /// `wait` does.
    pub fn run(&mut self) -> sockpoll::Result<()> {
        while !self.stopper.is_stopped() {
            let timeout = self.next_timeout();
            self.selector.wait(&mut self.events, timeout)?;
            self.resume_listener();
            self.take_handoffs();
            while let Some(event) = self.selector.next_event(&mut self.events) {
                match event.token() {
                    LISTENER => self.accept_ready(),
                    UDP => self.udp_ready(event.is_writable()),
                    WAKER => self.stopper.clear_wake(),
                    SIGNALS => self.signal_received(),
                    Token(t) if event.is_invalid() => {
                        self.close(t - FIRST_CONN, "invalid descriptor")
                    }
                    Token(t) => self.conn_ready(t - FIRST_CONN),
                }
            }
            self.run_leftovers();
        }
        Ok(())
    }

    /// Zero while leftover work waits, the rest of a listener pause, else
    /// forever.
    fn next_timeout(&self) -> Option<Duration> {
        if !self.tcp.again.is_empty() || self.udp.again || self.tcp.accept_again {
            return Some(Duration::ZERO);
        }
        self.tcp
            .paused_until
            .map(|until| until.saturating_duration_since(Instant::now()))
    }

    /// Edge and oneshot mode: work that stopped at its budget gets another
    /// turn.
    fn run_leftovers(&mut self) {
        if std::mem::take(&mut self.tcp.accept_again) {
            self.accept_ready();
        }
        if std::mem::take(&mut self.udp.again) {
            self.udp_ready(true);
        }
        for id in std::mem::take(&mut self.tcp.again) {
            self.conn_ready(id);
        }
    }
}

/// Lines on stderr, each prefixed with the program's name.
struct Log {
    prefix: String,
}

impl Log {
    fn line(&self, msg: fmt::Arguments<'_>) {
        eprintln!("{}: {msg}", self.prefix);
    }
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
