//! Message I/O: `sendmsg`/`recvmsg` with control data, `sendmmsg`/`recvmmsg`,
//! receives into uninitialised memory, the `cmsghdr` encoding, and the
//! options that turn the control messages on.
//!
//! EINTR: as the rest of `sys` — every call here is restarted, since an
//! interrupted send or receive made no progress (`recvmmsg` and `sendmmsg`
//! report a partial batch rather than EINTR once one message has moved).
//!
//! Ownership of received descriptors: every receive asks for
//! `MSG_CMSG_CLOEXEC`, and the control bytes the kernel wrote are held by a
//! [`Control`], which only the receives in this file construct. The file
//! descriptors in its `SCM_RIGHTS` messages are owned by it: taking one
//! ([`Rights`]) overwrites its slot with `-1`, and dropping the `Control`
//! closes every one not taken — a truncated (`MSG_CTRUNC`) buffer included.
//! The same holds for the pidfd of an `SCM_PIDFD` message, the only other
//! control message with which the kernel installs a descriptor.
//! No descriptor can be taken twice, and none is leaked.

use std::io::{IoSlice, IoSliceMut};
use std::mem::{self, MaybeUninit};
use std::ops::Range;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;

use super::addr::RawAddr;
use super::{check, check_retry};
use crate::addr::SockAddr;
use crate::error::{Error, Result, Subject};

/// `SO_EE_ORIGIN_ZEROCOPY`, from `include/uapi/linux/errqueue.h` (libc
/// 0.2.191 lacks it).
pub(crate) const SO_EE_ORIGIN_ZEROCOPY: u8 = 5;
/// `SO_EE_ORIGIN_TXTIME`, from `include/uapi/linux/errqueue.h` (libc
/// 0.2.191 lacks it).
pub(crate) const SO_EE_ORIGIN_TXTIME: u8 = 6;

/// The alignment the kernel and the `CMSG_*` macros expect of a control
/// buffer: that of `struct cmsghdr` (its `size_t` length).
pub(crate) const CMSG_ALIGN: usize = mem::align_of::<libc::cmsghdr>();

/// `CMSG_SPACE(data_len)`: the bytes one control message with `data_len`
/// bytes of data takes in a buffer, padding included. `usize::MAX` for a
/// length no control message can have.
pub(crate) const fn space(data_len: usize) -> usize {
    if data_len > u32::MAX as usize / 2 {
        return usize::MAX;
    }
    // SAFETY: CMSG_SPACE is arithmetic on its argument, nothing more.
    unsafe { libc::CMSG_SPACE(data_len as libc::c_uint) as usize }
}

/// `CMSG_LEN(data_len)`: the `cmsg_len` of a message with `data_len` bytes
/// of data (header and data, without the trailing padding).
const fn cmsg_len(data_len: usize) -> usize {
    // SAFETY: CMSG_LEN is arithmetic on its argument, nothing more. Callers
    // pass lengths that `space` accepted.
    unsafe { libc::CMSG_LEN(data_len as libc::c_uint) as usize }
}

/// The part of `buf` that starts at an address aligned for `cmsghdr`
/// (empty when `buf` is too short to reach one).
fn aligned<T>(buf: &mut [T]) -> &mut [T] {
    let off = buf.as_ptr().align_offset(CMSG_ALIGN);
    let len = buf.len();
    &mut buf[off.min(len)..]
}

/// Plain kernel structs that any bit pattern of their size is a valid value
/// of, and that have no padding: safe to read from and write to control
/// data byte for byte.
///
/// # Safety
///
/// Implement only for such types.
pub(crate) unsafe trait Pod: Copy {}

// SAFETY: integers.
unsafe impl Pod for libc::c_int {}
// SAFETY: an integer.
unsafe impl Pod for u16 {}
// SAFETY: an integer.
unsafe impl Pod for u8 {}
// SAFETY: c_int + two in_addr (u32): 12 bytes, no padding.
unsafe impl Pod for libc::in_pktinfo {}
// SAFETY: in6_addr (16 bytes) + c_uint: 20 bytes, no padding.
unsafe impl Pod for libc::in6_pktinfo {}
// SAFETY: pid_t, uid_t, gid_t: three 32-bit integers.
unsafe impl Pod for libc::ucred {}
// SAFETY: two integers of the same width (time_t, c_long) on Linux.
unsafe impl Pod for libc::timespec {}
// SAFETY: u32, four u8, two u32: 16 bytes, no padding.
unsafe impl Pod for libc::sock_extended_err {}

// The "no padding" half of each claim above, checked where it is built.
const _: () = {
    assert!(mem::size_of::<libc::in_pktinfo>() == 12);
    assert!(mem::size_of::<libc::in6_pktinfo>() == 20);
    assert!(mem::size_of::<libc::ucred>() == 12);
    assert!(mem::size_of::<libc::sock_extended_err>() == 16);
    assert!(
        mem::size_of::<libc::timespec>()
            == mem::size_of::<libc::time_t>() + mem::size_of::<libc::c_long>()
    );
};

