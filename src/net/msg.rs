//! `sendmsg`/`recvmsg` with control messages, the error queue, and
//! [`RecvMsg`], what a receive returns (with the how-to: sizing buffers,
//! walking messages, who owns received descriptors). The control messages
//! themselves are in `net/cmsg.rs`.

use std::fmt;
use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::ops::BitOr;
use std::os::fd::AsFd;

use crate::addr::SockAddr;
use crate::error::Result;
use crate::net::cmsg::{bad_control, encode, Cmsgs};
#[cfg(doc)]
use std::io;
#[cfg(doc)]
use std::os::fd::OwnedFd;

use crate::net::cmsg::ControlMessage;
#[cfg(doc)]
use crate::net::cmsg::{cmsg_space, Cmsg, CmsgBuffer, CmsgKind, ScmRights};
use crate::net::socket::Socket;
use crate::sys;

/// The most control data one [`Socket::send_msg`] can carry (the sum of
/// [`ControlMessage::space`]): room for 253 descriptors (Linux's
/// `SCM_MAX_FD`) with credentials, packet info and more beside them. It is
/// encoded on the stack, without allocating.
///
/// 1024 on 64-bit musl, whose `sendmsg` copies the control data into a
/// buffer of that size (to mend its `cmsghdr` padding) and refuses more
/// with `ENOMEM`: room for 250 descriptors there.
#[cfg(not(all(target_env = "musl", target_pointer_width = "64")))]
pub const MAX_SEND_CONTROL: usize = 2048;
/// The most control data one [`Socket::send_msg`] can carry (the sum of
/// [`ControlMessage::space`]).
///
/// 1024 on 64-bit musl, whose `sendmsg` copies the control data into a
/// buffer of that size (to mend its `cmsghdr` padding) and refuses more
/// with `ENOMEM` (2048 on glibc: room for Linux's 253 descriptors,
/// `SCM_MAX_FD`, and more). It is encoded on the stack, without allocating.
#[cfg(all(target_env = "musl", target_pointer_width = "64"))]
pub const MAX_SEND_CONTROL: usize = 1024;

/// The `msg_flags` a receive reported. `Debug` prints the constant names,
/// e.g. `MSG_TRUNC | MSG_CTRUNC`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RecvFlags(pub i32);

impl RecvFlags {
    /// `MSG_TRUNC`: the datagram was longer than the buffers; its tail was
    /// discarded.
    pub const TRUNC: RecvFlags = RecvFlags(libc::MSG_TRUNC);
    /// `MSG_CTRUNC`: the control data did not fit in the control buffer;
    /// some was discarded (descriptors that did not fit were never
    /// installed).
    pub const CTRUNC: RecvFlags = RecvFlags(libc::MSG_CTRUNC);
    /// `MSG_OOB`: urgent data was received.
    pub const OOB: RecvFlags = RecvFlags(libc::MSG_OOB);
    /// `MSG_ERRQUEUE`: the message came from the socket's error queue.
    pub const ERRQUEUE: RecvFlags = RecvFlags(libc::MSG_ERRQUEUE);
    /// `MSG_EOR`: the end of a record (`SOCK_SEQPACKET`).
    pub const EOR: RecvFlags = RecvFlags(libc::MSG_EOR);

