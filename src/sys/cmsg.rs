//! Control messages: the `cmsghdr` encoding for sends ([`Encoder`]), and
//! the walk of what a receive got ([`Control`]), which owns the
//! descriptors the kernel installed.
//!
//! Ownership of received descriptors: every receive asks for
//! `MSG_CMSG_CLOEXEC`, and the control bytes the kernel wrote are held by a
//! [`Control`], which only the receives of `sys/msg.rs` and `sys/mmsg.rs`
//! construct. The file descriptors in its `SCM_RIGHTS` messages are owned
//! by it: taking one ([`Rights`]) overwrites its slot with `-1`, and
//! dropping the `Control` closes every one not taken — a truncated
//! (`MSG_CTRUNC`) buffer included. The same holds for the pidfd of an
//! `SCM_PIDFD` message, the only other control message with which the
//! kernel installs a descriptor. No descriptor can be taken twice, and none
//! is leaked.

use std::mem::{self, MaybeUninit};
use std::ops::Range;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;

/// `SO_EE_ORIGIN_ZEROCOPY`, from `include/uapi/linux/errqueue.h` (libc
/// 0.2.191 lacks it).
pub(crate) const SO_EE_ORIGIN_ZEROCOPY: u8 = 5;
/// `SO_EE_ORIGIN_TXTIME`, from `include/uapi/linux/errqueue.h` (libc
/// 0.2.191 lacks it).
pub(crate) const SO_EE_ORIGIN_TXTIME: u8 = 6;

/// The alignment of control messages in a buffer: the kernel's
/// `CMSG_ALIGN` rounds to `sizeof(long)`. (glibc's `cmsghdr` has that
/// alignment through its `size_t` length; musl's declares a 32-bit length
/// and padding, so its alignment of 4 is not the kernel's 8 on 64-bit.)
pub(crate) const CMSG_ALIGN: usize = mem::size_of::<libc::c_long>();

const _: () = assert!(CMSG_ALIGN >= mem::align_of::<libc::cmsghdr>());

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
pub(super) fn aligned<T>(buf: &mut [T]) -> &mut [T] {
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
// (musl marks time_t deprecated to announce its move to 64 bits; the
// check holds either way.)
#[allow(deprecated)]
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
/// (see this module's docs). Only the receives of `sys/msg.rs` and
/// `sys/mmsg.rs` construct one, over what the kernel wrote.
pub(crate) struct Control<'c> {
    pub(super) buf: &'c mut [u8],
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
    pub(super) fn release(buf: &mut [u8]) {
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

#[cfg(test)]
mod tests {
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
