//! UDP: `UdpSocket`, a thin shell over `Socket`.

use std::net::SocketAddr;
#[cfg(target_os = "linux")]
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use crate::addr::inet;
use crate::addr::Type;
use crate::error::{Error, Result, Subject};
use crate::net::resolve::{each_addr, ToSockAddrs};
use crate::net::socket::Socket;
#[cfg(target_os = "linux")]
use crate::net::wrappers::forward_msg;
use crate::net::wrappers::shell;

/// The largest UDP payload over IPv4: 65,535 − 8 (UDP header) − 20 (IP header).
pub const MAX_UDP_PAYLOAD_V4: usize = 65_507;

/// A UDP socket.
///
/// A zero-length datagram is a datagram: `recv_from` returns 0 for it, and
/// that is not end of file. A datagram longer than the buffer is cut; use
/// [`Socket::recv_from_vectored`] through [`as_socket`](UdpSocket::as_socket)
/// to learn that it was.
///
/// ```
/// use sockpoll::UdpSocket;
/// # fn main() -> sockpoll::Result<()> {
/// let a = UdpSocket::bind("127.0.0.1:0")?;
/// let b = UdpSocket::bind("127.0.0.1:0")?;
/// a.send_to(b"ping", b.local_addr()?)?;
/// let mut buf = [0; 16];
/// let (n, from) = b.recv_from(&mut buf)?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
/// # Ok(()) }
/// ```
pub struct UdpSocket(Socket, Offload);

shell!(UdpSocket, std::net::UdpSocket, UdpSocket::wrap);

impl UdpSocket {
    fn wrap(socket: Socket) -> UdpSocket {
        UdpSocket(socket, Offload::default())
    }

    /// Creates a socket bound to the first address of `addr` that works.
    ///
    /// # Errors
    ///
    /// The last address's error ([`AddrInUse`](std::io::ErrorKind::AddrInUse)
    /// for a busy port); resolution errors for a bad name.
    pub fn bind(addr: impl ToSockAddrs) -> Result<UdpSocket> {
        each_addr("bind", &addr, |addr| {
            let socket = Socket::new(addr.family(), Type::DGRAM, None)?;
            socket.bind(addr)?;
            Ok(UdpSocket::wrap(socket))
        })
    }

