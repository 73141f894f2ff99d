//! The cost of one `wait(Some(0))` with N registered idle fds (0 or 1
//! ready), per backend, beside the raw call (nix's zero-cost wrappers of
//! epoll_wait/poll/select) on the same fds; and registration churn.
//!
//! Groups `wait_0_ready` and `wait_1_ready` take N as the parameter, so
//! criterion draws time against N (`lines.svg`). mio is in `wait_0_ready`
//! only: it is edge-triggered, so an fd left ready is not reported again.
//!
//! `churn`: one register + reregister + deregister of one more fd while N
//! others stay registered. It makes no `wait`: poll's and select's array or
//! set rebuild after a change is paid by the next `wait`, not here.
//!
//! `precision`: the wall time of one `wait(Some(100 µs))` and one
//! `wait(Some(3.1 ms))` with one idle socket pair registered and nothing
//! ready, per backend (criterion's estimate is the mean of those waits).
//! Each wait is also timed on its own, and the group prints min / median /
//! p99 of all of them (warm-up included) and flags any that returned before
//! the timeout. A backend that rounds up to whole milliseconds shows ~1.05
//! ms for 100 µs and ~4.05 ms for 3.1 ms; a nanosecond one ~timeout + the
//! kernel's timer slack (50 µs by default). Only this group:
//! `cargo bench --bench wait -- precision`.

#[cfg(uring)]
mod common;

#[cfg(uring)]
fn main() {
    imp::main();
}

#[cfg(not(uring))]
fn main() {
    println!("wait bench: skipped: it compares all four backends, and the uring one is not built for this target");
}

#[cfg(uring)]
mod imp {
    use super::common;
    use common::pairs;

    use std::hint::black_box;
    use std::os::fd::{AsFd, AsRawFd};
    use std::os::unix::net::UnixStream;
    use std::time::{Duration, Instant};

