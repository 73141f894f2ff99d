//! Loop metrics, libuv's `uv_metrics_info` and `uv_metrics_idle_time` for
//! any [`Selector`](super::Selector): how many waits, how many events they
//! delivered, and how long the waiting thread was blocked in the kernel.
//! [`LoopMetrics`] is what [`Selector::metrics`](super::Selector::metrics)
//! returns; [`LoopMeter`] is the counter every sockpoll backend keeps, public
//! so that a backend written elsewhere keeps the same one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What a selector's waits have done since it was made: read with
/// [`Selector::metrics`](super::Selector::metrics), from any thread, without
/// stopping the loop.
///
/// Two readings subtract ([`LoopMetrics::since`]) to give what happened
/// between them, the way a server reports per interval. `idle` over
/// wall-clock time is the loop's idle fraction; `events / waits` its mean
/// batch.
///
/// ```
/// use std::time::Duration;
/// use sockpoll::event::{Events, PollSelector, Selector};
///
/// # fn main() -> sockpoll::Result<()> {
/// let selector = PollSelector::new()?;
/// let mut events = Events::with_capacity(64);
/// let before = selector.metrics();
/// selector.wait(&mut events, Some(Duration::from_millis(5)))?; // nothing ready
/// let delta = selector.metrics().since(&before);
/// assert_eq!((delta.waits, delta.events), (1, 0));
/// assert!(delta.idle >= Duration::from_millis(5));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopMetrics {
    /// Calls of [`wait`](super::Selector::wait) and
    /// [`wait_interruptible`](super::Selector::wait_interruptible) that
    /// returned, whatever they returned (events, a timeout, a notification,
    /// an error).
    pub waits: u64,
    /// Events those calls returned: the sum of their `Ok(n)`. Events that
    /// [`next_event`](super::Selector::next_event) later finds stale are
    /// counted (they were delivered into the caller's buffer); events the
    /// backend filtered before returning are not.
    pub events: u64,
    /// Time the waiting thread spent in the kernel's wait calls (`epoll_pwait2`,
    /// `ppoll`, `pselect`, `io_uring_enter`), including the work a backend
    /// does around each call to collect its batch. A wait with a zero
    /// timeout adds nothing: it polls, and never blocks. Added when each
    /// call returns, so a wait still blocked is not in it yet.
    pub idle: Duration,
}

impl LoopMetrics {
    /// What happened between `earlier` and this reading (each field
    /// subtracted, saturating at zero).
    #[must_use]
    pub fn since(&self, earlier: &LoopMetrics) -> LoopMetrics {
        LoopMetrics {
            waits: self.waits.saturating_sub(earlier.waits),
            events: self.events.saturating_sub(earlier.events),
            idle: self.idle.saturating_sub(earlier.idle),
        }
    }
}

/// The counters behind [`LoopMetrics`]: three relaxed atomics, written by
/// the waiting thread and read by any. Every sockpoll backend keeps one; a
/// backend written outside sockpoll keeps one too, records each wait with
/// [`record`](LoopMeter::record) (or times its kernel calls with
/// [`blocked`](LoopMeter::blocked)), and returns [`read`](LoopMeter::read)
/// from [`Selector::metrics`](super::Selector::metrics).
///
/// Cheap enough to be always on: sockpoll's backends pay two relaxed loads
/// and stores per wait (and no clock read for a zero timeout), and two
/// reads of the monotonic clock per kernel call that may block.
#[derive(Debug, Default)]
pub struct LoopMeter {
    waits: AtomicU64,
    events: AtomicU64,
    idle_ns: AtomicU64,
}

impl LoopMeter {
    /// A meter at zero.
    #[must_use]
    pub fn new() -> LoopMeter {
        LoopMeter::default()
    }

    /// Counts one wait that returned `events` events (0 for a timeout, a
    /// notification or an error). Safe to call from any number of threads.
    pub fn record(&self, events: usize) {
        self.waits.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(events as u64, Ordering::Relaxed);
    }

    /// [`record`](LoopMeter::record) for a caller that is the only writer:
    /// sockpoll's backends, whose waits run one at a time under the
    /// waiter's lock. A load and a store, not a locked read-modify-write:
    /// the whole cost of the metrics on a `wait(0)`.
    pub(crate) fn record_as_sole_writer(&self, events: usize) {
        let bump =
            |c: &AtomicU64, n: u64| c.store(c.load(Ordering::Relaxed) + n, Ordering::Relaxed);
        bump(&self.waits, 1);
        bump(&self.events, events as u64);
    }

    /// Runs `call` (one kernel wait call, with what surrounds it) and adds
    /// the time it took to the idle time, unless `timeout` is zero (a poll
    /// does not block, and is not timed: no clock read).
    pub fn blocked<R>(&self, timeout: Option<Duration>, call: impl FnOnce() -> R) -> R {
        if timeout == Some(Duration::ZERO) {
            return call();
        }
        let start = Instant::now();
        let r = call();
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.idle_ns.fetch_add(ns, Ordering::Relaxed);
        r
    }

    /// The counts so far.
    #[must_use]
    pub fn read(&self) -> LoopMetrics {
        LoopMetrics {
            waits: self.waits.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
            idle: Duration::from_nanos(self.idle_ns.load(Ordering::Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_is_never_timed_and_a_blocking_call_is() {
        let meter = LoopMeter::new();
        meter.blocked(Some(Duration::ZERO), || {
            std::thread::sleep(Duration::from_millis(2))
        });
        assert_eq!(meter.read().idle, Duration::ZERO);
        meter.blocked(None, || std::thread::sleep(Duration::from_millis(2)));
        meter.record(3);
        meter.record(0);
        let m = meter.read();
        assert!(m.idle >= Duration::from_millis(2));
        assert_eq!((m.waits, m.events), (2, 3));
        assert_eq!(m.since(&m), LoopMetrics::default());
        assert_eq!(LoopMetrics::default().since(&m), LoopMetrics::default());
    }
}
