//! libevent's test/bench.c workload, on every sockpoll backend, on mio,
//! and on raw-syscall floors written with nix's zero-cost safe wrappers.
//!
//! N AF_UNIX socket pairs, read ends registered (level-triggered). A run
//! writes one byte to A pairs spaced N/A apart, then loops `wait(timeout
//! 0)`; each callback reads one byte and, while the write budget W lasts,
//! writes one byte to the next pair. A run is A+W callbacks; criterion's
//! throughput (elements = A+W) gives the time per event.
//!
//! Unlike libevent (which re-adds all N events before each run, untimed),
//! registrations are kept across runs: every run ends with all pairs
//! drained, so each run starts from the same state and there is nothing to
//! re-add. Setup (pairs, registration) is outside the timed loop
//! (`iter_custom`).
//!
//! Groups are per (A, W) with the benchmark parameter N, so criterion draws
//! the scaling chart (`lines.svg`) and per-N comparisons.
//!
//! `SOCKPOLL_BENCH_QUICK=1` makes it short (see BENCHMARKS.md).

#[cfg(uring)]
mod common;

#[cfg(uring)]
fn main() {
    imp::main();
}

#[cfg(not(uring))]
fn main() {
    println!("backends bench: skipped: it compares all four backends, and the uring one is not built for this target");
}

#[cfg(uring)]
mod imp {
    use super::common;
    use common::pairs;

    use std::hint::black_box;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
    use std::os::unix::net::UnixStream;
    use std::time::{Duration, Instant};

    use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
    use nix::errno::Errno;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
    use nix::sys::select::{select, FdSet};
    use nix::sys::time::{TimeVal, TimeValLike};
    use sockpoll::event::{
        EpollSelector, Events, Interest, Mode, PollSelector, SelectSelector, Selector, Token,
        UringSelector,
    };

    /// Events collected per wait, for every member alike.
    const BATCH: usize = 1024;
    /// select(2)'s FD_SETSIZE: nix's `FdSet` cannot hold fds at or above it.
    const FD_SETSIZE: i32 = 1024;

