//! `Resolver`: lookups on a bounded pool, answers delivered through a
//! selector. Real getaddrinfo for localhost and numeric names on every
//! backend; a stand-in lookup (`ResolverConfig::lookup_with`) that blocks
//! until released for deadlines, drops and the full queue; and a name the
//! C library cannot answer — in a private network and mount namespace
//! whose resolv.conf points at a silent server on 127.0.0.1 — while the
//! same loop keeps echoing.

mod util;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use sockpoll::event::{AnySelector, BackendKind, Events, Interest, Mode, Selector, Token};
use sockpoll::{Error, Hints, Resolved, Resolver, ResolverConfig, Type};

const RESOLVER: Token = Token(0);
const BOUND: Duration = Duration::from_secs(10);

/// Waits (bounded) on `selector` for the resolver's token and takes every
/// answer, until `n` are in.
fn collect<S: Selector + ?Sized>(selector: &S, resolver: &Resolver, n: usize) -> Vec<Resolved> {
    let mut events = Events::with_capacity(16);
    let mut out = Vec::new();
    let deadline = Instant::now() + BOUND;
    while out.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "{} of {n} answers after {BOUND:?}",
            out.len()
        );
        selector.wait(&mut events, Some(left)).unwrap();
        while let Some(ev) = selector.next_event(&mut events) {
            assert_eq!(ev.token(), RESOLVER);
            while let Some(done) = resolver.take() {
                out.push(done);
            }
        }
    }
    out
}

/// localhost, and numeric IPv4 and IPv6, through every backend: each
/// answer tagged with its lookup, and the same addresses `resolve` gives.
#[test]
fn localhost_and_numeric_names_on_every_backend() {
    for &kind in BackendKind::ALL {
        let selector = match AnySelector::new(kind) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{kind}: skipped here: {e}");
                continue;
            }
        };
        let resolver = Resolver::new().unwrap();
        selector
            .register(resolver.as_fd(), RESOLVER, Interest::READABLE, Mode::Level)
            .unwrap();
        let hints = Hints::new().socket_type(Type::STREAM);
        let queries = [("localhost", "7007"), ("127.0.0.1", "80"), ("::1", "443")];
        let lookups: Vec<_> = queries
            .iter()
            .map(|(h, s)| resolver.resolve(h, Some(s), hints).unwrap())
            .collect();
        let answers = collect(&selector, &resolver, queries.len());
        assert_eq!(
            resolver.take().map(|r| r.id),
            None,
            "{kind}: an extra answer"
        );
        for (lookup, (host, service)) in lookups.iter().zip(queries) {
            let got = answers
                .iter()
                .find(|r| r.id == lookup.id())
                .unwrap_or_else(|| panic!("{kind}: no answer for {host}"));
            let addrs = got.result.as_ref().unwrap();
            let want = sockpoll::resolve(Some(host), Some(service), &hints).unwrap();
            assert_eq!(addrs, &want, "{kind}: {host}");
            assert!(addrs
                .iter()
                .all(|a| a.addr.as_socket().is_some_and(|s| s.ip().is_loopback())));
        }
        // Nothing left to take. (A backend may still report the token once
        // more: readiness is a hint, and uring's multishot poll posts one
        // completion per wake.)
        let mut events = Events::with_capacity(4);
        selector.wait(&mut events, Some(Duration::ZERO)).unwrap();
        while let Some(ev) = selector.next_event(&mut events) {
            assert_eq!(ev.token(), RESOLVER, "{kind}");
        }
        assert!(resolver.take().is_none(), "{kind}");
        assert_eq!(resolver.outstanding(), 0);
    }
}

/// 200 lookups in flight at once on 4 threads: each answer matches its
/// own request (numeric names, so the answer is known).
#[test]
fn many_concurrent_lookups_are_matched_to_their_requests() {
    let selector = AnySelector::new(BackendKind::platform_default()).unwrap();
    let resolver = Resolver::with_config(ResolverConfig::new().threads(4).queue(256)).unwrap();
    selector
        .register(resolver.as_fd(), RESOLVER, Interest::READABLE, Mode::Level)
        .unwrap();
    let hints = Hints::new().socket_type(Type::STREAM);
    let mut want = HashMap::new();
    let mut lookups = Vec::new();
    for i in 0..200u16 {
        let ip = Ipv4Addr::new(127, 0, (i / 250) as u8, (i % 250 + 1) as u8);
        let port = 1000 + i;
        let lookup = resolver
            .resolve(&ip.to_string(), Some(&port.to_string()), hints)
            .unwrap();
        want.insert(lookup.id(), SocketAddr::new(IpAddr::V4(ip), port));
        lookups.push(lookup);
    }
    assert!(resolver.threads() <= 4);
    for done in collect(&selector, &resolver, 200) {
        let addrs = done.result.unwrap();
        let got: Vec<_> = addrs.iter().filter_map(|a| a.addr.as_socket()).collect();
        assert_eq!(got, [want[&done.id]], "{:?}", done.id);
    }
    assert!(resolver.threads() <= 4);
}

