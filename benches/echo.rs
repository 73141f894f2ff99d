//! Loopback TCP ping-pong through the examples' own echo loop
//! (`echo/src/server.rs`, one server thread) on each backend, beside a
//! minimal mio echo server and a minimal raw epoll server (nix's zero-cost
//! wrappers of epoll and read/write) written here.
//!
//! One client thread drives C connections: blocking write/read for C = 1,
//! its own `DefaultSelector` (level-triggered, one read per event) for
//! C > 1, each connection with one M-byte message in flight. Criterion's
//! throughput (one element per message) gives msgs/s. Server thread on CPU
//! 1, client on CPU 0 (when the machine has two).
//!
//! At the end it prints the server thread's CPU time per message, read from
//! `/proc/self/task/<tid>/schedstat` (ns on CPU) and `.../stat`
//! (utime+stime clock ticks), over everything the server did in that
//! benchmark (warm-up included). At C >= 50 one client thread saturates
//! first, so msgs/s alone does not rank servers; CPU/msg does.

#[cfg(uring)]
mod common;

#[cfg(uring)]
fn main() {
    imp::main();
}

#[cfg(not(uring))]
fn main() {
    println!("echo bench: skipped: it compares all four backends, and the uring one is not built for this target");
}

#[cfg(uring)]
mod imp {
    use super::common;
    use common::{cpu, echo_thread};

    use cpu::{pin_to, thread_cpu};

    use std::io::{ErrorKind, Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;
    use std::sync::Arc;
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    use criterion::{BenchmarkId, Criterion, Throughput};
    use nix::errno::Errno;
    use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
    use sockpoll::event::{
        DefaultSelector, EpollSelector, Events, Interest, Mode, PollSelector, SelectSelector,
        Selector, Token, UringSelector,
    };

    const READ_CHUNK: usize = 64 * 1024;

    /// A server running in its own thread.
    struct Running {
        addr: SocketAddr,
        tid: i32,
        stop: Box<dyn FnOnce()>,
        join: JoinHandle<()>,
    }

    impl Running {
        fn shutdown(self) {
            (self.stop)();
            self.join.join().expect("server thread");
        }
    }

    /// The examples' loop, `Server<S>`, on a fresh selector.
    fn spawn_loop<S: Selector + 'static>(make: fn() -> sockpoll::Result<S>) -> Running {
        let t = echo_thread::start(make);
        let stopper = t.stopper;
        Running {
            addr: t.addr,
            tid: t.tid,
            stop: Box::new(move || stopper.stop()),
            join: t.join,
        }
    }

    /// A minimal mio echo server: edge-triggered, reads until `WouldBlock`,
    /// queues what a write does not take.
    fn spawn_mio() -> Running {
        use mio::net::TcpListener;
        const LISTENER: mio::Token = mio::Token(usize::MAX);
        const WAKE: mio::Token = mio::Token(usize::MAX - 1);
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let join = std::thread::spawn(move || {
            pin_to(1);
            let mut poll = mio::Poll::new().expect("mio");
            let waker = Arc::new(mio::Waker::new(poll.registry(), WAKE).expect("waker"));
            let mut listener =
                TcpListener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
            poll.registry()
                .register(&mut listener, LISTENER, mio::Interest::READABLE)
                .expect("register");
            let tid = nix::unistd::gettid().as_raw();
            tx.send((
                listener.local_addr().expect("addr"),
                Arc::clone(&waker),
                tid,
            ))
            .expect("send");
            let mut conns: Vec<Option<(mio::net::TcpStream, Vec<u8>)>> = Vec::new();
            let mut events = mio::Events::with_capacity(1024);
            let mut buf = vec![0u8; READ_CHUNK];
            while !flag.load(Ordering::Acquire) {
                poll.poll(&mut events, None).expect("poll");
                for ev in events.iter() {
                    match ev.token() {
                        WAKE => {}
                        LISTENER => loop {
                            match listener.accept() {
                                Ok((mut s, _)) => {
                                    let _ = s.set_nodelay(true);
                                    let id = conns.len();
                                    poll.registry()
                                        .register(
                                            &mut s,
                                            mio::Token(id),
                                            mio::Interest::READABLE | mio::Interest::WRITABLE,
                                        )
                                        .expect("register");
                                    conns.push(Some((s, Vec::new())));
                                }
                                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                                Err(e) => panic!("accept: {e}"),
                            }
                        },
                        mio::Token(id) => {
                            let Some(Some((s, out))) = conns.get_mut(id) else {
                                continue;
                            };
                            let mut closed = false;
                            if ev.is_writable() && !out.is_empty() {
                                closed |= write_some(s, out);
                            }
                            if ev.is_readable() {
                                loop {
                                    match s.read(&mut buf) {
                                        Ok(0) => {
                                            closed = true;
                                            break;
                                        }
                                        Ok(n) => {
                                            out.extend_from_slice(&buf[..n]);
                                            closed |= write_some(s, out);
                                        }
                                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                                        Err(_) => {
                                            closed = true;
                                            break;
                                        }
                                    }
                                }
                            }
                            if closed {
                                if let Some((mut s, _)) = conns[id].take() {
                                    let _ = poll.registry().deregister(&mut s);
                                }
                            }
                        }
                    }
                }
            }
        });
        let (addr, waker, tid) = rx.recv().expect("server start");
        Running {
            addr,
            tid,
            stop: Box::new(move || {
                stop.store(true, Ordering::Release);
                let _ = waker.wake();
            }),
            join,
        }
    }