/// A `T` read from the start of `data`, or `None` when `data` is shorter.
pub(crate) fn read<T: Pod>(data: &[u8]) -> Option<T> {
    if data.len() < mem::size_of::<T>() {
        return None;
    }
    // SAFETY: data holds at least size_of::<T>() bytes; T is Pod, so any
    // bytes are a valid T; read_unaligned needs no alignment.
    Some(unsafe { ptr::read_unaligned(data.as_ptr().cast::<T>()) })
}

/// Writes control messages one after the other into a caller's buffer,
/// header, data and padding, as `CMSG_SPACE` lays them out.
pub(crate) struct Encoder<'b> {
    buf: &'b mut [MaybeUninit<u8>],
    used: usize,
}

impl<'b> Encoder<'b> {
    /// An encoder over the aligned part of `buf`.
    pub(crate) fn new(buf: &'b mut [MaybeUninit<u8>]) -> Encoder<'b> {
        Encoder {
            buf: aligned(buf),
            used: 0,
        }
    }

    /// Room for a message of `data_len` bytes: the region it will take
    /// (zeroed, header written), or `None` when it does not fit.
    fn start(&mut self, level: i32, ty: i32, data_len: usize) -> Option<*mut u8> {
        let space = space(data_len);
        let end = self.used.checked_add(space)?;
        if end > self.buf.len() {
            return None;
        }
        let region = &mut self.buf[self.used..end];
        region.fill(MaybeUninit::new(0));
        // SAFETY: cmsghdr is integers (and, on some libcs, private padding
        // fields); all-zero is a valid value.
        let mut hdr: libc::cmsghdr = unsafe { mem::zeroed() };
        hdr.cmsg_len = cmsg_len(data_len) as _;
        hdr.cmsg_level = level;
        hdr.cmsg_type = ty;
        let at = region.as_mut_ptr().cast::<libc::cmsghdr>();
        // SAFETY: `region` is writable for CMSG_SPACE(data_len) bytes, more
        // than a cmsghdr; it starts aligned for one (the buffer start is
        // aligned and each message takes a multiple of the alignment).
        unsafe { ptr::write(at, hdr) };
        self.used = end;
        // SAFETY: `at` points at the header just written; CMSG_DATA is the
        // address right after it (within the region, CMSG_LEN(0) bytes in).
        Some(unsafe { libc::CMSG_DATA(at) })
    }

    /// Appends a message whose data is `value`'s bytes. False when it does
    /// not fit (nothing was written then).
    pub(crate) fn push<T: Pod>(&mut self, level: i32, ty: i32, value: T) -> bool {
        match self.start(level, ty, mem::size_of::<T>()) {
            Some(data) => {
                // SAFETY: `start` reserved size_of::<T>() writable bytes at
                // `data`; write_unaligned needs no alignment.
                unsafe { ptr::write_unaligned(data.cast::<T>(), value) };
                true
            }
            None => false,
        }
    }

    /// Appends a message whose data is `data`.
    pub(crate) fn push_bytes(&mut self, level: i32, ty: i32, data: &[u8]) -> bool {
        match self.start(level, ty, data.len()) {
            Some(at) => {
                // SAFETY: `start` reserved data.len() writable bytes at `at`,
                // inside the encoder's buffer, which `data` cannot overlap
                // (it is borrowed mutably here).
                unsafe { ptr::copy_nonoverlapping(data.as_ptr(), at, data.len()) };
                true
            }
            None => false,
        }
    }

    /// Appends an `SCM_RIGHTS` message carrying `fds`.
    pub(crate) fn push_fds(&mut self, fds: &[BorrowedFd<'_>]) -> bool {
        let Some(bytes) = fds.len().checked_mul(mem::size_of::<RawFd>()) else {
            return false;
        };
        match self.start(libc::SOL_SOCKET, libc::SCM_RIGHTS, bytes) {
            Some(data) => {
                for (i, fd) in fds.iter().enumerate() {
                    // SAFETY: `start` reserved fds.len() ints at `data`;
                    // slot i is within them.
                    unsafe {
                        ptr::write_unaligned(data.cast::<RawFd>().add(i), fd.as_raw_fd());
                    }
                }
                true
            }
            None => false,
        }
    }

    /// The encoded messages: the aligned buffer's first bytes, all written.
    pub(crate) fn finish(self) -> &'b [u8] {
        // SAFETY: the first `used` bytes were all written by `start` (zeroes,
        // header) and the pushes; MaybeUninit<u8> and u8 share a layout.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), self.used) }
    }
}

/// One control message as found in a received buffer: where its data lies
/// and where the next message starts, offsets into that buffer.
struct Header {
    level: i32,
    ty: i32,
    data: Range<usize>,
    next: usize,
}

/// The first control message of `buf` (aligned, as the kernel wrote it).
/// `None` at the end, or for a header too short to be one. A message the
/// kernel cut short (`MSG_CTRUNC`) keeps the data that arrived.
///
/// The next message's offset is `CMSG_ALIGN(cmsg_len)`, computed here
/// rather than by libc's `CMSG_NXTHDR`: the kernel lays messages out that
/// way (`put_cmsg` advances by `CMSG_SPACE`, or by what is left), and the
/// macro's bounds check has changed between libc releases (up to 0.2.179
/// it refused a last message that ends unaligned, so such a message, e.g.
/// an `SCM_RIGHTS` after `SCM_CREDENTIALS` in a 52-byte buffer, was never
/// walked and its descriptor never closed).
fn first_header(buf: &[u8]) -> Option<Header> {
    if buf.len() < mem::size_of::<libc::cmsghdr>() || buf.as_ptr().align_offset(CMSG_ALIGN) != 0 {
        return None;
    }
    // SAFETY: buf holds a whole cmsghdr at an address aligned for one
    // (both checked); cmsghdr is plain integers, valid for any bytes.
    let hdr = unsafe { ptr::read(buf.as_ptr().cast::<libc::cmsghdr>()) };
    let len = hdr.cmsg_len as usize;
    let start = cmsg_len(0);
    if len < start {
        return None;
    }
    // Past the buffer: cut short (MSG_CTRUNC), or garbage; nothing follows.
    // Otherwise the next header starts at the aligned end of this one (no
    // overflow: len <= buf.len()).
    let end = len.min(buf.len());
    let next = if len > buf.len() {
        buf.len()
    } else {
        len.next_multiple_of(CMSG_ALIGN).min(buf.len())
    };
    Some(Header {
        level: hdr.cmsg_level,
        ty: hdr.cmsg_type,
        data: start.min(buf.len())..end,
        next,
    })
}

/// `SCM_PIDFD` (`include/linux/socket.h`, Linux 6.5+; libc 0.2.191 lacks
/// it): a pidfd of the sender, which the kernel installs in the receiving
/// process (with `SO_PASSPIDFD`).
pub(crate) const SCM_PIDFD: i32 = 4;

/// `SO_PASSPIDFD` (`include/uapi/asm-generic/socket.h`, Linux 6.5+; libc
/// 0.2.191 lacks it), on the architectures that number socket options as
/// asm-generic does (alpha, mips, parisc and sparc have their own).
#[cfg(asm_generic_sockopts)]
pub(crate) const SO_PASSPIDFD: i32 = 76;

/// Whether a `SOL_SOCKET` message of type `ty` carries descriptors the
/// kernel installed in this process: `SCM_RIGHTS` and `SCM_PIDFD`, the
/// only two in Linux (`scm_detach_fds` and `scm_pidfd_recv`).
fn carries_fds(level: i32, ty: i32) -> bool {
    level == libc::SOL_SOCKET && (ty == libc::SCM_RIGHTS || ty == SCM_PIDFD)
}

/// A control message of a [`Control`].
pub(crate) enum RawCmsg<'a> {
    /// `SOL_SOCKET`/`SCM_RIGHTS`: descriptors, owned by the `Control`
    /// until taken.
    Rights(Rights<'a>),
    /// `SOL_SOCKET`/`SCM_PIDFD`: one pidfd, owned by the `Control` until
    /// taken.
    Pidfd(Rights<'a>),
    /// Any other message: its level, type and data.
    Other { level: i32, ty: i32, data: &'a [u8] },
}

/// The descriptors of one `SCM_RIGHTS` (or `SCM_PIDFD`) message, taken
/// one at a time.
pub(crate) struct Rights<'a> {
    slots: &'a mut [u8],
}

impl Rights<'_> {
    /// How many descriptors are left to take.
    pub(crate) fn remaining(&self) -> usize {
        self.slots
            .chunks_exact(mem::size_of::<RawFd>())
            .filter(|s| read::<RawFd>(s).is_some_and(|fd| fd >= 0))
            .count()
    }

    /// The raw numbers left to take (for Debug).
    pub(crate) fn raw(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.slots
            .chunks_exact(mem::size_of::<RawFd>())
            .filter_map(read::<RawFd>)
            .filter(|&fd| fd >= 0)
    }
}

impl Iterator for Rights<'_> {
    type Item = OwnedFd;

