//! UDP echo, one datagram at a time against batches, and GSO sends against
//! separate sends (BENCHMARKS.md, "udp").
//!
//! `udp_S{senders}_{size}B`: one server thread (CPU 1) echoes every
//! datagram to its sender; one client thread (CPU 0) drives `senders` UDP
//! sockets, each keeping 16 datagrams in flight. The servers:
//! - `floor_1`, `floor_mmsg32`: a minimal loop on nix's safe wrappers of
//!   epoll_wait, recvfrom/sendto, and recvmmsg/sendmmsg (batches of 32): the
//!   raw-syscall floor, doing exactly what a C server would;
//! - `sockpoll_1`, `sockpoll_mmsg8`, `sockpoll_mmsg32`: the same loop on
//!   sockpoll's `EpollSelector`, `recv_from`/`send_to` and
//!   `recv_mmsg`/`send_mmsg`;
//! - `echo_loop`: the examples' own server (`echo/src/server.rs`), whose UDP side
//!   is batched.
//!
//! At the end it prints, per server, the server thread's CPU time per
//! datagram (`/proc/self/task/TID/schedstat`) and its syscalls per datagram:
//! the bench's own loops count every call they make (each wait, each
//! receive and send call, including the one that answers `EAGAIN`); the
//! examples' loop does not count, so its figure comes from `strace -c -f`
//! (see BENCHMARKS.md).
//!
//! `udp_gso_1200B_rx_{plain,gro}`: the sender's cost of 54 datagrams of 1,200 bytes sent as
//! 54 `sendto`s, as one `sendmmsg` of 54, or as one 64,800-byte send with
//! `UDP_SEGMENT` = 1,200 (GSO), floor and sockpoll. A thread on CPU 1
//! drains the receiver, whose `UDP_GRO` is off (`plain`: the kernel cuts a
//! GSO send into datagrams on its way in, in the sender's context) or on.
//! Criterion's throughput is per datagram.

#[cfg(target_os = "linux")]
mod common;

#[cfg(target_os = "linux")]
fn main() {
    imp::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("udp bench: skipped: message I/O (recvmmsg/sendmmsg, GSO) is Linux-only in sockpoll");
}

#[cfg(target_os = "linux")]
mod imp {
    use super::common;
    use common::{cpu, echo_thread};

    use std::io::{IoSlice, IoSliceMut};
    use std::net::{SocketAddr, UdpSocket as StdUdp};
    use std::os::fd::{AsFd, AsRawFd};
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{mpsc, Arc};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    use criterion::{BenchmarkId, Criterion, Throughput};
    use nix::errno::Errno;
    use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
    use nix::sys::socket::{
        recvfrom, recvmmsg, sendmmsg, sendmsg, sendto, setsockopt, sockopt, ControlMessage,
        MsgFlags, MultiHeaders, SockaddrIn,
    };
    use sockpoll::event::{EpollSelector, Events, Interest, Mode, Selector, Token};
    use sockpoll::{MmsgBatch, SendMsg, SockAddr, UdpSocket};

    use cpu::{pin_to, thread_cpu};

    /// Datagrams each sender keeps in flight.
    const IN_FLIGHT: usize = 16;
    /// Largest datagram a bench sends.
    const MAX: usize = 2048;
    /// Server receive buffer: 50 senders x 16 datagrams must fit.
    const SERVER_RCVBUF: usize = 8 << 20;
    /// Segment size and count of the GSO group.
    const SEGMENT: usize = 1200;
    const SEGMENTS: usize = 54;

    /// A server running in its own thread.
    struct Running {
        addr: SocketAddr,
        tid: i32,
        /// System calls the loop made (0 when it does not count).
        syscalls: Arc<AtomicU64>,
        stop: Box<dyn FnOnce()>,
        join: JoinHandle<()>,
    }

    impl Running {
        fn shutdown(self) {
            (self.stop)();
            self.join.join().expect("server thread");
        }
    }