    use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode};
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
    use nix::sys::select::{select, FdSet};
    use nix::sys::time::{TimeVal, TimeValLike};
    use sockpoll::event::{
        EpollSelector, Events, Interest, Mode, PollSelector, SelectSelector, Selector, Token,
        UringSelector,
    };

    type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

    const BATCH: usize = 1024;
    const FD_SETSIZE: i32 = 1024;

    fn register_all<S: Selector>(sel: &mut S, reads: &[UnixStream]) {
        for (i, r) in reads.iter().enumerate() {
            sel.register(r.as_fd(), Token(i), Interest::READABLE, Mode::Level)
                .expect("register");
        }
    }

    fn wait_selector<S: Selector>(g: &mut Group<'_>, name: &str, mut sel: S, reads: &[UnixStream]) {
        register_all(&mut sel, reads);
        let mut events = Events::with_capacity(BATCH);
        g.bench_function(BenchmarkId::new(name, reads.len()), |b| {
            b.iter(|| black_box(sel.wait(&mut events, Some(Duration::ZERO)).expect("wait")))
        });
    }

    fn wait_group(c: &mut Criterion, ready: usize, ns: &[usize]) {
        let mut g = c.benchmark_group(format!("wait_{ready}_ready"));
        for &n in ns {
            let (reads, writes) = pairs::pairs(n);
            if ready == 1 {
                nix::unistd::write(writes[n - 1].as_fd(), b"r").expect("write");
            }
            wait_selector(
                &mut g,
                "select",
                SelectSelector::new().expect("select"),
                &reads,
            );
            wait_selector(&mut g, "poll", PollSelector::new().expect("poll"), &reads);
            wait_selector(
                &mut g,
                "epoll",
                EpollSelector::new().expect("epoll"),
                &reads,
            );
            wait_selector(
                &mut g,
                "uring",
                UringSelector::new().expect("uring"),
                &reads,
            );
            if ready == 0 {
                let mut p = pairs::mio_poll_for(&reads);
                let mut events = mio::Events::with_capacity(BATCH);
                g.bench_function(BenchmarkId::new("mio", n), |b| {
                    b.iter(|| p.poll(&mut events, Some(Duration::ZERO)).expect("mio poll"))
                });
            }
            {
                let ep = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).expect("epoll_create1");
                for (i, r) in reads.iter().enumerate() {
                    ep.add(r, EpollEvent::new(EpollFlags::EPOLLIN, i as u64))
                        .expect("epoll_ctl");
                }
                let mut buf = vec![EpollEvent::empty(); BATCH];
                g.bench_function(BenchmarkId::new("raw_epoll", n), |b| {
                    b.iter(|| black_box(ep.wait(&mut buf, EpollTimeout::ZERO).expect("epoll_wait")))
                });
            }
            {
                let mut fds: Vec<PollFd<'_>> = reads
                    .iter()
                    .map(|r| PollFd::new(r.as_fd(), PollFlags::POLLIN))
                    .collect();
                g.bench_function(BenchmarkId::new("raw_poll", n), |b| {
                    b.iter(|| black_box(poll(&mut fds, PollTimeout::ZERO).expect("poll")))
                });
            }
            let highest = reads.iter().map(AsRawFd::as_raw_fd).max().unwrap_or(0);
            if highest < FD_SETSIZE {
                let mut template = FdSet::new();
                for r in &reads {
                    template.insert(r.as_fd());
                }
                g.bench_function(BenchmarkId::new("raw_select", n), |b| {
                    b.iter(|| {
                        let mut set = template;
                        let mut tv = TimeVal::zero();
                        black_box(
                            select(highest + 1, &mut set, None, None, &mut tv).expect("select"),
                        )
                    })
                });
            }
            if ready == 1 {
                let mut b = [0u8; 1];
                let _ = nix::unistd::read(reads[n - 1].as_fd(), &mut b);
            }
        }
        g.finish();
    }

    fn churn_selector<S: Selector>(
        g: &mut Group<'_>,
        name: &str,
        mut sel: S,
        reads: &[UnixStream],
        extra: &UnixStream,
    ) {
        register_all(&mut sel, reads);
        let t = Token(reads.len());
        g.bench_function(BenchmarkId::new(name, reads.len()), |b| {
            b.iter(|| {
                let fd = extra.as_fd();
                sel.register(fd, t, Interest::READABLE, Mode::Level)
                    .expect("register");
                sel.reregister(fd, t, Interest::READABLE | Interest::WRITABLE, Mode::Level)
                    .expect("reregister");
                sel.deregister(fd).expect("deregister");
            })
        });
    }

    fn churn(c: &mut Criterion) {
        let mut g = c.benchmark_group("churn");
        for n in [1, 1_000] {
            let (reads, _writes) = pairs::pairs(n);
            let (extra, _peer) = UnixStream::pair().expect("socketpair");
            churn_selector(
                &mut g,
                "select",
                SelectSelector::new().expect("select"),
                &reads,
                &extra,
            );
            churn_selector(
                &mut g,
                "poll",
                PollSelector::new().expect("poll"),
                &reads,
                &extra,
            );
            churn_selector(
                &mut g,
                "epoll",
                EpollSelector::new().expect("epoll"),
                &reads,
                &extra,
            );
            churn_selector(
                &mut g,
                "uring",
                UringSelector::new().expect("uring"),
                &reads,
                &extra,
            );
            {
                let p = pairs::mio_poll_for(&reads);
                let raw = extra.as_raw_fd();
                g.bench_function(BenchmarkId::new("mio", n), |b| {
                    b.iter(|| {
                        let mut src = mio::unix::SourceFd(&raw);
                        let r = p.registry();
                        r.register(&mut src, mio::Token(n), mio::Interest::READABLE)
                            .expect("register");
                        r.reregister(
                            &mut src,
                            mio::Token(n),
                            mio::Interest::READABLE | mio::Interest::WRITABLE,
                        )
                        .expect("reregister");
                        r.deregister(&mut src).expect("deregister");
                    })
                });
            }
            {
                let ep = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).expect("epoll_create1");
                for (i, r) in reads.iter().enumerate() {
                    ep.add(r, EpollEvent::new(EpollFlags::EPOLLIN, i as u64))
                        .expect("epoll_ctl");
                }
                g.bench_function(BenchmarkId::new("raw_epoll", n), |b| {
                    b.iter(|| {
                        let data = n as u64;
                        ep.add(&extra, EpollEvent::new(EpollFlags::EPOLLIN, data))
                            .expect("add");
                        let mut ev =
                            EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLOUT, data);
                        ep.modify(&extra, &mut ev).expect("modify");
                        ep.delete(&extra).expect("delete");
                    })
                });
            }
        }
        g.finish();
    }

    /// The timeouts of the `precision` group, with their ids.
    const PRECISION: [(&str, Duration); 2] = [
        ("100us", Duration::from_micros(100)),
        ("3.1ms", Duration::from_micros(3_100)),
    ];

    /// The `p`th percentile (0..=100) of sorted `d`.
    fn percentile(d: &[Duration], p: usize) -> Duration {
        d.get((d.len().saturating_sub(1)) * p / 100)
            .copied()
            .unwrap_or_default()
    }

    fn precision_selector<S: Selector>(g: &mut Group<'_>, name: &str, sel: S) {
        let (idle, _peer) = UnixStream::pair().expect("socketpair");
        sel.register(idle.as_fd(), Token(0), Interest::READABLE, Mode::Level)
            .expect("register");
        let mut events = Events::with_capacity(8);
        for (id, timeout) in PRECISION {
            let mut each: Vec<Duration> = Vec::with_capacity(4096);
            g.bench_function(BenchmarkId::new(name, id), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        let n = sel.wait(&mut events, Some(timeout)).expect("wait");
                        let took = start.elapsed();
                        assert_eq!(n, 0, "{name}: nothing is ready");
                        total += took;
                        each.push(took);
                    }
                    total
                })
            });
            each.sort_unstable();
            let min = each.first().copied().unwrap_or_default();
            let early = each.iter().take_while(|&&d| d < timeout).count();
            let us = |d: Duration| d.as_secs_f64() * 1e6;
            eprintln!(
                "precision/{name}/{id}: {} waits: min {:.1} µs, median {:.1} µs, p99 {:.1} µs{}",
                each.len(),
                us(min),
                us(percentile(&each, 50)),
                us(percentile(&each, 99)),
                if early == 0 {
                    String::new()
                } else {
                    format!(" — {early} EARLY (shorter than {timeout:?})")
                },
            );
        }
    }

    /// `precision`: how long `wait(Some(t))` takes with nothing ready.
    fn precision(c: &mut Criterion) {
        let mut g = c.benchmark_group("precision");
        // Every iteration is a whole timeout: the same count per sample keeps
        // criterion from asking for thousands of 3 ms waits.
        g.sampling_mode(SamplingMode::Flat);
        if !common::quick() {
            g.sample_size(50);
        }
        precision_selector(&mut g, "select", SelectSelector::new().expect("select"));
        precision_selector(&mut g, "poll", PollSelector::new().expect("poll"));
        precision_selector(&mut g, "epoll", EpollSelector::new().expect("epoll"));
        precision_selector(&mut g, "uring", UringSelector::new().expect("uring"));
        g.finish();
    }

    pub(crate) fn main() {
        let limit = common::raise_fd_limit(u64::MAX);
        let largest = pairs::largest_n(limit);
        eprintln!("wait: fd limit {limit}; N up to {largest}");
        let ns = [1, 100, 1_000, largest];
        let mut c = common::criterion();
        wait_group(&mut c, 0, &ns);
        wait_group(&mut c, 1, &ns);
        churn(&mut c);
        precision(&mut c);
        c.final_summary();
    }
}
