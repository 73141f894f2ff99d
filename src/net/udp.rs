//! UDP: `UdpSocket`, a thin shell over `Socket`.

use std::net::SocketAddr;

use crate::error::{Error, Result, Subject};
use crate::net::addr::inet;
use crate::net::resolve::{each_addr, ToSockAddrs};
use crate::net::shell::shell;
use crate::net::{Socket, Type};

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
pub struct UdpSocket(Socket);

shell!(UdpSocket, std::net::UdpSocket);

impl UdpSocket {
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
            Ok(UdpSocket(socket))
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
