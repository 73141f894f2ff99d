//! [`Resolver`]: getaddrinfo on a small, bounded set of threads, each
//! result delivered through any [`Selector`](crate::event::Selector) — the
//! resolver is a descriptor (a [`Waker`]) that turns readable when results
//! wait — and collected without blocking, tagged with the lookup it
//! answers.

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result, Subject};
use crate::event::Waker;
use crate::net::{resolve, AddrInfo, Hints};

/// How a [`Resolver`] is bounded: the defaults are 4 threads, 256 lookups
/// outstanding and a 10-second deadline per lookup.
///
/// ```
/// use std::time::Duration;
/// let config = sockpoll::ResolverConfig::new()
///     .threads(2)
///     .queue(64)
///     .deadline(Duration::from_secs(2));
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct ResolverConfig {
    threads: usize,
    queue: usize,
    deadline: Duration,
    lookup: LookupFn,
}

/// The function a resolver's threads call for each lookup.
type LookupFn = Arc<dyn Fn(&str, Option<&str>, &Hints) -> Result<Vec<AddrInfo>> + Send + Sync>;

impl std::fmt::Debug for ResolverConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolverConfig")
            .field("threads", &self.threads)
            .field("queue", &self.queue)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Default for ResolverConfig {
    fn default() -> ResolverConfig {
        ResolverConfig {
            threads: 4,
            queue: 256,
            deadline: Duration::from_secs(10),
            lookup: Arc::new(|host, service, hints| resolve(Some(host), service, hints)),
        }
    }
}

impl ResolverConfig {
    /// The defaults.
    pub fn new() -> ResolverConfig {
        ResolverConfig::default()
    }

    /// At most `n` threads (at least 1), started as lookups need them. A
    /// lookup that the C library does not answer holds its thread until it
    /// does: the threads bound how many such lookups run at once.
    #[must_use]
    pub fn threads(mut self, n: usize) -> ResolverConfig {
        self.threads = n.max(1);
        self
    }

    /// At most `n` lookups outstanding (queued, running, or answered and not
    /// yet taken; at least 1); one more is refused with
    /// [`Error::QueueFull`].
    #[must_use]
    pub fn queue(mut self, n: usize) -> ResolverConfig {
        self.queue = n.max(1);
        self
    }

    /// The deadline of a lookup made with [`Resolver::resolve`].
    #[must_use]
    pub fn deadline(mut self, d: Duration) -> ResolverConfig {
        self.deadline = d;
        self
    }

    /// What the threads call instead of [`resolve`](crate::resolve) (host,
    /// service, hints): another resolver library, or a stand-in in tests.
    #[must_use]
    pub fn lookup_with(
        mut self,
        f: impl Fn(&str, Option<&str>, &Hints) -> Result<Vec<AddrInfo>> + Send + Sync + 'static,
    ) -> ResolverConfig {
        self.lookup = Arc::new(f);
        self
    }
}

/// Which lookup a [`Resolved`] answers: [`Lookup::id`] of the handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupId(pub u64);

/// A finished lookup, from [`Resolver::take`].
#[derive(Debug)]
pub struct Resolved {
    /// The lookup it answers.
    pub id: LookupId,
    /// What [`resolve`](crate::resolve) returned (the same typed errors,
    /// `EAI_*` codes kept), or [`TimedOut`](std::io::ErrorKind::TimedOut)
    /// (`ETIMEDOUT` from `"getaddrinfo"`) when the deadline passed first.
    pub result: Result<Vec<AddrInfo>>,
}

/// The handle of a lookup in flight. Dropping it discards the lookup: a
/// queued one is never run, a running one's result is thrown away when it
/// comes, and an answered one not yet taken is removed.
#[derive(Debug)]
#[must_use = "dropping a Lookup discards its result"]
pub struct Lookup {
    id: LookupId,
    shared: Weak<Shared>,
}

impl Lookup {
    /// The id its [`Resolved`] carries.
    pub fn id(&self) -> LookupId {
        self.id
    }
}

impl Drop for Lookup {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            let mut st = shared.lock();
            st.outstanding.remove(&self.id);
            st.queue.retain(|j| j.id != self.id);
            st.done.retain(|r| r.id != self.id);
            if st.done.is_empty() {
                let _ = shared.waker.reset();
            }
            shared.timer.notify_one();
        }
    }
}