    /// Sends a datagram to `addr`: its first address of this socket's family
    /// when `addr` names several families (a name that resolves to both
    /// `::1` and `127.0.0.1`, say), else its first address.
    ///
    /// # Errors
    ///
    /// As [`Socket::send_to`]; `EMSGSIZE` over [`MAX_UDP_PAYLOAD_V4`] on IPv4;
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) when `addr` names
    /// no address, or several families none of which is this socket's.
    pub fn send_to(&self, buf: &[u8], addr: impl ToSockAddrs) -> Result<usize> {
        let addrs = addr.to_sock_addrs()?;
        let none = |reason| Error::InvalidInput {
            call: "sendto",
            subject: Subject::None,
            reason,
        };
        let first = addrs.first().ok_or(none("no address to send to"))?;
        let target = if addrs.iter().all(|a| a.family() == first.family()) {
            // One family: nothing to choose; the kernel judges it (an IPv6
            // socket may send to IPv4 addresses).
            first
        } else {
            let mine = self.0.domain()?;
            addrs
                .iter()
                .find(|a| a.family() == mine)
                .ok_or(none("none of the addresses is of the socket's family"))?
        };
        self.0.send_to(buf, target)
    }

    /// Receives a datagram and its sender.
    ///
    /// # Errors
    ///
    /// As [`Socket::recv_from`].
    pub fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr)> {
        let (n, addr) = self.0.recv_from(buf)?;
        Ok((n, inet(addr, "recvfrom")?))
    }

    /// Receives a datagram without removing it from the queue.
    ///
    /// # Errors
    ///
    /// As [`Socket::recv_from`].
    pub fn peek_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr)> {
        let (n, addr) = self.0.peek_from(buf)?;
        Ok((n, inet(addr, "recvfrom")?))
    }

    /// Sets the default peer (and filters incoming datagrams to it), trying
    /// each address of `addr` in turn.
    ///
    /// # Errors
    ///
    /// As [`Socket::connect`].
    pub fn connect(&self, addr: impl ToSockAddrs) -> Result<()> {
        each_addr("connect", &addr, |addr| self.0.connect(addr))
    }

    /// Sends to the connected peer.
    ///
    /// # Errors
    ///
    /// As [`Socket::send`]; `ECONNREFUSED` after the peer's port answered
    /// an earlier datagram with ICMP port-unreachable.
    pub fn send(&self, buf: &[u8]) -> Result<usize> {
        self.0.send(buf)
    }

    /// Receives from the connected peer.
    ///
    /// # Errors
    ///
    /// As [`Socket::recv`].
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        self.0.recv(buf)
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// As [`Socket::local_addr`].
    pub fn local_addr(&self) -> Result<SocketAddr> {
        inet(self.0.local_addr()?, "getsockname")
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// [`NotConnected`](std::io::ErrorKind::NotConnected) without a peer.
    pub fn peer_addr(&self) -> Result<SocketAddr> {
        inet(self.0.peer_addr()?, "getpeername")
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    ///
    /// As [`Socket::broadcast`].
    pub fn broadcast(&self) -> Result<bool> {
        self.0.broadcast()
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Errors
    ///
    /// As [`Socket::set_broadcast`].
    pub fn set_broadcast(&self, on: bool) -> Result<()> {
        self.0.set_broadcast(on)
    }
}

/// What this socket's kernel offers for UDP segmentation and receive
/// offload, probed once per socket and cached (the probes are a
/// `getsockopt` each).
#[derive(Default)]
struct Offload {
    /// 0: not probed yet; else the most segments one GSO send may carry.
    #[cfg(target_os = "linux")]
    gso_max: AtomicUsize,
    /// 0: not probed yet; 1: off; 2: on.
    #[cfg(target_os = "linux")]
    gro: AtomicU8,
}

#[cfg(target_os = "linux")]
impl Offload {
    /// A GSO send failed with `e`: `EIO` means the device cannot segment
    /// (no checksum offload), so GSO is off for this socket from now on.
    fn gso_failed(&self, e: &Error) {
        if e.raw_os_error() == Some(libc::EIO) {
            self.gso_max.store(1, Ordering::Relaxed);
        }
    }
}

/// The most segments one GSO send may carry: `UDP_MAX_SEGMENTS` in the
/// kernel's `include/linux/udp.h` (64 since 4.18; newer kernels allow 128,
/// so 64 is safe on all).
#[cfg(target_os = "linux")]
const UDP_MAX_SEGMENTS: usize = 64;

/// Message I/O, batches, and UDP segmentation (GSO) / receive (GRO)
/// offload.
#[cfg(target_os = "linux")]
impl UdpSocket {
    /// Sends one datagram of `bufs` (to `addr`, unless connected) with the
    /// control messages `control` (source address, TOS/traffic class, GSO
    /// segment size…).
    ///
    /// # Errors
    ///
    /// As [`Socket::send_msg`].
    pub fn send_msg(
        &self,
        bufs: &[std::io::IoSlice<'_>],
        addr: Option<SocketAddr>,
        control: &[crate::net::cmsg::ControlMessage<'_>],
    ) -> Result<usize> {
        let addr = addr.map(crate::addr::SockAddr::from);
        self.0.send_msg(bufs, addr.as_ref(), control)
    }

    forward_msg! {
        /// Receives one datagram with its control messages (see the options on
        /// [`Socket`] that turn them on: [`Socket::set_recv_pktinfo_v4`], …).
        recv_msg
    }

    forward_msg! {
        /// Reads one error from the error queue (with
        /// [`Socket::set_recv_errors_v4`] or `_v6` on).
        recv_error_queue
    }

    forward_msg! {
        /// Sends a batch of datagrams in one call.
        send_mmsg
    }

    forward_msg! {
        /// Receives a batch of datagrams in one call.
        recv_mmsg
    }

    /// The most segments one [`send_gso`](UdpSocket::send_gso) may carry:
    /// 1 when the kernel has no UDP GSO (or a GSO send failed with `EIO`:
    /// the device cannot segment), else 64. Probed once, with
    /// `getsockopt(SOL_UDP, UDP_SEGMENT)`, and cached.
    pub fn gso_max_segments(&self) -> usize {
        match self.1.gso_max.load(Ordering::Relaxed) {
            0 => {
                let max = match self.0.udp_segment() {
                    Ok(_) => UDP_MAX_SEGMENTS,
                    Err(_) => 1,
                };
                // Another thread may have lowered it after an EIO meanwhile:
                // keep the lower value.
                match self
                    .1
                    .gso_max
                    .compare_exchange(0, max, Ordering::Relaxed, Ordering::Relaxed)
                {
                    Ok(_) => max,
                    Err(now) => now,
                }
            }
            max => max,
        }
    }

    /// Sends `buf` as datagrams of `segment_size` bytes each (the last may
    /// be shorter) in one call, through generic segmentation offload
    /// (`UDP_SEGMENT` control message), to `addr` or the connected peer.
    /// Returns the bytes sent. The receiver sees separate datagrams (or,
    /// with GRO on, coalesced ones; see [`recv_gro`](UdpSocket::recv_gro)).
    ///
    /// When the kernel refuses the send with `EIO` (the outgoing device
    /// cannot checksum-offload), [`gso_max_segments`](UdpSocket::gso_max_segments)
    /// drops to 1 from then on and the error is returned: send the
    /// segments one by one.
    ///
    #[doc = concat!("Corresponds to ", man!("sendmsg", 2), " with `UDP_SEGMENT`; see ", man!("udp", 7), ".")]
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) for a zero
    /// `segment_size`, or more segments than
    /// [`gso_max_segments`](UdpSocket::gso_max_segments) (when that is 1:
    /// more than one); `EIO` as above; `EINVAL` for a segment size over the
    /// path MTU; otherwise as [`Socket::send_msg`].
    pub fn send_gso(
        &self,
        buf: &[u8],
        segment_size: u16,
        addr: Option<SocketAddr>,
    ) -> Result<usize> {
        let invalid = |reason| Error::InvalidInput {
            call: "sendmsg",
            subject: Subject::Fd(std::os::fd::AsRawFd::as_raw_fd(&self.0)),
            reason,
        };
        if segment_size == 0 {
            return Err(invalid("a GSO segment size of 0"));
        }
        let segments = buf.len().div_ceil(usize::from(segment_size)).max(1);
        if segments > self.gso_max_segments() {
            return Err(invalid("more GSO segments than gso_max_segments() allows"));
        }
        let control = [crate::net::cmsg::ControlMessage::UdpGsoSegments(
            segment_size,
        )];
        let result = self.send_msg(&[std::io::IoSlice::new(buf)], addr, &control);
        if let Err(e) = &result {
            self.1.gso_failed(e);
        }
        result
    }

    /// Whether UDP receive offload (`UDP_GRO`) is on for this socket: the
    /// kernel may then hand [`recv_gro`](UdpSocket::recv_gro) several
    /// datagrams of one flow in one buffer. Probed once with `getsockopt`
    /// (false where the kernel lacks GRO) and cached; [`set_gro`](UdpSocket::set_gro)
    /// keeps it up to date (setting `UDP_GRO` through [`as_socket`](UdpSocket::as_socket)
    /// bypasses the cache).
    pub fn gro_enabled(&self) -> bool {
        self.gro_cached(|| self.0.udp_gro().unwrap_or(false))
    }

    /// [`gro_enabled`](UdpSocket::gro_enabled), with `probe` asking the
    /// kernel when nothing is cached.
    fn gro_cached(&self, probe: impl FnOnce() -> bool) -> bool {
        match self.1.gro.load(Ordering::Relaxed) {
            0 => {
                let on = probe();
                // Only over "not probed yet": a `set_gro` that ran since
                // the probe knows better.
                let probed = if on { 2 } else { 1 };
                match self
                    .1
                    .gro
                    .compare_exchange(0, probed, Ordering::Relaxed, Ordering::Relaxed)
                {
                    Ok(_) => on,
                    Err(set) => set == 2,
                }
            }
            state => state == 2,
        }
    }

    /// Turns UDP receive offload on or off (`setsockopt(SOL_UDP, UDP_GRO)`).
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` where the kernel lacks GRO (5.0+); the OS error of
    /// `setsockopt`.
    pub fn set_gro(&self, on: bool) -> Result<()> {
        self.0.set_udp_gro(on)?;
        self.1.gro.store(if on { 2 } else { 1 }, Ordering::Relaxed);
        Ok(())
    }

    /// Receives one datagram — or, with GRO on, several of one flow
    /// coalesced — and the size of each segment: `buf[..len]` holds
    /// datagrams of `segment_size` bytes (the last may be shorter). Without
    /// GRO (or for a lone datagram) `segment_size` is `len`. With GRO on,
    /// give it a 64 KiB buffer: a smaller one may not hold what the kernel
    /// coalesced, which [`GroRecv::truncated`] then says (the cut
    /// datagram and whatever followed are lost; [`GroRecv::whole_len`]
    /// is where the whole datagrams end).
    ///
    /// # Errors
    ///
    /// As [`Socket::recv_msg`]; [`InvalidInput`](std::io::ErrorKind::InvalidInput)
    /// for a sender that is not IPv4/IPv6 (never on a UDP socket).
    pub fn recv_gro(&self, buf: &mut [u8]) -> Result<GroRecv> {
        // Room for UDP_GRO and what else the caller turned on (timestamps,
        // pktinfo, TOS…), which the kernel may put before it; only the
        // segment size is read.
        let mut control = crate::net::cmsg::CmsgBuffer::<256>::new();
        let mut msg = self
            .0
            .recv_msg(&mut [std::io::IoSliceMut::new(buf)], &mut control)?;
        let len = msg.len;
        let mut segment_size = len;
        let mut coalesced = false;
        for cmsg in msg.cmsgs() {
            if let crate::net::cmsg::Cmsg::UdpGroSegments(size) = cmsg {
                segment_size = usize::from(size);
                coalesced = true;
            }
        }
        let addr = inet(msg.addr.clone(), "recvmsg")?;
        Ok(GroRecv {
            len,
            addr,
            segment_size,
            truncated: msg.flags.is_truncated(),
            coalesced,
        })
    }
}

/// What one [`UdpSocket::recv_gro`] received.
#[cfg(target_os = "linux")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroRecv {
    /// Bytes written to the buffer.
    pub len: usize,
    /// The sender.
    pub addr: SocketAddr,
    /// The size of each datagram in the buffer (the last one may be
    /// shorter); `len` for a lone datagram.
    pub segment_size: usize,
    /// The kernel had more than the buffer held (`MSG_TRUNC`): the buffer
    /// ends in the first bytes of a datagram that was cut, and the rest of
    /// the coalesced data is lost. Only the first
    /// [`whole_len`](GroRecv::whole_len) bytes are whole datagrams.
    pub truncated: bool,
    /// The kernel reported a segment size (`UDP_GRO`): several datagrams
    /// may be in the buffer.
    coalesced: bool,
}

#[cfg(target_os = "linux")]
impl GroRecv {
    /// The bytes of whole datagrams at the start of the buffer: `len`, or
    /// when [`truncated`](GroRecv::truncated) the whole segments before the
    /// cut one (0 for a lone datagram that was cut).
    pub fn whole_len(&self) -> usize {
        match (self.truncated, self.coalesced) {
            (false, _) => self.len,
            (true, true) if self.segment_size > 0 => self.len - self.len % self.segment_size,
            (true, _) => 0,
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// A `set_gro` that lands between `gro_enabled`'s probe and its store
    /// (another thread's, in life; made to happen inside the probe here):
    /// the probe's stale "off" is not cached over it.
    #[test]
    fn a_set_gro_during_the_first_probe_wins() {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let seen = s.gro_cached(|| {
            let before = s.0.udp_gro().unwrap();
            s.set_gro(true).unwrap();
            before
        });
        assert!(seen, "the answer is what set_gro stored");
        assert!(s.gro_enabled(), "the cache says off, the socket has GRO on");
        assert!(s.as_socket().udp_gro().unwrap());
    }

    /// The EIO fallback (a device without checksum offload; loopback has
    /// it, so the kernel cannot be made to say EIO here): GSO drops to one
    /// segment, and a send of several is refused before the call.
    #[test]
    fn an_eio_from_a_gso_send_lowers_the_maximum_to_one() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(a.gso_max_segments() > 1);
        a.1.gso_failed(&Error::errno("sendmsg", Subject::None, libc::EINVAL));
        assert!(a.gso_max_segments() > 1, "only EIO lowers it");
        a.1.gso_failed(&Error::errno("sendmsg", Subject::None, libc::EIO));
        assert_eq!(a.gso_max_segments(), 1);
        let err = a
            .send_gso(&[0; 200], 100, Some(b.local_addr().unwrap()))
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        // One segment still goes.
        assert_eq!(
            a.send_gso(&[0; 100], 100, Some(b.local_addr().unwrap()))
                .unwrap(),
            100
        );
    }
}
