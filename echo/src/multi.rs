//! `echo_multi`: N echo loops (the loop of [`server`](crate::server), one
//! thread and one selector each) on one address, sharing the connections
//! in one of three ways.
//!
//! ```text
//! cargo run --release --example echo_multi -- [--loops N]
//!     [--balance reuseport|exclusive|handoff] [--backend B]
//!     [--mode level|edge|oneshot] [--rearm K] [--pin] [-v] [ADDR]
//! ```
//!
//! - `--loops N`: default, the CPUs this process may use.
//! - `--balance reuseport` (default): one `SO_REUSEPORT` listener per loop
//!   on the same port; the kernel hashes each connection to one.
//!   `exclusive`: one listener in every loop's selector with
//!   `Interest::EXCLUSIVE`, re-added every `--rearm K` accepts (default 16,
//!   0 = never: the kernel then favours the loop registered first; see
//!   `ExclusiveAccept`). `handoff`: one acceptor thread accepts every
//!   connection and hands it to the loop with fewer connections of two
//!   picked at random (power of two choices), waking it with its selector's
//!   `notify`.
//! - `--backend`: any backend; default `SOCKPOLL_BACKEND`, else the
//!   platform's default. `--mode` as the other echo servers (`exclusive`
//!   takes level or edge only). `--pin`: loop `i` runs on CPU `i`.
//! - UDP: every loop has its own `SO_REUSEPORT` UDP socket on the port.
//!
//! Once bound it prints one line to stdout,
//! `listening on <ip:port> (tcp+udp, backend B, loops N, balance M)`. On
//! SIGINT or SIGTERM it stops every loop and prints, then exits 0, one line
//! per loop and a summary, space-separated `key=value` fields:
//!
//! ```text
//! loop=0 accepted=512 messages=88123 bytes=5639872 waits=61234 events=88790 idle_ms=2210.4 cpu_ms=1830.2
//! loop=1 accepted=488 messages=86001 bytes=5504064 waits=60011 events=86650 idle_ms=2301.9 cpu_ms=1790.7
//! total loops=2 balance=reuseport backend=epoll accepted=1000 messages=174124 bytes=11143936 waits=121245 events=175440 idle_ms=4512.3 cpu_ms=3620.9 accept_max_min=1.049
//! ```
//!
//! `accepted`: connections the loop served; `messages`: TCP reads that
//! returned data (one per message when each client waits for its echo);
//! `bytes`: TCP bytes echoed; `waits`, `events`, `idle_ms`: the loop's
//! `Selector::metrics` (milliseconds blocked in the kernel's wait);
//! `cpu_ms`: the loop thread's CPU time (absent where the platform has no
//! thread clock); `accept_max_min`: most accepted by one loop over fewest
//! (`inf` when a loop accepted none, `nan` when none did). Exit 2 on a bad
//! argument, 1 when binding or a loop fails.

mod args;

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime};

use sockpoll::event::{
    AnySelector, Events, ExclusiveAccept, Interest, LoopMetrics, Mode, Selector, Token,
};
use sockpoll::{SockAddr, Socket, TcpListener, ToSockAddrs, Type, UdpSocket};
use sockpoll_conformance::support::{raise_fd_limit, thread_cpu};

use crate::server::{Handoff, Listener, Options, Server, Sockets, Stats, Stopper};
use args::{Args, Balance};

/// What one loop reports when it stops.
struct Report {
    stats: Stats,
    metrics: LoopMetrics,
    cpu: Option<Duration>,
}

