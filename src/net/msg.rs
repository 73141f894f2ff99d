//! Message I/O: `sendmsg`/`recvmsg` with typed control messages,
//! `sendmmsg`/`recvmmsg` batches, receives into uninitialised memory, and
//! the options that make the kernel attach control messages.
//!
//! The how-to (sizing buffers, walking messages, who owns received
//! descriptors) is on [`RecvMsg`], the type every receive returns.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::{self, MaybeUninit};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::{BitOr, Deref, DerefMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use socket2::SockRef;

use crate::addr::SockAddr;
use crate::error::{Error, Result, Subject};
use crate::net::Socket;
use crate::sys;
use crate::sys::msg::RawCmsg;

/// The most control data one [`Socket::send_msg`] can carry (the sum of
/// [`ControlMessage::space`]): room for 253 descriptors (Linux's
/// `SCM_MAX_FD`) with credentials, packet info and more beside them. It is
/// encoded on the stack, without allocating.
pub const MAX_SEND_CONTROL: usize = 2048;

/// The most datagrams one [`MmsgBatch`] holds: the kernel's `UIO_MAXIOV`,
/// beyond which `sendmmsg`/`recvmmsg` take no more in one call.
pub const MAX_MMSG_BATCH: usize = 1024;

/// The most control space per datagram an [`MmsgBatch`] takes (64 KiB,
/// past the kernel's default `net.core.optmem_max`).
pub const MAX_MMSG_CONTROL: usize = 1 << 16;

/// A process's credentials, as `SCM_CREDENTIALS` and `SO_PEERCRED` carry
/// them (`struct ucred`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnixCredentials {
    /// Process id.
    pub pid: i32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl UnixCredentials {
    /// This process's pid, effective uid and effective gid: what a process
    /// may send as [`ControlMessage::ScmCredentials`] without privilege.
    #[doc = concat!("Corresponds to ", man!("getpid", 2), ", ", man!("geteuid", 2), " and ", man!("getegid", 2), ".")]
    pub fn current() -> UnixCredentials {
        sys::msg::current_credentials().into()
    }
}

impl From<libc::ucred> for UnixCredentials {
    fn from(c: libc::ucred) -> UnixCredentials {
        UnixCredentials {
            pid: c.pid,
            uid: c.uid,
            gid: c.gid,
        }
    }
}

impl From<UnixCredentials> for libc::ucred {
    fn from(c: UnixCredentials) -> libc::ucred {
        libc::ucred {
            pid: c.pid,
            uid: c.uid,
            gid: c.gid,
        }
    }
}

/// A control message to send with [`Socket::send_msg`] (`struct cmsghdr`
/// and its data).
///
#[doc = concat!("See ", man!("cmsg", 3), " and, per message, ", man!("unix", 7), ", ", man!("ip", 7), ", ", man!("ipv6", 7), ", ", man!("udp", 7), ".")]
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ControlMessage<'a> {
    /// `SOL_SOCKET`/`SCM_RIGHTS`: descriptors to pass over a Unix socket.
    /// The receiver gets its own descriptors for the same open files.
    ScmRights(&'a [BorrowedFd<'a>]),
    /// `SOL_SOCKET`/`SCM_CREDENTIALS`: the sender's credentials over a Unix
    /// socket. Without privilege they must be the sender's own
    /// ([`UnixCredentials::current`]); the receiver must have
    /// [`set_pass_credentials`](Socket::set_pass_credentials) on.
    ScmCredentials(UnixCredentials),
    /// `IPPROTO_IP`/`IP_PKTINFO`: send this UDP datagram from local address
    /// `source` (unless unspecified) and out of interface `ifindex` (0: the
    /// routing table decides). How a wildcard-bound server answers from the
    /// address it was asked on.
    PktInfoV4 {
        /// Outgoing interface index, 0 for any.
        ifindex: u32,
        /// Source address (`ipi_spec_dst`), `0.0.0.0` for the default.
        source: Ipv4Addr,
    },
    /// `IPPROTO_IPV6`/`IPV6_PKTINFO`: as [`PktInfoV4`](ControlMessage::PktInfoV4)
    /// for IPv6.
    PktInfoV6 {
        /// Outgoing interface index, 0 for any.
        ifindex: u32,
        /// Source address, `::` for the default.
        source: Ipv6Addr,
    },
    /// `IPPROTO_IP`/`IP_TOS`: the type-of-service byte of this datagram
    /// (DSCP in the upper six bits, ECN in the lower two).
    Tos(u8),
    /// `IPPROTO_IPV6`/`IPV6_TCLASS`: the traffic class of this datagram
    /// (DSCP and ECN, as [`Tos`](ControlMessage::Tos)).
    TrafficClass(u8),
    /// `SOL_UDP`/`UDP_SEGMENT`: send the buffer as UDP datagrams of this
    /// many bytes each (the last may be shorter): generic segmentation
    /// offload. See [`UdpSocket::send_gso`](crate::UdpSocket::send_gso).
    UdpGsoSegments(u16),
    /// Any other message, as raw bytes: level, type and data (e.g.
    /// `IPPROTO_IPV6`/`IPV6_HOPLIMIT` with an `int`). Not `SCM_RIGHTS`:
    /// descriptors go through [`ScmRights`](ControlMessage::ScmRights),
    /// which keeps them borrowed for the call.
    Unknown {
        /// `cmsg_level`.
        level: i32,
        /// `cmsg_type`.
        ty: i32,
        /// The data, in the layout the kernel expects for this message.
        data: &'a [u8],
    },
}

