//! One selector shared by many threads: registration from other threads
//! reaches a blocked `wait`, `notify`, one waiter at a time, and a
//! model-based stress test.
//!
//! Every timing check is one-sided: "woken before a generous bound", never
//! "fast"; speed lives in the benches.

use std::collections::HashMap;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use sockpoll::event::{Events, Interest, Mode, Selector, Token};
use sockpoll::Result;

use super::make;
use crate::support::*;
use crate::Capabilities;

/// Far longer than anything here should take: a bound, not a speed.
const GENEROUS: Duration = Duration::from_secs(5);

/// The selector is `Send + Sync`: usable from another thread.
pub fn is_send_and_sync<S: Selector + 'static, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    fn assert_send_sync<T: Send + Sync + ?Sized>() {}
    assert_send_sync::<S>();
    let sel = Arc::new(make(&new, &caps));
    let s2 = Arc::clone(&sel);
    let name = thread::spawn(move || s2.name()).join().expect("thread");
    assert_eq!(name, sel.name());
}

/// Runs `wait` on another thread and hands back (events' tokens, elapsed).
fn wait_elsewhere<S: Selector + ?Sized + 'static>(
    sel: &Arc<S>,
    timeout: Option<Duration>,
) -> (mpsc::Receiver<(Vec<Token>, Duration)>, Arc<Barrier>) {
    let (tx, rx) = mpsc::channel();
    let started = Arc::new(Barrier::new(2));
    let sel = Arc::clone(sel);
    let go = Arc::clone(&started);
    thread::spawn(move || {
        let mut events = Events::with_capacity(64);
        go.wait();
        let t0 = Instant::now();
        sel.wait(&mut events, timeout).expect("wait");
        let mut tokens = Vec::new();
        while let Some(ev) = sel.next_event(&mut events) {
            tokens.push(ev.token());
        }
        let _ = tx.send((tokens, t0.elapsed()));
    });
    (rx, started)
}

/// A newly registered fd that is already ready wakes a waiter blocked with
/// no timeout, well before any bound; epoll gets it from the kernel, poll
/// and select must wake and rebuild their sets. Without declared live
/// registration the waiter waits 200 ms, and the fd must be reported by
/// that wait or the next.
pub fn register_wakes_a_blocked_wait<S: Selector + 'static, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = Arc::new(make(&new, &caps));
    let (a, mut b) = uds_pair();
    b.write_all(b"x").unwrap();
    let timeout = (!caps.live_registration).then_some(Duration::from_millis(200));
    let (rx, started) = wait_elsewhere(&sel, timeout);
    started.wait();
    // Let the waiter block (if it has not yet, the test still holds: the
    // registration is then seen by its first look).
    thread::sleep(Duration::from_millis(30));
    sel.register(a.as_fd(), Token(7), Interest::READABLE, Mode::Level)
        .unwrap();
    let (tokens, _) = rx
        .recv_timeout(GENEROUS)
        .unwrap_or_else(|_| panic!("{}: register did not wake the blocked wait", sel.name()));
    reported_then_or_next(&*sel, tokens, Token(7), caps);
    sel.deregister(a.as_fd()).unwrap();
}

/// What a wait that was blocked during a registration change delivered:
/// exactly `token` with live registration; without, `token` or nothing
/// and then `token` from the next wait.
fn reported_then_or_next<S: Selector + ?Sized>(
    sel: &S,
    tokens: Vec<Token>,
    token: Token,
    caps: Capabilities,
) {
    if caps.live_registration || !tokens.is_empty() {
        assert_eq!(tokens, vec![token], "{}", sel.name());
        return;
    }
    let mut events = Events::with_capacity(8);
    expect_event(sel, &mut events, token, |_| true, SOON);
}

