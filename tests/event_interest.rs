//! Modes and interests beyond the first three, on every backend: edge +
//! oneshot, the empty interest, priority readiness (TCP out-of-band data)
//! and exclusive wake-ups. Where a backend lacks one, the test asserts the
//! typed `Unsupported` error instead of skipping.

mod util;

use std::io::{ErrorKind, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::resource::{getrusage, UsageWho};
use nix::sys::time::TimeValLike;
use sockpoll::event::{
    AnySelector, BackendKind, Events, Interest, Mode, PollSelector, SelectSelector, Selector, Token,
};
use sockpoll::{Error, TcpListener, TcpStream};
use util::*;

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).expect("nonblocking");
    b.set_nonblocking(true).expect("nonblocking");
    (a, b)
}

fn is_epoll(sel: &dyn Selector) -> bool {
    sel.name() == "epoll"
}

fn assert_unsupported(err: Error, call: &str, what: &str) {
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert_eq!(err.call(), call, "{err}");
    assert!(err.to_string().contains(what), "{err}");
}

fn thread_cpu() -> Duration {
    let u = getrusage(UsageWho::RUSAGE_THREAD).expect("getrusage");
    let us = u.user_time().num_microseconds() + u.system_time().num_microseconds();
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

/// `Mode::EdgeOneshot` on epoll: one event for the next change, then
/// nothing until `reregister`; elsewhere a typed `Unsupported`.
fn edge_oneshot(sel: Arc<dyn Selector>) {
    let (a, mut b) = pair();
    if !sel.supports(Mode::EdgeOneshot) {
        let err = sel
            .register(a.as_fd(), Token(1), Interest::READABLE, Mode::EdgeOneshot)
            .unwrap_err();
        assert_unsupported(err, "register", "Mode::EdgeOneshot");
        sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
            .unwrap();
        let err = sel
            .reregister(a.as_fd(), Token(1), Interest::READABLE, Mode::EdgeOneshot)
            .unwrap_err();
        assert_unsupported(err, "reregister", "Mode::EdgeOneshot");
        return;
    }
    assert!(sel.supports(Mode::EdgeOneshot));
    let mut ev = Events::with_capacity(8);
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::EdgeOneshot)
        .unwrap();
    b.write_all(b"one").unwrap();
    expect_event(&*sel, &mut ev, Token(1), |e| e.is_readable(), SOON);
    // Disarmed: another edge (more data) brings nothing.
    b.write_all(b"two").unwrap();
    expect_no_event(&*sel, &mut ev, Token(1));
    // Re-armed, the unread data is reported once more, then nothing.
    sel.reregister(a.as_fd(), Token(2), Interest::READABLE, Mode::EdgeOneshot)
        .unwrap();
    expect_event(&*sel, &mut ev, Token(2), |e| e.is_readable(), SOON);
    expect_no_event(&*sel, &mut ev, Token(2));
    sel.deregister(a.as_fd()).unwrap();
}

/// `Interest::NONE`: registered (its number taken), nothing delivered —
/// not data, not a hang-up — and no CPU burnt while the peer's hang-up
/// sits there; `reregister` with an interest brings the events.
fn none_interest(sel: Arc<dyn Selector>) {
    let (a, mut b) = pair();
    let mut ev = Events::with_capacity(8);
    sel.register(a.as_fd(), Token(5), Interest::NONE, Mode::Level)
        .unwrap();
    assert_eq!(format!("{:?}", Interest::NONE), "NONE");
    b.write_all(b"data").unwrap();
    drop(b); // a hang-up too, which poll and epoll report unasked
    expect_no_event(&*sel, &mut ev, Token(5));
    // Not a spin: a quiet wait of 100 ms costs far less than 100 ms of CPU.
    let (cpu0, t0) = (thread_cpu(), Instant::now());
    let quiet = Duration::from_millis(100);
    assert_eq!(sel.wait(&mut ev, Some(quiet)).unwrap(), 0);
    let (cpu, took) = (thread_cpu() - cpu0, t0.elapsed());
    assert!(took >= quiet, "{}: ended early: {took:?}", sel.name());
    assert!(cpu < quiet / 2, "{}: spun: {cpu:?} of CPU", sel.name());
    // Still registered: a second register is AlreadyExists.
    let err = sel
        .register(a.as_fd(), Token(6), Interest::READABLE, Mode::Level)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    sel.reregister(a.as_fd(), Token(7), Interest::READABLE, Mode::Level)
        .unwrap();
    let e = expect_event(&*sel, &mut ev, Token(7), |e| e.is_readable(), SOON);
    // select says read-closed only once the queue is empty (its docs).
    if sel.name() != "select" {
        assert!(e.is_read_closed(), "{}: {e:?}", sel.name());
    }
    // And back to NONE: quiet again.
    sel.reregister(a.as_fd(), Token(8), Interest::NONE, Mode::Level)
        .unwrap();
    expect_no_event(&*sel, &mut ev, Token(8));
    sel.deregister(a.as_fd()).unwrap();
}