impl ControlMessage<'_> {
    /// The bytes this message takes in a control buffer (`CMSG_SPACE`).
    pub const fn space(&self) -> usize {
        match self {
            ControlMessage::ScmRights(fds) => CmsgKind::ScmRights(fds.len()).space(),
            ControlMessage::ScmCredentials(_) => CmsgKind::ScmCredentials.space(),
            ControlMessage::PktInfoV4 { .. } => CmsgKind::PktInfoV4.space(),
            ControlMessage::PktInfoV6 { .. } => CmsgKind::PktInfoV6.space(),
            ControlMessage::Tos(_) => CmsgKind::Tos.space(),
            ControlMessage::TrafficClass(_) => CmsgKind::TrafficClass.space(),
            ControlMessage::UdpGsoSegments(_) => CmsgKind::UdpGsoSegments.space(),
            ControlMessage::Unknown { data, .. } => CmsgKind::Other(data.len()).space(),
        }
    }
}

/// A kind of control message, for sizing buffers with [`cmsg_space`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CmsgKind {
    /// `SCM_RIGHTS` with this many descriptors.
    ScmRights(usize),
    /// `SCM_CREDENTIALS`.
    ScmCredentials,
    /// `SCM_PIDFD` (received).
    ScmPidfd,
    /// `IP_PKTINFO`.
    PktInfoV4,
    /// `IPV6_PKTINFO`.
    PktInfoV6,
    /// `SCM_TIMESTAMPNS`.
    TimestampNs,
    /// `IP_TOS`.
    Tos,
    /// `IPV6_TCLASS`.
    TrafficClass,
    /// `UDP_SEGMENT` (sent).
    UdpGsoSegments,
    /// `UDP_GRO` (received).
    UdpGroSegments,
    /// `IP_RECVERR`/`IPV6_RECVERR`: a `sock_extended_err` and the
    /// offender's address.
    ExtendedError,
    /// Any other message with this many bytes of data.
    Other(usize),
}

impl CmsgKind {
    /// The bytes a message of this kind takes in a control buffer
    /// (`CMSG_SPACE` of its data).
    pub const fn space(self) -> usize {
        let data = match self {
            CmsgKind::ScmRights(n) => {
                if n > usize::MAX / mem::size_of::<libc::c_int>() {
                    return usize::MAX;
                }
                n * mem::size_of::<libc::c_int>()
            }
            CmsgKind::ScmCredentials => mem::size_of::<libc::ucred>(),
            CmsgKind::ScmPidfd => mem::size_of::<libc::c_int>(),
            CmsgKind::PktInfoV4 => mem::size_of::<libc::in_pktinfo>(),
            CmsgKind::PktInfoV6 => mem::size_of::<libc::in6_pktinfo>(),
            CmsgKind::TimestampNs => mem::size_of::<libc::timespec>(),
            // Received as one byte on IPv4, sent (and received on IPv6) as
            // an int: room for the int.
            CmsgKind::Tos | CmsgKind::TrafficClass | CmsgKind::UdpGroSegments => {
                mem::size_of::<libc::c_int>()
            }
            CmsgKind::UdpGsoSegments => mem::size_of::<u16>(),
            CmsgKind::ExtendedError => {
                mem::size_of::<libc::sock_extended_err>() + mem::size_of::<libc::sockaddr_in6>()
            }
            CmsgKind::Other(n) => n,
        };
        sys::msg::space(data)
    }
}

/// The control-buffer bytes that hold one message of each of `kinds`
/// (the sum of `CMSG_SPACE`s), as a `const fn`, so a buffer can live on the
/// stack: `CmsgBuffer::<{ cmsg_space(&[CmsgKind::PktInfoV4]) }>::new()`.
/// Saturates at `usize::MAX`.
pub const fn cmsg_space(kinds: &[CmsgKind]) -> usize {
    let mut total: usize = 0;
    let mut i = 0;
    while i < kinds.len() {
        total = total.saturating_add(kinds[i].space());
        i += 1;
    }
    total
}

/// `N` bytes of control buffer, aligned as `struct cmsghdr` needs, for the
/// stack or a struct field. Derefs to `[u8]`.
///
/// Any `&mut [u8]` works as a control buffer — the receive calls skip to
/// its first aligned byte — but an unaligned one loses up to 7 bytes of
/// room; this type loses none.
#[derive(Clone)]
#[repr(C, align(8))]
pub struct CmsgBuffer<const N: usize>([u8; N]);

const _: () = assert!(mem::align_of::<CmsgBuffer<0>>() >= sys::msg::CMSG_ALIGN);

impl<const N: usize> CmsgBuffer<N> {
    /// A zeroed buffer.
    pub const fn new() -> CmsgBuffer<N> {
        CmsgBuffer([0; N])
    }
}

impl<const N: usize> Default for CmsgBuffer<N> {
    fn default() -> CmsgBuffer<N> {
        CmsgBuffer::new()
    }
}

impl<const N: usize> Deref for CmsgBuffer<N> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl<const N: usize> DerefMut for CmsgBuffer<N> {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl<const N: usize> fmt::Debug for CmsgBuffer<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CmsgBuffer<{N}>")
    }
}

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

/// Where an [`ExtendedError`] came from (`ee_origin`, `SO_EE_ORIGIN_*`).
/// `Debug` prints the constant's name.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorOrigin(pub u8);