/// The whole `echo_multi` program: parses the command line, binds, serves
/// until SIGINT/SIGTERM, prints the report and returns the exit status
/// described above.
pub fn main() -> ExitCode {
    let a = match args::parse(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("echo_multi: {e}; {}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BadArgument(e)) => {
            eprintln!("echo_multi: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Other(e)) => {
            eprintln!("echo_multi: {e}");
            ExitCode::from(1)
        }
    }
}

enum Failure {
    BadArgument(String),
    Other(String),
}

fn other(e: impl std::fmt::Display) -> Failure {
    Failure::Other(e.to_string())
}

fn run(a: &Args) -> Result<(), Failure> {
    let candidates = a
        .addr
        .to_sock_addrs()
        .map_err(|e| Failure::BadArgument(format!("bad address {:?}: {e}", a.addr)))?;
    // Signals first: a SIGINT from now on is a clean stop.
    let signals = crate::server::stop::signal_pipe().map_err(other)?;
    let limit = raise_fd_limit(u64::MAX);
    let group = bind_group(&candidates, a.loops, a.balance).map_err(other)?;
    let local = group.addr;
    let selectors = (0..a.loops)
        .map(|_| AnySelector::new(a.backend).map(Arc::new))
        .collect::<sockpoll::Result<Vec<_>>>()
        .map_err(other)?;
    if !selectors[0].supports(a.mode) {
        return Err(Failure::BadArgument(format!(
            "mode {:?} is not supported by the {} backend",
            a.mode, a.backend
        )));
    }
    let handoffs: Vec<Arc<Handoff>> = (0..a.loops).map(|_| Arc::default()).collect();
    let opts = Options {
        mode: a.mode,
        verbose: a.verbose,
        ..Options::default()
    };
    let mut servers = Vec::with_capacity(a.loops);
    let mut tcp = group.tcp.into_iter();
    for (i, udp) in group.udp.into_iter().enumerate() {
        let listener = match a.balance {
            Balance::Reuseport => tcp.next().map(Listener::Own),
            Balance::Exclusive => {
                let shared = group.shared.clone().ok_or_else(|| other("no listener"))?;
                let every = a.rearm.unwrap_or(std::num::NonZeroU32::MAX);
                Some(Listener::Shared(
                    shared,
                    ExclusiveAccept::new(LISTENER, a.mode, every),
                ))
            }
            Balance::Handoff => None,
        };
        let sockets = Sockets {
            listener,
            udp,
            handoff: (a.balance == Balance::Handoff).then(|| Arc::clone(&handoffs[i])),
        };
        let server = Server::with_sockets(Arc::clone(&selectors[i]), sockets, opts.clone())
            .map_err(other)?;
        servers.push(server);
    }
    let stoppers: Vec<Stopper> = servers.iter().map(|s| s.stopper.clone()).collect();
    let acceptor = match (a.balance, &group.shared) {
        (Balance::Handoff, Some(listener)) => Some(
            Acceptor::start(Arc::clone(listener), a.backend, selectors.clone(), handoffs)
                .map_err(other)?,
        ),
        _ => None,
    };

    eprintln!("echo_multi: fd limit {limit}");
    let mut stdout = io::stdout().lock();
    writeln!(
        stdout,
        "listening on {local} (tcp+udp, backend {}, loops {}, balance {})",
        a.backend,
        a.loops,
        a.balance.name()
    )
    .and_then(|()| stdout.flush())
    .map_err(|e| other(format!("cannot write to stdout: {e}")))?;
    drop(stdout);

    let threads: Vec<_> = servers
        .into_iter()
        .enumerate()
        .map(|(i, mut server)| {
            let pin = a.pin;
            thread::Builder::new()
                .name(format!("loop-{i}"))
                .spawn(move || {
                    if pin {
                        pin_to(i);
                    }
                    let result = server.run();
                    let report = Report {
                        stats: server.stats,
                        metrics: server.metrics(),
                        cpu: thread_cpu(),
                    };
                    (result, report)
                })
        })
        .collect::<io::Result<_>>()
        .map_err(other)?;

    wait_for_signal(signals, &stoppers);
    if let Some(acceptor) = acceptor {
        acceptor.stop();
    }
    let mut reports = Vec::with_capacity(threads.len());
    let mut failed = None;
    for t in threads {
        let (result, report) = t.join().map_err(|_| other("a loop panicked"))?;
        if let Err(e) = result {
            failed = Some(e);
        }
        reports.push(report);
    }
    print_reports(a, &reports).map_err(other)?;
    match failed {
        Some(e) => Err(other(e)),
        None => Ok(()),
    }
}

/// The loops' listener token (as the single-loop server's).
const LISTENER: Token = Token(0);

/// The bound sockets: `tcp` (one per loop, reuseport) or `shared` (one),
/// and one UDP socket per loop, all on `addr`.
struct Group {
    addr: SocketAddr,
    tcp: Vec<TcpListener>,
    shared: Option<Arc<TcpListener>>,
    udp: Vec<UdpSocket>,
}

/// Binds every socket of the group on one port, trying each candidate
/// address; with port 0, retries when the kernel's pick is taken for the
/// others.
fn bind_group(candidates: &[SockAddr], loops: usize, balance: Balance) -> sockpoll::Result<Group> {
    let mut last = None;
    for addr in candidates {
        let attempts = if addr.as_socket().is_some_and(|a| a.port() == 0) {
            16
        } else {
            1
        };
        for _ in 0..attempts {
            match try_bind_group(addr, loops, balance) {
                Ok(group) => return Ok(group),
                Err(e) => last = Some(e),
            }
        }
    }
    Err(last.unwrap_or_else(|| {
        sockpoll::Error::from(io::Error::new(io::ErrorKind::InvalidInput, "no address"))
    }))
}

fn try_bind_group(addr: &SockAddr, loops: usize, balance: Balance) -> sockpoll::Result<Group> {
    let tcp_count = if balance == Balance::Reuseport {
        loops
    } else {
        1
    };
    let first = reuseport_socket(addr, Type::STREAM)?;
    let local = first.local_addr()?;
    let mut tcp = vec![first];
    while tcp.len() < tcp_count {
        tcp.push(reuseport_socket(&local, Type::STREAM)?);
    }
    let udp = (0..loops)
        .map(|_| reuseport_socket(&local, Type::DGRAM).map(|s| UdpSocket::from(OwnedFd::from(s))))
        .collect::<sockpoll::Result<Vec<_>>>()?;
    let mut tcp: Vec<TcpListener> = tcp
        .into_iter()
        .map(|s| {
            s.listen(sockpoll::DEFAULT_BACKLOG)?;
            Ok(TcpListener::from(OwnedFd::from(s)))
        })
        .collect::<sockpoll::Result<_>>()?;
    let addr = local
        .as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP address"))?;
    let shared = if balance == Balance::Reuseport {
        None
    } else {
        tcp.pop().map(Arc::new)
    };
    Ok(Group {
        addr,
        tcp,
        shared,
        udp,
    })
}

/// A socket of `ty` bound to `addr` with `SO_REUSEADDR` and `SO_REUSEPORT`.
fn reuseport_socket(addr: &SockAddr, ty: Type) -> sockpoll::Result<Socket> {
    let socket = Socket::new(addr.family(), ty, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(addr)?;
    Ok(socket)
}

/// The `handoff` acceptor: one thread, one selector, the listener.
struct Acceptor {
    stop: Arc<AtomicBool>,
    selector: Arc<AnySelector>,
    thread: thread::JoinHandle<()>,
}

impl Acceptor {
    fn start(
        listener: Arc<TcpListener>,
        backend: sockpoll::event::BackendKind,
        loops: Vec<Arc<AnySelector>>,
        handoffs: Vec<Arc<Handoff>>,
    ) -> sockpoll::Result<Acceptor> {
        let selector = Arc::new(AnySelector::new(backend)?);
        listener.as_socket().set_nonblocking(true)?;
        selector.register(listener.as_fd(), LISTENER, Interest::READABLE, Mode::Level)?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, selector) = (Arc::clone(&stop), Arc::clone(&selector));
            thread::Builder::new()
                .name("acceptor".into())
                .spawn(move || accept_loop(&listener, &selector, &stop, &loops, &handoffs))
                .map_err(sockpoll::Error::from)?
        };
        Ok(Acceptor {
            stop,
            selector,
            thread,
        })
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.selector.notify();
        let _ = self.thread.join();
    }
}

