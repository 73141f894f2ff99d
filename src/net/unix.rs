//! Unix-domain sockets: `UnixListener`, `UnixStream`, `UnixDatagram`.
//!
//! Each takes a path, or a [`SockAddr`] for Linux abstract names
//! (`SockAddr::abstract_name`) through the `*_addr` constructors.

use std::net::Shutdown;
use std::path::Path;

use crate::addr::{Domain, SockAddr, Type};
use crate::error::Result;
use crate::net::socket::Socket;
use crate::net::tcp::DEFAULT_BACKLOG;
#[cfg(target_os = "linux")]
use crate::net::wrappers::forward_msg;
use crate::net::wrappers::{shell, stream_io};

fn bound(ty: Type, addr: &SockAddr) -> Result<Socket> {
    let socket = Socket::new(Domain::UNIX, ty, None)?;
    socket.bind(addr)?;
    Ok(socket)
}

/// A Unix-domain stream socket listening for connections.
///
/// The socket file stays after the listener drops (as with `bind(2)`);
/// remove it yourself, or use an abstract name.
pub struct UnixListener(Socket);

shell!(UnixListener, std::os::unix::net::UnixListener);

impl UnixListener {
    /// Binds to `path` and listens.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) for a path over
    /// 107 bytes or with a NUL; [`AddrInUse`](std::io::ErrorKind::AddrInUse)
    /// when the file exists.
    pub fn bind(path: impl AsRef<Path>) -> Result<UnixListener> {
        Self::bind_addr(&SockAddr::unix(path)?)
    }

    /// Binds to `addr` (a path or an abstract name) and listens.
    ///
    /// # Errors
    ///
    /// As [`bind`](UnixListener::bind).
    pub fn bind_addr(addr: &SockAddr) -> Result<UnixListener> {
        let socket = bound(Type::STREAM, addr)?;
        socket.listen(DEFAULT_BACKLOG)?;
        Ok(UnixListener(socket))
    }

    /// Accepts a connection and the peer's address (usually unnamed).
    ///
    /// # Errors
    ///
    /// As [`Socket::accept`].
    pub fn accept(&self) -> Result<(UnixStream, SockAddr)> {
        let (socket, addr) = self.0.accept()?;
        Ok((UnixStream(socket), addr))
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// As [`Socket::local_addr`].
    pub fn local_addr(&self) -> Result<SockAddr> {
        self.0.local_addr()
    }
}

/// A connected Unix-domain stream socket.
pub struct UnixStream(Socket);

shell!(UnixStream, std::os::unix::net::UnixStream);
stream_io!(UnixStream);

impl UnixStream {
    /// Connects to the listener at `path`.
    ///
    /// # Errors
    ///
    /// [`NotFound`](std::io::ErrorKind::NotFound) when nothing is there,
    /// [`ConnectionRefused`](std::io::ErrorKind::ConnectionRefused) when
    /// nobody listens.
    pub fn connect(path: impl AsRef<Path>) -> Result<UnixStream> {
        Self::connect_addr(&SockAddr::unix(path)?)
    }

    /// Connects to `addr` (a path or an abstract name).
    ///
    /// # Errors
    ///
    /// As [`connect`](UnixStream::connect).
    pub fn connect_addr(addr: &SockAddr) -> Result<UnixStream> {
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        socket.connect(addr)?;
        Ok(UnixStream(socket))
    }