/// A stand-in lookup that blocks until released (or 5 s), then answers
/// 127.0.0.1; counts the calls that returned.
#[derive(Clone)]
struct Gate {
    release: Arc<Mutex<mpsc::Receiver<()>>>,
    entered: Arc<Mutex<usize>>,
    returned: Arc<Mutex<usize>>,
}

impl Gate {
    fn new() -> (Gate, mpsc::Sender<()>) {
        let (tx, rx) = mpsc::channel();
        let gate = Gate {
            release: Arc::new(Mutex::new(rx)),
            entered: Arc::new(Mutex::new(0)),
            returned: Arc::new(Mutex::new(0)),
        };
        (gate, tx)
    }

    fn config(&self) -> ResolverConfig {
        let gate = self.clone();
        ResolverConfig::new().lookup_with(move |host, service, hints| {
            *gate.entered.lock().unwrap() += 1;
            let _ = gate
                .release
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(5));
            *gate.returned.lock().unwrap() += 1;
            sockpoll::resolve(Some("127.0.0.1"), service, hints).map_err(|e| {
                panic!("stand-in for {host}: {e}");
            })
        })
    }

    fn entered(&self) -> usize {
        *self.entered.lock().unwrap()
    }

    fn returned(&self) -> usize {
        *self.returned.lock().unwrap()
    }
}

/// A resolver of `config`, registered with a selector of the platform's
/// default backend under `RESOLVER`.
fn registered(config: ResolverConfig) -> (Resolver, AnySelector) {
    let resolver = Resolver::with_config(config).unwrap();
    let selector = AnySelector::new(BackendKind::platform_default()).unwrap();
    selector
        .register(resolver.as_fd(), RESOLVER, Interest::READABLE, Mode::Level)
        .unwrap();
    (resolver, selector)
}

/// Nothing is reported for 50 ms, and there is nothing to take.
fn assert_quiet(selector: &AnySelector, resolver: &Resolver) {
    let mut events = Events::with_capacity(4);
    let n = selector
        .wait(&mut events, Some(Duration::from_millis(50)))
        .unwrap();
    assert_eq!(n, 0, "the resolver was reported with nothing to take");
    assert!(resolver.take().is_none());
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !f() {
        assert!(Instant::now() < deadline, "never: {what}");
        thread::sleep(Duration::from_millis(2));
    }
}

/// Past its deadline a lookup is answered at once with a timeout error;
/// its late result, when the lookup returns, is dropped: one answer only.
#[test]
fn a_deadline_answers_at_once_and_the_late_result_is_dropped() {
    let (gate, release) = Gate::new();
    let (resolver, selector) = registered(gate.config());
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_millis(50);
    let lookup = resolver
        .resolve_by("slow.test", Some("80"), Hints::new(), deadline)
        .unwrap();
    let answers = collect(&selector, &resolver, 1);
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(50), "{waited:?}");
    assert_eq!(answers[0].id, lookup.id());
    let err = answers[0].result.as_ref().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert_eq!(err.raw_os_error(), Some(libc::ETIMEDOUT));
    assert!(err.to_string().contains("slow.test:80"), "{err}");
    // The lookup still runs: let it return, and nothing more comes.
    release.send(()).unwrap();
    wait_until("the stand-in returned", || gate.returned() == 1);
    assert_quiet(&selector, &resolver);
    assert_eq!(resolver.outstanding(), 0);
}

/// Dropping the handle discards the lookup: running, its result is thrown
/// away; answered and not taken, it is removed (the fd turns quiet).
#[test]
fn dropping_a_lookup_discards_its_result() {
    let (gate, release) = Gate::new();
    let (resolver, selector) = registered(gate.config());
    let running = resolver.resolve("a.test", Some("1"), Hints::new()).unwrap();
    wait_until("the lookup running", || gate.entered() == 1);
    drop(running);
    release.send(()).unwrap();
    wait_until("the stand-in returned", || gate.returned() == 1);
    assert_quiet(&selector, &resolver);

    let answered = resolver.resolve("b.test", Some("2"), Hints::new()).unwrap();
    release.send(()).unwrap();
    wait_until("answered", || {
        resolver.outstanding() == 1 && gate.returned() == 2
    });
    // Readable now...
    let mut events = Events::with_capacity(4);
    assert_eq!(selector.wait(&mut events, Some(BOUND)).unwrap(), 1);
    drop(answered);
    // ...and no longer, with nothing to take.
    assert_eq!(selector.wait(&mut events, Some(Duration::ZERO)).unwrap(), 0);
    assert!(resolver.take().is_none());
    assert_eq!(resolver.outstanding(), 0);
}

