//! The fd-indexed registry every backend keeps: the single source of truth
//! for `AlreadyExists`/`NotFound`, tokens, oneshot arming, generations and
//! which file each registration was made for.
//!
//! It holds only what all four backends use. `armed` is one of those:
//! `poll` and `select` leave disarmed fds out of what they pass the kernel,
//! `uring` cancels their requests, and `epoll` remembers fired oneshots so
//! that replacing its instance keeps them disarmed.
//!
//! What one backend alone needs lives in that backend's file. Per
//! registration, that is the entry's `extra` (`Registry<X>`; `()` by
//! default): `select` keeps there whether the fd is stream-like. A
//! generic field rather than a side table keyed by fd, because `select`
//! reads it for each ready fd in `wait`, from the entry it already holds:
//! no second lookup, and `()` takes no room on the other backends.
//! Per-registry state (`poll`'s "the array needs a rebuild" flag) is a
//! field of the backend, set by its own `register`/`deregister`.
//!
//! # Closed and reused numbers
//!
//! Each entry records the identity (`fstat`'s device and inode) of the
//! file it was made for. A `register` of a number that is registered for
//! another file finds the registration *stale* — its file was closed
//! without `deregister`, and the number reused — and `insert` replaces it
//! (a fresh generation, so its earlier events are never handed out); the
//! backend first does what its kernel side needs (epoll: drop a closed
//! file a `dup` keeps watched). The same file, or an identity that could
//! not be read, is `AlreadyExists`, as a true double registration must be.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use super::{registry_error, Interest, Mode, Token};
use crate::error::{Error, Result, Subject};
use crate::sys::fd::FileId;

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
    /// The identity of the file registered (at `insert`, or moved to at
    /// `update`); `None` if `fstat` failed.
    pub(crate) file: Option<FileId>,
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

    /// Tests only: as if `n` registration changes had been made elsewhere
    /// (generations are global to the registry).
    #[cfg(all(test, uring))]
    pub(crate) fn skip_generations(&mut self, n: u64) {
        self.next_generation = self.next_generation.wrapping_add(n);
    }

    /// The generation the next `insert`/`update` will use.
    pub(crate) fn peek_generation(&self) -> u64 {
        self.next_generation.wrapping_add(1)
    }

    /// `ENOENT` unless the number `fd` is registered.
    pub(crate) fn require(&self, call: &'static str, fd: RawFd) -> Result<&Entry<X>> {
        self.get(fd)
            .ok_or_else(|| registry_error(call, fd, libc::ENOENT))
    }

    /// Whether number `fd` is registered for another file than `file`, the
    /// one at the number now: the registered file was closed and the number
    /// reused. An identity unknown on either side counts as the same file.
    pub(crate) fn is_stale(&self, fd: RawFd, file: Option<FileId>) -> bool {
        self.get(fd)
            .is_some_and(|e| matches!((e.file, file), (Some(was), Some(now)) if was != now))
    }

    /// Adds `fd`, whose file is `file`. A [stale](Registry::is_stale)
    /// registration of the number is replaced (the caller has made its
    /// kernel side let go first); `EEXIST` if the number is registered for
    /// this file.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert(
        &mut self,
        call: &'static str,
        fd: BorrowedFd<'_>,
        file: Option<FileId>,
        token: Token,
        interest: Interest,
        mode: Mode,
        extra: X,
    ) -> Result<&mut Entry<X>> {
        let raw = fd.as_raw_fd();
        if self.is_stale(raw, file) {
            self.remove(call, raw)?;
        }
        if self.get(raw).is_some() {
            return Err(registry_error(call, raw, libc::EEXIST));
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
            file,
        });
        Ok(entry)
    }

    /// Changes a registration (`extra` and the file, `file`, too), re-arms
    /// it, gives it a new generation;
    /// `ENOENT` if the number is not registered.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn update(
        &mut self,
        call: &'static str,
        fd: BorrowedFd<'_>,
        file: Option<FileId>,
        token: Token,
        interest: Interest,
        mode: Mode,
        extra: X,
    ) -> Result<&mut Entry<X>> {
        let generation = self.peek_generation();
        let raw = fd.as_raw_fd();
        let entry = self
            .get_mut(raw)
            .ok_or_else(|| registry_error(call, raw, libc::ENOENT))?;
        entry.token = token;
        entry.interest = interest;
        entry.mode = mode;
        entry.generation = generation;
        entry.armed = true;
        entry.extra = extra;
        entry.file = file;
        self.next_generation = generation;
        // Re-borrow: the borrow above ended to update the counter.
        self.get_mut(raw)
            .ok_or_else(|| registry_error(call, raw, libc::ENOENT))
    }

    /// Removes the registration of number `fd`, whatever file is there now;
    /// `ENOENT` if the number is not registered.
    pub(crate) fn remove(&mut self, call: &'static str, fd: RawFd) -> Result<Entry<X>> {
        let entry = index(fd)
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

    /// The registered number at `slot` of [`dense`](Registry::dense) whose
    /// token is `token`, scanning from `slot` down to 0: with
    /// [`remove`](Registry::remove) of each one found, then the next
    /// search from its slot, every registration with the token is visited
    /// once (a removal moves only an already scanned, higher slot down).
    pub(crate) fn find_token_below(&self, slot: usize, token: Token) -> Option<(usize, RawFd)> {
        let end = slot.min(self.dense.len());
        self.dense[..end]
            .iter()
            .enumerate()
            .rev()
            .find(|&(_, &fd)| self.get(fd).is_some_and(|e| e.token == token))
            .map(|(i, &fd)| (i, fd))
    }

    /// Removes every registration whose token is `token`; returns how many,
    /// `ENOENT` (naming the token) if there was none.
    pub(crate) fn remove_token(&mut self, call: &'static str, token: Token) -> Result<usize> {
        let mut removed = 0;
        let mut below = self.dense.len();
        while let Some((slot, fd)) = self.find_token_below(below, token) {
            self.remove(call, fd)?;
            removed += 1;
            below = slot;
        }
        match removed {
            0 => Err(token_not_found(call, token)),
            n => Ok(n),
        }
    }
}

