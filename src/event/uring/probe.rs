//! Level mode's second half: the probe. A multishot poll reports a file's
//! changes, not data left unread, so each `wait` asks `poll(2)` (zero
//! timeout, one call) about the level registrations the last `wait`
//! delivered, and reports those still ready again (see `UringSelector`).

use super::{seen_slot, Shared, UringSelector, Waiter};
use crate::event::kit::{pollfd, same_file, to_flags};
use crate::event::{flags, Event, Events, Mode};

impl UringSelector {
    /// Level mode's second half, step one (under the round's first hold
    /// of the lock): the `pollfd`s of the registrations delivered in the
    /// last `wait`, which [`round`](UringSelector::round) asks `poll(2)`
    /// about (zero timeout, one call) — a multishot poll reports a file's
    /// changes, not data left unread.
    pub(super) fn probe_fill(w: &mut Waiter, shared: &Shared) {
        w.probe_fds.clear();
        for &(fd, generation) in &w.probe {
            let e = shared
                .reg
                .get(fd)
                .filter(|e| e.generation == generation && e.mode == Mode::Level);
            w.probe_fds.push(match e {
                // -1 when disarmed or NONE, as in the poll backend.
                Some(e) => pollfd(fd, e),
                None => libc::pollfd {
                    fd: -1,
                    events: 0,
                    revents: 0,
                },
            });
        }
    }

    /// Step two, after the completions (so that news comes first and a
    /// small `Events` is shared round-robin, as epoll's ready list does):
    /// the probed registrations still ready are reported again; those not
    /// ready leave the list (their multishot poll reports the next change);
    /// those that do not fit in `events` are kept at the front of the list
    /// for the next `wait`. The identity rule is the completions': a
    /// closed number is reported invalid once, a reused one never under
    /// the old token, and either is not watched until registered again.
    pub(super) fn probe_deliver(&self, w: &mut Waiter, shared: &mut Shared, events: &mut Events) {
        let probe = std::mem::take(&mut w.probe);
        for (k, &(fd, generation)) in probe.iter().enumerate() {
            let Some(pfd) = w.probe_fds.get(k).copied() else {
                break;
            };
            if pfd.fd < 0 || pfd.revents == 0 {
                continue;
            }
            let i = fd as usize; // non-negative: pollfd() kept it
            if w.seen.get(i) == Some(&w.waits) {
                // Reported in this wait already: the next wait looks again.
                w.probe_next.push((fd, generation));
                continue;
            }
            let Some(e) = shared
                .reg
                .get_mut(fd)
                .filter(|e| e.generation == generation && e.armed)
            else {
                continue;
            };
            let f = to_flags(pfd.revents, e.interest);
            if f == 0 {
                continue;
            }
            if events.is_full() {
                w.probe_carry.push((fd, generation));
                continue;
            }
            let closed = f & flags::INVALID != 0;
            if !closed && !same_file(fd, e.file) {
                // Closed and reused by another file: never the old token.
                e.armed = false;
                shared.mark(fd);
                continue;
            }
            let token = e.token;
            if closed {
                // Reported once; the cancel lets the kernel drop the file
                // its poll holds.
                e.armed = false;
                shared.mark(fd);
            } else {
                w.probe_next.push((fd, generation));
            }
            events.push(Event::new(token, f, fd, generation));
            *seen_slot(&mut w.seen, i) = w.waits;
        }
        w.probe = probe;
        w.probe.clear();
    }

    /// The next `wait`'s probe list: what did not fit, then what was
    /// delivered, each number once.
    pub(super) fn probe_rebuild(w: &mut Waiter) {
        let mut list = std::mem::take(&mut w.probe_carry);
        list.append(&mut w.probe_next);
        w.builds += 1;
        let stamp = w.builds;
        let listed = &mut w.listed;
        list.retain(|&(fd, _)| {
            // Non-negative: registered numbers.
            let slot = seen_slot(listed, fd as usize);
            let first = *slot != stamp;
            *slot = stamp;
            first
        });
        // Keep both buffers' memory.
        w.probe_carry = std::mem::replace(&mut w.probe, list);
        w.probe_carry.clear();
    }
}