    /// A bound, non-blocking server socket with a receive buffer large enough
    /// for every sender's window (forced past `rmem_max` when we may).
    fn server_socket() -> StdUdp {
        let s = StdUdp::bind("127.0.0.1:0").expect("bind");
        s.set_nonblocking(true).expect("nonblocking");
        if setsockopt(&s, sockopt::RcvBufForce, &SERVER_RCVBUF).is_err() {
            let _ = setsockopt(&s, sockopt::RcvBuf, &SERVER_RCVBUF);
        }
        s
    }

    /// Runs `serve(socket, stop_fd, syscalls)` on a thread pinned to CPU 1.
    fn spawn(serve: fn(StdUdp, UnixStream, &AtomicU64)) -> Running {
        let (tx, rx) = mpsc::channel();
        let (stop_tx, stop_rx) = UnixStream::pair().expect("socketpair");
        let syscalls = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&syscalls);
        let join = std::thread::spawn(move || {
            pin_to(1);
            let s = server_socket();
            let tid = nix::unistd::gettid().as_raw();
            tx.send((s.local_addr().expect("addr"), tid)).expect("send");
            serve(s, stop_rx, &counter);
        });
        let (addr, tid) = rx.recv().expect("server start");
        Running {
            addr,
            tid,
            syscalls,
            stop: Box::new(move || {
                let _ = nix::unistd::write(stop_tx.as_fd(), b"s");
            }),
            join,
        }
    }

    const SOCK: u64 = 0;
    const STOP: u64 = 1;

    /// The floor's wait: epoll over the socket and the stop pipe; false to stop.
    fn floor_wait(ep: &Epoll, events: &mut [EpollEvent], calls: &AtomicU64) -> bool {
        loop {
            calls.fetch_add(1, Ordering::Relaxed);
            match ep.wait(events, EpollTimeout::NONE) {
                Ok(n) => return !events[..n].iter().any(|e| e.data() == STOP),
                Err(Errno::EINTR) => continue,
                Err(e) => panic!("epoll_wait: {e}"),
            }
        }
    }

    fn floor_epoll(s: &StdUdp, stop: &UnixStream) -> Epoll {
        let ep = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).expect("epoll");
        ep.add(s, EpollEvent::new(EpollFlags::EPOLLIN, SOCK))
            .expect("add");
        ep.add(stop, EpollEvent::new(EpollFlags::EPOLLIN, STOP))
            .expect("add");
        ep
    }

    /// Floor: one recvfrom and one sendto per datagram, level-triggered, read
    /// until `EAGAIN`.
    fn serve_floor_single(s: StdUdp, stop: UnixStream, calls: &AtomicU64) {
        let ep = floor_epoll(&s, &stop);
        let mut events = [EpollEvent::empty(); 4];
        let mut buf = [0u8; MAX];
        let fd = s.as_raw_fd();
        while floor_wait(&ep, &mut events, calls) {
            loop {
                calls.fetch_add(1, Ordering::Relaxed);
                match recvfrom::<SockaddrIn>(fd, &mut buf) {
                    Ok((n, Some(from))) => {
                        calls.fetch_add(1, Ordering::Relaxed);
                        let _ = sendto(fd, &buf[..n], &from, MsgFlags::empty());
                    }
                    Ok((_, None)) => {}
                    Err(Errno::EAGAIN) => break,
                    Err(e) => panic!("recvfrom: {e}"),
                }
            }
        }
    }

    /// Floor: recvmmsg/sendmmsg batches of 32; a short batch means the queue is
    /// empty, so the loop waits again without a call that would answer EAGAIN.
    fn serve_floor_mmsg(s: StdUdp, stop: UnixStream, calls: &AtomicU64) {
        const BATCH: usize = 32;
        let ep = floor_epoll(&s, &stop);
        let mut events = [EpollEvent::empty(); 4];
        let mut bufs = vec![0u8; BATCH * MAX];
        let mut rx = MultiHeaders::<SockaddrIn>::preallocate(BATCH, None);
        let mut tx = MultiHeaders::<SockaddrIn>::preallocate(BATCH, None);
        let fd = s.as_raw_fd();
        while floor_wait(&ep, &mut events, calls) {
            loop {
                let mut lens = [0usize; BATCH];
                let mut addrs: [Option<SockaddrIn>; BATCH] = [None; BATCH];
                let got = {
                    let mut chunks = bufs.chunks_exact_mut(MAX);
                    let mut iovs: [[IoSliceMut<'_>; 1]; BATCH] =
                        std::array::from_fn(|_| [IoSliceMut::new(chunks.next().expect("chunk"))]);
                    calls.fetch_add(1, Ordering::Relaxed);
                    match recvmmsg(fd, &mut rx, iovs.iter_mut(), MsgFlags::MSG_DONTWAIT, None) {
                        Ok(msgs) => {
                            let mut k = 0;
                            for m in msgs {
                                lens[k] = m.bytes;
                                addrs[k] = m.address;
                                k += 1;
                            }
                            k
                        }
                        Err(Errno::EAGAIN) => 0,
                        Err(e) => panic!("recvmmsg: {e}"),
                    }
                };
                if got == 0 {
                    break;
                }
                let mut chunks = bufs.chunks_exact(MAX);
                let iovs: [[IoSlice<'_>; 1]; BATCH] = std::array::from_fn(|i| {
                    let c = chunks.next().expect("chunk");
                    [IoSlice::new(&c[..lens[i]])]
                });
                calls.fetch_add(1, Ordering::Relaxed);
                let no_cmsgs: [ControlMessage<'_>; 0] = [];
                let _ = sendmmsg(
                    fd,
                    &mut tx,
                    iovs[..got].iter(),
                    &addrs[..got],
                    no_cmsgs,
                    MsgFlags::empty(),
                );
                if got < BATCH {
                    break;
                }
            }
        }
    }

    /// sockpoll: the same loop as the floor's, on `EpollSelector`.
    fn sockpoll_wait(sel: &EpollSelector, events: &mut Events, calls: &AtomicU64) -> bool {
        calls.fetch_add(1, Ordering::Relaxed);
        sel.wait(events, None).expect("wait");
        let mut go = true;
        while let Some(ev) = sel.next_event(events) {
            go &= ev.token() != Token(STOP as usize);
        }
        go
    }

    fn sockpoll_selector(s: &UdpSocket, stop: &UnixStream) -> EpollSelector {
        let sel = EpollSelector::new().expect("selector");
        sel.register(
            s.as_fd(),
            Token(SOCK as usize),
            Interest::READABLE,
            Mode::Level,
        )
        .expect("register");
        sel.register(
            stop.as_fd(),
            Token(STOP as usize),
            Interest::READABLE,
            Mode::Level,
        )
        .expect("register");
        sel
    }

    fn serve_sockpoll_single(s: StdUdp, stop: UnixStream, calls: &AtomicU64) {
        let s = UdpSocket::from(s);
        let sel = sockpoll_selector(&s, &stop);
        let mut events = Events::with_capacity(4);
        let mut buf = [0u8; MAX];
        let sock = s.as_socket();
        while sockpoll_wait(&sel, &mut events, calls) {
            loop {
                calls.fetch_add(1, Ordering::Relaxed);
                match sock.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        calls.fetch_add(1, Ordering::Relaxed);
                        let _ = sock.send_to(&buf[..n], &from);
                    }
                    Err(e) if e.is_would_block() => break,
                    Err(e) => panic!("recv_from: {e}"),
                }
            }
        }
    }

    fn serve_sockpoll_mmsg<const BATCH: usize>(s: StdUdp, stop: UnixStream, calls: &AtomicU64) {
        let s = UdpSocket::from(s);
        let sel = sockpoll_selector(&s, &stop);
        let mut events = Events::with_capacity(4);
        let mut batch = MmsgBatch::new(BATCH, 0).expect("batch");
        let mut bufs = vec![vec![0u8; MAX]; BATCH];
        let mut lens = [0usize; BATCH];
        let mut addrs: [SockAddr; BATCH] =
            std::array::from_fn(|_| SockAddr::from(SocketAddr::from(([0, 0, 0, 0], 0))));
        let sock = s.as_socket();
        while sockpoll_wait(&sel, &mut events, calls) {
            loop {
                calls.fetch_add(1, Ordering::Relaxed);
                let got = match sock.recv_mmsg(&mut batch, &mut bufs) {
                    Ok(n) => n,
                    Err(e) if e.is_would_block() => 0,
                    Err(e) => panic!("recv_mmsg: {e}"),
                };
                if got == 0 {
                    break;
                }
                for (i, m) in batch.messages().enumerate() {
                    lens[i] = m.len;
                    addrs[i] = m.addr;
                }
                let msgs: [SendMsg<'_>; BATCH] =
                    std::array::from_fn(|i| SendMsg::new(&bufs[i][..lens[i]]).to(&addrs[i]));
                calls.fetch_add(1, Ordering::Relaxed);
                let _ = sock.send_mmsg(&mut batch, &msgs[..got]);
                if got < BATCH {
                    break;
                }
            }
        }
    }

    /// The examples' own loop (its UDP side is batched); it counts no syscalls.
    fn spawn_echo_loop() -> Running {
        let t = echo_thread::start(EpollSelector::new);
        let stopper = t.stopper;
        Running {
            addr: t.addr,
            tid: t.tid,
            syscalls: Arc::new(AtomicU64::new(0)),
            stop: Box::new(move || stopper.stop()),
            join: t.join,
        }
    }

    type Spawn = fn() -> Running;

    fn servers() -> [(&'static str, Spawn); 6] {
        [
            ("floor_1", || spawn(serve_floor_single)),
            ("floor_mmsg32", || spawn(serve_floor_mmsg)),
            ("sockpoll_1", || spawn(serve_sockpoll_single)),
            ("sockpoll_mmsg8", || spawn(serve_sockpoll_mmsg::<8>)),
            ("sockpoll_mmsg32", || spawn(serve_sockpoll_mmsg::<32>)),
            ("echo_loop", spawn_echo_loop),
        ]
    }

    /// One client thread driving `senders` connected UDP sockets, each with
    /// `IN_FLIGHT` datagrams outstanding. A datagram the loopback drops (a full
    /// receive buffer) is replaced after a quiet 20 ms, and counted.
    struct Client {
        socks: Vec<StdUdp>,
        in_flight: Vec<usize>,
        ep: Epoll,
        msg: Vec<u8>,
        buf: Vec<u8>,
        datagrams: u64,
        lost: u64,
    }

    impl Client {
        fn new(addr: SocketAddr, senders: usize, size: usize) -> Client {
            let ep = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).expect("epoll");
            let socks: Vec<StdUdp> = (0..senders)
                .map(|i| {
                    let s = StdUdp::bind("127.0.0.1:0").expect("bind");
                    s.connect(addr).expect("connect");
                    s.set_nonblocking(true).expect("nonblocking");
                    ep.add(&s, EpollEvent::new(EpollFlags::EPOLLIN, i as u64))
                        .expect("add");
                    s
                })
                .collect();
            let mut c = Client {
                in_flight: vec![0; senders],
                socks,
                ep,
                msg: (0..size).map(|i| (i % 251) as u8).collect(),
                buf: vec![0; MAX],
                datagrams: 0,
                lost: 0,
            };
            c.run(senders as u64 * IN_FLIGHT as u64);
            c
        }

        fn send(&mut self, i: usize) {
            match self.socks[i].send(&self.msg) {
                Ok(_) => self.in_flight[i] += 1,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("send: {e}"),
            }
        }

        /// Runs until `iters` datagrams came back; returns the time it took.
        fn run(&mut self, iters: u64) -> Duration {
            let start = Instant::now();
            let mut done = 0u64;
            let mut quiet = 0u32;
            let mut events = vec![EpollEvent::empty(); 1024];
            for i in 0..self.socks.len() {
                while self.in_flight[i] < IN_FLIGHT {
                    self.send(i);
                }
            }
            while done < iters {
                let n = match self.ep.wait(&mut events, EpollTimeout::from(20u16)) {
                    Ok(n) => n,
                    Err(Errno::EINTR) => continue,
                    Err(e) => panic!("epoll_wait: {e}"),
                };
                if n == 0 {
                    quiet += 1;
                    assert!(quiet < 250, "the server has not answered for 5 s");
                    for i in 0..self.socks.len() {
                        self.lost += self.in_flight[i] as u64;
                        self.in_flight[i] = 0;
                        while self.in_flight[i] < IN_FLIGHT {
                            self.send(i);
                        }
                    }
                    continue;
                }
                quiet = 0;
                for ev in &events[..n] {
                    let i = ev.data() as usize;
                    loop {
                        match self.socks[i].recv(&mut self.buf) {
                            Ok(_) => {
                                done += 1;
                                self.in_flight[i] = self.in_flight[i].saturating_sub(1);
                                self.send(i);
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                            Err(e) => panic!("recv: {e}"),
                        }
                    }
                }
            }
            self.datagrams += done;
            start.elapsed()
        }
    }

    struct Row {
        group: String,
        server: &'static str,
        datagrams: u64,
        lost: u64,
        cpu_ns: u64,
        syscalls: u64,
    }

    fn bench_echo(c: &mut Criterion, rows: &mut Vec<Row>) {
        pin_to(0);
        for senders in [1usize, 50] {
            for size in [64usize, 1200] {
                let group = format!("udp_S{senders}_{size}B");
                let mut g = c.benchmark_group(&group);
                g.throughput(Throughput::Elements(1));
                for (name, spawn) in servers() {
                    let server = spawn();
                    let mut client = Client::new(server.addr, senders, size);
                    let (ns0, _) = thread_cpu(server.tid);
                    let (d0, l0) = (client.datagrams, client.lost);
                    let s0 = server.syscalls.load(Ordering::Relaxed);
                    g.bench_function(BenchmarkId::from_parameter(name), |b| {
                        b.iter_custom(|iters| client.run(iters))
                    });
                    let (ns1, _) = thread_cpu(server.tid);
                    rows.push(Row {
                        group: group.clone(),
                        server: name,
                        datagrams: client.datagrams - d0,
                        lost: client.lost - l0,
                        cpu_ns: ns1.saturating_sub(ns0),
                        syscalls: server.syscalls.load(Ordering::Relaxed) - s0,
                    });
                    drop(client);
                    server.shutdown();
                }
                g.finish();
            }
        }
    }

    /// A receiver drained by a thread on CPU 1 until dropped.
    struct Drain {
        addr: SocketAddr,
        stop: Arc<AtomicBool>,
        join: Option<JoinHandle<()>>,
    }

    impl Drain {
        /// `gro`: the receiver takes coalesced datagrams (`UDP_GRO`), so the
        /// loopback does not cut a GSO send up on its way in.
        fn new(gro: bool) -> Drain {
            let s = server_socket();
            if gro {
                setsockopt(&s, sockopt::UdpGroSegment, &true).expect("UDP_GRO");
            }
            s.set_nonblocking(false).expect("blocking");
            s.set_read_timeout(Some(Duration::from_millis(10)))
                .expect("timeout");
            let addr = s.local_addr().expect("addr");
            let stop = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&stop);
            let join = std::thread::spawn(move || {
                pin_to(1);
                let mut buf = vec![0u8; 65536];
                while !flag.load(Ordering::Acquire) {
                    let _ = s.recv(&mut buf);
                }
            });
            Drain {
                addr,
                stop,
                join: Some(join),
            }
        }
    }

    impl Drop for Drain {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Release);
            if let Some(j) = self.join.take() {
                let _ = j.join();
            }
        }
    }

    fn bench_gso(c: &mut Criterion) {
        pin_to(0);
        for gro in [false, true] {
            bench_gso_into(c, gro);
        }
    }

    /// The GSO group, against a receiver with `UDP_GRO` off or on: on loopback
    /// the receive path runs in the sender's context, so which one it is sets
    /// the ratio (BENCHMARKS.md).
    fn bench_gso_into(c: &mut Criterion, gro: bool) {
        let drain = Drain::new(gro);
        let to = drain.addr;
        let to_nix = SockaddrIn::from(match to {
            SocketAddr::V4(a) => a,
            SocketAddr::V6(_) => unreachable!("bound to 127.0.0.1"),
        });
        let payload: Vec<u8> = (0..SEGMENT * SEGMENTS).map(|i| (i % 251) as u8).collect();
        let std_sock = StdUdp::bind("127.0.0.1:0").expect("bind");
        let fd = std_sock.as_raw_fd();
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let rx = if gro { "gro" } else { "plain" };
        let mut g = c.benchmark_group(format!("udp_gso_{SEGMENT}B_rx_{rx}"));
        g.throughput(Throughput::Elements(SEGMENTS as u64));
        g.bench_function("floor_sendto_x54", |b| {
            b.iter(|| {
                for seg in payload.chunks(SEGMENT) {
                    let _ = sendto(fd, seg, &to_nix, MsgFlags::empty());
                }
            })
        });
        g.bench_function("floor_gso_64800", |b| {
            let seg = SEGMENT as u16;
            b.iter(|| {
                let iov = [IoSlice::new(&payload)];
                let cmsg = [ControlMessage::UdpGsoSegments(&seg)];
                let _ = sendmsg(fd, &iov, &cmsg, MsgFlags::empty(), Some(&to_nix));
            })
        });
        g.bench_function("sockpoll_send_to_x54", |b| {
            b.iter(|| {
                for seg in payload.chunks(SEGMENT) {
                    let _ = sock.send_to(seg, to);
                }
            })
        });
        let mut batch = MmsgBatch::new(SEGMENTS, 0).expect("batch");
        let to_addr = SockAddr::from(to);
        g.bench_function("sockpoll_send_mmsg_x54", |b| {
            b.iter(|| {
                let mut segs = payload.chunks(SEGMENT);
                let msgs: [SendMsg<'_>; SEGMENTS] = std::array::from_fn(|_| {
                    SendMsg::new(segs.next().expect("segment")).to(&to_addr)
                });
                let _ = sock.as_socket().send_mmsg(&mut batch, &msgs);
            })
        });
        g.bench_function("sockpoll_gso_64800", |b| {
            b.iter(|| {
                let _ = sock.send_gso(&payload, SEGMENT as u16, Some(to));
            })
        });
        g.finish();
    }

    fn print_summary(rows: &[Row]) {
        println!(
            "\nserver CPU and syscalls per datagram (server thread, whole benchmark incl. warm-up)"
        );
        println!(
            "{:<16} {:<16} {:>10} {:>6} {:>10} {:>14} {:>12}",
            "group", "server", "datagrams", "lost", "ns/dgram", "vs floor_mmsg", "syscalls/dg"
        );
        for r in rows {
            let per = |x: u64| x as f64 / r.datagrams.max(1) as f64;
            let floor = rows
                .iter()
                .find(|x| x.group == r.group && x.server == "floor_mmsg32")
                .map(|x| x.cpu_ns as f64 / x.datagrams.max(1) as f64)
                .unwrap_or(f64::NAN);
            let sys = if r.syscalls == 0 {
                "strace".to_string()
            } else {
                format!("{:.3}", per(r.syscalls))
            };
            println!(
                "{:<16} {:<16} {:>10} {:>6} {:>10.0} {:>14.2} {:>12}",
                r.group,
                r.server,
                r.datagrams,
                r.lost,
                per(r.cpu_ns),
                per(r.cpu_ns) / floor,
                sys
            );
        }
    }

    pub(crate) fn main() {
        // 50 senders and the servers fit any limit; raised as every bench does.
        common::raise_fd_limit(u64::MAX);
        let mut c = common::criterion();
        let mut rows = Vec::new();
        bench_echo(&mut c, &mut rows);
        bench_gso(&mut c);
        c.final_summary();
        print_summary(&rows);
    }
}