    /// A pair of connected, unnamed stream sockets.
    ///
    /// # Errors
    ///
    /// As [`Socket::pair`].
    pub fn pair() -> Result<(UnixStream, UnixStream)> {
        let (a, b) = Socket::pair(Domain::UNIX, Type::STREAM, None)?;
        Ok((UnixStream(a), UnixStream(b)))
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// As [`Socket::local_addr`].
    pub fn local_addr(&self) -> Result<SockAddr> {
        self.0.local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// As [`Socket::peer_addr`].
    pub fn peer_addr(&self) -> Result<SockAddr> {
        self.0.peer_addr()
    }

    /// Shuts down one or both directions.
    ///
    /// # Errors
    ///
    /// As [`Socket::shutdown`].
    pub fn shutdown(&self, how: Shutdown) -> Result<()> {
        self.0.shutdown(how)
    }
}

/// A Unix-domain datagram socket.
pub struct UnixDatagram(Socket);

shell!(UnixDatagram, std::os::unix::net::UnixDatagram);

impl UnixDatagram {
    /// A socket bound to `path`.
    ///
    /// # Errors
    ///
    /// As [`UnixListener::bind`].
    pub fn bind(path: impl AsRef<Path>) -> Result<UnixDatagram> {
        Self::bind_addr(&SockAddr::unix(path)?)
    }

    /// A socket bound to `addr` (a path or an abstract name).
    ///
    /// # Errors
    ///
    /// As [`UnixListener::bind`].
    pub fn bind_addr(addr: &SockAddr) -> Result<UnixDatagram> {
        Ok(UnixDatagram(bound(Type::DGRAM, addr)?))
    }

    /// An unbound socket (it can send, and receive replies only once connected).
    ///
    /// # Errors
    ///
    /// As [`Socket::new`].
    pub fn unbound() -> Result<UnixDatagram> {
        Ok(UnixDatagram(Socket::new(Domain::UNIX, Type::DGRAM, None)?))
    }

    /// A pair of connected, unnamed datagram sockets.
    ///
    /// # Errors
    ///
    /// As [`Socket::pair`].
    pub fn pair() -> Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = Socket::pair(Domain::UNIX, Type::DGRAM, None)?;
        Ok((UnixDatagram(a), UnixDatagram(b)))
    }

    /// Sets the default peer to the socket at `path` (and receives only from
    /// it).
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) for a bad path (as
    /// [`SockAddr::unix`]); otherwise as [`Socket::connect`], e.g.
    /// [`NotFound`](std::io::ErrorKind::NotFound) when nothing is bound there.
    pub fn connect(&self, path: impl AsRef<Path>) -> Result<()> {
        self.connect_addr(&SockAddr::unix(path)?)
    }

    /// Sets the default peer to `addr` (a path or an abstract name).
    ///
    /// # Errors
    ///
    /// As [`Socket::connect`].
    pub fn connect_addr(&self, addr: &SockAddr) -> Result<()> {
        self.0.connect(addr)
    }

    /// Sends a datagram to `addr`.
    ///
    /// # Errors
    ///
    /// As [`Socket::send_to`].
    pub fn send_to(&self, buf: &[u8], addr: &SockAddr) -> Result<usize> {
        self.0.send_to(buf, addr)
    }

    /// Receives a datagram and its sender ([unnamed](SockAddr::unnamed) if
    /// it never bound).
    ///
    /// # Errors
    ///
    /// As [`Socket::recv_from`].
    pub fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SockAddr)> {
        let (n, from) = self.0.recv_from(buf)?;
        Ok((n, sender(from)))
    }

    /// Receives a datagram and its sender ([unnamed](SockAddr::unnamed) if
    /// it never bound) without removing it from the queue.
    ///
    /// # Errors
    ///
    /// As [`Socket::peek_from`].
    pub fn peek_from(&self, buf: &mut [u8]) -> Result<(usize, SockAddr)> {
        let (n, from) = self.0.peek_from(buf)?;
        Ok((n, sender(from)))
    }

    /// Sends to the connected peer.
    ///
    /// # Errors
    ///
    /// As [`Socket::send`].
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