/// Name resolution that never blocks a loop: [`resolve`](crate::resolve)
/// (getaddrinfo) run on a small, bounded set of threads, each result
/// delivered through the caller's selector.
///
/// The resolver is a descriptor — it implements [`AsFd`] — that is
/// readable while finished lookups wait: register it with any
/// [`Selector`](crate::event::Selector) under a token of yours, and when
/// that token comes back, [`take`](Resolver::take) the results (each a
/// [`Resolved`] tagged with its [`LookupId`]) until it returns `None`. A
/// `wait` with nothing resolving costs nothing more (no timer, no
/// allocation: one more registered descriptor).
///
/// Bounded every way: at most [`threads`](ResolverConfig::threads)
/// lookups run at once; at most [`queue`](ResolverConfig::queue) are
/// outstanding, and one more is [`Error::QueueFull`]; each has a deadline,
/// past which it is answered at once with a timeout error and its late
/// result, when getaddrinfo returns (it cannot be cancelled), is dropped.
/// Dropping a [`Lookup`] discards it. Dropping the resolver waits for
/// nothing: queued lookups are dropped, and a thread blocked in
/// getaddrinfo exits as soon as the C library returns.
///
/// glibc's `getaddrinfo_a` is not used: it signals completion with
/// signals or threads of its own and cannot bound them.
///
/// ```
/// use std::os::fd::AsFd;
/// use std::time::Duration;
/// use sockpoll::event::{DefaultSelector, Events, Interest, Mode, Selector, Token};
/// use sockpoll::{Hints, Resolver, TcpStream, Type};
///
/// # fn main() -> sockpoll::Result<()> {
/// const RESOLVER: Token = Token(0);
/// let selector = DefaultSelector::new()?;
/// let resolver = Resolver::new()?;
/// selector.register(resolver.as_fd(), RESOLVER, Interest::READABLE, Mode::Level)?;
///
/// let hints = Hints::new().socket_type(Type::STREAM);
/// let lookup = resolver.resolve("localhost", Some("7"), hints)?;
/// let mut events = Events::with_capacity(64);
/// 'run: loop {
///     selector.wait(&mut events, Some(Duration::from_secs(5)))?; // other sockets too
///     while let Some(event) = selector.next_event(&mut events) {
///         if event.token() == RESOLVER {
///             while let Some(done) = resolver.take() {
///                 assert_eq!(done.id, lookup.id());
///                 let addrs = done.result?;
///                 // connect (non-blocking) to addrs[0].addr, register it…
/// #               assert!(!addrs.is_empty());
///                 break 'run;
///             }
///         }
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Resolver {
    shared: Arc<Shared>,
    timer: Option<thread::JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// Workers wait here for queued lookups.
    work: Condvar,
    /// The deadline thread waits here for the next deadline.
    timer: Condvar,
    /// Readable while `done` is not empty.
    waker: Waker,
    config: ResolverConfig,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    next_id: u64,
    /// Lookups not yet answered: their deadlines and queries.
    outstanding: HashMap<LookupId, (Instant, String)>,
    queue: VecDeque<Job>,
    done: VecDeque<Resolved>,
    threads: usize,
    idle: usize,
    closed: bool,
}

struct Job {
    id: LookupId,
    host: String,
    service: Option<String>,
    hints: Hints,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Answers `id` with `result` unless it was answered or discarded
    /// already; wakes the selector. Call with the lock held.
    fn answer(&self, st: &mut State, id: LookupId, result: Result<Vec<AddrInfo>>) {
        if st.outstanding.remove(&id).is_some() {
            st.done.push_back(Resolved { id, result });
            // A full waker is already readable.
            let _ = self.waker.wake();
        }
    }
}

impl Resolver {
    /// A resolver with the default bounds ([`ResolverConfig`]).
    ///
    /// # Errors
    ///
    /// Creating its [`Waker`] (an eventfd, or a pipe) or its deadline
    /// thread failed.
    pub fn new() -> Result<Resolver> {
        Resolver::with_config(ResolverConfig::default())
    }

