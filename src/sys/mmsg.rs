//! `sendmmsg`/`recvmmsg`: batches of datagrams over storage allocated
//! once ([`Batch`]), each with its own address and control area.
//!
//! EINTR: restarted, as the rest of `sys` (`recvmmsg` and `sendmmsg` report
//! a partial batch rather than EINTR once one message has moved).

use std::io::IoSlice;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr;

use super::addr::RawAddr;
use super::check_retry;
use super::cmsg::{Control, Encoder, CMSG_ALIGN};
use super::msg::{controllen, fd_subject, Received};
use crate::addr::SockAddr;
use crate::error::{Error, Result, Subject};

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
                    // c_int on glibc, c_uint on musl.
                    (flags | libc::MSG_CMSG_CLOEXEC) as _,
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
                // c_int on glibc, c_uint on musl.
                (flags | libc::MSG_NOSIGNAL) as _,
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