impl ErrorOrigin {
    /// `SO_EE_ORIGIN_NONE`.
    pub const NONE: ErrorOrigin = ErrorOrigin(libc::SO_EE_ORIGIN_NONE);
    /// `SO_EE_ORIGIN_LOCAL`: generated by the local stack (e.g. `EMSGSIZE`
    /// for a datagram over the path MTU).
    pub const LOCAL: ErrorOrigin = ErrorOrigin(libc::SO_EE_ORIGIN_LOCAL);
    /// `SO_EE_ORIGIN_ICMP`: an ICMP message; `ty` and `code` are its.
    pub const ICMP: ErrorOrigin = ErrorOrigin(libc::SO_EE_ORIGIN_ICMP);
    /// `SO_EE_ORIGIN_ICMP6`: an ICMPv6 message.
    pub const ICMP6: ErrorOrigin = ErrorOrigin(libc::SO_EE_ORIGIN_ICMP6);
    /// `SO_EE_ORIGIN_TXSTATUS`: transmit timestamping status.
    pub const TXSTATUS: ErrorOrigin = ErrorOrigin(libc::SO_EE_ORIGIN_TXSTATUS);
    /// `SO_EE_ORIGIN_ZEROCOPY`: `MSG_ZEROCOPY` completion.
    pub const ZEROCOPY: ErrorOrigin = ErrorOrigin(sys::msg::SO_EE_ORIGIN_ZEROCOPY);
    /// `SO_EE_ORIGIN_TXTIME`: an `SO_TXTIME` packet was dropped.
    pub const TXTIME: ErrorOrigin = ErrorOrigin(sys::msg::SO_EE_ORIGIN_TXTIME);

    /// The name of the `SO_EE_ORIGIN_*` constant, if it is one.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            ErrorOrigin::NONE => "SO_EE_ORIGIN_NONE",
            ErrorOrigin::LOCAL => "SO_EE_ORIGIN_LOCAL",
            ErrorOrigin::ICMP => "SO_EE_ORIGIN_ICMP",
            ErrorOrigin::ICMP6 => "SO_EE_ORIGIN_ICMP6",
            ErrorOrigin::TXSTATUS => "SO_EE_ORIGIN_TXSTATUS",
            ErrorOrigin::ZEROCOPY => "SO_EE_ORIGIN_ZEROCOPY",
            ErrorOrigin::TXTIME => "SO_EE_ORIGIN_TXTIME",
            _ => return None,
        })
    }
}

impl fmt::Debug for ErrorOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "SO_EE_ORIGIN({})", self.0),
        }
    }
}

/// An error from the socket's error queue (`struct sock_extended_err` of
/// an `IP_RECVERR`/`IPV6_RECVERR` message; see [`Socket::recv_error_queue`]
/// and `ip(7)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedError {
    /// The error number (`ee_errno`), e.g. `ECONNREFUSED`.
    pub errno: i32,
    /// Where it came from (`ee_origin`).
    pub origin: ErrorOrigin,
    /// ICMP type, for ICMP origins (`ee_type`).
    pub ty: u8,
    /// ICMP code, for ICMP origins (`ee_code`).
    pub code: u8,
    /// Extra information (`ee_info`), e.g. the MTU for `EMSGSIZE`.
    pub info: u32,
    /// More data (`ee_data`).
    pub data: u32,
    /// The address of the node that reported it (`SO_EE_OFFENDER`);
    /// [empty](SockAddr::is_empty) when none was given (local errors).
    pub offender: SockAddr,
}

impl ExtendedError {
    /// [`errno`](ExtendedError::errno) as an `io::Error`.
    pub fn os_error(&self) -> io::Error {
        io::Error::from_raw_os_error(self.errno)
    }
}

/// The descriptors of one received `SCM_RIGHTS` message: an iterator
/// handing each out once as an [`OwnedFd`] (close-on-exec). Those not taken
/// are closed when the [`RecvMsg`] (or batch) they came with drops.
pub struct ScmRights<'a>(sys::msg::Rights<'a>);

impl ScmRights<'_> {
    /// How many descriptors are left to take.
    pub fn remaining(&self) -> usize {
        self.0.remaining()
    }
}

impl Iterator for ScmRights<'_> {
    type Item = OwnedFd;
    fn next(&mut self) -> Option<OwnedFd> {
        self.0.next()
    }
}

/// The pidfd of the sender of a message received with
/// [`set_pass_pidfd`](Socket::set_pass_pidfd) (`SCM_PIDFD`, Linux 6.5+):
/// the kernel installs it in this process like an `SCM_RIGHTS`
/// descriptor, so it is owned the same way — [`take`](ScmPidfd::take)
/// hands it out once as an [`OwnedFd`] (close-on-exec), and it is closed
/// with the [`RecvMsg`] (or batch) if not taken.
pub struct ScmPidfd<'a>(sys::msg::Rights<'a>);

impl ScmPidfd<'_> {
    /// The pidfd, the first time; `None` once taken.
    pub fn take(&mut self) -> Option<OwnedFd> {
        self.0.next()
    }
}

impl fmt::Debug for ScmPidfd<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ScmPidfd")
            .field(&self.0.raw().next())
            .finish()
    }
}

impl fmt::Debug for ScmRights<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ScmRights")
            .field(&self.0.raw().collect::<Vec<_>>())
            .finish()
    }
}