    fn next(&mut self) -> Option<OwnedFd> {
        let size = mem::size_of::<RawFd>();
        while self.slots.len() >= size {
            let (slot, rest) = mem::take(&mut self.slots).split_at_mut(size);
            self.slots = rest;
            let fd = read::<RawFd>(slot)?;
            if fd < 0 {
                continue;
            }
            slot.copy_from_slice(&(-1 as RawFd).to_ne_bytes());
            // SAFETY: a Rights only exists over the SCM_RIGHTS or SCM_PIDFD
            // data of a Control, which only the receives below make from what the
            // kernel wrote: each slot is a descriptor the kernel installed in
            // this process for us, and the -1 written just now means no
            // other OwnedFd (nor the Control's Drop) will ever own it.
            return Some(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        None
    }
}

/// Iterates the control messages of a [`Control`], each over its own part
/// of the buffer.
pub(crate) struct CmsgIter<'a> {
    rest: &'a mut [u8],
}

impl<'a> Iterator for CmsgIter<'a> {
    type Item = RawCmsg<'a>;

    fn next(&mut self) -> Option<RawCmsg<'a>> {
        let hdr = first_header(self.rest)?;
        let rest = mem::take(&mut self.rest);
        let next = hdr.next.max(hdr.data.end).min(rest.len());
        let (this, tail) = rest.split_at_mut(next);
        // A following header must start aligned; CMSG_NXTHDR's offsets are.
        self.rest = tail;
        let data = &mut this[hdr.data];
        Some(if !carries_fds(hdr.level, hdr.ty) {
            RawCmsg::Other {
                level: hdr.level,
                ty: hdr.ty,
                data,
            }
        } else if hdr.ty == libc::SCM_RIGHTS {
            RawCmsg::Rights(Rights { slots: data })
        } else {
            RawCmsg::Pidfd(Rights { slots: data })
        })
    }
}