/// `reregister` from another thread takes effect in the blocked wait: an
/// fd re-registered from WRITABLE-less interest to one it satisfies wakes
/// it (without declared live registration: by the next wait).
pub fn reregister_wakes_a_blocked_wait<S: Selector + 'static, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = Arc::new(make(&new, &caps));
    let (a, _b) = uds_pair();
    // Registered for nothing it can satisfy: readable with nothing to read.
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    let timeout = if caps.live_registration {
        Duration::from_secs(30)
    } else {
        Duration::from_millis(200)
    };
    let (rx, started) = wait_elsewhere(&sel, Some(timeout));
    started.wait();
    thread::sleep(Duration::from_millis(30));
    // Writable: a fresh socket pair is writable at once.
    sel.reregister(a.as_fd(), Token(2), Interest::WRITABLE, Mode::Level)
        .unwrap();
    let (tokens, took) = rx
        .recv_timeout(GENEROUS)
        .unwrap_or_else(|_| panic!("{}: reregister did not wake the wait", sel.name()));
    assert!(took < GENEROUS, "{}", sel.name());
    reported_then_or_next(&*sel, tokens, Token(2), caps);
    sel.deregister(a.as_fd()).unwrap();
}

/// A registration changed to `Interest::NONE` while another thread waits
/// gets nothing from that wait, not even the hang-up of a peer that closes
/// just after (poll and select report hang-ups unasked, and the blocked
/// call may have been set up before the change).
pub fn none_while_another_thread_waits_gets_nothing<S: Selector + 'static, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = Arc::new(make(&new, &caps));
    for round in 0..5 {
        let (a, b) = uds_pair();
        sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
            .unwrap();
        let (rx, started) = wait_elsewhere(&sel, Some(Duration::from_millis(200)));
        started.wait();
        thread::sleep(Duration::from_millis(20));
        sel.reregister(a.as_fd(), Token(1), Interest::NONE, Mode::Level)
            .unwrap();
        drop(b);
        let (tokens, _) = rx
            .recv_timeout(GENEROUS)
            .unwrap_or_else(|_| panic!("{}: the wait never ended", sel.name()));
        assert!(
            tokens.is_empty(),
            "{}: round {round}: {tokens:?}",
            sel.name()
        );
        sel.deregister(a.as_fd()).unwrap();
    }
}

/// After `deregister` returns on one thread, the waiting thread never gets
/// an event for that registration, even from a batch collected before.
pub fn deregistered_is_never_reported_afterwards<S: Selector + 'static, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = Arc::new(make(&new, &caps));
    let (a, mut b) = uds_pair();
    b.write_all(b"x").unwrap(); // readable, forever (never drained)
    sel.register(a.as_fd(), Token(9), Interest::READABLE, Mode::Level)
        .unwrap();
    let gone = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicU64::new(0));
    let (sel2, gone2, stop2) = (Arc::clone(&sel), Arc::clone(&gone), Arc::clone(&stop));
    let seen2 = Arc::clone(&seen);
    let waiter = thread::spawn(move || {
        let mut events = Events::with_capacity(8);
        let (mut before, mut after) = (0u64, 0u64);
        let deadline = Instant::now() + GENEROUS;
        while !stop2.load(Ordering::SeqCst) && Instant::now() < deadline {
            sel2.wait(&mut events, Some(Duration::from_millis(5)))
                .expect("wait");
            loop {
                let was_gone = gone2.load(Ordering::SeqCst);
                let Some(ev) = sel2.next_event(&mut events) else {
                    break;
                };
                if ev.token() == Token(9) {
                    if was_gone {
                        after += 1;
                    } else {
                        before += 1;
                        seen2.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }
        (before, after)
    });
    // Deregister once the waiter is seen reporting the fd (bounded; a
    // fixed 50 ms was too short for a waiter not yet scheduled under load),
    // in the middle of its waits.
    let deadline = Instant::now() + GENEROUS / 2;
    while seen.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    thread::sleep(Duration::from_millis(20));
    sel.deregister(a.as_fd()).unwrap();
    gone.store(true, Ordering::SeqCst);
    thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::SeqCst);
    let (before, after) = waiter.join().unwrap();
    assert!(
        before > 0,
        "{}: the fd was never reported at all",
        sel.name()
    );
    assert_eq!(
        after,
        0,
        "{}: reported after deregister returned",
        sel.name()
    );
}

/// `notify` ends a blocked wait (with nothing to report, 0 events) from any
/// thread without a registered `Waker`; a notify with nobody waiting makes
/// the next wait return at once; wakes coalesce. Where `notify` is not
/// declared, it is a typed `Unsupported`.
pub fn notify_wakes_without_a_waker<S: Selector + 'static, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = Arc::new(make(&new, &caps));
    if !caps.notify {
        assert_unsupported(sel.notify(), sel.name(), "notify", "notify");
        return;
    }
    let (rx, started) = wait_elsewhere(&sel, None);
    started.wait();
    thread::sleep(Duration::from_millis(30));
    sel.notify().unwrap();
    let (tokens, _) = rx
        .recv_timeout(GENEROUS)
        .unwrap_or_else(|_| panic!("{}: notify did not wake the wait", sel.name()));
    assert!(tokens.is_empty(), "{}: {tokens:?}", sel.name());

    let mut events = Events::with_capacity(8);
    sel.notify().unwrap();
    sel.notify().unwrap();
    let t0 = Instant::now();
    assert_eq!(sel.wait(&mut events, Some(GENEROUS)).unwrap(), 0);
    assert!(t0.elapsed() < GENEROUS, "{}", sel.name());
    // Coalesced: the two notifies were one; the next wait times out.
    let t0 = Instant::now();
    let quiet = Duration::from_millis(50);
    assert_eq!(sel.wait(&mut events, Some(quiet)).unwrap(), 0);
    assert!(t0.elapsed() >= quiet, "{}: ended early", sel.name());
}

