//! The fd-indexed registry every backend keeps: the single source of truth
//! for `AlreadyExists`/`NotFound`, tokens, oneshot arming and generations.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use super::{registry_error, Interest, Mode, Token};
use crate::error::{Error, Result, Subject};

/// One registration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
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
    /// `select` only: "readable with 0 bytes queued" means end of file.
    pub(crate) stream_like: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Registry {
    by_fd: Vec<Option<Entry>>,
    dense: Vec<RawFd>,
    next_generation: u64,
    /// Set when fds were added or removed (the poll array needs a rebuild).
    pub(crate) dirty: bool,
}

fn index(fd: RawFd) -> Option<usize> {
    usize::try_from(fd).ok()
}

impl Registry {
    pub(crate) fn get(&self, fd: RawFd) -> Option<&Entry> {
        self.by_fd.get(index(fd)?)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, fd: RawFd) -> Option<&mut Entry> {
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
    pub(crate) fn require(&self, call: &'static str, fd: BorrowedFd<'_>) -> Result<&Entry> {
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
    ) -> Result<&mut Entry> {
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
        self.dirty = true;
        let entry = self.by_fd[i].insert(Entry {
            token,
            interest,
            mode,
            generation,
            armed: true,
            slot: self.dense.len() - 1,
            stream_like: false,
        });
        Ok(entry)
    }

    /// Changes a registration, re-arms it, gives it a new generation;
    /// `ENOENT` if the number is not registered.
    pub(crate) fn update(
        &mut self,
        call: &'static str,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<&mut Entry> {
        let generation = self.peek_generation();
        let entry = self
            .get_mut(fd.as_raw_fd())
            .ok_or_else(|| registry_error(call, fd, libc::ENOENT))?;
        entry.token = token;
        entry.interest = interest;
        entry.mode = mode;
        entry.generation = generation;
        entry.armed = true;
        self.next_generation = generation;
        // Re-borrow: the borrow above ended to update the counter.
        self.get_mut(fd.as_raw_fd())
            .ok_or_else(|| registry_error(call, fd, libc::ENOENT))
    }

    /// Removes `fd`; `ENOENT` if the number is not registered.
    pub(crate) fn remove(&mut self, call: &'static str, fd: BorrowedFd<'_>) -> Result<Entry> {
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
        self.dirty = true;
        Ok(entry)
    }
}