/// The control bytes one receive wrote, owning the descriptors in them
/// (see this module's docs). Only this file constructs one.
pub(crate) struct Control<'c> {
    buf: &'c mut [u8],
}

impl<'c> Control<'c> {
    /// The control messages, in the kernel's order.
    pub(crate) fn iter(&mut self) -> CmsgIter<'_> {
        CmsgIter {
            rest: &mut *self.buf,
        }
    }

    /// How many bytes of control data arrived.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Closes every descriptor not taken yet.
    fn release(buf: &mut [u8]) {
        for cmsg in (CmsgIter { rest: buf }) {
            if let RawCmsg::Rights(fds) | RawCmsg::Pidfd(fds) = cmsg {
                fds.for_each(drop);
            }
        }
    }
}

/// Walks the control messages of bytes that did not come from the kernel
/// (tests, fuzzing), as the receives do, without owning anything: `f` gets
/// each message's level, type and data, descriptors included as bytes.
/// `buf` must start aligned for `cmsghdr` (else nothing is walked).
#[cfg(any(test, fuzzing))]
pub(crate) fn walk_untrusted(buf: &[u8], mut f: impl FnMut(i32, i32, &[u8])) {
    let mut rest = buf;
    while let Some(h) = first_header(rest) {
        f(h.level, h.ty, &rest[h.data.clone()]);
        rest = &rest[h.next.max(h.data.end).min(rest.len())..];
    }
}

/// A `Control` over encoded bytes, for tests of the decoding above `sys`.
/// Refuses (panics on) bytes holding `SCM_RIGHTS` or `SCM_PIDFD`: their
/// numbers would be owned and closed, and they did not come from the
/// kernel.
#[cfg(test)]
pub(crate) fn control_for_test(buf: &mut [u8]) -> Control<'_> {
    walk_untrusted(buf, |level, ty, _| {
        assert!(
            !carries_fds(level, ty),
            "no SCM_RIGHTS or SCM_PIDFD in test bytes"
        );
    });
    Control { buf }
}

impl Drop for Control<'_> {
    fn drop(&mut self) {
        Control::release(self.buf);
    }
}

fn fd_subject(fd: BorrowedFd<'_>) -> impl FnOnce() -> Subject {
    let raw = fd.as_raw_fd();
    move || Subject::Fd(raw)
}

/// `msg_controllen` as a `usize` (it is a `size_t` on glibc, a
/// `socklen_t` on musl).
#[allow(clippy::unnecessary_cast)]
fn controllen(msg: &libc::msghdr) -> usize {
    msg.msg_controllen as usize
}

fn len_of(n: isize) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// `sendmsg(2)` of `bufs` to `addr` (if given) with the encoded `control`
/// (from an [`Encoder`]), with `MSG_NOSIGNAL`; restarted on EINTR.
pub(crate) fn send_msg(
    fd: BorrowedFd<'_>,
    bufs: &[IoSlice<'_>],
    addr: Option<&SockAddr>,
    control: &[u8],
    flags: i32,
) -> Result<usize> {
    let raw = addr.map(RawAddr::from_addr);
    // SAFETY: msghdr is plain old data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    if let Some(raw) = &raw {
        msg.msg_name = raw.as_ptr() as *mut libc::c_void;
        msg.msg_namelen = raw.len;
    }
    // IoSlice is ABI-compatible with iovec on Unix (guaranteed by std).
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len() as _;
    if !control.is_empty() {
        msg.msg_control = control.as_ptr() as *mut libc::c_void;
        msg.msg_controllen = control.len() as _;
    }
    check_retry(
        // SAFETY: msg points at live buffers (bufs, raw, control) for the
        // whole call; sendmsg only reads through them.
        || unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, flags | libc::MSG_NOSIGNAL) },
        "sendmsg",
        || match addr {
            Some(addr) => Subject::Addr(addr.clone()),
            None => Subject::Fd(fd.as_raw_fd()),
        },
    )
    .map(len_of)
}

