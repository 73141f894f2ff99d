//! The fd-indexed registry every backend keeps: the single source of truth
//! for `AlreadyExists`/`NotFound`, tokens, oneshot arming and generations.
//!
//! It holds only what all three backends use. `armed` is one of those:
//! `poll` and `select` leave disarmed fds out of what they pass the kernel,
//! and `epoll` remembers fired oneshots so that replacing its instance keeps
//! them disarmed.
//!
//! What one backend alone needs lives in that backend's file. Per
//! registration, that is the entry's `extra` (`Registry<X>`; `()` by
//! default): `select` keeps there whether the fd is stream-like. A
//! generic field rather than a side table keyed by fd, because `select`
//! reads it for each ready fd in `wait`, from the entry it already holds:
//! no second lookup, and `()` takes no room on the other backends.
//! Per-registry state (`poll`'s "the array needs a rebuild" flag) is a
//! field of the backend, set by its own `register`/`deregister`.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use super::{registry_error, Interest, Mode, Token};
use crate::error::{Error, Result, Subject};

/// One registration, with `X`, what the backend keeps beside it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<X = ()> {
    pub(crate) token: Token,
    pub(crate) interest: Interest,
    pub(crate) mode: Mode,
    /// Fresh for every register/reregister; events remember it.
    pub(crate) generation: u64,
    /// False once a oneshot registration fired or the fd was found closed:
    /// the kernel-side set leaves it out until `reregister`.
    pub(crate) armed: bool,
    /// Index in `Registry::dense`.
    pub(crate) slot: usize,
    /// The backend's own per-registration state, given at `insert` and
    /// `update`.
    pub(crate) extra: X,
}

#[derive(Debug)]
pub(crate) struct Registry<X = ()> {
    by_fd: Vec<Option<Entry<X>>>,
    dense: Vec<RawFd>,
    next_generation: u64,
}

// Not derived: that would demand `X: Default`, and an empty registry holds
// no `X`.
impl<X> Default for Registry<X> {
    fn default() -> Self {
        Registry {
            by_fd: Vec::new(),
            dense: Vec::new(),
            next_generation: 0,
        }
    }
}

fn index(fd: RawFd) -> Option<usize> {
    usize::try_from(fd).ok()
}

impl<X: Copy> Registry<X> {
    pub(crate) fn get(&self, fd: RawFd) -> Option<&Entry<X>> {
        self.by_fd.get(index(fd)?)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, fd: RawFd) -> Option<&mut Entry<X>> {
        self.by_fd.get_mut(index(fd)?)?.as_mut()
    }

    /// Registered fds, in no particular order.
    pub(crate) fn dense(&self) -> &[RawFd] {
        &self.dense
    }

    /// Whether an event of (`fd`, `generation`) belongs to the current
    /// registration of `fd`.
    pub(crate) fn is_current(&self, fd: RawFd, generation: u64) -> bool {
        self.get(fd).is_some_and(|e| e.generation == generation)
    }

    fn generation(&mut self) -> u64 {
        self.next_generation = self.next_generation.wrapping_add(1);
        self.next_generation
    }

    /// The generation the next `insert`/`update` will use.
    pub(crate) fn peek_generation(&self) -> u64 {
        self.next_generation.wrapping_add(1)
    }

    /// `ENOENT` unless `fd` is registered.
    pub(crate) fn require(&self, call: &'static str, fd: BorrowedFd<'_>) -> Result<&Entry<X>> {
        self.get(fd.as_raw_fd())
            .ok_or_else(|| registry_error(call, fd, libc::ENOENT))
    }

    /// Adds `fd`; `EEXIST` if the number is registered.
    pub(crate) fn insert(
        &mut self,
        call: &'static str,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
        extra: X,
    ) -> Result<&mut Entry<X>> {
        let raw = fd.as_raw_fd();
        if self.get(raw).is_some() {
            return Err(registry_error(call, fd, libc::EEXIST));
        }
        // A borrowed fd is never negative; reject it anyway rather than panic.
        let i = index(raw).ok_or(Error::InvalidInput {
            call,
            subject: Subject::Fd(raw),
            reason: "negative file descriptor",
        })?;
        let oom = |_| Error::errno(call, Subject::Fd(raw), libc::ENOMEM);
        if self.by_fd.len() <= i {
            self.by_fd
                .try_reserve(i + 1 - self.by_fd.len())
                .map_err(oom)?;
            self.by_fd.resize(i + 1, None);
        }
        self.dense.try_reserve(1).map_err(oom)?;
        let generation = self.generation();
        self.dense.push(raw);
        let entry = self.by_fd[i].insert(Entry {
            token,
            interest,
            mode,
            generation,
            armed: true,
            slot: self.dense.len() - 1,
            extra,
        });
        Ok(entry)
    }

    /// Changes a registration (`extra` too), re-arms it, gives it a new
    /// generation;
    /// `ENOENT` if the number is not registered.
    pub(crate) fn update(
        &mut self,
        call: &'static str,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
        extra: X,
    ) -> Result<&mut Entry<X>> {
        let generation = self.peek_generation();
        let entry = self
            .get_mut(fd.as_raw_fd())
            .ok_or_else(|| registry_error(call, fd, libc::ENOENT))?;
        entry.token = token;
        entry.interest = interest;
        entry.mode = mode;
        entry.generation = generation;
        entry.armed = true;
        entry.extra = extra;
        self.next_generation = generation;
        // Re-borrow: the borrow above ended to update the counter.
        self.get_mut(fd.as_raw_fd())
            .ok_or_else(|| registry_error(call, fd, libc::ENOENT))
    }

    /// Removes `fd`; `ENOENT` if the number is not registered.
    pub(crate) fn remove(&mut self, call: &'static str, fd: BorrowedFd<'_>) -> Result<Entry<X>> {
        let raw = fd.as_raw_fd();
        let entry = index(raw)
            .and_then(|i| self.by_fd.get_mut(i))
            .and_then(Option::take)
            .ok_or_else(|| registry_error(call, fd, libc::ENOENT))?;
        if entry.slot < self.dense.len() {
            self.dense.swap_remove(entry.slot);
            if let Some(&moved) = self.dense.get(entry.slot) {
                if let Some(m) = self.get_mut(moved) {
                    m.slot = entry.slot;
                }
            }
        }
        Ok(entry)
    }
}