/// A full queue is a typed error (WouldBlock); room comes back as answers
/// are taken.
#[test]
fn a_full_queue_is_a_typed_error() {
    let (gate, release) = Gate::new();
    let resolver = Resolver::with_config(gate.config().threads(1).queue(3)).unwrap();
    let held: Vec<_> = (0..3)
        .map(|i| {
            resolver
                .resolve(&format!("q{i}.test"), Some("1"), Hints::new())
                .unwrap()
        })
        .collect();
    let err = resolver
        .resolve("q3.test", Some("1"), Hints::new())
        .unwrap_err();
    assert!(matches!(err, Error::QueueFull { capacity: 3, .. }), "{err}");
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    assert_eq!(resolver.threads(), 1, "one thread, as configured");
    for _ in 0..3 {
        release.send(()).unwrap();
    }
    wait_until("all answered", || gate.returned() == 3);
    // Answered but not taken still count against the queue.
    assert!(resolver
        .resolve("q4.test", Some("1"), Hints::new())
        .is_err());
    let taken = resolver.take().unwrap();
    assert!(held.iter().any(|l| l.id() == taken.id));
    let more = resolver
        .resolve("q5.test", Some("1"), Hints::new())
        .unwrap();
    release.send(()).unwrap();
    drop((held, more));
}

/// Dropping the resolver with lookups blocked in the library returns at
/// once; each thread exits when its lookup returns (seen by a
/// thread-local's destructor, which runs at thread exit).
#[test]
fn dropping_the_resolver_blocks_nothing_and_leaks_no_thread() {
    struct OnExit(mpsc::Sender<()>);
    impl Drop for OnExit {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    thread_local! {
        static EXIT: std::cell::RefCell<Option<OnExit>> = const { std::cell::RefCell::new(None) };
    }
    let (exited_tx, exited) = mpsc::channel();
    let exited_tx = Arc::new(Mutex::new(exited_tx));
    let (gate, release) = Gate::new();
    let inner = gate.config();
    let config = {
        let gate = gate.clone();
        let exited_tx = Arc::clone(&exited_tx);
        ResolverConfig::new()
            .threads(2)
            .lookup_with(move |_, service, hints| {
                let tx = exited_tx.lock().unwrap().clone();
                EXIT.with(|e| *e.borrow_mut() = Some(OnExit(tx)));
                *gate.entered.lock().unwrap() += 1;
                let _ = gate
                    .release
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(5));
                *gate.returned.lock().unwrap() += 1;
                sockpoll::resolve(Some("127.0.0.1"), service, hints)
            })
    };
    drop(inner);
    let resolver = Resolver::with_config(config).unwrap();
    let lookups: Vec<_> = (0..2)
        .map(|i| {
            resolver
                .resolve(&format!("d{i}.test"), Some("1"), Hints::new())
                .unwrap()
        })
        .collect();
    wait_until("both lookups running", || gate.entered() == 2);
    let t0 = Instant::now();
    drop(resolver);
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "{:?}",
        t0.elapsed()
    );
    drop(lookups); // handles outliving the resolver are harmless
    release.send(()).unwrap();
    release.send(()).unwrap();
    for i in 0..2 {
        exited
            .recv_timeout(BOUND)
            .unwrap_or_else(|_| panic!("lookup thread {i} did not exit"));
    }
    assert_eq!(gate.returned(), 2);
}

// ---- a name the C library cannot answer -----------------------------------

/// Set in the child that runs in its own namespaces.
const CHILD: &str = "SOCKPOLL_RESOLVER_NETNS_CHILD";