/// A received control message (see [`RecvMsg::cmsgs`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Cmsg<'a> {
    /// `SCM_RIGHTS`: descriptors, each handed out once.
    ScmRights(ScmRights<'a>),
    /// `SCM_PIDFD` (with [`set_pass_pidfd`](Socket::set_pass_pidfd), Linux
    /// 6.5+): the sender's pidfd, handed out once.
    ScmPidfd(ScmPidfd<'a>),
    /// `SCM_CREDENTIALS`: the sender's credentials (with
    /// [`set_pass_credentials`](Socket::set_pass_credentials)).
    ScmCredentials(UnixCredentials),
    /// `IP_PKTINFO` (with [`set_recv_pktinfo_v4`](Socket::set_recv_pktinfo_v4)):
    /// the interface a datagram arrived on, its destination address and the
    /// local address a reply would come from.
    PktInfoV4 {
        /// The interface index it arrived on (`ipi_ifindex`).
        ifindex: u32,
        /// The destination address in its header (`ipi_addr`).
        addr: Ipv4Addr,
        /// The local address that routing chose for it (`ipi_spec_dst`):
        /// the one to answer from.
        spec_dst: Ipv4Addr,
    },
    /// `IPV6_PKTINFO` (with [`set_recv_pktinfo_v6`](Socket::set_recv_pktinfo_v6)).
    PktInfoV6 {
        /// The interface index it arrived on.
        ifindex: u32,
        /// The destination address in its header.
        addr: Ipv6Addr,
    },
    /// `SCM_TIMESTAMPNS` (with [`set_recv_timestamp_ns`](Socket::set_recv_timestamp_ns)):
    /// when the kernel received the datagram, as time since the Unix epoch
    /// (`CLOCK_REALTIME`).
    TimestampNs(Duration),
    /// `IP_TOS` (with [`set_recv_tos`](Socket::set_recv_tos)): the
    /// datagram's type-of-service byte, ECN bits included.
    Tos(u8),
    /// `IPV6_TCLASS` (with [`set_recv_tclass`](Socket::set_recv_tclass)).
    TrafficClass(u8),
    /// `UDP_GRO` (with [`set_udp_gro`](Socket::set_udp_gro)): the buffer
    /// holds datagrams of this size, coalesced (the last may be shorter).
    UdpGroSegments(u16),
    /// `IP_RECVERR`/`IPV6_RECVERR`: an error from the error queue.
    ExtendedError(ExtendedError),
    /// Any message sockpoll does not model (or one too short for its type):
    /// its level, type and data, as they arrived.
    Unknown {
        /// `cmsg_level`.
        level: i32,
        /// `cmsg_type`.
        ty: i32,
        /// The data.
        data: &'a [u8],
    },
}

pub(crate) fn decode<'a>(level: i32, ty: i32, data: &'a [u8]) -> Cmsg<'a> {
    use sys::msg::read;
    let unknown = Cmsg::Unknown { level, ty, data };
    let decoded = match (level, ty) {
        (libc::SOL_SOCKET, libc::SCM_CREDENTIALS) => {
            read::<libc::ucred>(data).map(|c| Cmsg::ScmCredentials(c.into()))
        }
        (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) => read::<libc::timespec>(data).and_then(|t| {
            let secs = u64::try_from(t.tv_sec).ok()?;
            let nanos = u32::try_from(t.tv_nsec)
                .ok()
                .filter(|&n| n < 1_000_000_000)?;
            Some(Cmsg::TimestampNs(Duration::new(secs, nanos)))
        }),
        (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
            read::<libc::in_pktinfo>(data).map(|p| Cmsg::PktInfoV4 {
                ifindex: p.ipi_ifindex as u32,
                addr: Ipv4Addr::from(u32::from_be(p.ipi_addr.s_addr)),
                spec_dst: Ipv4Addr::from(u32::from_be(p.ipi_spec_dst.s_addr)),
            })
        }
        (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
            read::<libc::in6_pktinfo>(data).map(|p| Cmsg::PktInfoV6 {
                ifindex: p.ipi6_ifindex,
                addr: Ipv6Addr::from(p.ipi6_addr.s6_addr),
            })
        }
        // The kernel sends IP_TOS as one byte, IPV6_TCLASS as an int;
        // accept either for both.
        (libc::IPPROTO_IP, libc::IP_TOS) => small_int(data).map(|v| Cmsg::Tos(v as u8)),
        (libc::IPPROTO_IPV6, libc::IPV6_TCLASS) => {
            small_int(data).map(|v| Cmsg::TrafficClass(v as u8))
        }
        (libc::SOL_UDP, libc::UDP_GRO) => read::<libc::c_int>(data)
            .and_then(|v| u16::try_from(v).ok())
            .map(Cmsg::UdpGroSegments),
        (libc::IPPROTO_IP, libc::IP_RECVERR) | (libc::IPPROTO_IPV6, libc::IPV6_RECVERR) => {
            read::<libc::sock_extended_err>(data).map(|ee| {
                let rest = &data[mem::size_of::<libc::sock_extended_err>()..];
                Cmsg::ExtendedError(ExtendedError {
                    errno: ee.ee_errno as i32,
                    origin: ErrorOrigin(ee.ee_origin),
                    ty: ee.ee_type,
                    code: ee.ee_code,
                    info: ee.ee_info,
                    data: ee.ee_data,
                    offender: offender(rest),
                })
            })
        }
        _ => None,
    };
    decoded.unwrap_or(unknown)
}

/// An int sent as one byte or as a full `int`.
fn small_int(data: &[u8]) -> Option<i32> {
    match data.len() {
        1 => Some(i32::from(data[0])),
        n if n >= mem::size_of::<libc::c_int>() => sys::msg::read::<libc::c_int>(data),
        _ => None,
    }
}