    const NAMES: [(RecvFlags, &'static str); 5] = [
        (RecvFlags::TRUNC, "MSG_TRUNC"),
        (RecvFlags::CTRUNC, "MSG_CTRUNC"),
        (RecvFlags::OOB, "MSG_OOB"),
        (RecvFlags::ERRQUEUE, "MSG_ERRQUEUE"),
        (RecvFlags::EOR, "MSG_EOR"),
    ];

    /// True when every bit of `other` is set.
    pub const fn contains(self, other: RecvFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// [`TRUNC`](RecvFlags::TRUNC) is set.
    pub const fn is_truncated(self) -> bool {
        self.contains(RecvFlags::TRUNC)
    }

    /// [`CTRUNC`](RecvFlags::CTRUNC) is set.
    pub const fn is_control_truncated(self) -> bool {
        self.contains(RecvFlags::CTRUNC)
    }
}

impl BitOr for RecvFlags {
    type Output = RecvFlags;
    fn bitor(self, rhs: RecvFlags) -> RecvFlags {
        RecvFlags(self.0 | rhs.0)
    }
}

impl fmt::Debug for RecvFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        let mut first = true;
        for (flag, name) in RecvFlags::NAMES {
            if flag.0 != 0 && rest & flag.0 == flag.0 {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                rest &= !flag.0;
                first = false;
            }
        }
        if rest != 0 {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{rest:#x}")?;
        } else if first {
            f.write_str("(empty)")?;
        }
        Ok(())
    }
}

/// What [`Socket::recv_msg`] received: the length, the sender, the flags,
/// and the control messages (which own any descriptors received until
/// they are taken).
///
/// # Control messages
///
/// To send, pass a slice of [`ControlMessage`]s to [`Socket::send_msg`]
/// (or put them in a [`SendMsg`](crate::SendMsg) of a batch). To receive, give
/// [`Socket::recv_msg`] a control buffer — sized with [`cmsg_space`], and
/// preferably a [`CmsgBuffer`], which is aligned as the kernel wants — and
/// walk [`RecvMsg::cmsgs`]: each item is a [`Cmsg`]. A message sockpoll does
/// not model arrives as [`Cmsg::Unknown`] with its level, type and bytes;
/// nothing is dropped.
///
/// # Received descriptors
///
/// Descriptors passed with `SCM_RIGHTS` are always received close-on-exec
/// (`MSG_CMSG_CLOEXEC`). Until taken they belong to the [`RecvMsg`] (for a
/// batch, to the [`MmsgBatch`](crate::MmsgBatch)): [`ScmRights`] yields each one once as an
/// [`OwnedFd`], and every descriptor not taken is closed when the
/// `RecvMsg` drops (for a batch: at the next receive into it, or when it
/// drops). That holds for a control buffer too small for them all
/// ([`RecvFlags::CTRUNC`]): the kernel installs only the descriptors that
/// fit, and those are owned and closed like the others. No descriptor is
/// ever owned twice, and none is leaked. The sender's pidfd of an
/// `SCM_PIDFD` message ([`Socket::set_pass_pidfd`]), the only other
/// descriptor the kernel installs through a control message, is owned the
/// same way ([`Cmsg::ScmPidfd`]).
///
/// ```
/// use std::io::{IoSlice, IoSliceMut};
/// use std::os::fd::AsFd;
/// use sockpoll::{cmsg_space, Cmsg, CmsgBuffer, CmsgKind, ControlMessage, UnixStream};
///
/// # fn main() -> sockpoll::Result<()> {
/// let (a, b) = UnixStream::pair()?;
/// let (extra, _keep) = UnixStream::pair()?;
/// a.send_msg(&[IoSlice::new(b"fd")], &[ControlMessage::ScmRights(&[extra.as_fd()])])?;
///
/// let mut data = [0u8; 2];
/// let mut control = CmsgBuffer::<{ cmsg_space(&[CmsgKind::ScmRights(1)]) }>::new();
/// let mut msg = b.recv_msg(&mut [IoSliceMut::new(&mut data)], &mut control)?;
/// let mut got = Vec::new();
/// for cmsg in msg.cmsgs() {
///     if let Cmsg::ScmRights(fds) = cmsg {
///         got.extend(fds); // OwnedFd, close-on-exec
///     }
/// }
/// assert_eq!((msg.len, got.len()), (2, 1));
/// # Ok(()) }
/// ```
#[non_exhaustive]
pub struct RecvMsg<'c> {
    /// Bytes written into the buffers. With [`RecvFlags::TRUNC`] the
    /// datagram was longer.
    pub len: usize,
    /// The sender's address, of any family; [empty](SockAddr::is_empty)
    /// when the kernel reported none: a connected stream, or — received
    /// through a plain [`Socket`] — a Unix datagram whose sender never
    /// bound, which [`UnixDatagram`](crate::net::unix::UnixDatagram) reports as
    /// [unnamed](SockAddr::unnamed) (from every receive).
    pub addr: SockAddr,
    /// The `msg_flags` the kernel reported.
    pub flags: RecvFlags,
    control: sys::cmsg::Control<'c>,
}

impl<'c> RecvMsg<'c> {
    pub(crate) fn from_sys(r: sys::msg::Received<'c>) -> RecvMsg<'c> {
        RecvMsg {
            len: r.len,
            addr: r.addr,
            flags: RecvFlags(r.flags),
            control: r.control,
        }
    }

    /// A datagram of a batch; `unix`: received by a `UnixDatagram`.
    pub(crate) fn from_batch(r: sys::msg::Received<'c>, unix: bool) -> RecvMsg<'c> {
        let mut msg = RecvMsg::from_sys(r);
        if unix && msg.addr.is_empty() {
            msg.addr = SockAddr::unnamed();
        }
        msg
    }

    /// The control messages, in the kernel's order. Descriptors in an
    /// [`Cmsg::ScmRights`] are handed out once: walking the messages again
    /// yields an `ScmRights` with only those not taken.
    pub fn cmsgs(&mut self) -> Cmsgs<'_> {
        Cmsgs(self.control.iter())
    }

    /// How many bytes of control data arrived (`msg_controllen`).
    pub fn control_len(&self) -> usize {
        self.control.len()
    }
}

impl fmt::Debug for RecvMsg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvMsg")
            .field("len", &self.len)
            .field("addr", &self.addr)
            .field("flags", &self.flags)
            .field("control_len", &self.control.len())
            .finish()
    }
}

/// Stack room for the control data of one send.
#[repr(C, align(8))]
pub(crate) struct SendControl(pub(crate) [MaybeUninit<u8>; MAX_SEND_CONTROL]);