/// Loop metrics (`Selector::metrics`): every wait counts once, its events
/// add up to what the waits returned, a zero timeout adds no idle time, a
/// timed-out wait adds about its timeout, and idle time never exceeds the
/// wall-clock time around it. Read from another thread while the loop is
/// blocked, the metrics answer at once and do not count the wait in
/// progress.
pub fn metrics_count_waits_events_and_blocked_time<S: Selector + 'static, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = Arc::new(make(&new, &caps));
    let name = sel.name();
    let start = sel.metrics();
    assert_eq!(start.waits, 0, "{name}: a new selector has waited");
    let mut events = Events::with_capacity(8);

    // A poll: one wait, no event, no idle time.
    assert_eq!(sel.wait(&mut events, Some(Duration::ZERO)).unwrap(), 0);
    let m = sel.metrics().since(&start);
    assert_eq!(
        (m.waits, m.events, m.idle),
        (1, 0, Duration::ZERO),
        "{name}"
    );

    // Events: the sum of what the waits returned (level: reported again).
    let pairs: Vec<_> = (0..2).map(|_| uds_pair()).collect();
    for (i, (a, b)) in pairs.iter().enumerate() {
        (&*b).write_all(b"x").unwrap();
        sel.register(a.as_fd(), Token(i), Interest::READABLE, Mode::Level)
            .unwrap();
    }
    let before = sel.metrics();
    let mut returned = 0;
    for _ in 0..3 {
        returned += sel.wait(&mut events, Some(GENEROUS)).unwrap() as u64;
    }
    let m = sel.metrics().since(&before);
    assert!(returned >= 3, "{name}: level events were not reported");
    assert_eq!((m.waits, m.events), (3, returned), "{name}");
    for (a, _) in &pairs {
        sel.deregister(a.as_fd()).unwrap();
    }

    // A wait that times out: idle time of about its timeout, never more
    // than the wall-clock time around it.
    let timeout = Duration::from_millis(40);
    let before = sel.metrics();
    let t0 = Instant::now();
    assert_eq!(sel.wait(&mut events, Some(timeout)).unwrap(), 0);
    let wall = t0.elapsed();
    let m = sel.metrics().since(&before);
    assert_eq!((m.waits, m.events), (1, 0), "{name}");
    assert!(
        m.idle >= timeout * 9 / 10 && m.idle <= wall,
        "{name}: idle {:?} for a {timeout:?} wait of {wall:?}",
        m.idle
    );

    if caps.interruptible {
        let before = sel.metrics();
        assert_eq!(
            sel.wait_interruptible(&mut events, Some(Duration::ZERO))
                .unwrap(),
            0
        );
        assert_eq!(sel.metrics().since(&before).waits, 1, "{name}");
    }

    // Read while another thread is blocked: at once, without that wait.
    if caps.notify {
        let before = sel.metrics();
        let t0 = Instant::now();
        let (rx, started) = wait_elsewhere(&sel, None);
        started.wait();
        thread::sleep(Duration::from_millis(20));
        let during = sel.metrics().since(&before);
        assert_eq!(during.waits, 0, "{name}: a wait in progress was counted");
        sel.notify().unwrap();
        rx.recv_timeout(GENEROUS)
            .unwrap_or_else(|_| panic!("{name}: notify did not wake the wait"));
        let wall = t0.elapsed();
        let m = sel.metrics().since(&before);
        assert_eq!((m.waits, m.events), (1, 0), "{name}");
        assert!(
            m.idle > Duration::ZERO && m.idle <= wall,
            "{name}: idle {:?} of {wall:?}",
            m.idle
        );
    }
}