    /// The pairs and the budget of one run.
    struct Work<'a> {
        reads: &'a [UnixStream],
        writes: &'a [UnixStream],
        active: usize,
        writes_budget: usize,
    }

    /// The state of one run.
    struct Run<'w, 'a> {
        work: &'w Work<'a>,
        budget: usize,
        fired: usize,
    }

    impl<'w, 'a> Run<'w, 'a> {
        /// Writes the first A bytes, spaced N/A apart.
        fn start(work: &'w Work<'a>) -> Run<'w, 'a> {
            let n = work.reads.len();
            let space = n / work.active;
            for i in 0..work.active {
                write_byte(work.writes[i * space].as_fd());
            }
            Run {
                work,
                budget: work.writes_budget,
                fired: 0,
            }
        }

        fn done(&self) -> bool {
            self.fired >= self.work.active + self.work.writes_budget
        }

        /// The callback: one byte from pair `idx`; while the budget lasts, one
        /// byte to the next pair. Returns false when nothing was there.
        #[inline]
        fn on_readable(&mut self, idx: usize) -> bool {
            let mut b = [0u8; 1];
            match nix::unistd::read(self.work.reads[idx].as_fd(), &mut b) {
                Ok(1) => {}
                Ok(_) | Err(Errno::EAGAIN) => return false,
                Err(e) => panic!("read: {e}"),
            }
            self.fired += 1;
            if self.budget > 0 {
                self.budget -= 1;
                let next = if idx + 1 == self.work.reads.len() {
                    0
                } else {
                    idx + 1
                };
                write_byte(self.work.writes[next].as_fd());
            }
            true
        }
    }

    fn write_byte(fd: BorrowedFd<'_>) {
        match nix::unistd::write(fd, b"e") {
            Ok(1) => {}
            other => panic!("write: {other:?}"),
        }
    }

    /// One run on a sockpoll backend.
    fn run_selector<S: Selector>(sel: &mut S, events: &mut Events, work: &Work<'_>) {
        let mut run = Run::start(work);
        while !run.done() {
            sel.wait(events, Some(Duration::ZERO)).expect("wait");
            while let Some(ev) = sel.next_event(events) {
                run.on_readable(ev.token().0);
            }
        }
    }

    /// One run on mio (edge-triggered only: each event drains its pair).
    fn run_mio(p: &mut mio::Poll, events: &mut mio::Events, work: &Work<'_>) {
        let mut run = Run::start(work);
        while !run.done() {
            p.poll(events, Some(Duration::ZERO)).expect("mio poll");
            for ev in events.iter() {
                while run.on_readable(ev.token().0) {}
            }
        }
    }

    /// The epoll floor: level-triggered, data = pair index, no registry.
    fn run_raw_epoll(ep: &Epoll, buf: &mut [EpollEvent], work: &Work<'_>) {
        let mut run = Run::start(work);
        while !run.done() {
            let n = ep.wait(buf, EpollTimeout::ZERO).expect("epoll_wait");
            for ev in &buf[..n] {
                run.on_readable(ev.data() as usize);
            }
        }
    }

    /// The poll floor: one prebuilt pollfd array; the scan stops after the
    /// last ready entry.
    fn run_raw_poll(fds: &mut [PollFd<'_>], work: &Work<'_>) {
        let mut run = Run::start(work);
        while !run.done() {
            let ready = poll(fds, PollTimeout::ZERO).expect("poll");
            let mut left = usize::try_from(ready).unwrap_or(0);
            for (i, p) in fds.iter().enumerate() {
                if left == 0 {
                    break;
                }
                if p.any().unwrap_or(false) {
                    left -= 1;
                    run.on_readable(i);
                }
            }
        }
    }

    /// The select floor (fds below FD_SETSIZE only): a copy of a prebuilt set
    /// per call, then a scan that stops after the last ready fd.
    fn run_raw_select(template: &FdSet<'_>, nfds: i32, work: &Work<'_>) {
        let mut run = Run::start(work);
        while !run.done() {
            let mut set = *template;
            let mut tv = TimeVal::zero();
            let ready = select(nfds, &mut set, None, None, &mut tv).expect("select");
            let mut left = usize::try_from(ready).unwrap_or(0);
            for (i, r) in work.reads.iter().enumerate() {
                if left == 0 {
                    break;
                }
                if set.contains(r.as_fd()) {
                    left -= 1;
                    run.on_readable(i);
                }
            }
        }
    }

    /// Times `iters` runs of `one`.
    fn timed(iters: u64, mut one: impl FnMut()) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            one();
        }
        black_box(start.elapsed())
    }

    fn bench_selector<S: Selector>(
        g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        name: &str,
        mut sel: S,
        work: &Work<'_>,
    ) {
        for (i, r) in work.reads.iter().enumerate() {
            sel.register(r.as_fd(), Token(i), Interest::READABLE, Mode::Level)
                .expect("register");
        }
        let mut events = Events::with_capacity(BATCH);
        let n = work.reads.len();
        g.bench_function(BenchmarkId::new(name, n), |b| {
            b.iter_custom(|iters| timed(iters, || run_selector(&mut sel, &mut events, work)))
        });
        for r in work.reads {
            sel.deregister(r.as_fd()).expect("deregister");
        }
    }

    fn backends(c: &mut Criterion) {
        let limit = common::raise_fd_limit(u64::MAX);
        let largest = pairs::largest_n(limit);
        eprintln!("backends: fd limit {limit}; N up to {largest}");
        let ns = [100, 1_000, largest];
        // Quick mode: the two corners of the (A, W) square only.
        let combos: &[(usize, usize)] = if common::quick() {
            &[(1, 100), (100, 1_000)]
        } else {
            &[(1, 100), (1, 1_000), (100, 100), (100, 1_000)]
        };
        for &(active, writes_budget) in combos {
            let mut g = c.benchmark_group(format!("backends_A{active}_W{writes_budget}"));
            g.throughput(Throughput::Elements((active + writes_budget) as u64));
            // A=1 poll/select runs at N=10,000 take a second each: flat sampling
            // keeps the sample count, not the iteration count, fixed.
            g.sampling_mode(SamplingMode::Flat);
            if !common::quick() {
                g.sample_size(30);
            }
            for &n in &ns {
                let (reads, writes) = pairs::pairs(n);
                let work = Work {
                    reads: &reads,
                    writes: &writes,
                    active,
                    writes_budget,
                };

                bench_selector(
                    &mut g,
                    "select",
                    SelectSelector::new().expect("select"),
                    &work,
                );
                bench_selector(&mut g, "poll", PollSelector::new().expect("poll"), &work);
                bench_selector(&mut g, "epoll", EpollSelector::new().expect("epoll"), &work);
                bench_selector(&mut g, "uring", UringSelector::new().expect("uring"), &work);

                {
                    let mut p = pairs::mio_poll_for(&reads);
                    let mut events = mio::Events::with_capacity(BATCH);
                    g.bench_function(BenchmarkId::new("mio", n), |b| {
                        b.iter_custom(|iters| timed(iters, || run_mio(&mut p, &mut events, &work)))
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
                        b.iter_custom(|iters| timed(iters, || run_raw_epoll(&ep, &mut buf, &work)))
                    });
                }

                {
                    let mut fds: Vec<PollFd<'_>> = reads
                        .iter()
                        .map(|r| PollFd::new(r.as_fd(), PollFlags::POLLIN))
                        .collect();
                    g.bench_function(BenchmarkId::new("raw_poll", n), |b| {
                        b.iter_custom(|iters| timed(iters, || run_raw_poll(&mut fds, &work)))
                    });
                }

                let highest = reads.iter().map(AsRawFd::as_raw_fd).max().unwrap_or(0);
                if highest < FD_SETSIZE {
                    let mut template = FdSet::new();
                    for r in &reads {
                        template.insert(r.as_fd());
                    }
                    g.bench_function(BenchmarkId::new("raw_select", n), |b| {
                        b.iter_custom(|iters| {
                            timed(iters, || run_raw_select(&template, highest + 1, &work))
                        })
                    });
                } else {
                    eprintln!("backends: raw_select skipped at N={n}: fd {highest} >= FD_SETSIZE");
                }
            }
            g.finish();
        }
    }

    pub(crate) fn main() {
        let mut c = common::criterion();
        backends(&mut c);
        c.final_summary();
    }
}