/// What a `recvmsg(2)` returned; `control` owns the descriptors received.
pub(crate) struct Received<'c> {
    pub(crate) len: usize,
    pub(crate) addr: SockAddr,
    /// `msg_flags`, without the `MSG_CMSG_CLOEXEC` the kernel echoes back.
    pub(crate) flags: i32,
    pub(crate) control: Control<'c>,
}

/// `recvmsg(2)` into `bufs` with room for control data in (the aligned
/// part of) `control`, always with `MSG_CMSG_CLOEXEC`; restarted on EINTR.
pub(crate) fn recv_msg<'c>(
    fd: BorrowedFd<'_>,
    bufs: &mut [IoSliceMut<'_>],
    control: &'c mut [u8],
    flags: i32,
) -> Result<Received<'c>> {
    // IoSliceMut is ABI-compatible with iovec on Unix.
    let iov = bufs.as_mut_ptr().cast::<libc::iovec>();
    // SAFETY: iov/len describe bufs, writable for the call.
    unsafe { recv_msg_raw(fd, iov, bufs.len(), control, flags) }
}

/// `recvmsg(2)` into one uninitialised buffer.
pub(crate) fn recv_msg_uninit<'c>(
    fd: BorrowedFd<'_>,
    buf: &mut [MaybeUninit<u8>],
    control: &'c mut [u8],
    flags: i32,
) -> Result<Received<'c>> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: iov describes buf, writable for the call (the kernel writes
    // only initialised bytes into it).
    unsafe { recv_msg_raw(fd, &mut iov, 1, control, flags) }
}

/// # Safety
/// `iov` must point at `iovlen` iovecs describing buffers writable for the
/// whole call.
unsafe fn recv_msg_raw<'c>(
    fd: BorrowedFd<'_>,
    iov: *mut libc::iovec,
    iovlen: usize,
    control: &'c mut [u8],
    flags: i32,
) -> Result<Received<'c>> {
    let control = aligned(control);
    let mut raw = RawAddr::empty();
    // SAFETY: msghdr is plain old data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    let n = check_retry(
        || {
            raw.len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            msg.msg_name = raw.as_mut_ptr().cast();
            msg.msg_namelen = raw.len;
            msg.msg_iov = iov;
            msg.msg_iovlen = iovlen as _;
            msg.msg_control = if control.is_empty() {
                ptr::null_mut()
            } else {
                control.as_mut_ptr().cast()
            };
            msg.msg_controllen = control.len() as _;
            msg.msg_flags = 0;
            // SAFETY: msg points at live, writable buffers for the call: the
            // caller's iovecs, raw, and control.
            unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags | libc::MSG_CMSG_CLOEXEC) }
        },
        "recvmsg",
        fd_subject(fd),
    )?;
    raw.len = msg.msg_namelen;
    let used = controllen(&msg).min(control.len());
    Ok(Received {
        len: len_of(n),
        addr: raw.to_addr(),
        flags: msg.msg_flags & !libc::MSG_CMSG_CLOEXEC,
        control: Control {
            buf: &mut control[..used],
        },
    })
}

/// `getsockopt(SOL_SOCKET, SO_PEERCRED)`.
pub(crate) fn peer_credentials(fd: BorrowedFd<'_>) -> Result<libc::ucred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = mem::size_of::<libc::ucred>() as libc::socklen_t;
    check(
        // SAFETY: `cred` is a writable ucred and `len` its size.
        unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&mut cred as *mut libc::ucred).cast(),
                &mut len,
            )
        },
        "getsockopt SO_PEERCRED",
        fd_subject(fd),
    )?;
    Ok(cred)
}

/// This process's pid, effective uid and gid: what `SCM_CREDENTIALS` may
/// send without privilege.
pub(crate) fn current_credentials() -> libc::ucred {
    // SAFETY: getpid/geteuid/getegid take nothing and cannot fail.
    unsafe {
        libc::ucred {
            pid: libc::getpid(),
            uid: libc::geteuid(),
            gid: libc::getegid(),
        }
    }
}

/// An `InvalidInput` error for the batch calls.
fn invalid(call: &'static str, fd: BorrowedFd<'_>, reason: &'static str) -> Error {
    Error::InvalidInput {
        call,
        subject: Subject::Fd(fd.as_raw_fd()),
        reason,
    }
}

/// Storage for `sendmmsg`/`recvmmsg` batches, allocated once: one
/// `mmsghdr`, `iovec`, address and control area per message. The pointers
/// in `hdrs` are set afresh by every call and used only during it.
pub(crate) struct Batch {
    hdrs: Vec<libc::mmsghdr>,
    iovs: Vec<libc::iovec>,
    addrs: Vec<RawAddr>,
    /// Control areas, `per` bytes each, from `base` on (aligned).
    control: Vec<u8>,
    base: usize,
    per: usize,
    /// How many messages the last receive filled (their control areas own
    /// descriptors until taken; see `Control`).
    filled: usize,
    /// How many messages the last send sent (0 after a receive).
    sent: usize,
}