    /// A resolver bounded by `config`. Starts one thread for deadlines;
    /// lookup threads start as lookups need them.
    ///
    /// # Errors
    ///
    /// As [`new`](Resolver::new).
    pub fn with_config(config: ResolverConfig) -> Result<Resolver> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            timer: Condvar::new(),
            waker: Waker::new()?,
            config,
        });
        let timer = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("sockpoll-resolver-deadlines".into())
                .spawn(move || deadlines(&shared))
                .map_err(|e| Error::os("pthread_create", Subject::None, e))?
        };
        Ok(Resolver {
            shared,
            timer: Some(timer),
        })
    }

    /// Looks `host` (and `service`, a name or port) up as
    /// [`resolve`](crate::resolve) does, on one of the resolver's threads,
    /// with the configured deadline. Returns at once.
    ///
    /// # Errors
    ///
    /// [`Error::QueueFull`] when [`queue`](ResolverConfig::queue) lookups
    /// are outstanding; an OS error if a thread could not be started (the
    /// lookup is not queued then).
    pub fn resolve(&self, host: &str, service: Option<&str>, hints: Hints) -> Result<Lookup> {
        let deadline = Instant::now()
            .checked_add(self.shared.config.deadline)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
        self.resolve_by(host, service, hints, deadline)
    }

    /// As [`resolve`](Resolver::resolve), answered with a timeout error at
    /// `deadline` if getaddrinfo has not returned by then.
    ///
    /// # Errors
    ///
    /// As [`resolve`](Resolver::resolve).
    pub fn resolve_by(
        &self,
        host: &str,
        service: Option<&str>,
        hints: Hints,
        deadline: Instant,
    ) -> Result<Lookup> {
        let shared = &self.shared;
        let mut st = shared.lock();
        if st.outstanding.len() + st.done.len() >= shared.config.queue {
            return Err(Error::QueueFull {
                call: "resolve",
                capacity: shared.config.queue,
            });
        }
        if st.idle == 0 && st.threads < shared.config.threads {
            let worker = Arc::clone(shared);
            thread::Builder::new()
                .name("sockpoll-resolver".into())
                .spawn(move || work(&worker))
                .map_err(|e| Error::os("pthread_create", Subject::Name(host.into()), e))?;
            st.threads += 1;
        }
        st.next_id += 1;
        let id = LookupId(st.next_id);
        let query = match service {
            Some(s) => format!("{host}:{s}"),
            None => host.to_string(),
        };
        st.outstanding.insert(id, (deadline, query));
        st.queue.push_back(Job {
            id,
            host: host.to_string(),
            service: service.map(str::to_string),
            hints,
        });
        shared.work.notify_one();
        shared.timer.notify_one();
        Ok(Lookup {
            id,
            shared: Arc::downgrade(shared),
        })
    }

    /// The next finished lookup, if any; never blocks. When none is left
    /// the resolver's descriptor stops being readable.
    pub fn take(&self) -> Option<Resolved> {
        let mut st = self.shared.lock();
        let next = st.done.pop_front();
        if st.done.is_empty() {
            // Under the lock that answering takes too: a result answered
            // after this reset wakes the selector again.
            let _ = self.shared.waker.reset();
        }
        next
    }

    /// Lookups outstanding: queued, running, or answered and not taken.
    pub fn outstanding(&self) -> usize {
        let st = self.shared.lock();
        st.outstanding.len() + st.done.len()
    }

    /// Lookup threads alive now (at most [`threads`](ResolverConfig::threads)),
    /// besides the one deadline thread.
    pub fn threads(&self) -> usize {
        self.shared.lock().threads
    }
}

impl AsFd for Resolver {
    /// Readable while finished lookups wait for [`take`](Resolver::take).
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.shared.waker.as_fd()
    }
}

impl Drop for Resolver {
    fn drop(&mut self) {
        {
            let mut st = self.shared.lock();
            st.closed = true;
            st.queue.clear();
            st.outstanding.clear();
            st.done.clear();
        }
        self.shared.work.notify_all();
        self.shared.timer.notify_all();
        // The deadline thread only waits on the condvar: it ends at once.
        // Lookup threads are not joined: one blocked in getaddrinfo ends
        // when the C library returns.
        if let Some(t) = self.timer.take() {
            let _ = t.join();
        }
    }
}

/// A lookup thread: runs queued lookups until the resolver is dropped.
fn work(shared: &Shared) {
    let mut st = shared.lock();
    loop {
        if st.closed {
            break;
        }
        let Some(job) = st.queue.pop_front() else {
            st.idle += 1;
            st = shared
                .work
                .wait(st)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            st.idle -= 1;
            continue;
        };
        drop(st);
        let result = (shared.config.lookup)(&job.host, job.service.as_deref(), &job.hints);
        st = shared.lock();
        shared.answer(&mut st, job.id, result);
    }
    st.threads -= 1;
}

/// The deadline thread: answers each lookup still outstanding at its
/// deadline with a timeout error (and unqueues it).
fn deadlines(shared: &Shared) {
    let mut st = shared.lock();
    while !st.closed {
        let now = Instant::now();
        let expired: Vec<(LookupId, String)> = st
            .outstanding
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(id, (_, q))| (*id, q.clone()))
            .collect();
        for (id, query) in expired {
            st.queue.retain(|j| j.id != id);
            let timeout = Error::errno("getaddrinfo", Subject::Name(query), libc::ETIMEDOUT);
            shared.answer(&mut st, id, Err(timeout));
        }
        let next = st.outstanding.values().map(|(at, _)| *at).min();
        st = match next {
            Some(at) => {
                let wait = at.saturating_duration_since(Instant::now());
                shared
                    .timer
                    .wait_timeout(st, wait)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0
            }
            None => shared
                .timer
                .wait(st)
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        };
    }
}