/// Accepts every connection and hands each to the less loaded of two loops
/// picked at random.
fn accept_loop(
    listener: &TcpListener,
    selector: &AnySelector,
    stop: &AtomicBool,
    loops: &[Arc<AnySelector>],
    handoffs: &[Arc<Handoff>],
) {
    let mut events = Events::with_capacity(4);
    let mut rng = Rng::new();
    while !stop.load(Ordering::Acquire) {
        if let Err(e) = selector.wait(&mut events, None) {
            eprintln!("echo_multi: acceptor: {e}");
            return;
        }
        loop {
            match listener.accept_nonblocking() {
                Ok((stream, peer)) => {
                    let i = rng.two_choices(handoffs);
                    handoffs[i].push(stream, peer);
                    let _ = loops[i].notify();
                }
                Err(e) if e.is_would_block() => break,
                Err(e) if e.is_fd_exhausted() => {
                    // The loops free descriptors as connections close.
                    thread::sleep(Duration::from_millis(10));
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    eprintln!("echo_multi: acceptor: {e}");
                    break;
                }
            }
        }
    }
}

/// xorshift64*: enough randomness to pick two loops, no dependency.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0x9E37_79B9_7F4A_7C15, |d| d.as_nanos() as u64);
        Rng(seed | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as usize % n
    }

    /// Power of two choices: two distinct loops at random, the one with
    /// fewer connections (served and queued) wins.
    fn two_choices(&mut self, handoffs: &[Arc<Handoff>]) -> usize {
        let n = handoffs.len();
        if n == 1 {
            return 0;
        }
        let a = self.below(n);
        let b = (a + 1 + self.below(n - 1)) % n;
        if handoffs[b].load() < handoffs[a].load() {
            b
        } else {
            a
        }
    }
}

