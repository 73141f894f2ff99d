//! `ExclusiveAccept`: one listener in two loops' selectors with
//! `Interest::EXCLUSIVE`. Without re-adding, the kernel hands every
//! connection that arrives while the first-registered loop is idle to that
//! loop; re-added after every accept, the loops take turns. Each
//! connection is made only once both loops are asleep in their wait (their
//! threads' state in `/proc`), so which loop the kernel picks is the
//! kernel's rule, not a race.

#![cfg(target_os = "linux")]

mod util;

use std::io::{self, Read};
use std::net::TcpStream;
use std::num::NonZeroU32;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use sockpoll::event::{AnySelector, BackendKind, Events, ExclusiveAccept, Mode, Selector, Token};
use sockpoll::{Error, TcpListener};
use util::procfs::task_asleep;

const LISTENER: Token = Token(0);
const BOUND: Duration = Duration::from_secs(10);

/// A loop thread: its selector (to stop it), its `/proc` task directory,
/// and its thread.
struct Loop {
    selector: Arc<AnySelector>,
    task: PathBuf,
    thread: thread::JoinHandle<u64>,
}

/// Starts a loop on `kind` that accepts from `listener` through an
/// `ExclusiveAccept` re-added every `every` accepts, sends `id` for each
/// connection accepted, and returns its re-add count when notified.
fn start(
    kind: BackendKind,
    listener: &Arc<TcpListener>,
    every: u32,
    id: usize,
    accepted: mpsc::Sender<usize>,
) -> Loop {
    let selector = Arc::new(AnySelector::new(kind).unwrap());
    let every = NonZeroU32::new(every).unwrap();
    let mut accept = ExclusiveAccept::new(LISTENER, Mode::Level, every);
    accept.register(&*selector, listener.as_fd()).unwrap();
    let (task_tx, task_rx) = mpsc::channel();
    let thread = {
        let selector = Arc::clone(&selector);
        let listener = Arc::clone(listener);
        thread::spawn(move || {
            let task = std::fs::read_link("/proc/thread-self").unwrap();
            task_tx.send(PathBuf::from("/proc").join(task)).unwrap();
            let mut events = Events::with_capacity(8);
            loop {
                if selector.wait(&mut events, Some(BOUND)).unwrap() == 0 {
                    // Notified (or the bound passed): stop.
                    return accept.rearms();
                }
                while let Some(ev) = selector.next_event(&mut events) {
                    assert_eq!(ev.token(), LISTENER);
                    let mut n = 0;
                    loop {
                        match listener.accept() {
                            Ok((conn, _)) => {
                                drop(conn);
                                n += 1;
                                accepted.send(id).unwrap();
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => panic!("accept: {e}"),
                        }
                    }
                    accept.accepted(&*selector, listener.as_fd(), n).unwrap();
                }
            }
        })
    };
    let task = task_rx.recv_timeout(BOUND).unwrap();
    Loop {
        selector,
        task,
        thread,
    }
}

/// Returns once every task sleeps twice in a row, 2 ms apart: settled in
/// its wait (bounded).
fn settle(tasks: &[&Path]) {
    let t0 = Instant::now();
    while !tasks.iter().all(|t| task_asleep(t)) || {
        thread::sleep(Duration::from_millis(2));
        !tasks.iter().all(|t| task_asleep(t))
    } {
        assert!(t0.elapsed() < BOUND, "a loop never slept");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Makes `n` connections, one at a time, each once both loops sleep, and
/// returns how many each loop accepted and their re-add counts.
fn share(kind: BackendKind, every: u32, n: usize) -> ([usize; 2], [u64; 2]) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.as_socket().set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = Arc::new(listener);
    let (tx, rx) = mpsc::channel();
    // Loop 0 asleep before loop 1 starts: on uring the poll request is
    // queued on the listener when the loop's first wait submits it, so
    // this is what makes loop 0 the first in the queue on both backends.
    let first = start(kind, &listener, every, 0, tx.clone());
    settle(&[&first.task]);
    let loops = [first, start(kind, &listener, every, 1, tx)];
    let mut counts = [0; 2];
    for _ in 0..n {
        settle(&[&loops[0].task, &loops[1].task]);
        let mut conn = TcpStream::connect(addr).unwrap();
        let id = rx.recv_timeout(BOUND).expect("no loop accepted");
        counts[id] += 1;
        // The server closed it: read its FIN, so nothing lingers.
        conn.set_read_timeout(Some(BOUND)).unwrap();
        let _ = conn.read(&mut [0; 1]);
    }
    let mut rearms = [0; 2];
    for (l, r) in loops.into_iter().zip(&mut rearms) {
        l.selector.notify().unwrap();
        *r = l.thread.join().unwrap();
    }
    (counts, rearms)
}

/// epoll and uring: the first-registered loop takes every connection while
/// idle; with a re-add after each accept the two loops alternate.
#[test]
fn rearming_after_each_accept_makes_loops_take_turns() {
    let n = 20;
    for kind in [BackendKind::Epoll, BackendKind::Uring] {
        if AnySelector::new(kind).is_err() {
            continue; // uring not built or not allowed here
        }
        let (plain, rearms) = share(kind, u32::MAX, n);
        assert_eq!(rearms, [0, 0], "{kind}");
        assert_eq!(
            plain,
            [n, 0],
            "{kind}: without re-adding, the first loop takes all"
        );
        let (turns, rearms) = share(kind, 1, n);
        assert_eq!(
            turns,
            [n / 2, n / 2],
            "{kind}: re-added after each accept: turns"
        );
        assert_eq!(rearms, [n as u64 / 2, n as u64 / 2], "{kind}");
    }
}

/// `accepted` re-adds exactly once per `every` connections counted, and
/// the listener keeps being reported after each re-add; on every backend
/// with `EXCLUSIVE`.
#[test]
fn rearms_once_per_every_accepts_and_keeps_reporting() {
    for kind in [BackendKind::Epoll, BackendKind::Uring] {
        let Ok(selector) = AnySelector::new(kind) else {
            continue; // uring not built or not allowed here
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.as_socket().set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut accept = ExclusiveAccept::new(LISTENER, Mode::Level, NonZeroU32::new(3).unwrap());
        accept.register(&selector, listener.as_fd()).unwrap();
        let mut events = Events::with_capacity(8);
        let mut rearmed_at = Vec::new();
        for i in 1..=7 {
            let _client = TcpStream::connect(addr).unwrap();
            let n = selector.wait(&mut events, Some(BOUND)).unwrap();
            assert_eq!(n, 1, "{kind}: connection {i} not reported");
            let (conn, _) = listener.accept().unwrap();
            drop(conn);
            if accept.accepted(&selector, listener.as_fd(), 1).unwrap() {
                rearmed_at.push(i);
            }
        }
        assert_eq!(rearmed_at, [3, 6], "{kind}");
        assert_eq!(accept.rearms(), 2, "{kind}");
        // A batch counts whole: 5 at once re-adds once.
        assert!(accept.accepted(&selector, listener.as_fd(), 5).unwrap());
        assert_eq!(accept.rearms(), 3, "{kind}");
    }
}

/// Backends without `EXCLUSIVE` refuse it, typed.
#[test]
fn backends_without_exclusive_refuse_it() {
    for kind in [BackendKind::Poll, BackendKind::Select] {
        let selector = AnySelector::new(kind).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut accept = ExclusiveAccept::new(LISTENER, Mode::Level, NonZeroU32::MIN);
        let err = accept.register(&selector, listener.as_fd()).unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{kind}: {err}");
    }
}