/// One thread waits at a time: a second `wait` begun while the first is
/// blocked returns only after the first has returned.
pub fn a_second_wait_waits_its_turn<S: Selector + 'static, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = Arc::new(make(&new, &caps));
    let first_for = Duration::from_millis(200);
    let (rx1, started1) = wait_elsewhere(&sel, Some(first_for));
    let t0 = Instant::now();
    started1.wait();
    thread::sleep(Duration::from_millis(30));
    let (rx2, started2) = wait_elsewhere(&sel, Some(Duration::ZERO));
    started2.wait();
    let (_, took1) = rx1.recv_timeout(GENEROUS).expect("first wait");
    let first_done = t0.elapsed();
    let (_, _) = rx2.recv_timeout(GENEROUS).expect("second wait");
    let second_done = t0.elapsed();
    assert!(took1 >= first_for, "{}: first wait ended early", sel.name());
    assert!(
        second_done >= first_done.min(first_for),
        "{}: the second wait ran beside the first",
        sel.name()
    );
}

// --- the model-based stress test -----------------------------------------

/// What a registrar thread did, stamped with a global sequence number taken
/// after the call returned: (pair, token now registered or None, seq).
type Log = Vec<(usize, Option<Token>, u64)>;

fn token_of(pair: usize, version: u64) -> Token {
    Token(pair << 20 | (version as usize & 0xf_ffff))
}

fn pair_of(token: Token) -> usize {
    token.0 >> 20
}

