//! Batches of datagrams in one call: [`SendMsg`], [`MmsgBatch`], and
//! `send_mmsg`/`recv_mmsg` (`sendmmsg`/`recvmmsg`).

use std::fmt;
use std::io::IoSlice;
use std::os::fd::AsFd;

use crate::addr::SockAddr;
use crate::error::{Error, Result, Subject};
#[cfg(doc)]
use crate::net::cmsg::cmsg_space;
use crate::net::cmsg::{bad_control, encode, ControlMessage};
use crate::net::msg::RecvMsg;
use crate::net::socket::Socket;
use crate::sys;
#[cfg(doc)]
use std::io;

/// The most datagrams one [`MmsgBatch`] holds: the kernel's `UIO_MAXIOV`,
/// beyond which `sendmmsg`/`recvmmsg` take no more in one call.
pub const MAX_MMSG_BATCH: usize = 1024;

/// The most control space per datagram an [`MmsgBatch`] takes (64 KiB,
/// past the kernel's default `net.core.optmem_max`).
pub const MAX_MMSG_CONTROL: usize = 1 << 16;

/// A datagram for [`Socket::send_mmsg`]: its bytes, destination and control
/// messages.
#[derive(Debug, Clone, Copy)]
pub struct SendMsg<'a> {
    data: SendData<'a>,
    addr: Option<&'a SockAddr>,
    control: &'a [ControlMessage<'a>],
}

#[derive(Debug, Clone, Copy)]
enum SendData<'a> {
    One(&'a [u8]),
    Vectored(&'a [IoSlice<'a>]),
}

impl<'a> SendMsg<'a> {
    /// `data`, to the connected peer, without control messages.
    pub fn new(data: &'a [u8]) -> SendMsg<'a> {
        SendMsg {
            data: SendData::One(data),
            addr: None,
            control: &[],
        }
    }

    /// The concatenation of `bufs` as one datagram (e.g. a header and a
    /// payload kept apart), read in place.
    pub fn vectored(bufs: &'a [IoSlice<'a>]) -> SendMsg<'a> {
        SendMsg {
            data: SendData::Vectored(bufs),
            addr: None,
            control: &[],
        }
    }

    /// To `addr`.
    pub fn to(mut self, addr: &'a SockAddr) -> SendMsg<'a> {
        self.addr = Some(addr);
        self
    }

    /// With the control messages `control` (e.g. a source address per
    /// datagram with [`ControlMessage::PktInfoV4`]).
    pub fn control(mut self, control: &'a [ControlMessage<'a>]) -> SendMsg<'a> {
        self.control = control;
        self
    }
}

/// Reusable storage for [`Socket::send_mmsg`] and [`Socket::recv_mmsg`]:
/// one `struct mmsghdr`, address and control area per message, allocated
/// once by [`new`](MmsgBatch::new); the calls allocate nothing.
///
/// After a receive, [`get`](MmsgBatch::get) and
/// [`messages`](MmsgBatch::messages) give each datagram's length, sender,
/// flags and control messages; the data is in the buffers the receive was
/// given. Descriptors received and not taken are closed by the next call on
/// the batch, or when it drops.
pub struct MmsgBatch {
    raw: sys::mmsg::Batch,
    /// The last receive was a `UnixDatagram`'s: an empty sender address is
    /// an unnamed Unix socket (see `unix::sender`).
    pub(crate) unix_senders: bool,
}

impl MmsgBatch {
    /// Room for `messages` datagrams a call (1 to [`MAX_MMSG_BATCH`]),
    /// each with `control_space` bytes of control data (see [`cmsg_space`];
    /// rounded up to the alignment; 0 for none, at most
    /// [`MAX_MMSG_CONTROL`]). Allocates once, here.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for 0 messages, more
    /// than [`MAX_MMSG_BATCH`], or more control space than
    /// [`MAX_MMSG_CONTROL`].
    pub fn new(messages: usize, control_space: usize) -> Result<MmsgBatch> {
        let invalid = |reason| Error::InvalidInput {
            call: "MmsgBatch::new",
            subject: Subject::None,
            reason,
        };
        if messages == 0 {
            return Err(invalid("a batch of 0 messages"));
        }
        if messages > MAX_MMSG_BATCH {
            return Err(invalid(
                "more messages than one sendmmsg/recvmmsg takes (UIO_MAXIOV, 1024)",
            ));
        }
        if control_space > MAX_MMSG_CONTROL {
            return Err(invalid(
                "more control space a message than MAX_MMSG_CONTROL",
            ));
        }
        let raw = sys::mmsg::Batch::new(messages, control_space)
            .ok_or(invalid("batch size overflows"))?;
        Ok(MmsgBatch {
            raw,
            unix_senders: false,
        })
    }