/// Message I/O (`sendmsg`, `recvmsg`).
impl Socket {
    /// Sends the concatenation of `bufs` (to `addr`, if given: required on
    /// an unconnected datagram socket) with the control messages `control`;
    /// with `MSG_NOSIGNAL`. Returns the bytes sent.
    ///
    /// The control data is encoded on the stack (at most
    /// [`MAX_SEND_CONTROL`] bytes); nothing is allocated.
    ///
    #[doc = concat!("Corresponds to ", man!("sendmsg", 2), "; see ", man!("cmsg", 3), ".")]
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) when the control
    /// messages need more than [`MAX_SEND_CONTROL`] bytes, or an
    /// [`Unknown`](ControlMessage::Unknown) one is `SCM_RIGHTS` (nothing is
    /// sent); the OS error otherwise: `EBADF` for a closed descriptor in
    /// [`ControlMessage::ScmRights`], `EPERM` for credentials not one's
    /// own, `EINVAL` for a message the socket's protocol does not take,
    /// `EIO` for a GSO send the device cannot segment, and those of
    /// [`send`](Socket::send).
    #[doc(alias = "sendmsg")]
    pub fn send_msg(
        &self,
        bufs: &[IoSlice<'_>],
        addr: Option<&SockAddr>,
        control: &[ControlMessage<'_>],
    ) -> Result<usize> {
        if control.is_empty() {
            return sys::msg::send_msg(self.as_fd(), bufs, addr, &[], 0);
        }
        let mut room = SendControl([const { MaybeUninit::uninit() }; MAX_SEND_CONTROL]);
        let mut enc = sys::cmsg::Encoder::new(&mut room.0);
        if let Err(reason) = encode(control, &mut enc) {
            return Err(bad_control("sendmsg", self.as_fd(), reason));
        }
        sys::msg::send_msg(self.as_fd(), bufs, addr, enc.finish(), 0)
    }

    /// Receives into `bufs`, with the control messages the kernel attaches
    /// written into `control` (any `&mut [u8]`; a [`CmsgBuffer`] sized with
    /// [`cmsg_space`] is aligned and exact). Always with
    /// `MSG_CMSG_CLOEXEC`: received descriptors are close-on-exec.
    ///
    /// The returned [`RecvMsg`] borrows `control` and owns the descriptors
    /// received; those not taken from its [`cmsgs`](RecvMsg::cmsgs) are
    /// closed when it drops (drop it before receiving into `control`
    /// again).
    ///
    #[doc = concat!("Corresponds to ", man!("recvmsg", 2), " with `MSG_CMSG_CLOEXEC`.")]
    ///
    /// # Errors
    ///
    /// As [`recv`](Socket::recv). A control buffer too small is not an
    /// error: [`RecvFlags::CTRUNC`] says so.
    #[doc(alias = "recvmsg")]
    pub fn recv_msg<'c>(
        &self,
        bufs: &mut [IoSliceMut<'_>],
        control: &'c mut [u8],
    ) -> Result<RecvMsg<'c>> {
        sys::msg::recv_msg(self.as_fd(), bufs, control, 0).map(RecvMsg::from_sys)
    }

    /// Like [`recv_msg`](Socket::recv_msg), into one buffer of
    /// uninitialised memory; the first [`len`](RecvMsg::len) bytes of `buf`
    /// are initialised afterwards.
    ///
    /// # Errors
    ///
    /// As [`recv_msg`](Socket::recv_msg).
    pub fn recv_msg_uninit<'c>(
        &self,
        buf: &mut [MaybeUninit<u8>],
        control: &'c mut [u8],
    ) -> Result<RecvMsg<'c>> {
        sys::msg::recv_msg_uninit(self.as_fd(), buf, control, 0).map(RecvMsg::from_sys)
    }

    /// Reads one message from the socket's error queue (`recvmsg` with
    /// `MSG_ERRQUEUE`): with [`set_recv_errors_v4`](Socket::set_recv_errors_v4)
    /// (or `_v6`) on, each ICMP error or local error for a datagram sent is
    /// queued, and arrives here as a [`Cmsg::ExtendedError`]; `bufs` get
    /// (the start of) the datagram that caused it. Never blocks.
    ///
    #[doc = concat!("Corresponds to ", man!("recvmsg", 2), " with `MSG_ERRQUEUE`; see ", man!("ip", 7), ".")]
    ///
    /// # Errors
    ///
    /// [`WouldBlock`](io::ErrorKind::WouldBlock) when the queue is empty;
    /// otherwise as [`recv_msg`](Socket::recv_msg).
    pub fn recv_error_queue<'c>(
        &self,
        bufs: &mut [IoSliceMut<'_>],
        control: &'c mut [u8],
    ) -> Result<RecvMsg<'c>> {
        sys::msg::recv_msg(self.as_fd(), bufs, control, libc::MSG_ERRQUEUE).map(RecvMsg::from_sys)
    }
}