/// xorshift: a small deterministic generator, so a failure can be replayed.
fn next_rand(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// The model-based stress test: three threads register, re-register and
/// deregister 1,500 socket pairs at random while one thread waits; no event for
/// a registration that was no longer current, no phantom, no registration lost.
pub fn stress_model<S: Selector + 'static, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = Arc::new(make(&new, &caps));
    const PAIRS: usize = 1500;
    const THREADS: usize = 3;
    const OPS: usize = 3000;
    raise_fd_limit(2 * PAIRS as u64 + 256);
    // Every "a" side is readable for the whole test (one byte, never read),
    // so every current level registration fires on every wait.
    let pairs: Arc<Vec<(UnixStream, UnixStream)>> = Arc::new(
        (0..PAIRS)
            .map(|_| {
                let (a, mut b) = uds_pair();
                b.write_all(b"x").unwrap();
                (a, b)
            })
            .collect(),
    );
    let seq = Arc::new(AtomicU64::new(1));
    let done = Arc::new(AtomicBool::new(false));

    let waiter = {
        let (sel, seq, done) = (Arc::clone(&sel), Arc::clone(&seq), Arc::clone(&done));
        thread::spawn(move || {
            let mut events = Events::with_capacity(256);
            // (sequence before next_event, after it, token)
            let mut seen: Vec<(u64, u64, Token)> = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            while !done.load(Ordering::SeqCst) {
                assert!(Instant::now() < deadline, "stress test ran over its bound");
                sel.wait(&mut events, Some(Duration::from_millis(2)))
                    .expect("wait");
                loop {
                    let s = seq.load(Ordering::SeqCst);
                    let Some(ev) = sel.next_event(&mut events) else {
                        break;
                    };
                    seen.push((s, seq.load(Ordering::SeqCst), ev.token()));
                }
            }
            seen
        })
    };

    let registrars: Vec<_> = (0..THREADS)
        .map(|t| {
            let (sel, seq, pairs) = (Arc::clone(&sel), Arc::clone(&seq), Arc::clone(&pairs));
            thread::spawn(move || {
                let mine: Vec<usize> = (t..PAIRS).step_by(THREADS).collect();
                let mut state: HashMap<usize, Option<u64>> =
                    mine.iter().map(|&i| (i, None)).collect();
                let mut version = 0u64;
                let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ (t as u64 + 1);
                let mut log: Log = Vec::with_capacity(OPS);
                for _ in 0..OPS {
                    let i = mine[next_rand(&mut rng) as usize % mine.len()];
                    let fd = pairs[i].0.as_fd();
                    version += 1;
                    let now = match state[&i] {
                        None => {
                            let tok = token_of(i, version);
                            sel.register(fd, tok, Interest::READABLE, Mode::Level)
                                .expect("register");
                            Some(version)
                        }
                        Some(_) if next_rand(&mut rng) % 2 == 0 => {
                            let tok = token_of(i, version);
                            sel.reregister(fd, tok, Interest::READABLE, Mode::Level)
                                .expect("reregister");
                            Some(version)
                        }
                        Some(_) => {
                            sel.deregister(fd).expect("deregister");
                            None
                        }
                    };
                    state.insert(i, now);
                    let s = seq.fetch_add(1, Ordering::SeqCst);
                    log.push((i, now.map(|v| token_of(i, v)), s));
                }
                (log, state)
            })
        })
        .collect();

    let mut logs: Vec<Log> = Vec::new();
    let mut finals: HashMap<usize, Option<u64>> = HashMap::new();
    for r in registrars {
        let (log, state) = r.join().expect("registrar");
        logs.push(log);
        finals.extend(state);
    }
    // Let the waiter see the final state for a while, then stop it.
    thread::sleep(Duration::from_millis(100));
    done.store(true, Ordering::SeqCst);
    let seen = waiter.join().expect("waiter");

    // Per pair, its history in sequence order.
    let mut history: HashMap<usize, Vec<(u64, Option<Token>)>> = HashMap::new();
    for log in &logs {
        for &(i, tok, s) in log {
            history.entry(i).or_default().push((s, tok));
        }
    }
    for h in history.values_mut() {
        h.sort_by_key(|&(s, _)| s);
    }
    // No phantom, no stale token. Changes are stamped after they return, so
    // every change stamped before `s` (read before next_event) had returned
    // by then. The event must belong to the registration those changes left
    // in place, or to one made while next_event ran: stamped before `s2`
    // (read after it), or the pair's one change still unstamped then.
    let name = sel.name();
    let mut checked = 0;
    for &(s, s2, tok) in &seen {
        let i = pair_of(tok);
        let h = history
            .get(&i)
            .unwrap_or_else(|| panic!("{name}: event for a pair never registered: {tok:?}"));
        let idx = h.partition_point(|&(hs, _)| hs < s);
        let end = h.partition_point(|&(hs, _)| hs <= s2);
        let lo = idx.saturating_sub(1);
        let hi = (end + 1).min(h.len());
        let allowed: Vec<Option<Token>> = h[lo..hi].iter().map(|&(_, t)| t).collect();
        assert!(
            allowed.contains(&Some(tok)),
            "{name}: event {tok:?} delivered when the registration was {:?} (allowed {allowed:?})",
            if idx > 0 { h[idx - 1].1 } else { None }
        );
        checked += 1;
    }
    assert!(checked > 0, "{name}: no event was delivered at all");
    // No lost event: every registration left in place is reported, and
    // nothing else, in the final quiet rounds.
    let want: std::collections::BTreeSet<Token> = finals
        .iter()
        .filter_map(|(&i, v)| v.map(|v| token_of(i, v)))
        .collect();
    let mut events = Events::with_capacity(PAIRS + 8);
    let mut got = std::collections::BTreeSet::new();
    let deadline = Instant::now() + GENEROUS;
    while got.len() < want.len() && Instant::now() < deadline {
        sel.wait(&mut events, Some(Duration::from_millis(50)))
            .expect("wait");
        while let Some(ev) = sel.next_event(&mut events) {
            assert!(
                want.contains(&ev.token()),
                "{name}: phantom {:?}",
                ev.token()
            );
            got.insert(ev.token());
        }
    }
    assert_eq!(got, want, "{name}: registrations lost");
    for (&i, v) in &finals {
        if v.is_some() {
            sel.deregister(pairs[i].0.as_fd()).unwrap();
        }
    }
}