/// TCP urgent data (`MSG_OOB`) wakes a `PRIORITY` interest on every backend
/// (`EPOLLPRI`, `POLLPRI`, select's exception set); reading the urgent
/// byte ends it. A registration without `PRIORITY` never says priority.
fn priority_from_out_of_band_data(sel: Arc<dyn Selector>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    server.set_nonblocking(true).unwrap();
    let mut ev = Events::with_capacity(8);
    sel.register(server.as_fd(), Token(3), Interest::PRIORITY, Mode::Level)
        .unwrap();
    expect_no_event(&*sel, &mut ev, Token(3));
    client.as_socket().send_out_of_band(b"!").unwrap();
    let e = expect_event(&*sel, &mut ev, Token(3), |e| e.is_priority(), SOON);
    assert!(!e.is_writable(), "{e:?}");
    let mut buf = [0u8; 1];
    // The byte has arrived (it was reported); read it out of band.
    assert_eq!(server.as_socket().recv_out_of_band(&mut buf).unwrap(), 1);
    assert_eq!(&buf, b"!");
    expect_no_event(&*sel, &mut ev, Token(3));
    // READABLE alone: ordinary data is readable, never priority.
    sel.reregister(server.as_fd(), Token(4), Interest::READABLE, Mode::Level)
        .unwrap();
    client.as_socket().send(b"plain").unwrap();
    let e = expect_event(&*sel, &mut ev, Token(4), |e| e.is_readable(), SOON);
    assert!(!e.is_priority(), "{e:?}");
    client.shutdown(Shutdown::Both).unwrap();
    sel.deregister(server.as_fd()).unwrap();
}

/// `Interest::EXCLUSIVE` is epoll's, with level or edge only; elsewhere,
/// and with a oneshot mode, a typed `Unsupported`. An exclusive
/// registration still delivers, and `reregister` (delete + add) keeps it.
fn exclusive_registration(sel: Arc<dyn Selector>) {
    let (a, mut b) = pair();
    let ex = Interest::READABLE | Interest::EXCLUSIVE;
    assert_eq!(format!("{ex:?}"), "READABLE | EXCLUSIVE");
    if !is_epoll(&*sel) {
        let err = sel
            .register(a.as_fd(), Token(1), ex, Mode::Level)
            .unwrap_err();
        assert_unsupported(err, "register", "Interest::EXCLUSIVE");
        return;
    }
    for mode in [Mode::Oneshot, Mode::EdgeOneshot] {
        let err = sel.register(a.as_fd(), Token(1), ex, mode).unwrap_err();
        assert_unsupported(err, "register", "oneshot");
    }
    let mut ev = Events::with_capacity(8);
    sel.register(a.as_fd(), Token(1), ex, Mode::Level).unwrap();
    b.write_all(b"x").unwrap();
    expect_event(&*sel, &mut ev, Token(1), |e| e.is_readable(), SOON);
    sel.reregister(a.as_fd(), Token(2), ex, Mode::Edge).unwrap();
    b.write_all(b"y").unwrap();
    expect_event(&*sel, &mut ev, Token(2), |e| e.is_readable(), SOON);
    sel.reregister(a.as_fd(), Token(3), Interest::READABLE, Mode::Level)
        .unwrap();
    expect_event(&*sel, &mut ev, Token(3), |e| e.is_readable(), SOON);
    let err = sel
        .reregister(a.as_fd(), Token(4), ex, Mode::Oneshot)
        .unwrap_err();
    assert_unsupported(err, "reregister", "oneshot");
    sel.deregister(a.as_fd()).unwrap();
}