// SAFETY: the raw pointers in `hdrs`/`iovs` are only dereferenced by the
// kernel during a call that borrows the Batch mutably; between calls they
// are stale values that nothing reads. The rest is owned data.
unsafe impl Send for Batch {}
// SAFETY: no method taking &Batch reads through the pointers.
unsafe impl Sync for Batch {}

impl Batch {
    /// Room for `messages` messages with `control` bytes of control data
    /// each (rounded up to the alignment). `None` when the sizes overflow.
    pub(crate) fn new(messages: usize, control: usize) -> Option<Batch> {
        let per = control.div_ceil(CMSG_ALIGN).checked_mul(CMSG_ALIGN)?;
        let total = per.checked_mul(messages)?;
        // SAFETY: mmsghdr is plain old data; all-zero is valid.
        let hdr: libc::mmsghdr = unsafe { mem::zeroed() };
        let iov = libc::iovec {
            iov_base: ptr::null_mut(),
            iov_len: 0,
        };
        let mut storage = vec![0u8; total.checked_add(CMSG_ALIGN)?];
        let base = storage.as_ptr().align_offset(CMSG_ALIGN).min(CMSG_ALIGN);
        storage.truncate(base + total);
        Some(Batch {
            hdrs: vec![hdr; messages],
            iovs: vec![iov; messages],
            addrs: (0..messages).map(|_| RawAddr::empty()).collect(),
            control: storage,
            base,
            per,
            filled: 0,
            sent: 0,
        })
    }

    pub(crate) fn capacity(&self) -> usize {
        self.hdrs.len()
    }

    pub(crate) fn control_per_message(&self) -> usize {
        self.per
    }

    /// How many messages the last receive filled.
    pub(crate) fn filled(&self) -> usize {
        self.filled
    }

    fn area(&mut self, i: usize) -> &mut [u8] {
        let start = self.base + i * self.per;
        &mut self.control[start..start + self.per]
    }

    /// The first `n` messages' storage, each part borrowed once from one
    /// iterator per field, so the pointers stored into the headers stay
    /// valid together until the call (no later re-borrow of the vectors).
    fn slots(&mut self, n: usize) -> impl Iterator<Item = Slot<'_>> {
        let per = self.per;
        let mut rest = &mut self.control[self.base..];
        self.hdrs[..n]
            .iter_mut()
            .zip(self.iovs.iter_mut())
            .zip(self.addrs.iter_mut())
            .map(move |((hdr, iov), addr)| {
                let take = per.min(rest.len());
                let (control, tail) = mem::take(&mut rest).split_at_mut(take);
                rest = tail;
                Slot {
                    hdr,
                    iov,
                    addr,
                    control,
                }
            })
    }

    /// Closes the descriptors the last receive left untaken.
    fn release(&mut self) {
        for i in 0..self.filled {
            let used = controllen(&self.hdrs[i].msg_hdr).min(self.per);
            Control::release(&mut self.area(i)[..used]);
        }
        self.filled = 0;
    }

    /// Message `i` of the last receive: length, sender, flags and its
    /// control data (owning its descriptors).
    pub(crate) fn received(&mut self, i: usize) -> Option<Received<'_>> {
        if i >= self.filled {
            return None;
        }
        let hdr = &self.hdrs[i];
        let len = hdr.msg_len as usize;
        let flags = hdr.msg_hdr.msg_flags & !libc::MSG_CMSG_CLOEXEC;
        let used = controllen(&hdr.msg_hdr).min(self.per);
        let addr = self.addrs[i].to_addr();
        Some(Received {
            len,
            addr,
            flags,
            control: Control {
                buf: &mut self.area(i)[..used],
            },
        })
    }

    /// Every message of the last receive, each with its own control data.
    pub(crate) fn received_all(&mut self) -> impl Iterator<Item = Received<'_>> {
        let filled = self.filled;
        let per = self.per;
        let mut rest = &mut self.control[self.base..];
        self.hdrs[..filled]
            .iter()
            .zip(&self.addrs)
            .map(move |(hdr, addr)| {
                let take = per.min(rest.len());
                let (area, tail) = mem::take(&mut rest).split_at_mut(take);
                rest = tail;
                let used = controllen(&hdr.msg_hdr).min(area.len());
                Received {
                    len: hdr.msg_len as usize,
                    addr: addr.to_addr(),
                    flags: hdr.msg_hdr.msg_flags & !libc::MSG_CMSG_CLOEXEC,
                    control: Control {
                        buf: &mut area[..used],
                    },
                }
            })
    }
}

/// One message's storage in a [`Batch`].
struct Slot<'a> {
    hdr: &'a mut libc::mmsghdr,
    iov: &'a mut libc::iovec,
    addr: &'a mut RawAddr,
    control: &'a mut [u8],
}