    /// How many datagrams one call handles at most.
    pub fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// The control bytes each datagram has room for.
    pub fn control_space(&self) -> usize {
        self.raw.control_per_message()
    }

    /// How many datagrams the last [`recv_mmsg`](Socket::recv_mmsg) into
    /// this batch received (0 after a send).
    pub fn len(&self) -> usize {
        self.raw.filled()
    }

    /// True when the last call received nothing (or was a send).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Datagram `i` of the last receive: its length (in the `i`th buffer
    /// given), sender, flags and control messages. `None` past
    /// [`len`](MmsgBatch::len). As for [`Socket::recv_msg`], descriptors
    /// of that datagram not taken from the returned view are closed when it
    /// drops.
    pub fn get(&mut self, i: usize) -> Option<RecvMsg<'_>> {
        let unix = self.unix_senders;
        self.raw.received(i).map(|r| RecvMsg::from_batch(r, unix))
    }

    /// Every datagram of the last receive, in order (see [`get`](MmsgBatch::get)).
    pub fn messages(&mut self) -> impl Iterator<Item = RecvMsg<'_>> {
        let unix = self.unix_senders;
        self.raw
            .received_all()
            .map(move |r| RecvMsg::from_batch(r, unix))
    }

    /// The bytes of datagram `i` that the last [`send_mmsg`](Socket::send_mmsg)
    /// sent (`msg_len`); `None` for a datagram it did not send (`i` at or
    /// past the count it returned), and after a receive.
    pub fn sent_len(&self, i: usize) -> Option<usize> {
        sys::mmsg::sent_len(&self.raw, i)
    }
}

impl fmt::Debug for MmsgBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MmsgBatch")
            .field("capacity", &self.capacity())
            .field("control_space", &self.control_space())
            .field("len", &self.len())
            .finish()
    }
}

/// Batched message I/O.
impl Socket {
    /// Sends up to `batch.capacity()` datagrams of `msgs` in one call; each
    /// may have its own destination and control messages. Returns how many
    /// were sent: fewer than `msgs.len()` is a partial batch (a full send
    /// buffer, or more messages than the batch holds) — send the rest
    /// again. With `MSG_NOSIGNAL`; allocates nothing.
    ///
    #[doc = concat!("Corresponds to ", man!("sendmmsg", 2), ".")]
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for no messages (or a
    /// batch of capacity 0), or a message whose control messages do not fit
    /// in the batch's control space (nothing is sent); the OS error of the
    /// first message when none could be sent (e.g.
    /// [`WouldBlock`](io::ErrorKind::WouldBlock)).
    #[doc(alias = "sendmmsg")]
    pub fn send_mmsg(&self, batch: &mut MmsgBatch, msgs: &[SendMsg<'_>]) -> Result<usize> {
        let fd = self.as_fd();
        sys::mmsg::send_mmsg(
            fd,
            &mut batch.raw,
            msgs.len(),
            |i, enc| {
                let m = &msgs[i];
                if let Err(reason) = encode(m.control, enc) {
                    return Err(bad_control("sendmmsg", fd, reason));
                }
                Ok(sys::mmsg::Outgoing {
                    data: match m.data {
                        SendData::One(data) => sys::mmsg::Data::One(data),
                        SendData::Vectored(bufs) => sys::mmsg::Data::Vectored(bufs),
                    },
                    addr: m.addr,
                })
            },
            0,
        )
    }

    /// Receives up to `min(bufs.len(), batch.capacity())` datagrams, one
    /// into each buffer, in one call. Blocks (on a blocking socket) until
    /// one arrives, then takes whatever else is already queued
    /// (`MSG_WAITFORONE`). Returns how many were received; each one's
    /// length, sender, flags and control messages are in `batch` (see
    /// [`MmsgBatch::get`]). Always with `MSG_CMSG_CLOEXEC`; allocates
    /// nothing.
    ///
    #[doc = concat!("Corresponds to ", man!("recvmmsg", 2), " with `MSG_WAITFORONE | MSG_CMSG_CLOEXEC`.")]
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for no buffers (or a
    /// batch of capacity 0); otherwise as [`recv`](Socket::recv).
    #[doc(alias = "recvmmsg")]
    pub fn recv_mmsg<B: AsMut<[u8]>>(
        &self,
        batch: &mut MmsgBatch,
        bufs: &mut [B],
    ) -> Result<usize> {
        batch.unix_senders = false;
        sys::mmsg::recv_mmsg(self.as_fd(), &mut batch.raw, bufs, libc::MSG_WAITFORONE)
    }
}