/// The offender's address after a `sock_extended_err`: `AF_UNSPEC` (no
/// address) is the empty address.
fn offender(bytes: &[u8]) -> SockAddr {
    let family = sys::msg::read::<libc::sa_family_t>(bytes);
    match family.map(i32::from) {
        Some(libc::AF_INET) => {
            SockAddr::decode(&bytes[..bytes.len().min(mem::size_of::<libc::sockaddr_in>())])
        }
        Some(libc::AF_INET6) => {
            SockAddr::decode(&bytes[..bytes.len().min(mem::size_of::<libc::sockaddr_in6>())])
        }
        Some(libc::AF_UNSPEC) | None => SockAddr::decode(&[]),
        Some(_) => SockAddr::decode(bytes),
    }
}

/// Iterates the control messages of a [`RecvMsg`] in the kernel's order.
pub struct Cmsgs<'a>(sys::msg::CmsgIter<'a>);

impl<'a> Iterator for Cmsgs<'a> {
    type Item = Cmsg<'a>;
    fn next(&mut self) -> Option<Cmsg<'a>> {
        Some(match self.0.next()? {
            RawCmsg::Rights(fds) => Cmsg::ScmRights(ScmRights(fds)),
            RawCmsg::Pidfd(fd) => Cmsg::ScmPidfd(ScmPidfd(fd)),
            RawCmsg::Other { level, ty, data } => decode(level, ty, data),
        })
    }
}

impl fmt::Debug for Cmsgs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cmsgs")
    }
}

/// What [`Socket::recv_msg`] received: the length, the sender, the flags,
/// and the control messages (which own any descriptors received until
/// they are taken).
///
/// # Control messages
///
/// To send, pass a slice of [`ControlMessage`]s to [`Socket::send_msg`]
/// (or put them in a [`SendMsg`] of a batch). To receive, give
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
/// batch, to the [`MmsgBatch`]): [`ScmRights`] yields each one once as an
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
    /// bound, which [`UnixDatagram`](crate::UnixDatagram) reports as
    /// [unnamed](SockAddr::unnamed) (from every receive).
    pub addr: SockAddr,
    /// The `msg_flags` the kernel reported.
    pub flags: RecvFlags,
    control: sys::msg::Control<'c>,
}