macro_rules! interest_tests {
    ($name:ident, $new:expr) => {
        mod $name {
            use super::*;

            fn new() -> Arc<dyn Selector> {
                Arc::new(($new)().expect("selector"))
            }

            #[test]
            fn edge_oneshot() {
                super::edge_oneshot(new());
            }
            #[test]
            fn none_interest() {
                super::none_interest(new());
            }
            #[test]
            fn priority_from_out_of_band_data() {
                super::priority_from_out_of_band_data(new());
            }
            #[test]
            fn exclusive_registration() {
                super::exclusive_registration(new());
            }
        }
    };
}

interest_tests!(select, SelectSelector::new);
interest_tests!(poll, PollSelector::new);
#[cfg(target_os = "linux")]
interest_tests!(epoll, sockpoll::event::EpollSelector::new);
interest_tests!(any_select, || AnySelector::new(BackendKind::Select));
#[cfg(target_os = "linux")]
interest_tests!(any_epoll, || AnySelector::new(BackendKind::Epoll));
#[cfg(all(feature = "uring", target_os = "linux"))]
interest_tests!(uring, sockpoll::event::UringSelector::new);
#[cfg(all(feature = "uring", target_os = "linux"))]
interest_tests!(any_uring, || AnySelector::new(BackendKind::Uring));
interest_tests!(boxed, || -> sockpoll::Result<Box<dyn Selector>> {
    Ok(Box::new(sockpoll::event::DefaultSelector::new()?))
});

/// Whether thread `tid` of this process is asleep (in its wait).
fn asleep(tid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('S')))
        .unwrap_or(false)
}

/// How many of three threads, each blocked in its own epoll selector on one
/// shared listener registered with `interest`, one incoming connection
/// wakes (each waits once, 1 s at most).
#[cfg(target_os = "linux")]
fn woken_by_one_connection(interest: Interest) -> usize {
    const WAITERS: usize = 3;
    let listener = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
    listener.set_nonblocking(true).unwrap();
    let (tx, rx) = mpsc::channel();
    let mut handles = Vec::new();
    for _ in 0..WAITERS {
        let (listener, tx) = (Arc::clone(&listener), tx.clone());
        handles.push(thread::spawn(move || {
            let sel = sockpoll::event::EpollSelector::new().unwrap();
            sel.register(listener.as_fd(), Token(0), interest, Mode::Level)
                .unwrap();
            let me = std::fs::read_link("/proc/thread-self")
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_default();
            tx.send(me).unwrap();
            let mut ev = Events::with_capacity(4);
            let n = sel.wait(&mut ev, Some(Duration::from_secs(1))).unwrap();
            usize::from(n > 0)
        }));
    }
    drop(tx);
    let tids: Vec<String> = (0..WAITERS)
        .map(|_| rx.recv_timeout(SOON).expect("a waiter failed to register"))
        .collect();
    // Bounded: until every waiter sleeps in its wait (or 2 s), then a
    // little more so that each is inside epoll_wait.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !tids.iter().all(|t| asleep(t)) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    thread::sleep(Duration::from_millis(50));
    let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}

/// The thundering herd (mio#1341, tokio#6084): without `EXCLUSIVE` one
/// connection wakes every thread waiting on the listener; with it, the
/// kernel wakes one of them (a waiter that was not yet asleep may see the
/// ready listener too, so the bound is "not all").
#[cfg(target_os = "linux")]
#[test]
fn exclusive_wakes_one_waiter_not_all() {
    assert_eq!(woken_by_one_connection(Interest::READABLE), 3);
    let woken = woken_by_one_connection(Interest::READABLE | Interest::EXCLUSIVE);
    assert!((1..3).contains(&woken), "exclusive woke {woken} of 3");
}