    /// Writes as much of `out` as the socket takes; true on a fatal error.
    fn write_some(s: &mut impl Write, out: &mut Vec<u8>) -> bool {
        let mut sent = 0;
        while sent < out.len() {
            match s.write(&out[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => return true,
            }
        }
        out.drain(..sent);
        false
    }

    /// The floor: a minimal level-triggered echo server on nix's epoll and
    /// read/write — one read per event, written back at once (three syscalls
    /// per message at one connection).
    fn spawn_raw_epoll() -> Running {
        const LISTENER: u64 = u64::MAX;
        const STOP: u64 = u64::MAX - 1;
        let (tx, rx) = mpsc::channel();
        let (stop_tx, stop_rx) = UnixStream::pair().expect("socketpair");
        let join = std::thread::spawn(move || {
            pin_to(1);
            let ep = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).expect("epoll");
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.set_nonblocking(true).expect("nonblocking");
            ep.add(&listener, EpollEvent::new(EpollFlags::EPOLLIN, LISTENER))
                .expect("add");
            ep.add(&stop_rx, EpollEvent::new(EpollFlags::EPOLLIN, STOP))
                .expect("add");
            let tid = nix::unistd::gettid().as_raw();
            tx.send((listener.local_addr().expect("addr"), tid))
                .expect("send");
            let mut conns: Vec<Option<(TcpStream, Vec<u8>)>> = Vec::new();
            let mut events = vec![EpollEvent::empty(); 1024];
            let mut buf = vec![0u8; READ_CHUNK];
            'serve: loop {
                let n = match ep.wait(&mut events, EpollTimeout::NONE) {
                    Ok(n) => n,
                    Err(Errno::EINTR) => continue,
                    Err(e) => panic!("epoll_wait: {e}"),
                };
                for ev in &events[..n] {
                    match ev.data() {
                        STOP => break 'serve,
                        LISTENER => loop {
                            match listener.accept() {
                                Ok((s, _)) => {
                                    let _ = s.set_nodelay(true);
                                    s.set_nonblocking(true).expect("nonblocking");
                                    let id = conns.len() as u64;
                                    ep.add(&s, EpollEvent::new(EpollFlags::EPOLLIN, id))
                                        .expect("add");
                                    conns.push(Some((s, Vec::new())));
                                }
                                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                                Err(e) => panic!("accept: {e}"),
                            }
                        },
                        id => {
                            let id = id as usize;
                            let Some(Some((s, out))) = conns.get_mut(id) else {
                                continue;
                            };
                            let closed =
                                raw_conn_ready(&ep, id as u64, s, out, ev.events(), &mut buf);
                            if closed {
                                if let Some((s, _)) = conns[id].take() {
                                    let _ = ep.delete(&s);
                                }
                            }
                        }
                    }
                }
            }
        });
        let (addr, tid) = rx.recv().expect("server start");
        Running {
            addr,
            tid,
            stop: Box::new(move || {
                let _ = nix::unistd::write(stop_tx.as_fd(), b"s");
            }),
            join,
        }
    }

    /// One event of the raw server; true when the connection is done.
    fn raw_conn_ready(
        ep: &Epoll,
        id: u64,
        s: &TcpStream,
        out: &mut Vec<u8>,
        ev: EpollFlags,
        buf: &mut [u8],
    ) -> bool {
        let had_output = !out.is_empty();
        if ev.contains(EpollFlags::EPOLLOUT) && had_output {
            if raw_flush(s, out) {
                return true;
            }
        } else if out.is_empty() {
            match nix::unistd::read(s.as_fd(), buf) {
                Ok(0) => return true,
                Ok(n) => {
                    // Straight from the read buffer; only a remainder is queued.
                    let mut sent = 0;
                    while sent < n {
                        match nix::unistd::write(s.as_fd(), &buf[sent..n]) {
                            Ok(k) => sent += k,
                            Err(Errno::EAGAIN) => break,
                            Err(_) => return true,
                        }
                    }
                    out.extend_from_slice(&buf[sent..n]);
                }
                Err(Errno::EAGAIN) => {}
                Err(_) => return true,
            }
        }
        let has_output = !out.is_empty();
        if had_output != has_output {
            // Watch for room only while output waits; stop reading meanwhile.
            let flags = if has_output {
                EpollFlags::EPOLLOUT
            } else {
                EpollFlags::EPOLLIN
            };
            let mut e = EpollEvent::new(flags, id);
            if ep.modify(s, &mut e).is_err() {
                return true;
            }
        }
        false
    }

    fn raw_flush(s: &TcpStream, out: &mut Vec<u8>) -> bool {
        let mut sent = 0;
        while sent < out.len() {
            match nix::unistd::write(s.as_fd(), &out[sent..]) {
                Ok(n) => sent += n,
                Err(Errno::EAGAIN) => break,
                Err(_) => return true,
            }
        }
        out.drain(..sent);
        false
    }

    /// One client thread: C connections, one message each in flight.
    struct Client {
        conns: Vec<TcpStream>,
        got: Vec<usize>,
        sel: Option<(DefaultSelector, Events)>,
        msg: Vec<u8>,
        buf: Vec<u8>,
        messages: u64,
    }

    impl Client {
        fn connect(addr: SocketAddr, c: usize, size: usize) -> Client {
            let mut conns = Vec::with_capacity(c);
            for _ in 0..c {
                let s = TcpStream::connect(addr).expect("connect");
                s.set_nodelay(true).expect("nodelay");
                conns.push(s);
            }
            let sel = (c > 1).then(|| {
                let sel = DefaultSelector::new().expect("selector");
                for (i, s) in conns.iter().enumerate() {
                    s.set_nonblocking(true).expect("nonblocking");
                    sel.register(s.as_fd(), Token(i), Interest::READABLE, Mode::Level)
                        .expect("register");
                }
                (sel, Events::with_capacity(1024))
            });
            let msg = (0..size).map(|i| (i % 251) as u8).collect();
            let mut client = Client {
                got: vec![0; c],
                conns,
                sel,
                msg,
                buf: vec![0; READ_CHUNK.max(size)],
                messages: 0,
            };
            // Every connection accepted and answering before timing starts.
            client.run(c as u64);
            client
        }

        /// `iters` messages in all; returns the time they took.
        fn run(&mut self, iters: u64) -> Duration {
            let start = Instant::now();
            let size = self.msg.len();
            match &mut self.sel {
                None => {
                    let s = &mut self.conns[0];
                    for _ in 0..iters {
                        s.write_all(&self.msg).expect("write");
                        s.read_exact(&mut self.buf[..size]).expect("read");
                    }
                }
                Some((sel, events)) => {
                    let mut started = 0u64;
                    let mut done = 0u64;
                    for s in &mut self.conns {
                        if started == iters {
                            break;
                        }
                        send_all(s, &self.msg);
                        started += 1;
                    }
                    while done < iters {
                        sel.wait(events, None).expect("wait");
                        while let Some(ev) = sel.next_event(events) {
                            let i = ev.token().0;
                            let s = &mut self.conns[i];
                            match s.read(&mut self.buf[..size - self.got[i]]) {
                                Ok(0) => panic!("server closed a connection"),
                                Ok(n) => self.got[i] += n,
                                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                                Err(e) => panic!("read: {e}"),
                            }
                            if self.got[i] == size {
                                self.got[i] = 0;
                                done += 1;
                                if started < iters {
                                    send_all(s, &self.msg);
                                    started += 1;
                                }
                            }
                        }
                    }
                }
            }
            self.messages += iters;
            start.elapsed()
        }
    }

    /// A non-blocking write of a message that always fits an idle socket's
    /// buffer; spins in the (never seen) case it does not.
    fn send_all(s: &mut TcpStream, msg: &[u8]) {
        let mut sent = 0;
        while sent < msg.len() {
            match s.write(&msg[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
                Err(e) => panic!("write: {e}"),
            }
        }
    }

    /// The server thread's CPU time so far: (ns from schedstat, utime+stime
    /// clock ticks from stat).
    struct Row {
        group: String,
        server: &'static str,
        messages: u64,
        cpu_ns: u64,
        ticks: u64,
    }

    type Spawn = fn() -> Running;

    fn servers() -> [(&'static str, Spawn); 6] {
        [
            ("select", || spawn_loop(SelectSelector::new)),
            ("poll", || spawn_loop(PollSelector::new)),
            ("epoll", || spawn_loop(EpollSelector::new)),
            ("uring", || spawn_loop(UringSelector::new)),
            ("mio", spawn_mio),
            ("raw_epoll", spawn_raw_epoll),
        ]
    }

    fn bench_echo(c: &mut Criterion, rows: &mut Vec<Row>) {
        pin_to(0);
        for conns in [1usize, 50, 500] {
            for size in [64usize, 4096] {
                let group = format!("echo_C{conns}_{size}B");
                let mut g = c.benchmark_group(&group);
                g.throughput(Throughput::Elements(1));
                for (name, spawn) in servers() {
                    let server = spawn();
                    let mut client = Client::connect(server.addr, conns, size);
                    let (ns0, t0) = thread_cpu(server.tid);
                    let m0 = client.messages;
                    g.bench_function(BenchmarkId::from_parameter(name), |b| {
                        b.iter_custom(|iters| client.run(iters))
                    });
                    let (ns1, t1) = thread_cpu(server.tid);
                    rows.push(Row {
                        group: group.clone(),
                        server: name,
                        messages: client.messages - m0,
                        cpu_ns: ns1.saturating_sub(ns0),
                        ticks: t1.saturating_sub(t0),
                    });
                    drop(client);
                    server.shutdown();
                }
                g.finish();
            }
        }
    }

    fn print_summary(rows: &[Row]) {
        let tck = 100.0; // USER_HZ on Linux
        println!("\nserver CPU per message (server thread, whole benchmark incl. warm-up)");
        println!(
            "{:<18} {:<10} {:>12} {:>12} {:>12} {:>10}",
            "group", "server", "messages", "ns/msg", "tick-ns/msg", "vs raw"
        );
        for r in rows {
            let per = |ns: f64| ns / r.messages.max(1) as f64;
            let raw = rows
                .iter()
                .find(|x| x.group == r.group && x.server == "raw_epoll")
                .map(|x| x.cpu_ns as f64 / x.messages.max(1) as f64)
                .unwrap_or(f64::NAN);
            let mine = per(r.cpu_ns as f64);
            println!(
                "{:<18} {:<10} {:>12} {:>12.0} {:>12.0} {:>10.2}",
                r.group,
                r.server,
                r.messages,
                mine,
                per(r.ticks as f64 * 1e9 / tck),
                mine / raw
            );
        }
    }

    pub(crate) fn main() {
        common::raise_fd_limit(u64::MAX);
        let mut c = common::criterion();
        let mut rows = Vec::new();
        bench_echo(&mut c, &mut rows);
        c.final_summary();
        print_summary(&rows);
    }
}
