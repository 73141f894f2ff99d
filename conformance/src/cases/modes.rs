//! Modes and interests beyond level and oneshot: edge + oneshot, the empty
//! interest, priority readiness (TCP out-of-band data) and exclusive
//! wake-ups. Where a backend
//! declares it lacks one, the case asserts the typed `Unsupported` error.

use std::io::{ErrorKind, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sockpoll::event::{Events, Interest, Mode, Selector, Token};
use sockpoll::{Result, TcpListener, TcpStream};

use super::make;
use crate::support::*;
use crate::Capabilities;

/// `Mode::EdgeOneshot` where declared: one event for the next change, then
/// nothing until `reregister`; elsewhere a typed `Unsupported`.
pub fn edge_oneshot<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let name = sel.name();
    let (a, mut b) = uds_pair();
    assert_eq!(
        sel.supports(Mode::EdgeOneshot),
        caps.edge_oneshot,
        "{name}: supports(Mode::EdgeOneshot)"
    );
    if !caps.edge_oneshot {
        let res = sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::EdgeOneshot);
        assert_unsupported(res, name, "register", "Mode::EdgeOneshot");
        sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
            .unwrap();
        let res = sel.reregister(a.as_fd(), Token(1), Interest::READABLE, Mode::EdgeOneshot);
        assert_unsupported(res, name, "reregister", "Mode::EdgeOneshot");
        return;
    }
    let mut ev = Events::with_capacity(8);
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::EdgeOneshot)
        .unwrap_or_else(|e| panic!("{name}: declares Mode::EdgeOneshot but refused it: {e}"));
    b.write_all(b"one").unwrap();
    expect_event(&sel, &mut ev, Token(1), |e| e.is_readable(), SOON);
    // Disarmed: another edge (more data) brings nothing.
    b.write_all(b"two").unwrap();
    expect_no_event(&sel, &mut ev, Token(1));
    // Re-armed, the unread data is reported once more, then nothing.
    sel.reregister(a.as_fd(), Token(2), Interest::READABLE, Mode::EdgeOneshot)
        .unwrap();
    expect_event(&sel, &mut ev, Token(2), |e| e.is_readable(), SOON);
    expect_no_event(&sel, &mut ev, Token(2));
    sel.deregister(a.as_fd()).unwrap();
}

/// `Interest::NONE`: registered (its number taken), nothing delivered —
/// not data, not a hang-up — and no CPU burnt while the peer's hang-up
/// sits there; `reregister` with an interest brings the events.
pub fn none_interest<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let (a, mut b) = uds_pair();
    let mut ev = Events::with_capacity(8);
    sel.register(a.as_fd(), Token(5), Interest::NONE, Mode::Level)
        .unwrap();
    assert_eq!(format!("{:?}", Interest::NONE), "NONE");
    b.write_all(b"data").unwrap();
    drop(b); // a hang-up too, which poll and epoll report unasked
    expect_no_event(&sel, &mut ev, Token(5));
    // Not a spin: a quiet wait of 100 ms costs far less than 100 ms of CPU
    // (where a thread's CPU time can be read).
    let (cpu0, t0) = (thread_cpu(), Instant::now());
    let quiet = Duration::from_millis(100);
    assert_eq!(sel.wait(&mut ev, Some(quiet)).unwrap(), 0);
    let (cpu, took) = (
        thread_cpu().map(|c| c - cpu0.unwrap_or_default()),
        t0.elapsed(),
    );
    assert!(took >= quiet, "{}: ended early: {took:?}", sel.name());
    if let Some(cpu) = cpu {
        assert!(cpu < quiet / 2, "{}: spun: {cpu:?} of CPU", sel.name());
    }
    // Still registered: a second register is AlreadyExists.
    let err = sel
        .register(a.as_fd(), Token(6), Interest::READABLE, Mode::Level)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    sel.reregister(a.as_fd(), Token(7), Interest::READABLE, Mode::Level)
        .unwrap();
    let e = expect_event(&sel, &mut ev, Token(7), |e| e.is_readable(), SOON);
    // select says read-closed only once the queue is empty (its docs).
    if caps.read_closed_before_drained {
        assert!(e.is_read_closed(), "{}: {e:?}", sel.name());
    }
    // And back to NONE: quiet again.
    sel.reregister(a.as_fd(), Token(8), Interest::NONE, Mode::Level)
        .unwrap();
    expect_no_event(&sel, &mut ev, Token(8));
    sel.deregister(a.as_fd()).unwrap();
}