/// A real getaddrinfo that blocks (resolv.conf: a silent nameserver on
/// 127.0.0.1, `timeout:1 attempts:1`) while the same loop echoes on a
/// socket pair: every ping is answered promptly during the lookup, which
/// ends with the library's own error after about a second. Runs the test
/// below in private network and mount namespaces (`unshare -m -n`, which
/// needs root), so nothing reaches a real resolver; where they cannot be
/// made it says so and skips.
#[test]
fn an_unanswerable_name_does_not_stall_the_loop() {
    let tools = ["unshare", "mount", "ip"]
        .iter()
        .all(|t| util::process::which(t));
    if !tools {
        eprintln!("skipped: needs unshare, mount and ip");
        return;
    }
    let probe = std::process::Command::new("unshare")
        .args(["-m", "-n", "true"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("skipped: unshare -m -n is not permitted here (needs root)");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let (status, out, err) = util::process::run_bounded(
        std::process::Command::new("unshare")
            .args(["-m", "-n", "--"])
            .arg(exe)
            .args(["--exact", "netns_child", "--include-ignored", "--nocapture"])
            .env(CHILD, "1")
            .env("RES_OPTIONS", "timeout:1 attempts:1"),
        b"",
    );
    assert!(status.success(), "child failed:\n{out}\n{err}");
    assert!(
        out.contains("1 passed"),
        "the child did not run:\n{out}\n{err}"
    );
    for line in out.lines().chain(err.lines()) {
        if line.starts_with("lookup blocked") {
            eprintln!("{line}");
        }
    }
}

/// The body of the test above, in its namespaces; ignored elsewhere.
#[test]
#[ignore = "run by an_unanswerable_name_does_not_stall_the_loop, in its own namespaces"]
fn netns_child() {
    assert_eq!(
        std::env::var(CHILD).as_deref(),
        Ok("1"),
        "run it through its parent test"
    );
    let sh = |cmd: &str| {
        let s = std::process::Command::new("sh")
            .args(["-c", cmd])
            .status()
            .unwrap();
        assert!(s.success(), "{cmd}");
    };
    // Private loopback, and a resolv.conf naming a server that never answers.
    sh("ip link set lo up");
    let dir = util::net::TempDir::new("resolver-netns");
    let conf = dir.join("resolv.conf");
    std::fs::write(
        &conf,
        "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
    )
    .unwrap();
    sh(&format!("mount --bind {} /etc/resolv.conf", conf.display()));
    let _silent = std::net::UdpSocket::bind("127.0.0.1:53").unwrap();

    let selector = AnySelector::new(BackendKind::platform_default()).unwrap();
    let resolver = Resolver::new().unwrap();
    selector
        .register(resolver.as_fd(), RESOLVER, Interest::READABLE, Mode::Level)
        .unwrap();
    const PING: Token = Token(1);
    let (mut here, mut there) = UnixStream::pair().unwrap();
    here.set_nonblocking(true).unwrap();
    selector
        .register(here.as_fd(), PING, Interest::READABLE, Mode::Level)
        .unwrap();
    // The other end pings every 10 ms and times each echo.
    let pinger = thread::spawn(move || {
        there.set_read_timeout(Some(BOUND)).unwrap();
        let mut worst = Duration::ZERO;
        let mut n = 0;
        let mut byte = [0u8; 1];
        loop {
            let t = Instant::now();
            if there.write_all(b"p").is_err() || there.read_exact(&mut byte).is_err() {
                break;
            }
            worst = worst.max(t.elapsed());
            n += 1;
            if byte[0] == b'q' {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        (n, worst)
    });

    let t0 = Instant::now();
    let lookup = resolver
        .resolve("unanswerable.sockpoll.test", Some("80"), Hints::new())
        .unwrap();
    let mut events = Events::with_capacity(8);
    let answer = 'run: loop {
        assert!(t0.elapsed() < BOUND, "no answer");
        selector.wait(&mut events, Some(BOUND)).unwrap();
        while let Some(ev) = selector.next_event(&mut events) {
            match ev.token() {
                PING => {
                    let mut b = [0u8; 16];
                    while let Ok(n) = here.read(&mut b) {
                        if n == 0 {
                            break;
                        }
                        here.write_all(&b[..n]).unwrap();
                    }
                }
                _ => {
                    if let Some(done) = resolver.take() {
                        break 'run done;
                    }
                }
            }
        }
    };
    let blocked = t0.elapsed();
    // Stop the pinger: its next echo is a 'q'.
    let mut b = [0u8; 1];
    here.set_nonblocking(false).unwrap();
    here.read_exact(&mut b).unwrap();
    here.write_all(b"q").unwrap();
    let (pings, worst) = pinger.join().unwrap();

    assert_eq!(answer.id, lookup.id());
    let err = answer.result.unwrap_err();
    assert!(
        matches!(err, Error::Resolve(_)),
        "the library's own error: {err}"
    );
    assert!(
        blocked >= Duration::from_millis(900),
        "the lookup did not block: {blocked:?}"
    );
    assert!(pings >= 20, "only {pings} pings answered in {blocked:?}");
    assert!(
        worst < Duration::from_millis(500),
        "a ping waited {worst:?}"
    );
    eprintln!("lookup blocked {blocked:?} ({err}); {pings} pings, worst {worst:?}");
}
