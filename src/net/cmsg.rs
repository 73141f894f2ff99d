//! The control-message vocabulary of message I/O: what is sent
//! ([`ControlMessage`]) and what is received ([`Cmsg`], walked by
//! [`Cmsgs`]; descriptors in [`ScmRights`] and [`ScmPidfd`]), sizing
//! ([`CmsgKind`], [`cmsg_space`], [`CmsgBuffer`]), the error queue's
//! [`ExtendedError`], and [`UnixCredentials`]. The calls that carry them
//! are in `net/msg.rs` and `net/mmsg.rs`; how to size buffers and who owns
//! a received descriptor is on [`RecvMsg`](crate::RecvMsg).

use std::fmt;
use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use crate::addr::SockAddr;
use crate::error::{Error, Subject};
#[cfg(doc)]
use crate::net::socket::Socket;
use crate::sys;
use crate::sys::cmsg::RawCmsg;

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
    /// offload. See [`UdpSocket::send_gso`](crate::net::udp::UdpSocket::send_gso).
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
        sys::cmsg::space(data)
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

const _: () = assert!(mem::align_of::<CmsgBuffer<0>>() >= sys::cmsg::CMSG_ALIGN);

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
    pub const ZEROCOPY: ErrorOrigin = ErrorOrigin(sys::cmsg::SO_EE_ORIGIN_ZEROCOPY);
    /// `SO_EE_ORIGIN_TXTIME`: an `SO_TXTIME` packet was dropped.
    pub const TXTIME: ErrorOrigin = ErrorOrigin(sys::cmsg::SO_EE_ORIGIN_TXTIME);

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
/// are closed when the [`RecvMsg`](crate::RecvMsg) (or batch) they came with drops.
pub struct ScmRights<'a>(sys::cmsg::Rights<'a>);

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
/// with the [`RecvMsg`](crate::RecvMsg) (or batch) if not taken.
pub struct ScmPidfd<'a>(sys::cmsg::Rights<'a>);

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

/// A received control message (see [`RecvMsg::cmsgs`](crate::RecvMsg::cmsgs)).
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
    use sys::cmsg::read;
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
        n if n >= mem::size_of::<libc::c_int>() => sys::cmsg::read::<libc::c_int>(data),
        _ => None,
    }
}

/// The offender's address after a `sock_extended_err`: `AF_UNSPEC` (no
/// address) is the empty address.
fn offender(bytes: &[u8]) -> SockAddr {
    let family = sys::cmsg::read::<libc::sa_family_t>(bytes);
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

/// Iterates the control messages of a [`RecvMsg`](crate::RecvMsg) in the kernel's order.
pub struct Cmsgs<'a>(pub(crate) sys::cmsg::CmsgIter<'a>);

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

pub(crate) fn bad_control(call: &'static str, fd: BorrowedFd<'_>, reason: &'static str) -> Error {
    Error::InvalidInput {
        call,
        subject: Subject::Fd(fd.as_raw_fd()),
        reason,
    }
}

pub(crate) const DO_NOT_FIT: &str = "the control messages do not fit in one control buffer";
pub(crate) const RAW_RIGHTS: &str =
    "SCM_RIGHTS must be sent as ControlMessage::ScmRights, not Unknown";

/// Writes `msgs` with `enc`; the reason when they do not fit, or carry raw
/// `SCM_RIGHTS`.
pub(crate) fn encode(
    msgs: &[ControlMessage<'_>],
    enc: &mut sys::cmsg::Encoder<'_>,
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use std::mem::MaybeUninit;

    use super::*;
    use crate::net::msg::{RecvFlags, SendControl, MAX_SEND_CONTROL};

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
            let mut enc = sys::cmsg::Encoder::new(&mut room.0);
            prop_assert!(encode(&msgs, &mut enc).is_ok());
            let bytes = enc.finish();
            let total: usize = msgs.iter().map(ControlMessage::space).sum();
            prop_assert_eq!(bytes.len(), total);
            let mut copy = CmsgBuffer::<MAX_SEND_CONTROL>::new();
            copy[..bytes.len()].copy_from_slice(bytes);
            let mut control = sys::cmsg::control_for_test(&mut copy[..total]);
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
            let mut control = sys::cmsg::control_for_test(&mut copy[..len]);
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
        assert_eq!(N, sys::cmsg::space(12) + sys::cmsg::space(12));
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