/// TCP urgent data (`MSG_OOB`) wakes a `PRIORITY` interest where declared
/// (every sockpoll backend: `EPOLLPRI`, `POLLPRI`, select's exception
/// set); reading the urgent byte ends it. A registration without
/// `PRIORITY` never says priority. Where not declared, `register` with it
/// is a typed `Unsupported`.
pub fn priority_from_out_of_band_data<S: Selector, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = make(&new, &caps);
    let name = sel.name();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    server.set_nonblocking(true).unwrap();
    let mut ev = Events::with_capacity(8);
    let res = sel.register(server.as_fd(), Token(3), Interest::PRIORITY, Mode::Level);
    if !caps.priority {
        assert_unsupported(res, name, "register", "Interest::PRIORITY");
        return;
    }
    res.unwrap_or_else(|e| panic!("{name}: declares Interest::PRIORITY but refused it: {e}"));
    expect_no_event(&sel, &mut ev, Token(3));
    client.as_socket().send_out_of_band(b"!").unwrap();
    let e = expect_event(&sel, &mut ev, Token(3), |e| e.is_priority(), SOON);
    assert!(!e.is_writable(), "{e:?}");
    let mut buf = [0u8; 1];
    // The byte has arrived (it was reported); read it out of band.
    assert_eq!(server.as_socket().recv_out_of_band(&mut buf).unwrap(), 1);
    assert_eq!(&buf, b"!");
    expect_no_event(&sel, &mut ev, Token(3));
    // READABLE alone: ordinary data is readable, never priority.
    sel.reregister(server.as_fd(), Token(4), Interest::READABLE, Mode::Level)
        .unwrap();
    client.as_socket().send(b"plain").unwrap();
    let e = expect_event(&sel, &mut ev, Token(4), |e| e.is_readable(), SOON);
    assert!(!e.is_priority(), "{e:?}");
    client.shutdown(Shutdown::Both).unwrap();
    sel.deregister(server.as_fd()).unwrap();
}

/// `Interest::EXCLUSIVE` where declared (epoll, uring), with level or edge only:
/// with a oneshot mode, and wherever it is not declared, a typed
/// `Unsupported`. An exclusive registration still delivers, and
/// `reregister` (delete + add) keeps it. With `EXCLUSIVE` declared, the
/// declaration must have edge too (the case re-registers it edge-triggered).
pub fn exclusive_registration<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let name = sel.name();
    let (a, mut b) = uds_pair();
    let ex = Interest::READABLE | Interest::EXCLUSIVE;
    assert_eq!(format!("{ex:?}"), "READABLE | EXCLUSIVE");
    if !caps.exclusive {
        let res = sel.register(a.as_fd(), Token(1), ex, Mode::Level);
        assert_unsupported(res, name, "register", "Interest::EXCLUSIVE");
        return;
    }
    for mode in [Mode::Oneshot, Mode::EdgeOneshot] {
        let res = sel.register(a.as_fd(), Token(1), ex, mode);
        assert_unsupported(res, name, "register", "oneshot");
    }
    let mut ev = Events::with_capacity(8);
    sel.register(a.as_fd(), Token(1), ex, Mode::Level)
        .unwrap_or_else(|e| panic!("{name}: declares Interest::EXCLUSIVE but refused it: {e}"));
    b.write_all(b"x").unwrap();
    expect_event(&sel, &mut ev, Token(1), |e| e.is_readable(), SOON);
    if caps.edge {
        sel.reregister(a.as_fd(), Token(2), ex, Mode::Edge).unwrap();
        b.write_all(b"y").unwrap();
        expect_event(&sel, &mut ev, Token(2), |e| e.is_readable(), SOON);
    }
    sel.reregister(a.as_fd(), Token(3), Interest::READABLE, Mode::Level)
        .unwrap();
    expect_event(&sel, &mut ev, Token(3), |e| e.is_readable(), SOON);
    let res = sel.reregister(a.as_fd(), Token(4), ex, Mode::Oneshot);
    assert_unsupported(res, name, "reregister", "oneshot");
    sel.deregister(a.as_fd()).unwrap();
}