/// Blocks until a signal, then stops every loop.
fn wait_for_signal(mut signals: UnixStream, stoppers: &[Stopper]) {
    let mut byte = [0u8; 1];
    // An error here (none is expected) stops the loops as a signal would.
    let _ = signals.read(&mut byte);
    eprintln!("echo_multi: signal received, shutting down");
    for s in stoppers {
        s.stop();
    }
}

/// Pins the calling thread to CPU `i`, modulo the CPUs allowed.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn pin_to(i: usize) {
    use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
    use nix::unistd::Pid;
    let Ok(allowed) = sched_getaffinity(Pid::from_raw(0)) else {
        return;
    };
    let cpus: Vec<usize> = (0..CpuSet::count())
        .filter(|&c| allowed.is_set(c).unwrap_or(false))
        .collect();
    if cpus.is_empty() {
        return;
    }
    let mut set = CpuSet::new();
    if set.set(cpus[i % cpus.len()]).is_ok() {
        if let Err(e) = sched_setaffinity(Pid::from_raw(0), &set) {
            eprintln!("echo_multi: cannot pin loop {i}: {e}");
        }
    }
}

/// Pinning is Linux's `sched_setaffinity` here.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn pin_to(i: usize) {
    if i == 0 {
        eprintln!("echo_multi: --pin is Linux-only; loops run unpinned");
    }
}

/// The per-loop lines and the summary, in the format documented above.
fn print_reports(a: &Args, reports: &[Report]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let mut total = Report {
        stats: Stats::default(),
        metrics: LoopMetrics::default(),
        cpu: Some(Duration::ZERO),
    };
    for (i, r) in reports.iter().enumerate() {
        writeln!(out, "loop={i} {}", fields(r))?;
        total.stats.accepted += r.stats.accepted;
        total.stats.tcp_reads += r.stats.tcp_reads;
        total.stats.tcp_bytes += r.stats.tcp_bytes;
        total.metrics.waits += r.metrics.waits;
        total.metrics.events += r.metrics.events;
        total.metrics.idle += r.metrics.idle;
        total.cpu = total.cpu.zip(r.cpu).map(|(t, c)| t + c);
    }
    let accepted = reports.iter().map(|r| r.stats.accepted);
    let (max, min) = (
        accepted.clone().max().unwrap_or(0),
        accepted.min().unwrap_or(0),
    );
    let ratio = match (max, min) {
        (0, _) => "nan".to_string(),
        (_, 0) => "inf".to_string(),
        (max, min) => format!("{:.3}", max as f64 / min as f64),
    };
    writeln!(
        out,
        "total loops={} balance={} backend={} {} accept_max_min={ratio}",
        reports.len(),
        a.balance.name(),
        a.backend,
        fields(&total)
    )?;
    out.flush()
}

/// `accepted=… messages=… bytes=… waits=… events=… idle_ms=… [cpu_ms=…]`.
fn fields(r: &Report) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut s = format!(
        "accepted={} messages={} bytes={} waits={} events={} idle_ms={:.1}",
        r.stats.accepted,
        r.stats.tcp_reads,
        r.stats.tcp_bytes,
        r.metrics.waits,
        r.metrics.events,
        ms(r.metrics.idle)
    );
    if let Some(cpu) = r.cpu {
        s.push_str(&format!(" cpu_ms={:.1}", ms(cpu)));
    }
    s
}