    /// Receives from the connected peer without removing the datagram from
    /// the queue.
    ///
    /// # Errors
    ///
    /// As [`Socket::peek`].
    pub fn peek(&self, buf: &mut [u8]) -> Result<usize> {
        self.0.peek(buf)
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// As [`Socket::local_addr`].
    pub fn local_addr(&self) -> Result<SockAddr> {
        self.0.local_addr()
    }
}

/// Message I/O with control messages: descriptors (`SCM_RIGHTS`) and
/// credentials (`SCM_CREDENTIALS`). See [`Socket::send_msg`].
#[cfg(target_os = "linux")]
impl UnixStream {
    /// Sends `bufs` with `control` (e.g. [`ControlMessage::ScmRights`](crate::net::cmsg::ControlMessage::ScmRights)).
    ///
    /// # Errors
    ///
    /// As [`Socket::send_msg`].
    pub fn send_msg(
        &self,
        bufs: &[std::io::IoSlice<'_>],
        control: &[crate::net::cmsg::ControlMessage<'_>],
    ) -> Result<usize> {
        self.0.send_msg(bufs, None, control)
    }

    forward_msg! {
        /// Receives into `bufs` with control messages in `control`; received
        /// descriptors are close-on-exec and owned by the result.
        recv_msg
    }

    forward_msg! {
        /// The peer's credentials when it connected (`SO_PEERCRED`).
        peer_credentials
    }
}

/// Message I/O with control messages, single and batched.
#[cfg(target_os = "linux")]
impl UnixDatagram {
    /// Sends one datagram of `bufs` (to `addr`, unless connected) with
    /// `control`.
    ///
    /// # Errors
    ///
    /// As [`Socket::send_msg`].
    pub fn send_msg(
        &self,
        bufs: &[std::io::IoSlice<'_>],
        addr: Option<&SockAddr>,
        control: &[crate::net::cmsg::ControlMessage<'_>],
    ) -> Result<usize> {
        self.0.send_msg(bufs, addr, control)
    }

    forward_msg! {
        /// The peer's credentials, for a connected pair or socket
        /// (`SO_PEERCRED`).
        peer_credentials
    }

    /// Receives one datagram with its control messages; the sender is
    /// [unnamed](SockAddr::unnamed) if it never bound, as from
    /// [`recv_from`](UnixDatagram::recv_from).
    ///
    /// # Errors
    ///
    /// As [`Socket::recv_msg`].
    pub fn recv_msg<'c>(
        &self,
        bufs: &mut [std::io::IoSliceMut<'_>],
        control: &'c mut [u8],
    ) -> Result<crate::net::msg::RecvMsg<'c>> {
        let mut msg = self.0.recv_msg(bufs, control)?;
        if msg.addr.is_empty() {
            msg.addr = SockAddr::unnamed();
        }
        Ok(msg)
    }

    forward_msg! {
        /// Sends a batch of datagrams in one call.
        send_mmsg
    }

    /// Receives a batch of datagrams in one call; a sender that never
    /// bound is [unnamed](SockAddr::unnamed) in
    /// [`MmsgBatch::get`](crate::net::mmsg::MmsgBatch::get), as from
    /// [`recv_from`](UnixDatagram::recv_from).
    ///
    /// # Errors
    ///
    /// As [`Socket::recv_mmsg`].
    pub fn recv_mmsg<B: AsMut<[u8]>>(
        &self,
        batch: &mut crate::net::mmsg::MmsgBatch,
        bufs: &mut [B],
    ) -> Result<usize> {
        let n = self.0.recv_mmsg(batch, bufs)?;
        batch.unix_senders = true;
        Ok(n)
    }
}

/// The sender of a Unix datagram as sockpoll reports it (from every
/// receive of a [`UnixDatagram`], and from its batches). Linux gives a
/// sender that never bound no address at all (length 0) where
/// `getpeername` says unnamed (just the family); on a Unix socket both mean
/// an unnamed socket, said one way, as std's `UnixDatagram::recv_from`
/// does.
fn sender(from: SockAddr) -> SockAddr {
    if from.is_empty() {
        SockAddr::unnamed()
    } else {
        from
    }
}