/// `ENOENT` for a token no registration carries.
pub(crate) fn token_not_found(call: &'static str, token: Token) -> Error {
    Error::errno(call, Subject::Token(token.0), libc::ENOENT)
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    use super::*;

    /// Removal by token visits every registration once, although each
    /// removal moves the last registration into the freed slot.
    #[test]
    fn remove_token_takes_every_carrier_and_keeps_the_rest_consistent() {
        let socks: Vec<_> = (0..4).map(|_| UnixStream::pair().unwrap()).collect();
        let fds: Vec<_> = socks
            .iter()
            .flat_map(|(a, b)| [a.as_fd(), b.as_fd()])
            .collect();
        let tokens = [1, 2, 1, 1, 3, 1, 1, 4];
        let mut reg = Registry::<()>::default();
        for (fd, t) in fds.iter().zip(tokens) {
            let file = crate::sys::fd::identity(*fd).ok();
            reg.insert(
                "register",
                *fd,
                file,
                Token(t),
                Interest::READABLE,
                Mode::Level,
                (),
            )
            .unwrap();
        }
        assert_eq!(reg.remove_token("deregister_token", Token(1)).unwrap(), 5);
        let mut left: Vec<_> = reg
            .dense()
            .iter()
            .map(|&fd| reg.get(fd).unwrap().token.0)
            .collect();
        left.sort_unstable();
        assert_eq!(left, [2, 3, 4]);
        for (slot, &fd) in reg.dense().iter().enumerate() {
            assert_eq!(reg.get(fd).unwrap().slot, slot);
        }
        let err = reg.remove_token("deregister_token", Token(1)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert!(
            err.to_string().starts_with("deregister_token token 1: "),
            "{err}"
        );
    }

    /// A number registered for one file and found holding another is stale;
    /// the same file, or an unknown identity, is not.
    #[test]
    fn stale_means_another_known_file() {
        let (a, b) = UnixStream::pair().unwrap();
        let (ida, idb) = (
            crate::sys::fd::identity(a.as_fd()).ok(),
            crate::sys::fd::identity(b.as_fd()).ok(),
        );
        assert!(ida.is_some() && ida != idb);
        let mut reg = Registry::<()>::default();
        let raw = a.as_fd().as_raw_fd();
        reg.insert(
            "register",
            a.as_fd(),
            ida,
            Token(1),
            Interest::READABLE,
            Mode::Level,
            (),
        )
        .unwrap();
        assert!(!reg.is_stale(raw, ida));
        assert!(reg.is_stale(raw, idb));
        assert!(!reg.is_stale(raw, None));
        assert!(!reg.is_stale(b.as_fd().as_raw_fd(), idb));
    }
}