impl Slot<'_> {
    /// Points the header at this slot's iovec, address (if `named`) and
    /// the first `controllen` bytes of its control area.
    fn point(&mut self, named: bool, controllen: usize) {
        let hdr = &mut self.hdr.msg_hdr;
        self.hdr.msg_len = 0;
        hdr.msg_name = if named {
            self.addr.as_mut_ptr().cast()
        } else {
            ptr::null_mut()
        };
        hdr.msg_namelen = if named { self.addr.len } else { 0 };
        hdr.msg_iov = &mut *self.iov;
        hdr.msg_iovlen = 1;
        hdr.msg_control = if controllen == 0 {
            ptr::null_mut()
        } else {
            self.control.as_mut_ptr().cast()
        };
        hdr.msg_controllen = controllen.min(self.control.len()) as _;
        hdr.msg_flags = 0;
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.release();
    }
}

/// `recvmmsg(2)`: up to `min(bufs.len(), capacity)` datagrams, one into
/// each buffer, always with `MSG_CMSG_CLOEXEC`; restarted on EINTR (which
/// the kernel reports only when nothing was received). Closes what the
/// previous receive left untaken first.
pub(crate) fn recv_mmsg<B: AsMut<[u8]>>(
    fd: BorrowedFd<'_>,
    batch: &mut Batch,
    bufs: &mut [B],
    flags: i32,
) -> Result<usize> {
    batch.release();
    batch.sent = 0;
    let n = bufs.len().min(batch.capacity());
    if n == 0 {
        return Err(invalid(
            "recvmmsg",
            fd,
            "a batch of no messages (no buffers, or a batch of capacity 0)",
        ));
    }
    let count = check_retry(
        || {
            for (mut slot, buf) in batch.slots(n).zip(bufs[..n].iter_mut()) {
                let buf = buf.as_mut();
                *slot.iov = libc::iovec {
                    iov_base: buf.as_mut_ptr().cast(),
                    iov_len: buf.len(),
                };
                slot.addr.len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
                let room = slot.control.len();
                slot.point(true, room);
            }
            // SAFETY: the first n headers point at live, writable storage —
            // the caller's buffers (borrowed for this call), the batch's
            // addresses, iovecs and control areas — for the whole call.
            unsafe {
                libc::recvmmsg(
                    fd.as_raw_fd(),
                    batch.hdrs.as_mut_ptr(),
                    n as libc::c_uint,
                    flags | libc::MSG_CMSG_CLOEXEC,
                    ptr::null_mut(),
                )
            }
        },
        "recvmmsg",
        fd_subject(fd),
    )?;
    let count = usize::try_from(count).unwrap_or(0).min(n);
    for i in 0..count {
        batch.addrs[i].len = batch.hdrs[i].msg_hdr.msg_namelen;
    }
    batch.filled = count;
    Ok(count)
}

/// One message to send in a batch: its bytes and destination. Its control
/// messages are written by the caller's encoder callback.
pub(crate) struct Outgoing<'d> {
    pub(crate) data: Data<'d>,
    pub(crate) addr: Option<&'d SockAddr>,
}

/// The bytes of one outgoing message: one slice, or several sent as one
/// datagram.
#[derive(Clone, Copy)]
pub(crate) enum Data<'d> {
    One(&'d [u8]),
    Vectored(&'d [IoSlice<'d>]),
}

/// `sendmmsg(2)` of `n` messages (at most the batch's capacity), each
/// described by `item(i, encoder)`, which also writes message `i`'s control
/// data into its area; with `MSG_NOSIGNAL`, restarted on EINTR. Returns how
/// many were sent (fewer than `n` on a partial batch).
pub(crate) fn send_mmsg<'d>(
    fd: BorrowedFd<'_>,
    batch: &mut Batch,
    n: usize,
    mut item: impl FnMut(usize, &mut Encoder<'_>) -> Result<Outgoing<'d>>,
    flags: i32,
) -> Result<usize> {
    batch.release();
    batch.sent = 0;
    let n = n.min(batch.capacity());
    if n == 0 {
        return Err(invalid(
            "sendmmsg",
            fd,
            "a batch of no messages (none given, or a batch of capacity 0)",
        ));
    }
    for (i, mut slot) in batch.slots(n).enumerate() {
        let mut enc = Encoder::new(super::socket::as_uninit(&mut *slot.control));
        let out = item(i, &mut enc)?;
        let used = enc.finish().len();
        if let Some(addr) = out.addr {
            *slot.addr = RawAddr::from_addr(addr);
        }
        // The iovec is written before `point` stores a pointer to it, so
        // that pointer is the last one derived from the slot's borrow.
        if let Data::One(data) = out.data {
            *slot.iov = libc::iovec {
                iov_base: data.as_ptr() as *mut libc::c_void,
                iov_len: data.len(),
            };
        }
        // The encoder wrote from the area's start: it is aligned (the
        // storage base is, and each area is a multiple of the alignment).
        slot.point(out.addr.is_some(), used);
        if let Data::Vectored(bufs) = out.data {
            // IoSlice is ABI-compatible with iovec on Unix (guaranteed by
            // std); the caller's slices are read in place.
            slot.hdr.msg_hdr.msg_iov = bufs.as_ptr() as *mut libc::iovec;
            slot.hdr.msg_hdr.msg_iovlen = bufs.len() as _;
        }
    }
    let count = check_retry(
        // SAFETY: the first n headers point at live storage for the whole
        // call: the data slices and IoSlice arrays (borrowed for 'd, which
        // outlives this call),
        // the batch's addresses, iovecs and encoded control areas; sendmmsg
        // only reads through them.
        || unsafe {
            libc::sendmmsg(
                fd.as_raw_fd(),
                batch.hdrs.as_mut_ptr(),
                n as libc::c_uint,
                flags | libc::MSG_NOSIGNAL,
            )
        },
        "sendmmsg",
        fd_subject(fd),
    )?;
    let count = usize::try_from(count).unwrap_or(0).min(n);
    batch.sent = count;
    Ok(count)
}