impl<'c> RecvMsg<'c> {
    fn from_sys(r: sys::msg::Received<'c>) -> RecvMsg<'c> {
        RecvMsg {
            len: r.len,
            addr: r.addr,
            flags: RecvFlags(r.flags),
            control: r.control,
        }
    }

    /// A datagram of a batch; `unix`: received by a `UnixDatagram`.
    fn from_batch(r: sys::msg::Received<'c>, unix: bool) -> RecvMsg<'c> {
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

fn bad_control(call: &'static str, fd: BorrowedFd<'_>, reason: &'static str) -> Error {
    Error::InvalidInput {
        call,
        subject: Subject::Fd(fd.as_raw_fd()),
        reason,
    }
}

const DO_NOT_FIT: &str = "the control messages do not fit in one control buffer";
const RAW_RIGHTS: &str = "SCM_RIGHTS must be sent as ControlMessage::ScmRights, not Unknown";

/// Writes `msgs` with `enc`; the reason when they do not fit, or carry raw
/// `SCM_RIGHTS`.
fn encode(
    msgs: &[ControlMessage<'_>],
    enc: &mut sys::msg::Encoder<'_>,
) -> std::result::Result<(), &'static str> {
    for m in msgs {
        let fits = match *m {
            ControlMessage::ScmRights(fds) => enc.push_fds(fds),
            ControlMessage::ScmCredentials(c) => enc.push(
                libc::SOL_SOCKET,
                libc::SCM_CREDENTIALS,
                libc::ucred::from(c),
            ),
            ControlMessage::PktInfoV4 { ifindex, source } => enc.push(
                libc::IPPROTO_IP,
                libc::IP_PKTINFO,
                libc::in_pktinfo {
                    ipi_ifindex: ifindex as libc::c_int,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(source).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                },
            ),
            ControlMessage::PktInfoV6 { ifindex, source } => enc.push(
                libc::IPPROTO_IPV6,
                libc::IPV6_PKTINFO,
                libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: source.octets(),
                    },
                    ipi6_ifindex: ifindex,
                },
            ),
            ControlMessage::Tos(tos) => {
                enc.push(libc::IPPROTO_IP, libc::IP_TOS, libc::c_int::from(tos))
            }
            ControlMessage::TrafficClass(tc) => {
                enc.push(libc::IPPROTO_IPV6, libc::IPV6_TCLASS, libc::c_int::from(tc))
            }
            ControlMessage::UdpGsoSegments(size) => {
                enc.push(libc::SOL_UDP, libc::UDP_SEGMENT, size)
            }
            // Raw SCM_RIGHTS would pass numbers nobody borrowed: refused.
            ControlMessage::Unknown { level, ty, .. }
                if level == libc::SOL_SOCKET && ty == libc::SCM_RIGHTS =>
            {
                return Err(RAW_RIGHTS);
            }
            ControlMessage::Unknown { level, ty, data } => enc.push_bytes(level, ty, data),
        };
        if !fits {
            return Err(DO_NOT_FIT);
        }
    }
    Ok(())
}

/// Stack room for the control data of one send.
#[repr(C, align(8))]
struct SendControl([MaybeUninit<u8>; MAX_SEND_CONTROL]);

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
        let mut enc = sys::msg::Encoder::new(&mut room.0);
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
    raw: sys::msg::Batch,
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
        let raw =
            sys::msg::Batch::new(messages, control_space).ok_or(invalid("batch size overflows"))?;
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
        sys::msg::sent_len(&self.raw, i)
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
        sys::msg::send_mmsg(
            fd,
            &mut batch.raw,
            msgs.len(),
            |i, enc| {
                let m = &msgs[i];
                if let Err(reason) = encode(m.control, enc) {
                    return Err(bad_control("sendmmsg", fd, reason));
                }
                Ok(sys::msg::Outgoing {
                    data: match m.data {
                        SendData::One(data) => sys::msg::Data::One(data),
                        SendData::Vectored(bufs) => sys::msg::Data::Vectored(bufs),
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
        sys::msg::recv_mmsg(self.as_fd(), &mut batch.raw, bufs, libc::MSG_WAITFORONE)
    }
}

/// Generates a boolean option getter/setter over `sys::socket::getsockopt_int`.
macro_rules! bool_opt {
    ($(#[$doc:meta])* $get:ident / $set:ident: $level:expr, $opt:expr, $name:literal) => {
        $(#[$doc])*
        #[doc = concat!("\n\nCorresponds to `getsockopt(", $name, ")`.\n\n# Errors\n\nThe OS error of ", man!("getsockopt", 2), ", e.g. `ENOPROTOOPT` on a socket of the wrong family or protocol.")]
        pub fn $get(&self) -> Result<bool> {
            sys::socket::getsockopt_int(self.as_fd(), $level, $opt, concat!("getsockopt ", $name)).map(|v| v != 0)
        }

        #[doc = concat!("Sets `", $name, "`; see [`", stringify!($get), "`](Socket::", stringify!($get), ").\n\n# Errors\n\nThe OS error of ", man!("setsockopt", 2), ".")]
        pub fn $set(&self, on: bool) -> Result<()> {
            sys::socket::setsockopt_int(self.as_fd(), $level, $opt, libc::c_int::from(on), concat!("setsockopt ", $name))
        }
    };
}

/// The options that make the kernel attach control messages to what is
/// received, and the peer's credentials.
impl Socket {
    /// Whether `SO_PASSCRED` is on: every message received on this Unix
    /// socket carries the sender's [`Cmsg::ScmCredentials`].
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    pub fn pass_credentials(&self) -> Result<bool> {
        self.msg_opt("getsockopt SO_PASSCRED", |s| s.passcred())
    }

    /// Sets `SO_PASSCRED`; see [`pass_credentials`](Socket::pass_credentials).
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("setsockopt", 2), ".")]
    pub fn set_pass_credentials(&self, on: bool) -> Result<()> {
        self.msg_opt("setsockopt SO_PASSCRED", |s| s.set_passcred(on))
    }

    /// The credentials of the peer of a connected Unix socket, as they were
    /// when it connected (or when the pair was made). Linux answers for any
    /// socket: one without a Unix peer — unconnected, TCP, UDP — gets the
    /// kernel's "nobody", pid 0, uid and gid `u32::MAX` (`(uid_t)-1`),
    /// not an error.
    ///
    #[doc = concat!("Corresponds to `getsockopt(SO_PEERCRED)`; see ", man!("unix", 7), ".")]
    ///
    /// # Errors
    ///
    /// Only an unexpected OS error of `getsockopt`: Linux has none for an
    /// open socket.
    #[doc(alias = "SO_PEERCRED")]
    pub fn peer_credentials(&self) -> Result<UnixCredentials> {
        sys::msg::peer_credentials(self.as_fd()).map(UnixCredentials::from)
    }

    /// Whether each message received on this Unix socket carries the
    /// sender's pidfd as [`Cmsg::ScmPidfd`] (`SO_PASSPIDFD`, Linux 6.5+).
    /// The kernel installs that pidfd in this process; it is owned as
    /// received descriptors are (see [`RecvMsg`]).
    ///
    /// Corresponds to `getsockopt(SO_PASSPIDFD)`.
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` before Linux 6.5; the OS error of `getsockopt`.
    #[cfg(asm_generic_sockopts)]
    pub fn pass_pidfd(&self) -> Result<bool> {
        sys::socket::getsockopt_int(
            self.as_fd(),
            libc::SOL_SOCKET,
            sys::msg::SO_PASSPIDFD,
            "getsockopt SO_PASSPIDFD",
        )
        .map(|v| v != 0)
    }

    /// Sets `SO_PASSPIDFD`; see [`pass_pidfd`](Socket::pass_pidfd).
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` before Linux 6.5; the OS error of `setsockopt`.
    #[cfg(asm_generic_sockopts)]
    pub fn set_pass_pidfd(&self, on: bool) -> Result<()> {
        sys::socket::setsockopt_int(
            self.as_fd(),
            libc::SOL_SOCKET,
            sys::msg::SO_PASSPIDFD,
            libc::c_int::from(on),
            "setsockopt SO_PASSPIDFD",
        )
    }

    bool_opt! {
        /// Whether each datagram received carries [`Cmsg::PktInfoV4`]: the
        /// interface and local address it arrived at (`IP_PKTINFO`). Also
        /// lets [`ControlMessage::PktInfoV4`] choose the source of a send.
        recv_pktinfo_v4 / set_recv_pktinfo_v4: libc::IPPROTO_IP, libc::IP_PKTINFO, "IP_PKTINFO"
    }
    bool_opt! {
        /// Whether each datagram received carries [`Cmsg::PktInfoV6`]
        /// (`IPV6_RECVPKTINFO`).
        recv_pktinfo_v6 / set_recv_pktinfo_v6: libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, "IPV6_RECVPKTINFO"
    }
    bool_opt! {
        /// Whether each message received carries [`Cmsg::TimestampNs`], the
        /// kernel's receive time (`SO_TIMESTAMPNS`).
        recv_timestamp_ns / set_recv_timestamp_ns: libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, "SO_TIMESTAMPNS"
    }
    bool_opt! {
        /// Whether UDP generic receive offload is on (`UDP_GRO`): the
        /// kernel may coalesce datagrams of one flow into one buffer and
        /// report their size in [`Cmsg::UdpGroSegments`]. Receive into
        /// buffers of 64 KiB with it on.
        udp_gro / set_udp_gro: libc::SOL_UDP, libc::UDP_GRO, "UDP_GRO"
    }
    bool_opt! {
        /// Whether errors for datagrams sent are queued for
        /// [`recv_error_queue`](Socket::recv_error_queue) as
        /// [`Cmsg::ExtendedError`] (`IP_RECVERR`).
        recv_errors_v4 / set_recv_errors_v4: libc::IPPROTO_IP, libc::IP_RECVERR, "IP_RECVERR"
    }
    bool_opt! {
        /// As [`recv_errors_v4`](Socket::recv_errors_v4), for IPv6
        /// (`IPV6_RECVERR`).
        recv_errors_v6 / set_recv_errors_v6: libc::IPPROTO_IPV6, libc::IPV6_RECVERR, "IPV6_RECVERR"
    }

    /// Whether each datagram received carries its type-of-service byte as
    /// [`Cmsg::Tos`] (`IP_RECVTOS`).
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    pub fn recv_tos(&self) -> Result<bool> {
        self.msg_opt("getsockopt IP_RECVTOS", |s| s.recv_tos_v4())
    }

    /// Sets `IP_RECVTOS`; see [`recv_tos`](Socket::recv_tos).
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("setsockopt", 2), ".")]
    pub fn set_recv_tos(&self, on: bool) -> Result<()> {
        self.msg_opt("setsockopt IP_RECVTOS", |s| s.set_recv_tos_v4(on))
    }

    /// Whether each datagram received carries its traffic class as
    /// [`Cmsg::TrafficClass`] (`IPV6_RECVTCLASS`).
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    pub fn recv_tclass(&self) -> Result<bool> {
        self.msg_opt("getsockopt IPV6_RECVTCLASS", |s| s.recv_tclass_v6())
    }

    /// Sets `IPV6_RECVTCLASS`; see [`recv_tclass`](Socket::recv_tclass).
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("setsockopt", 2), ".")]
    pub fn set_recv_tclass(&self, on: bool) -> Result<()> {
        self.msg_opt("setsockopt IPV6_RECVTCLASS", |s| s.set_recv_tclass_v6(on))
    }

    /// The socket-wide UDP GSO segment size (`getsockopt(SOL_UDP,
    /// UDP_SEGMENT)`), 0 when unset: every send is then cut into datagrams
    /// of this size. Succeeds only where the kernel has UDP GSO (4.18+),
    /// which is how [`UdpSocket::gso_max_segments`](crate::UdpSocket::gso_max_segments)
    /// probes it.
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` where the kernel lacks UDP GSO, or on a socket that is
    /// not UDP.
    pub fn udp_segment(&self) -> Result<u16> {
        sys::socket::getsockopt_int(
            self.as_fd(),
            libc::SOL_UDP,
            libc::UDP_SEGMENT,
            "getsockopt UDP_SEGMENT",
        )
        .map(|v| u16::try_from(v).unwrap_or(u16::MAX))
    }

    /// Sets the socket-wide UDP GSO segment size (`setsockopt(SOL_UDP,
    /// UDP_SEGMENT)`); 0 turns it off. A [`ControlMessage::UdpGsoSegments`]
    /// overrides it for one send.
    ///
    /// # Errors
    ///
    /// As [`udp_segment`](Socket::udp_segment); `EINVAL` for a size the
    /// kernel refuses.
    pub fn set_udp_segment(&self, size: u16) -> Result<()> {
        sys::socket::setsockopt_int(
            self.as_fd(),
            libc::SOL_UDP,
            libc::UDP_SEGMENT,
            libc::c_int::from(size),
            "setsockopt UDP_SEGMENT",
        )
    }

    fn msg_opt<T>(
        &self,
        call: &'static str,
        f: impl FnOnce(&SockRef<'_>) -> io::Result<T>,
    ) -> Result<T> {
        f(&SockRef::from(self)).map_err(|e| Error::os(call, Subject::Fd(self.as_raw_fd()), e))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What a message sent as `m` decodes to, read back from its own bytes
    /// (the kernel hands send-side PKTINFO back in the same layout; the
    /// GSO size is a send-only message, so it reads back as Unknown).
    fn expected(m: &ControlMessage<'_>) -> String {
        match *m {
            ControlMessage::ScmCredentials(c) => format!("{:?}", Cmsg::ScmCredentials(c)),
            ControlMessage::PktInfoV4 { ifindex, source } => format!(
                "{:?}",
                Cmsg::PktInfoV4 {
                    ifindex,
                    addr: Ipv4Addr::UNSPECIFIED,
                    spec_dst: source
                }
            ),
            ControlMessage::PktInfoV6 { ifindex, source } => format!(
                "{:?}",
                Cmsg::PktInfoV6 {
                    ifindex,
                    addr: source
                }
            ),
            ControlMessage::Tos(t) => format!("{:?}", Cmsg::Tos(t)),
            ControlMessage::TrafficClass(t) => format!("{:?}", Cmsg::TrafficClass(t)),
            ControlMessage::UdpGsoSegments(n) => format!(
                "{:?}",
                Cmsg::Unknown {
                    level: libc::SOL_UDP,
                    ty: libc::UDP_SEGMENT,
                    data: &n.to_ne_bytes()
                }
            ),
            ControlMessage::ScmRights(_) | ControlMessage::Unknown { .. } => {
                unreachable!("not generated")
            }
        }
    }

    fn message() -> impl Strategy<Value = ControlMessage<'static>> {
        prop_oneof![
            (any::<i32>(), any::<u32>(), any::<u32>()).prop_map(|(pid, uid, gid)| {
                ControlMessage::ScmCredentials(UnixCredentials { pid, uid, gid })
            }),
            (0..i32::MAX as u32, any::<u32>()).prop_map(|(ifindex, a)| ControlMessage::PktInfoV4 {
                ifindex,
                source: Ipv4Addr::from(a)
            }),
            (any::<u32>(), any::<u128>()).prop_map(|(ifindex, a)| ControlMessage::PktInfoV6 {
                ifindex,
                source: Ipv6Addr::from(a)
            }),
            any::<u8>().prop_map(ControlMessage::Tos),
            any::<u8>().prop_map(ControlMessage::TrafficClass),
            any::<u16>().prop_map(ControlMessage::UdpGsoSegments),
        ]
    }

    proptest! {
        #[test]
        fn control_messages_round_trip_through_their_bytes(
            msgs in proptest::collection::vec(message(), 0..12)
        ) {
            let mut room = SendControl([const { MaybeUninit::uninit() }; MAX_SEND_CONTROL]);
            let mut enc = sys::msg::Encoder::new(&mut room.0);
            prop_assert!(encode(&msgs, &mut enc).is_ok());
            let bytes = enc.finish();
            let total: usize = msgs.iter().map(ControlMessage::space).sum();
            prop_assert_eq!(bytes.len(), total);
            let mut copy = CmsgBuffer::<MAX_SEND_CONTROL>::new();
            copy[..bytes.len()].copy_from_slice(bytes);
            let mut control = sys::msg::control_for_test(&mut copy[..total]);
            let got: Vec<String> = Cmsgs(control.iter()).map(|c| format!("{c:?}")).collect();
            let want: Vec<String> = msgs.iter().map(expected).collect();
            prop_assert_eq!(got, want);
        }

        /// Any bytes at all walk without a panic and every message is
        /// reported (the kernel's output is trusted, but never blindly).
        /// (The SCM_RIGHTS filter below knows the 64-bit cmsghdr layout.)
        #[cfg(target_pointer_width = "64")]
        #[test]
        fn arbitrary_control_bytes_never_panic(words in proptest::collection::vec(any::<u64>(), 0..32)) {
            let mut copy = CmsgBuffer::<256>::new();
            for (i, w) in words.iter().enumerate() {
                copy[i * 8..i * 8 + 8].copy_from_slice(&w.to_ne_bytes());
            }
            let len = words.len() * 8;
            // Keep SCM_RIGHTS out (its numbers would be closed).
            let rest: &[u8] = &copy[..len];
            // Headers start at multiples of 8; cmsg_level is at +8.
            if (0..len).step_by(8).any(|at| {
                rest.get(at + 8..at + 12)
                    .is_some_and(|l| i32::from_ne_bytes([l[0], l[1], l[2], l[3]]) == libc::SOL_SOCKET)
            }) {
                return Ok(());
            }
            let mut control = sys::msg::control_for_test(&mut copy[..len]);
            let n = Cmsgs(control.iter()).count();
            prop_assert!(n <= len / 16 + 1);
        }
    }

    #[test]
    fn recv_flags_debug_prints_constant_names() {
        assert_eq!(format!("{:?}", RecvFlags::default()), "(empty)");
        assert_eq!(
            format!("{:?}", RecvFlags::TRUNC | RecvFlags::CTRUNC),
            "MSG_TRUNC | MSG_CTRUNC"
        );
        assert_eq!(
            format!("{:?}", RecvFlags(libc::MSG_ERRQUEUE | 0x0100_0000)),
            "MSG_ERRQUEUE | 0x1000000"
        );
        assert_eq!(format!("{:?}", ErrorOrigin::ICMP), "SO_EE_ORIGIN_ICMP");
        assert_eq!(format!("{:?}", ErrorOrigin(200)), "SO_EE_ORIGIN(200)");
    }

    #[test]
    fn spaces_add_up_as_cmsg_space_does() {
        const N: usize = cmsg_space(&[CmsgKind::ScmRights(3), CmsgKind::PktInfoV4]);
        assert_eq!(N, sys::msg::space(12) + sys::msg::space(12));
        assert_eq!(cmsg_space(&[]), 0);
        assert_eq!(CmsgKind::ScmRights(usize::MAX).space(), usize::MAX);
        assert_eq!(
            cmsg_space(&[CmsgKind::ScmRights(usize::MAX), CmsgKind::Tos]),
            usize::MAX
        );
        let fds: [BorrowedFd<'_>; 0] = [];
        assert_eq!(
            ControlMessage::ScmRights(&fds).space(),
            CmsgKind::ScmRights(0).space()
        );
    }
}