/// A `reregister` that is refused changes nothing: the old registration —
/// token, interest, mode — stays in force, on every backend. Refused here:
/// `Interest::EXCLUSIVE` without a readiness (typed `Unsupported`
/// everywhere, from `register` too), and an edge mode where the backend
/// declares none. Where `EXCLUSIVE` is declared, also from an exclusive
/// registration (which epoll must delete and add again to change).
pub fn a_refused_reregister_changes_nothing<S: Selector, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = make(&new, &caps);
    let name = sel.name();
    let mut ev = Events::with_capacity(8);
    let (a, mut b) = uds_pair();
    let res = sel.register(a.as_fd(), Token(1), Interest::EXCLUSIVE, Mode::Level);
    assert_unsupported(res, name, "register", "EXCLUSIVE");
    let firsts = if caps.exclusive {
        vec![Interest::READABLE, Interest::READABLE | Interest::EXCLUSIVE]
    } else {
        vec![Interest::READABLE]
    };
    for (round, first) in firsts.into_iter().enumerate() {
        let token = Token(10 + round);
        sel.register(a.as_fd(), token, first, Mode::Level).unwrap();
        let res = sel.reregister(a.as_fd(), Token(99), Interest::EXCLUSIVE, Mode::Level);
        assert_unsupported(res, name, "reregister", "EXCLUSIVE");
        if !caps.edge {
            let res = sel.reregister(a.as_fd(), Token(99), Interest::WRITABLE, Mode::Edge);
            assert_unsupported(res, name, "reregister", "Mode::Edge");
        }
        // Still READABLE, level-triggered, under the old token.
        b.write_all(b"x").unwrap();
        for _ in 0..2 {
            let e = expect_event(&sel, &mut ev, token, |e| e.is_readable(), SOON);
            assert!(!e.is_writable(), "{name}: {first:?} became {e:?}");
        }
        let got = collect(&sel, &mut ev, QUIET);
        assert!(
            got.iter().all(|e| e.token() == token),
            "{name}: {first:?}: {got:?}"
        );
        drain(&mut &a);
        sel.deregister(a.as_fd()).unwrap();
    }
}

/// Whether thread `tid` of this process is asleep (in its wait).
fn asleep(tid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('S')))
        .unwrap_or(false)
}

/// How many of three threads, each blocked in its own selector (made by
/// `new`) on one shared listener registered with `interest`, one incoming
/// connection wakes (each waits once, 1 s at most).
fn woken_by_one_connection<S, F>(new: &F, caps: &Capabilities, interest: Interest) -> usize
where
    S: Selector,
    F: Fn() -> Result<S> + Sync,
{
    const WAITERS: usize = 3;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let (tx, rx) = mpsc::channel();
    thread::scope(|scope| {
        let mut handles = Vec::new();
        for _ in 0..WAITERS {
            let (listener, tx) = (&listener, tx.clone());
            handles.push(scope.spawn(move || {
                let sel = make(new, caps);
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
        // little more so that each is inside its wait call.
        let deadline = Instant::now() + Duration::from_secs(2);
        while !tids.iter().all(|t| asleep(t)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        thread::sleep(Duration::from_millis(50));
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

/// The thundering herd (mio#1341, tokio#6084): without `EXCLUSIVE` one
/// connection wakes every thread waiting on the listener, each in its own
/// selector; with it (where declared), the kernel wakes one of them (a
/// waiter that was not yet asleep may see the ready listener too, so the
/// bound is "not all"). Where `EXCLUSIVE` is not declared, registering it
/// is a typed `Unsupported`.
pub fn exclusive_wakes_one_waiter_not_all<S, F>(new: F, caps: Capabilities)
where
    S: Selector,
    F: Fn() -> Result<S> + Sync,
{
    let woken = woken_by_one_connection(&new, &caps, Interest::READABLE);
    assert_eq!(woken, 3, "a plain registration woke {woken} of 3");
    let ex = Interest::READABLE | Interest::EXCLUSIVE;
    if !caps.exclusive {
        let sel = make(&new, &caps);
        let (a, _b) = uds_pair();
        let res = sel.register(a.as_fd(), Token(1), ex, Mode::Level);
        assert_unsupported(res, sel.name(), "register", "Interest::EXCLUSIVE");
        return;
    }
    let woken = woken_by_one_connection(&new, &caps, ex);
    assert!((1..3).contains(&woken), "exclusive woke {woken} of 3");
}