/// How many bytes of message `i` of the last `sendmmsg` were sent: `None`
/// for a message it did not send (past its count, or after a receive).
pub(crate) fn sent_len(batch: &Batch, i: usize) -> Option<usize> {
    batch.hdrs[..batch.sent].get(i).map(|h| h.msg_len as usize)
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn encoded_messages_parse_back_through_the_cmsg_macros() {
        let mut buf = [MaybeUninit::new(0xffu8); 128];
        let mut enc = Encoder::new(&mut buf);
        assert!(enc.push(libc::IPPROTO_IP, libc::IP_TOS, 0x2e as libc::c_int));
        assert!(enc.push(libc::SOL_UDP, libc::UDP_SEGMENT, 1200u16));
        let bytes = enc.finish().to_vec();
        assert_eq!(bytes.len(), space(4) + space(2));
        let mut copy = vec![0u64; bytes.len().div_ceil(8)];
        let view = {
            let b: &mut [u8] = as_bytes_mut(&mut copy);
            b[..bytes.len()].copy_from_slice(&bytes);
            &mut b[..bytes.len()]
        };
        let mut control = Control { buf: view };
        let got: Vec<(i32, i32, Vec<u8>)> = control
            .iter()
            .map(|c| match c {
                RawCmsg::Other { level, ty, data } => (level, ty, data.to_vec()),
                RawCmsg::Rights(_) | RawCmsg::Pidfd(_) => panic!("no descriptors were sent"),
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    libc::IPPROTO_IP,
                    libc::IP_TOS,
                    0x2e_i32.to_ne_bytes().to_vec()
                ),
                (
                    libc::SOL_UDP,
                    libc::UDP_SEGMENT,
                    1200u16.to_ne_bytes().to_vec()
                ),
            ]
        );
    }

    fn as_bytes_mut(words: &mut [u64]) -> &mut [u8] {
        // SAFETY: u64s are initialised bytes; u8 has alignment 1.
        unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast(), words.len() * 8) }
    }

    #[test]
    fn a_message_that_does_not_fit_is_refused_and_nothing_written() {
        let mut buf = [MaybeUninit::new(0u8); 64];
        let mut enc = Encoder::new(&mut buf);
        let fds: Vec<BorrowedFd<'_>> = Vec::new();
        assert!(enc.push_fds(&fds));
        let mut small = [MaybeUninit::new(0u8); 8];
        let mut enc = Encoder::new(&mut small);
        assert!(!enc.push(libc::IPPROTO_IP, libc::IP_TOS, 1 as libc::c_int));
        assert!(enc.finish().is_empty());
    }

    /// A descriptor number no process can have open: `sendmsg` refuses the
    /// rights with EBADF, a typed OS error. (Safe code cannot build a
    /// BorrowedFd of a closed descriptor; this is the sys-level proof.)
    #[test]
    fn a_closed_fd_in_the_rights_is_ebadf() {
        let (a, _b) = super::super::socket::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM, 0).unwrap();
        // SAFETY: only its number is used (sent, refused by the kernel);
        // nothing is read, written or closed through it.
        let closed = unsafe { BorrowedFd::borrow_raw(0x3fff_fff0) };
        let mut buf = [MaybeUninit::new(0u8); 64];
        let mut enc = Encoder::new(&mut buf);
        assert!(enc.push_fds(&[closed]));
        let control = enc.finish();
        let err = send_msg(a.as_fd(), &[IoSlice::new(b"x")], None, control, 0).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err}");
        assert_eq!(err.call(), "sendmsg");
    }

    #[test]
    fn garbage_headers_end_the_walk_without_reading_out_of_bounds() {
        let mut words = [u64::MAX; 8];
        let bytes = as_bytes_mut(&mut words);
        // cmsg_len far past the buffer: data clamped, walk ends.
        let mut control = Control { buf: bytes };
        let n = control.iter().count();
        assert!(n <= 1);
        // A zero length is no header at all.
        let mut zeros = [0u64; 4];
        let mut control = Control {
            buf: as_bytes_mut(&mut zeros),
        };
        assert_eq!(control.iter().count(), 0);
    }
}
