//! `Socket`: an owned socket descriptor and the calls made on it.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
#[cfg(linux_like)]
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::{Duration, Instant};

use socket2::SockRef;

use crate::error::{Error, Result, Subject};
use crate::net::{Domain, Protocol, SockAddr, Type};
use crate::sys;

/// An owned socket: a file descriptor closed when the `Socket` drops.
///
/// `Socket` is the untyped layer: any domain, type and protocol. The typed
/// wrappers ([`TcpStream`](crate::TcpStream), [`UdpSocket`](crate::UdpSocket),
/// …) are thin shells over it and give it back through `into_inner`.
///
/// Every descriptor sockpoll creates is close-on-exec. Every send uses
/// `MSG_NOSIGNAL`: a send to a closed peer returns
/// [`BrokenPipe`](io::ErrorKind::BrokenPipe) instead of raising `SIGPIPE`.
/// A `Socket` cannot be cloned; [`close`](Socket::close) consumes it, so a
/// closed (and perhaps reused) descriptor number cannot be used again.
///
/// ```
/// use sockpoll::{Domain, SockAddr, Socket, Type};
/// # fn main() -> sockpoll::Result<()> {
/// let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
/// listener.bind(&SockAddr::from(std::net::SocketAddr::from(([127, 0, 0, 1], 0))))?;
/// listener.listen(16)?;
/// let client = Socket::new(Domain::IPV4, Type::STREAM, None)?;
/// client.connect(&listener.local_addr()?)?;
/// let (server, _peer) = listener.accept()?;
/// client.send(b"ping")?;
/// let mut buf = [0; 4];
/// assert_eq!(server.recv(&mut buf)?, 4);
/// # Ok(()) }
/// ```
pub struct Socket {
    fd: OwnedFd,
}

/// What [`Socket::recv_from_vectored`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Received {
    /// Bytes written into the buffers.
    pub len: usize,
    /// The sender's address, of any family; [empty](SockAddr::is_empty)
    /// when the kernel reported none (a connected stream socket).
    pub addr: SockAddr,
    /// True when the datagram was longer than the buffers and its tail was
    /// discarded (`MSG_TRUNC` in `msg_flags`).
    pub truncated: bool,
}

impl Socket {
    /// Creates a socket (close-on-exec); `protocol` `None` lets the kernel
    /// choose the default for the domain and type.
    ///
    #[doc = concat!("Corresponds to ", man!("socket", 2), " with `SOCK_CLOEXEC`.")]
    ///
    /// # Errors
    ///
    /// The OS error: e.g. `EAFNOSUPPORT`, `EMFILE` (see [`Error::is_fd_exhausted`]).
    #[doc(alias = "socket")]
    pub fn new(domain: Domain, ty: Type, protocol: Option<Protocol>) -> Result<Socket> {
        Self::with_flags(domain, ty, protocol, false)
    }

    /// Like [`new`](Socket::new), but the socket starts non-blocking
    /// (`SOCK_NONBLOCK`), saving a system call.
    ///
    /// # Errors
    ///
    /// As [`new`](Socket::new).
    pub fn new_nonblocking(domain: Domain, ty: Type, protocol: Option<Protocol>) -> Result<Socket> {
        Self::with_flags(domain, ty, protocol, true)
    }

    fn with_flags(
        domain: Domain,
        ty: Type,
        protocol: Option<Protocol>,
        nonblocking: bool,
    ) -> Result<Socket> {
        let protocol = protocol.map_or(0, |p| p.0);
        let fd = sys::socket::socket(domain.0, ty.0, protocol, nonblocking)?;
        Ok(Socket { fd })
    }

    /// Creates a pair of connected sockets (close-on-exec), usually
    /// `Domain::UNIX`.
    ///
    #[doc = concat!("Corresponds to ", man!("socketpair", 2), ".")]
    ///
    /// # Errors
    ///
    /// The OS error, e.g. `EOPNOTSUPP` for a domain without pairs.
    #[doc(alias = "socketpair")]
    pub fn pair(domain: Domain, ty: Type, protocol: Option<Protocol>) -> Result<(Socket, Socket)> {
        let (a, b) = sys::socket::socketpair(domain.0, ty.0, protocol.map_or(0, |p| p.0))?;
        Ok((Socket { fd: a }, Socket { fd: b }))
    }

    /// Binds the socket to `addr`.
    ///
    #[doc = concat!("Corresponds to ", man!("bind", 2), ".")]
    ///
    /// # Errors
    ///
    /// [`AddrInUse`](io::ErrorKind::AddrInUse) for a busy port,
    /// [`PermissionDenied`](io::ErrorKind::PermissionDenied) for a privileged
    /// one, [`AddrNotAvailable`](io::ErrorKind::AddrNotAvailable) for an
    /// address not on this host. The message names the address.
    pub fn bind(&self, addr: &SockAddr) -> Result<()> {
        sys::socket::bind(self.as_fd(), addr)
    }

    /// Marks the socket as accepting connections, with room for `backlog`
    /// pending ones (the kernel caps it at `net.core.somaxconn`).
    ///
    #[doc = concat!("Corresponds to ", man!("listen", 2), ".")]
    ///
    /// # Errors
    ///
    /// The OS error, e.g. `EOPNOTSUPP` on a datagram socket.
    pub fn listen(&self, backlog: i32) -> Result<()> {
        sys::socket::listen(self.as_fd(), backlog)
    }

    /// Accepts a connection: the new socket (close-on-exec, blocking) and the
    /// peer's address. Interrupted calls are restarted.
    ///
    #[doc = concat!("Corresponds to ", man!("accept4", 2), " with `SOCK_CLOEXEC`.")]
    ///
    /// # Errors
    ///
    /// [`WouldBlock`](io::ErrorKind::WouldBlock) on a non-blocking listener
    /// with nothing pending; `EMFILE`/`ENFILE` when the process or system is
    /// out of descriptors ([`Error::is_fd_exhausted`]) — the connection stays
    /// queued, so a level-triggered listener stays ready: back off.
    #[doc(alias = "accept4")]
    pub fn accept(&self) -> Result<(Socket, SockAddr)> {
        let (fd, addr) = sys::socket::accept(self.as_fd(), false)?;
        Ok((Socket { fd }, addr))
    }

    /// Like [`accept`](Socket::accept), but the new socket is non-blocking
    /// (`SOCK_NONBLOCK`), saving a system call in event loops.
    ///
    /// # Errors
    ///
    /// As [`accept`](Socket::accept).
    pub fn accept_nonblocking(&self) -> Result<(Socket, SockAddr)> {
        let (fd, addr) = sys::socket::accept(self.as_fd(), true)?;
        Ok((Socket { fd }, addr))
    }

    /// Connects to `addr`.
    ///
    /// On a blocking socket this returns when the connection is made, and
    /// never reports success for a socket that is not connected. A write
    /// timeout ([`set_write_timeout`](Socket::set_write_timeout),
    /// `SO_SNDTIMEO`) bounds it, as the kernel does. If a signal interrupts
    /// it, what happens next depends on the family: a TCP connect goes on in
    /// the kernel, so this call waits for it and reports its outcome; an
    /// `AF_UNIX` connect is abandoned by the kernel, so this call starts it
    /// again. Either way the write timeout still bounds the whole call, from
    /// when it began: signals do not extend it.
    ///
    /// On a non-blocking socket an unfinished TCP connection is an error for
    /// which [`Error::is_in_progress`] is true: wait until the socket is
    /// writable, then ask [`take_error`](Socket::take_error) whether it
    /// succeeded — writable alone does not mean connected. A non-blocking
    /// `AF_UNIX` connect never is in progress: it succeeds at once, or fails
    /// with [`WouldBlock`](io::ErrorKind::WouldBlock) (`EAGAIN`) when the
    /// listener's backlog is full — nothing was started, so there is nothing
    /// to wait for; try again later (or use [`connect_timeout`](Socket::connect_timeout),
    /// which waits for room).
    ///
    #[doc = concat!("Corresponds to ", man!("connect", 2), ".")]
    ///
    /// # Errors
    ///
    /// [`ConnectionRefused`](io::ErrorKind::ConnectionRefused),
    /// [`TimedOut`](io::ErrorKind::TimedOut), `EINPROGRESS` (non-blocking
    /// TCP, see above; or a blocking TCP connect whose write timeout
    /// expired: the handshake goes on in the background), `EAGAIN`
    /// (non-blocking Unix, full backlog; or a blocking Unix connect whose
    /// write timeout expired), … The message names the address.
    pub fn connect(&self, addr: &SockAddr) -> Result<()> {
        // The kernel bounds a blocking connect by SO_SNDTIMEO, and with it
        // set a signal ends the connect with EINTR even under SA_RESTART.
        // What follows an EINTR keeps that bound, measured from here: the
        // deadline does not move.
        let start = Instant::now();
        match sys::socket::connect(self.as_fd(), addr) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
        // None: no SO_SNDTIMEO (or one too far away to represent): forever.
        let deadline = self.write_timeout()?.and_then(|t| start.checked_add(t));
        if addr.family() == Domain::UNIX {
            // Linux abandons an interrupted AF_UNIX connect (it was waiting
            // for backlog room and changed nothing): polling it would see
            // POLLOUT|POLLHUP and SO_ERROR 0 on a socket that is not
            // connected. Start it again, for the time left; at the deadline
            // the kernel's answer to an expired SO_SNDTIMEO, EAGAIN.
            return match deadline {
                Some(deadline) => self.connect_unix_until(addr, deadline, libc::EAGAIN),
                None => loop {
                    match sys::socket::connect(self.as_fd(), addr) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        other => break other,
                    }
                },
            };
        }
        // A TCP connect goes on in the kernel: wait for its outcome, until
        // the deadline — where the kernel's answer is EINPROGRESS (the
        // handshake goes on in the background).
        self.finish_connect(addr, deadline.map(|d| (d, libc::EINPROGRESS)))
    }

    /// Connects to `addr`, giving up after `timeout`. The socket's blocking
    /// mode (and, for `AF_UNIX`, its `SO_SNDTIMEO`) is the same afterwards as
    /// before.
    ///
    /// A TCP connect is started non-blocking and waited for with `poll`. An
    /// `AF_UNIX` connect is never in progress (see [`connect`](Socket::connect)):
    /// it waits in the kernel for room in the listener's backlog, so this
    /// call makes a blocking connect with `SO_SNDTIMEO` set to the time left,
    /// and repeats it until the deadline when a signal or the kernel's timer
    /// ends it early.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for a zero timeout;
    /// [`TimedOut`](io::ErrorKind::TimedOut) when it expires (for a Unix
    /// socket: the backlog stayed full); otherwise as [`connect`](Socket::connect).
    /// When putting the socket back in its blocking mode fails after the
    /// connect itself failed, the connect's error is the one returned.
    pub fn connect_timeout(&self, addr: &SockAddr, timeout: Duration) -> Result<()> {
        if timeout.is_zero() {
            return Err(Error::InvalidInput {
                call: "connect",
                subject: Subject::Addr(addr.clone()),
                reason: "a connect timeout cannot be zero",
            });
        }
        let deadline = Instant::now() + timeout;
        let was_nonblocking = self.nonblocking()?;
        let want_nonblocking = addr.family() != Domain::UNIX;
        if was_nonblocking != want_nonblocking {
            self.set_nonblocking(want_nonblocking)?;
        }
        let result = if want_nonblocking {
            match sys::socket::connect(self.as_fd(), addr) {
                Err(e) if e.is_in_progress() || e.kind() == io::ErrorKind::Interrupted => {
                    self.finish_connect(addr, Some((deadline, libc::ETIMEDOUT)))
                }
                other => other,
            }
        } else {
            self.connect_unix_until(addr, deadline, libc::ETIMEDOUT)
        };
        let restored = if was_nonblocking != want_nonblocking {
            self.set_nonblocking(was_nonblocking)
        } else {
            Ok(())
        };
        // The connect's own failure matters most; a failed restore is
        // reported only when the connect succeeded.
        result.and(restored)
    }

    /// A blocking `AF_UNIX` connect bounded by `deadline` through
    /// `SO_SNDTIMEO`, which the kernel uses while it waits for backlog room;
    /// at the deadline, the error `expired` (an errno).
    fn connect_unix_until(&self, addr: &SockAddr, deadline: Instant, expired: i32) -> Result<()> {
        let saved = self.write_timeout()?;
        let timed_out = || Error::errno("connect", Subject::Addr(addr.clone()), expired);
        let result = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Err(timed_out());
            }
            if let Err(e) = self.set_write_timeout(Some(left)) {
                break Err(e);
            }
            match sys::socket::connect(self.as_fd(), addr) {
                // EINTR: abandoned by the kernel, start again with the time
                // left. EAGAIN: SO_SNDTIMEO ran out; the kernel counts in
                // jiffies, so check the deadline ourselves (never early).
                Err(e) if e.kind() == io::ErrorKind::Interrupted || e.is_would_block() => continue,
                other => break other,
            }
        };
        let restored = self.set_write_timeout(saved);
        result.and(restored)
    }

    /// Waits until a started connect completes (or the deadline passes:
    /// then the error is the errno given with it) and reports its outcome
    /// through `SO_ERROR`, confirmed by `getpeername`: a socket that is not
    /// connected is never reported as connected.
    fn finish_connect(&self, addr: &SockAddr, deadline: Option<(Instant, i32)>) -> Result<()> {
        loop {
            let timeout_ms = match deadline {
                None => -1,
                Some((deadline, expired)) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Error::errno(
                            "connect",
                            Subject::Addr(addr.clone()),
                            expired,
                        ));
                    }
                    // Round up so that a sub-millisecond remainder is not 0.
                    i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
                }
            };
            let mut pfd = [libc::pollfd {
                fd: self.as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            }];
            match sys::poll::poll(&mut pfd, timeout_ms) {
                Ok(0) => continue, // timed out: the deadline check above decides
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if let Some(err) = self.take_error()? {
            return Err(Error::os("connect", Subject::Addr(addr.clone()), err));
        }
        match self.peer_addr() {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => Err(Error::errno(
                "connect",
                Subject::Addr(addr.clone()),
                libc::ENOTCONN,
            )),
            Err(e) => Err(e),
        }
    }

    /// Sends `buf` on a connected socket; returns how many bytes were queued.
    /// Always with `MSG_NOSIGNAL`.
    ///
    #[doc = concat!("Corresponds to ", man!("send", 2), ".")]
    ///
    /// # Errors
    ///
    /// [`BrokenPipe`](io::ErrorKind::BrokenPipe) when the peer has closed,
    /// [`ConnectionReset`](io::ErrorKind::ConnectionReset),
    /// [`WouldBlock`](io::ErrorKind::WouldBlock) on a full non-blocking socket.
    pub fn send(&self, buf: &[u8]) -> Result<usize> {
        sys::socket::send(self.as_fd(), buf, 0)
    }

    /// Receives into `buf`; 0 means the peer closed its side (for a stream)
    /// or an empty datagram (for a datagram socket — not end of file).
    ///
    #[doc = concat!("Corresponds to ", man!("recv", 2), ".")]
    ///
    /// # Errors
    ///
    /// [`WouldBlock`](io::ErrorKind::WouldBlock) with nothing to read on a
    /// non-blocking socket, [`ConnectionReset`](io::ErrorKind::ConnectionReset), …
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        sys::socket::recv(self.as_fd(), buf, 0)
    }

    /// Sends `buf` as TCP urgent ("out-of-band") data (`send` with
    /// `MSG_OOB`, and `MSG_NOSIGNAL`): the peer's readiness backends report
    /// it as [priority](crate::event::Event::is_priority) readiness.
    ///
    #[doc = concat!("Corresponds to ", man!("send", 2), " with `MSG_OOB`.")]
    ///
    /// # Errors
    ///
    /// As [`send`](Socket::send); `EOPNOTSUPP` on sockets without urgent
    /// data (UDP, Unix).
    pub fn send_out_of_band(&self, buf: &[u8]) -> Result<usize> {
        sys::socket::send(self.as_fd(), buf, libc::MSG_OOB)
    }

    /// Receives the pending urgent byte (`recv` with `MSG_OOB`), which ends
    /// the priority readiness it caused.
    ///
    #[doc = concat!("Corresponds to ", man!("recv", 2), " with `MSG_OOB`.")]
    ///
    /// # Errors
    ///
    /// As [`recv`](Socket::recv); `EINVAL` when no urgent data is pending.
    pub fn recv_out_of_band(&self, buf: &mut [u8]) -> Result<usize> {
        sys::socket::recv(self.as_fd(), buf, libc::MSG_OOB)
    }

    /// Like [`recv`](Socket::recv), but leaves the data queued (`MSG_PEEK`).
    ///
    /// # Errors
    ///
    /// As [`recv`](Socket::recv).
    pub fn peek(&self, buf: &mut [u8]) -> Result<usize> {
        sys::socket::recv(self.as_fd(), buf, libc::MSG_PEEK)
    }

    /// Sends a datagram to `addr` (with `MSG_NOSIGNAL`).
    ///
    #[doc = concat!("Corresponds to ", man!("sendto", 2), ".")]
    ///
    /// # Errors
    ///
    /// `EMSGSIZE` for a datagram over the protocol's maximum (65,507 bytes
    /// for UDP over IPv4), [`WouldBlock`](io::ErrorKind::WouldBlock), …
    #[doc(alias = "sendto")]
    pub fn send_to(&self, buf: &[u8], addr: &SockAddr) -> Result<usize> {
        sys::socket::send_to(self.as_fd(), buf, addr, 0)
    }

    /// Receives a datagram and its sender. A datagram longer than `buf` is
    /// cut silently; use [`recv_from_vectored`](Socket::recv_from_vectored)
    /// to learn that it was.
    ///
    /// The sender may be of any family (netlink, packet, … keep their bytes,
    /// see [`SockAddr::as_bytes`]). When the kernel reports no sender — data
    /// on a connected TCP socket, a Unix datagram from a socket that never
    /// bound — the address [is empty](SockAddr::is_empty) (family
    /// [`Domain::UNSPEC`]), not a Unix address.
    ///
    #[doc = concat!("Corresponds to ", man!("recvfrom", 2), ".")]
    ///
    /// # Errors
    ///
    /// As [`recv`](Socket::recv).
    #[doc(alias = "recvfrom")]
    pub fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SockAddr)> {
        sys::socket::recv_from(self.as_fd(), buf, 0)
    }

    /// Like [`recv_from`](Socket::recv_from), but leaves the datagram queued.
    ///
    /// # Errors
    ///
    /// As [`recv`](Socket::recv).
    pub fn peek_from(&self, buf: &mut [u8]) -> Result<(usize, SockAddr)> {
        sys::socket::recv_from(self.as_fd(), buf, libc::MSG_PEEK)
    }

    /// Sends the concatenation of `bufs` (with `MSG_NOSIGNAL`).
    ///
    #[doc = concat!("Corresponds to ", man!("sendmsg", 2), ".")]
    ///
    /// # Errors
    ///
    /// As [`send`](Socket::send).
    #[doc(alias = "sendmsg")]
    pub fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> Result<usize> {
        sys::socket::send_msg(self.as_fd(), bufs, None, 0)
    }

    /// Receives into `bufs` in order.
    ///
    #[doc = concat!("Corresponds to ", man!("recvmsg", 2), ".")]
    ///
    /// # Errors
    ///
    /// As [`recv`](Socket::recv).
    #[doc(alias = "recvmsg")]
    pub fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize> {
        sys::socket::recv_msg(self.as_fd(), bufs, 0).map(|r| r.len)
    }

    /// Sends the concatenation of `bufs` as one datagram to `addr`.
    ///
    /// # Errors
    ///
    /// As [`send_to`](Socket::send_to).
    pub fn send_to_vectored(&self, bufs: &[IoSlice<'_>], addr: &SockAddr) -> Result<usize> {
        sys::socket::send_msg(self.as_fd(), bufs, Some(addr), 0)
    }

    /// Receives one datagram into `bufs`, with its sender and whether it was
    /// truncated (`MSG_TRUNC`).
    ///
    /// ```
    /// # use sockpoll::UdpSocket;
    /// # fn main() -> sockpoll::Result<()> {
    /// let a = UdpSocket::bind("127.0.0.1:0")?;
    /// let b = UdpSocket::bind("127.0.0.1:0")?;
    /// a.send_to(b"too long", b.local_addr()?)?;
    /// let mut small = [0u8; 3];
    /// let got = b.as_socket().recv_from_vectored(&mut [std::io::IoSliceMut::new(&mut small)])?;
    /// assert_eq!((got.len, got.truncated), (3, true));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`recv`](Socket::recv).
    pub fn recv_from_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> Result<Received> {
        let r = sys::socket::recv_msg(self.as_fd(), bufs, 0)?;
        Ok(Received {
            len: r.len,
            addr: r.addr,
            truncated: r.truncated,
        })
    }

    /// Shuts down the read side, the write side (sending FIN after queued
    /// data), or both. `shutdown(Write)` then reading until 0 is the clean way
    /// to end a stream without losing the peer's last bytes: closing with
    /// unread data makes the kernel send a reset.
    ///
    #[doc = concat!("Corresponds to ", man!("shutdown", 2), ".")]
    ///
    /// # Errors
    ///
    /// [`NotConnected`](io::ErrorKind::NotConnected) on an unconnected socket.
    pub fn shutdown(&self, how: Shutdown) -> Result<()> {
        let how = match how {
            Shutdown::Read => libc::SHUT_RD,
            Shutdown::Write => libc::SHUT_WR,
            Shutdown::Both => libc::SHUT_RDWR,
        };
        sys::socket::shutdown(self.as_fd(), how)
    }

    /// Closes the socket and reports the error that `Drop` has to swallow
    /// (e.g. a deferred write error on some file systems/protocols). The
    /// descriptor is released even when an error is returned; `close` is
    /// never retried.
    ///
    #[doc = concat!("Corresponds to ", man!("close", 2), ".")]
    ///
    /// # Errors
    ///
    /// The OS error of `close` (`EINTR` is not reported: Linux has closed the
    /// descriptor by then).
    pub fn close(self) -> Result<()> {
        sys::socket::close(self.fd)
    }

    /// The address the socket is bound to.
    ///
    #[doc = concat!("Corresponds to ", man!("getsockname", 2), ".")]
    ///
    /// # Errors
    ///
    /// The OS error (rare: `ENOBUFS`).
    #[doc(alias = "getsockname")]
    pub fn local_addr(&self) -> Result<SockAddr> {
        sys::socket::local_addr(self.as_fd())
    }

    /// The address of the connected peer.
    ///
    #[doc = concat!("Corresponds to ", man!("getpeername", 2), ".")]
    ///
    /// # Errors
    ///
    /// [`NotConnected`](io::ErrorKind::NotConnected) when there is no peer.
    #[doc(alias = "getpeername")]
    pub fn peer_addr(&self) -> Result<SockAddr> {
        sys::socket::peer_addr(self.as_fd())
    }

    /// Whether the descriptor is close-on-exec (`fcntl(F_GETFD)`); always true
    /// for sockets sockpoll created.
    ///
    /// # Errors
    ///
    /// The OS error of `fcntl`.
    pub fn is_cloexec(&self) -> Result<bool> {
        Ok(sys::fd::getfd(self.as_raw_fd())? & libc::FD_CLOEXEC != 0)
    }

    fn opt<T>(
        &self,
        call: &'static str,
        f: impl FnOnce(&SockRef<'_>) -> io::Result<T>,
    ) -> Result<T> {
        f(&SockRef::from(self)).map_err(|e| Error::os(call, Subject::Fd(self.as_raw_fd()), e))
    }
}

/// Generates an option getter/setter pair over `socket2::SockRef`.
macro_rules! sockopt {
    ($(#[$doc:meta])* $get:ident / $set:ident: $ty:ty => $s2get:ident / $s2set:ident, $name:literal) => {
        $(#[$doc])*
        #[doc = concat!("\n\nCorresponds to `getsockopt(", $name, ")`.\n\n# Errors\n\nThe OS error of ", man!("getsockopt", 2), ", e.g. `ENOPROTOOPT` on a socket of the wrong family.")]
        #[doc(alias = $name)]
        pub fn $get(&self) -> Result<$ty> {
            self.opt(concat!("getsockopt ", $name), |s| s.$s2get())
        }

        #[doc = concat!("Sets `", $name, "`; see [`", stringify!($get), "`](Socket::", stringify!($get), ").\n\n# Errors\n\nThe OS error of ", man!("setsockopt", 2), ".")]
        #[doc(alias = $name)]
        pub fn $set(&self, value: $ty) -> Result<()> {
            self.opt(concat!("setsockopt ", $name), |s| s.$s2set(value))
        }
    };
}

/// Socket-level options (`SOL_SOCKET`).
impl Socket {
    /// The network interface the socket is bound to (`SO_BINDTODEVICE`), by
    /// name; `None` when it is not bound to one.
    ///
    #[doc = concat!("Corresponds to `getsockopt(SOL_SOCKET, SO_BINDTODEVICE)`; see ", man!("socket", 7), ".")]
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    #[cfg(linux_like)]
    #[doc(alias = "SO_BINDTODEVICE")]
    pub fn bind_device(&self) -> Result<Option<OsString>> {
        self.opt("getsockopt SO_BINDTODEVICE", |s| s.device())
            .map(|name| name.map(OsString::from_vec))
    }

    /// Binds the socket to the network interface named `device` (e.g.
    /// `"lo"`, `"eth0"`): only packets through that interface reach it, and
    /// what it sends leaves through it. `None` (or an empty name) removes the
    /// binding. Changing a binding needs `CAP_NET_RAW`.
    ///
    /// ```no_run
    /// # use sockpoll::{Domain, Socket, Type};
    /// # fn main() -> sockpoll::Result<()> {
    /// let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    /// s.set_bind_device(Some("lo".as_ref()))?;
    /// assert_eq!(s.bind_device()?.as_deref(), Some("lo".as_ref()));
    /// # Ok(()) }
    /// ```
    ///
    #[doc = concat!("Corresponds to `setsockopt(SOL_SOCKET, SO_BINDTODEVICE)`; see ", man!("socket", 7), ".")]
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) before any call for a
    /// name with a NUL byte or longer than `IFNAMSIZ - 1` (15) bytes — the
    /// kernel would silently cut it and might bind another interface.
    /// [`NotFound`](io::ErrorKind::NotFound) (`ENODEV`) when no interface
    /// has that name, [`PermissionDenied`](io::ErrorKind::PermissionDenied)
    /// (`EPERM`) without the privilege; otherwise the OS error of
    #[doc = concat!(man!("setsockopt", 2), ".")]
    #[cfg(linux_like)]
    #[doc(alias = "SO_BINDTODEVICE")]
    pub fn set_bind_device(&self, device: Option<&OsStr>) -> Result<()> {
        const CALL: &str = "setsockopt SO_BINDTODEVICE";
        let name = device.map(OsStr::as_bytes);
        if let Some(name) = name {
            let reason = if name.contains(&0) {
                Some("an interface name cannot contain a NUL byte")
            } else if name.len() >= libc::IFNAMSIZ {
                Some("an interface name is at most 15 bytes (IFNAMSIZ - 1)")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(Error::InvalidInput {
                    call: CALL,
                    subject: Subject::Name(String::from_utf8_lossy(name).into_owned()),
                    reason,
                });
            }
        }
        self.opt(CALL, |s| s.bind_device(name))
    }

    sockopt! {
        /// Whether datagrams may be sent to broadcast addresses.
        broadcast / set_broadcast: bool => broadcast / set_broadcast, "SO_BROADCAST"
    }
    sockopt! {
        /// Whether TCP keep-alive probes are sent on an idle connection.
        keepalive / set_keepalive: bool => keepalive / set_keepalive, "SO_KEEPALIVE"
    }
    #[cfg(linux_like)]
    sockopt! {
        /// The mark (`fwmark`) on every packet the socket sends, which
        /// routing rules and netfilter can match; 0 is no mark. Setting it
        /// needs `CAP_NET_ADMIN` (or `CAP_NET_RAW`): else `EPERM`.
        mark / set_mark: u32 => mark / set_mark, "SO_MARK"
    }
    sockopt! {
        /// The receive buffer size in bytes (Linux reports twice what was set).
        recv_buffer_size / set_recv_buffer_size: usize => recv_buffer_size / set_recv_buffer_size, "SO_RCVBUF"
    }
    sockopt! {
        /// Whether `bind` may reuse a local address in `TIME_WAIT`.
        reuse_address / set_reuse_address: bool => reuse_address / set_reuse_address, "SO_REUSEADDR"
    }
    sockopt! {
        /// Whether several sockets may bind the same address and port.
        reuse_port / set_reuse_port: bool => reuse_port / set_reuse_port, "SO_REUSEPORT"
    }
    sockopt! {
        /// The send buffer size in bytes (Linux reports twice what was set).
        send_buffer_size / set_send_buffer_size: usize => send_buffer_size / set_send_buffer_size, "SO_SNDBUF"
    }

    /// How long `close` lingers to send queued data (`SO_LINGER`), as the
    /// kernel holds it: `None` when lingering is off, `Some(0)` when close
    /// sends a reset, otherwise whole seconds.
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    pub fn linger(&self) -> Result<Option<Duration>> {
        self.opt("getsockopt SO_LINGER", |s| s.linger())
    }

    /// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes `close` discard queued
    /// data and send a reset instead of a FIN; any other duration is rounded
    /// **up** to whole seconds (the kernel's unit), so `Some(500 ms)`
    /// lingers one second rather than becoming a reset; `None` turns
    /// lingering off.
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("setsockopt", 2), ".")]
    pub fn set_linger(&self, linger: Option<Duration>) -> Result<()> {
        let linger = linger.map(|d| {
            let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
            Duration::from_secs(secs.min(libc::c_int::MAX as u64))
        });
        self.opt("setsockopt SO_LINGER", |s| s.set_linger(linger))
    }

    /// Whether the socket is non-blocking (`O_NONBLOCK`, read with
    /// `fcntl(F_GETFL)`).
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("fcntl", 2), ".")]
    pub fn nonblocking(&self) -> Result<bool> {
        self.opt("fcntl F_GETFL", |s| s.nonblocking())
    }

    /// Sets or clears `O_NONBLOCK` (`fcntl(F_GETFL)` then `fcntl(F_SETFL)`).
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("fcntl", 2), ".")]
    pub fn set_nonblocking(&self, nonblocking: bool) -> Result<()> {
        self.opt("fcntl F_SETFL O_NONBLOCK", |s| {
            s.set_nonblocking(nonblocking)
        })
    }

    /// The timeout of blocking receives (`SO_RCVTIMEO`) as the kernel holds
    /// it (Linux keeps it in scheduler ticks, so it reads back rounded up to
    /// a tick); `None` blocks forever.
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    pub fn read_timeout(&self) -> Result<Option<Duration>> {
        self.opt("getsockopt SO_RCVTIMEO", |s| s.read_timeout())
    }

    /// Sets `SO_RCVTIMEO`: a blocking receive that waits longer fails with
    /// [`WouldBlock`](io::ErrorKind::WouldBlock). `None` blocks forever. A
    /// timeout is rounded **up** to whole microseconds (the `timeval` unit),
    /// never down to the `{0, 0}` that means "forever".
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for `Some(Duration::ZERO)`
    /// (as std: the kernel would read it as "no timeout"); the OS error of
    #[doc = concat!(man!("setsockopt", 2), ".")]
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        let timeout = timeval_timeout("setsockopt SO_RCVTIMEO", self.as_raw_fd(), timeout)?;
        self.opt("setsockopt SO_RCVTIMEO", |s| s.set_read_timeout(timeout))
    }

    /// The timeout of blocking sends (`SO_SNDTIMEO`), as for
    /// [`read_timeout`](Socket::read_timeout).
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    pub fn write_timeout(&self) -> Result<Option<Duration>> {
        self.opt("getsockopt SO_SNDTIMEO", |s| s.write_timeout())
    }

    /// Sets `SO_SNDTIMEO` (also the time a blocking `AF_UNIX` connect waits
    /// for backlog room), with the rules of [`set_read_timeout`](Socket::set_read_timeout).
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for `Some(Duration::ZERO)`;
    /// the OS error of
    #[doc = concat!(man!("setsockopt", 2), ".")]
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        let timeout = timeval_timeout("setsockopt SO_SNDTIMEO", self.as_raw_fd(), timeout)?;
        self.opt("setsockopt SO_SNDTIMEO", |s| s.set_write_timeout(timeout))
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it: how a
    /// non-blocking connect reports its outcome.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt` itself (not the pending error, which is
    /// the `Ok(Some(_))` value).
    pub fn take_error(&self) -> Result<Option<io::Error>> {
        self.opt("getsockopt SO_ERROR", |s| s.take_error())
    }

    /// The socket's type (`SO_TYPE`).
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn socket_type(&self) -> Result<Type> {
        self.opt("getsockopt SO_TYPE", |s| s.r#type())
            .map(|t| Type(t.into()))
    }

    /// The socket's domain (`SO_DOMAIN`).
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    pub fn domain(&self) -> Result<Domain> {
        self.opt("getsockopt SO_DOMAIN", |s| s.domain())
            .map(|d| Domain(d.into()))
    }
}

/// IPv4 options (`IPPROTO_IP`).
impl Socket {
    /// Joins the multicast group `group` on the interface with address
    /// `interface` (`Ipv4Addr::UNSPECIFIED` lets the kernel choose).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt(IP_ADD_MEMBERSHIP)`.
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> Result<()> {
        self.opt("setsockopt IP_ADD_MEMBERSHIP", |s| {
            s.join_multicast_v4(&group, &interface)
        })
    }

    /// Leaves a group joined with [`join_multicast_v4`](Socket::join_multicast_v4).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt(IP_DROP_MEMBERSHIP)`.
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> Result<()> {
        self.opt("setsockopt IP_DROP_MEMBERSHIP", |s| {
            s.leave_multicast_v4(&group, &interface)
        })
    }

    /// The local address of the interface outgoing multicast datagrams leave
    /// through; `Ipv4Addr::UNSPECIFIED` when the kernel chooses by route.
    ///
    /// Corresponds to `getsockopt(IPPROTO_IP, IP_MULTICAST_IF)`; see
    #[doc = concat!(man!("ip", 7), ".")]
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    #[doc(alias = "IP_MULTICAST_IF")]
    pub fn multicast_if_v4(&self) -> Result<Ipv4Addr> {
        self.opt("getsockopt IP_MULTICAST_IF", |s| s.multicast_if_v4())
    }

    /// Sends multicast datagrams through the interface whose local address
    /// is `interface`; `Ipv4Addr::UNSPECIFIED` lets the kernel choose again.
    ///
    /// Corresponds to `setsockopt(IPPROTO_IP, IP_MULTICAST_IF)`.
    ///
    /// # Errors
    ///
    /// [`AddrNotAvailable`](io::ErrorKind::AddrNotAvailable) when no
    /// interface has that address; otherwise the OS error of
    #[doc = concat!(man!("setsockopt", 2), ".")]
    #[doc(alias = "IP_MULTICAST_IF")]
    pub fn set_multicast_if_v4(&self, interface: Ipv4Addr) -> Result<()> {
        self.opt("setsockopt IP_MULTICAST_IF", |s| {
            s.set_multicast_if_v4(&interface)
        })
    }

    sockopt! {
        /// Whether multicast datagrams sent come back to local listeners.
        multicast_loop_v4 / set_multicast_loop_v4: bool => multicast_loop_v4 / set_multicast_loop_v4, "IP_MULTICAST_LOOP"
    }
    sockopt! {
        /// The time-to-live of outgoing multicast datagrams.
        multicast_ttl_v4 / set_multicast_ttl_v4: u32 => multicast_ttl_v4 / set_multicast_ttl_v4, "IP_MULTICAST_TTL"
    }
    /// The type-of-service byte of outgoing IPv4 packets (`IP_TOS`): the
    /// DSCP in the upper six bits, ECN in the lower two.
    ///
    /// Corresponds to `getsockopt(IPPROTO_IP, IP_TOS)`; see
    #[doc = concat!(man!("ip", 7), ".")]
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    #[doc(alias = "IP_TOS")]
    pub fn tos_v4(&self) -> Result<u8> {
        // The kernel keeps it in one byte.
        self.opt("getsockopt IP_TOS", |s| s.tos_v4())
            .map(|tos| (tos & 0xff) as u8)
    }

    /// Sets `IP_TOS`, ECN bits included. On a TCP socket Linux keeps the ECN
    /// bits for itself (they are TCP's to negotiate): only the DSCP bits are
    /// taken, and [`tos_v4`](Socket::tos_v4) reads back the kernel's ECN bits.
    ///
    /// ```
    /// # use sockpoll::{Domain, Socket, Type};
    /// # fn main() -> sockpoll::Result<()> {
    /// let udp = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
    /// udp.set_tos_v4(0xb8 | 0x01)?; // EF, ECT(1)
    /// assert_eq!(udp.tos_v4()?, 0xb9);
    /// # Ok(()) }
    /// ```
    ///
    /// Corresponds to `setsockopt(IPPROTO_IP, IP_TOS)`.
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("setsockopt", 2), ".")]
    #[doc(alias = "IP_TOS")]
    pub fn set_tos_v4(&self, tos: u8) -> Result<()> {
        self.opt("setsockopt IP_TOS", |s| s.set_tos_v4(u32::from(tos)))
    }

    sockopt! {
        /// The time-to-live of outgoing unicast packets.
        ttl / set_ttl: u32 => ttl_v4 / set_ttl_v4, "IP_TTL"
    }
}

/// IPv6 options (`IPPROTO_IPV6`).
impl Socket {
    /// Joins the multicast group `group` on interface index `interface`
    /// (0 lets the kernel choose).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt(IPV6_ADD_MEMBERSHIP)`.
    pub fn join_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> Result<()> {
        self.opt("setsockopt IPV6_ADD_MEMBERSHIP", |s| {
            s.join_multicast_v6(&group, interface)
        })
    }

    /// Leaves a group joined with [`join_multicast_v6`](Socket::join_multicast_v6).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt(IPV6_DROP_MEMBERSHIP)`.
    pub fn leave_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> Result<()> {
        self.opt("setsockopt IPV6_DROP_MEMBERSHIP", |s| {
            s.leave_multicast_v6(&group, interface)
        })
    }

    sockopt! {
        /// The hop limit of outgoing multicast packets (0..=255; the default
        /// is 1, the local network).
        multicast_hops_v6 / set_multicast_hops_v6: u32 => multicast_hops_v6 / set_multicast_hops_v6, "IPV6_MULTICAST_HOPS"
    }
    sockopt! {
        /// The index of the interface outgoing multicast packets leave
        /// through; 0 when the kernel chooses by route. Setting an index no
        /// interface has is `ENODEV` ([`NotFound`](io::ErrorKind::NotFound)).
        multicast_if_v6 / set_multicast_if_v6: u32 => multicast_if_v6 / set_multicast_if_v6, "IPV6_MULTICAST_IF"
    }
    sockopt! {
        /// Whether multicast datagrams sent come back to local listeners.
        multicast_loop_v6 / set_multicast_loop_v6: bool => multicast_loop_v6 / set_multicast_loop_v6, "IPV6_MULTICAST_LOOP"
    }
    sockopt! {
        /// Whether an IPv6 socket is restricted to IPv6 (no v4-mapped peers).
        only_v6 / set_only_v6: bool => only_v6 / set_only_v6, "IPV6_V6ONLY"
    }
    /// The traffic class byte of outgoing IPv6 packets (`IPV6_TCLASS`):
    /// DSCP in the upper six bits, ECN in the lower two; 0 by default.
    ///
    /// Corresponds to `getsockopt(IPPROTO_IPV6, IPV6_TCLASS)`; see
    #[doc = concat!(man!("ipv6", 7), ".")]
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ", e.g. `ENOPROTOOPT` on an IPv4 socket.")]
    #[cfg(ipv6_tclass)]
    #[doc(alias = "IPV6_TCLASS")]
    pub fn tclass_v6(&self) -> Result<u8> {
        // The kernel keeps it in one byte.
        self.opt("getsockopt IPV6_TCLASS", |s| s.tclass_v6())
            .map(|tclass| (tclass & 0xff) as u8)
    }

    /// Sets `IPV6_TCLASS`, ECN bits included; as for
    /// [`set_tos_v4`](Socket::set_tos_v4), Linux keeps a TCP socket's ECN
    /// bits for itself.
    ///
    /// Corresponds to `setsockopt(IPPROTO_IPV6, IPV6_TCLASS)`.
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("setsockopt", 2), ", e.g. `ENOPROTOOPT` on an IPv4 socket.")]
    #[cfg(ipv6_tclass)]
    #[doc(alias = "IPV6_TCLASS")]
    pub fn set_tclass_v6(&self, tclass: u8) -> Result<()> {
        self.opt("setsockopt IPV6_TCLASS", |s| {
            s.set_tclass_v6(u32::from(tclass))
        })
    }

    sockopt! {
        /// The hop limit of outgoing unicast packets.
        unicast_hops_v6 / set_unicast_hops_v6: u32 => unicast_hops_v6 / set_unicast_hops_v6, "IPV6_UNICAST_HOPS"
    }
}

/// TCP options (`IPPROTO_TCP`).
impl Socket {
    #[cfg(linux_like)]
    sockopt! {
        /// Whether the socket is corked: partial segments are held back until
        /// the cork is removed (which sends them at once), a full segment
        /// fills, or 200 ms pass. Cork, write the pieces of a response,
        /// uncork.
        cork / set_cork: bool => tcp_cork / set_tcp_cork, "TCP_CORK"
    }

    /// The TCP Fast Open queue length of a listener (`TCP_FASTOPEN`): how
    /// many connections whose SYN carried data may wait to be accepted; 0
    /// when Fast Open is off for it. Fast Open also needs the server bit
    /// (2) of the `net.ipv4.tcp_fastopen` sysctl.
    ///
    #[doc = concat!("Corresponds to `getsockopt(IPPROTO_TCP, TCP_FASTOPEN)`; see ", man!("tcp", 7), ".")]
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    #[cfg(linux_like)]
    #[doc(alias = "TCP_FASTOPEN")]
    pub fn fastopen(&self) -> Result<u32> {
        let qlen = sys::socket::getsockopt_int(
            self.as_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_FASTOPEN,
            "getsockopt TCP_FASTOPEN",
        )?;
        // Never negative: the kernel keeps it unsigned.
        Ok(u32::try_from(qlen).unwrap_or(0))
    }

    /// Sets `TCP_FASTOPEN` on a socket about to listen, or listening: the
    /// length of its Fast Open queue (the kernel caps it at
    /// `net.core.somaxconn`); 0 turns Fast Open off.
    ///
    /// ```
    /// # use sockpoll::{Domain, Socket, Type};
    /// # fn main() -> sockpoll::Result<()> {
    /// let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    /// listener.set_fastopen(16)?;
    /// assert_eq!(listener.fastopen()?, 16);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) (`EINVAL`) on a socket
    /// that is connecting or connected, or for a length over `i32::MAX`;
    /// otherwise the OS error of
    #[doc = concat!(man!("setsockopt", 2), ".")]
    #[cfg(linux_like)]
    #[doc(alias = "TCP_FASTOPEN")]
    pub fn set_fastopen(&self, queue_len: u32) -> Result<()> {
        const CALL: &str = "setsockopt TCP_FASTOPEN";
        let Ok(qlen) = libc::c_int::try_from(queue_len) else {
            return Err(Error::InvalidInput {
                call: CALL,
                subject: Subject::Fd(self.as_raw_fd()),
                reason: "a Fast Open queue length is at most i32::MAX",
            });
        };
        sys::socket::setsockopt_int(
            self.as_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_FASTOPEN,
            qlen,
            CALL,
        )
    }

    /// Whether a client's `connect` uses TCP Fast Open
    /// (`TCP_FASTOPEN_CONNECT`): the connect returns at once and the first
    /// send goes out in the SYN, with the server's cookie when one is cached.
    ///
    #[doc = concat!("Corresponds to `getsockopt(IPPROTO_TCP, TCP_FASTOPEN_CONNECT)`; see ", man!("tcp", 7), ".")]
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    #[cfg(linux_like)]
    #[doc(alias = "TCP_FASTOPEN_CONNECT")]
    pub fn fastopen_connect(&self) -> Result<bool> {
        sys::socket::getsockopt_int(
            self.as_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_FASTOPEN_CONNECT,
            "getsockopt TCP_FASTOPEN_CONNECT",
        )
        .map(|on| on != 0)
    }

    /// Sets `TCP_FASTOPEN_CONNECT`, before `connect`.
    ///
    /// # Errors
    ///
    /// [`Unsupported`](io::ErrorKind::Unsupported) (`EOPNOTSUPP`) when the
    /// client bit (1) of the `net.ipv4.tcp_fastopen` sysctl is off;
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) (`EINVAL`) once the
    /// socket is connecting or connected; otherwise the OS error of
    #[doc = concat!(man!("setsockopt", 2), ".")]
    #[cfg(linux_like)]
    #[doc(alias = "TCP_FASTOPEN_CONNECT")]
    pub fn set_fastopen_connect(&self, on: bool) -> Result<()> {
        sys::socket::setsockopt_int(
            self.as_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_FASTOPEN_CONNECT,
            libc::c_int::from(on),
            "setsockopt TCP_FASTOPEN_CONNECT",
        )
    }

    /// How many unanswered keep-alive probes end the connection
    /// (`TCP_KEEPCNT`; the `net.ipv4.tcp_keepalive_probes` sysctl, 9, until
    /// set).
    ///
    #[doc = concat!("Corresponds to `getsockopt(IPPROTO_TCP, TCP_KEEPCNT)`; see ", man!("tcp", 7), ".")]
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    #[cfg(tcp_keepalive_params)]
    #[doc(alias = "TCP_KEEPCNT")]
    pub fn keepalive_count(&self) -> Result<u32> {
        self.opt("getsockopt TCP_KEEPCNT", |s| s.tcp_keepalive_retries())
    }

    /// Sets `TCP_KEEPCNT` (1..=127 on Linux), and turns `SO_KEEPALIVE` on
    /// (socket2's `set_tcp_keepalive` does, as a probe count is only used
    /// with keep-alive on; [`set_keepalive(false)`](Socket::set_keepalive)
    /// turns it off again and keeps the count).
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput): before any call for 0
    /// (no probe at all is not a keep-alive); `EINVAL` from the kernel above
    /// its maximum. Otherwise the OS error of
    #[doc = concat!(man!("setsockopt", 2), ".")]
    #[cfg(tcp_keepalive_params)]
    #[doc(alias = "TCP_KEEPCNT")]
    pub fn set_keepalive_count(&self, probes: u32) -> Result<()> {
        const CALL: &str = "setsockopt TCP_KEEPCNT";
        if probes == 0 {
            return Err(Error::InvalidInput {
                call: CALL,
                subject: Subject::Fd(self.as_raw_fd()),
                reason: "a keep-alive probe count cannot be zero",
            });
        }
        // Above c_int::MAX the kernel's EINVAL is the answer, not a wrap.
        let probes = probes.min(libc::c_int::MAX as u32);
        let params = socket2::TcpKeepalive::new().with_retries(probes);
        self.opt(CALL, |s| s.set_tcp_keepalive(&params))
    }

    /// How long a connection stays idle before the first keep-alive probe
    /// (`TCP_KEEPIDLE`; the `net.ipv4.tcp_keepalive_time` sysctl, 2 hours,
    /// until set), in the kernel's whole seconds.
    ///
    #[doc = concat!("Corresponds to `getsockopt(IPPROTO_TCP, TCP_KEEPIDLE)` (`TCP_KEEPALIVE` on Apple systems); see ", man!("tcp", 7), ".")]
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    #[cfg(tcp_keepalive_params)]
    #[doc(alias = "TCP_KEEPIDLE")]
    pub fn keepalive_idle(&self) -> Result<Duration> {
        self.opt("getsockopt TCP_KEEPIDLE", |s| s.tcp_keepalive_time())
    }

    /// Sets `TCP_KEEPIDLE`, rounded **up** to whole seconds (500 ms idles one
    /// second, never zero), and turns `SO_KEEPALIVE` on as
    /// [`set_keepalive_count`](Socket::set_keepalive_count) does.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sockpoll::{Domain, Socket, Type};
    /// # fn main() -> sockpoll::Result<()> {
    /// let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    /// s.set_keepalive_idle(Duration::from_millis(2500))?;
    /// assert_eq!(s.keepalive_idle()?, Duration::from_secs(3));
    /// assert!(s.keepalive()?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput): before any call for a
    /// zero duration; `EINVAL` from the kernel above its maximum (32,767 s
    /// on Linux). Otherwise the OS error of
    #[doc = concat!(man!("setsockopt", 2), ".")]
    #[cfg(tcp_keepalive_params)]
    #[doc(alias = "TCP_KEEPIDLE")]
    pub fn set_keepalive_idle(&self, idle: Duration) -> Result<()> {
        const CALL: &str = "setsockopt TCP_KEEPIDLE";
        let idle = whole_seconds(CALL, self.as_raw_fd(), idle)?;
        let params = socket2::TcpKeepalive::new().with_time(idle);
        self.opt(CALL, |s| s.set_tcp_keepalive(&params))
    }

    /// The time between keep-alive probes (`TCP_KEEPINTVL`; the
    /// `net.ipv4.tcp_keepalive_intvl` sysctl, 75 s, until set), in whole
    /// seconds.
    ///
    #[doc = concat!("Corresponds to `getsockopt(IPPROTO_TCP, TCP_KEEPINTVL)`; see ", man!("tcp", 7), ".")]
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    #[cfg(tcp_keepalive_params)]
    #[doc(alias = "TCP_KEEPINTVL")]
    pub fn keepalive_interval(&self) -> Result<Duration> {
        self.opt("getsockopt TCP_KEEPINTVL", |s| s.tcp_keepalive_interval())
    }

    /// Sets `TCP_KEEPINTVL` with the rounding and errors of
    /// [`set_keepalive_idle`](Socket::set_keepalive_idle), and turns
    /// `SO_KEEPALIVE` on.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for a zero duration
    /// (before any call) or one over the kernel's maximum (`EINVAL`);
    /// otherwise the OS error of
    #[doc = concat!(man!("setsockopt", 2), ".")]
    #[cfg(tcp_keepalive_params)]
    #[doc(alias = "TCP_KEEPINTVL")]
    pub fn set_keepalive_interval(&self, interval: Duration) -> Result<()> {
        const CALL: &str = "setsockopt TCP_KEEPINTVL";
        let interval = whole_seconds(CALL, self.as_raw_fd(), interval)?;
        let params = socket2::TcpKeepalive::new().with_interval(interval);
        self.opt(CALL, |s| s.set_tcp_keepalive(&params))
    }

    sockopt! {
        /// Whether Nagle's algorithm is off (small writes go out at once).
        nodelay / set_nodelay: bool => tcp_nodelay / set_tcp_nodelay, "TCP_NODELAY"
    }

    #[cfg(linux_like)]
    sockopt! {
        /// Whether ACKs are sent at once rather than delayed. Not permanent:
        /// the kernel goes back to delayed ACKs when it sees fit, so set it
        /// again after each receive if it matters.
        quickack / set_quickack: bool => tcp_quickack / set_tcp_quickack, "TCP_QUICKACK"
    }

    /// The kernel's view of this TCP connection: its state, round-trip
    /// time, retransmits, congestion window, bytes acked and received,
    /// delivery rate.
    ///
    #[doc = concat!("Corresponds to `getsockopt(IPPROTO_TCP, TCP_INFO)`; see ", man!("tcp", 7), ".")]
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`, e.g. `EOPNOTSUPP` on a socket that is
    /// not TCP.
    #[cfg(linux_like)]
    #[doc(alias = "TCP_INFO")]
    pub fn tcp_info(&self) -> Result<crate::net::TcpInfo> {
        sys::socket::tcp_info(self.as_fd()).map(|raw| crate::net::TcpInfo::from(&raw))
    }

    /// How long sent data may stay unacknowledged before the connection is
    /// dropped with `ETIMEDOUT` (`TCP_USER_TIMEOUT`); `None` when the
    /// system's retransmission rules decide (the default).
    ///
    #[doc = concat!("Corresponds to `getsockopt(IPPROTO_TCP, TCP_USER_TIMEOUT)`; see ", man!("tcp", 7), ".")]
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    #[cfg(linux_like)]
    #[doc(alias = "TCP_USER_TIMEOUT")]
    pub fn user_timeout(&self) -> Result<Option<Duration>> {
        self.opt("getsockopt TCP_USER_TIMEOUT", |s| s.tcp_user_timeout())
    }

    /// Sets `TCP_USER_TIMEOUT`, rounded **up** to whole milliseconds (the
    /// kernel's unit; 300 µs becomes 1 ms, never the 0 that means "the
    /// default") and clamped at `i32::MAX` ms (about 24.8 days). `None`
    /// goes back to the default.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for
    /// `Some(Duration::ZERO)` (the kernel would read it as "no user
    /// timeout"; use `None` for that); otherwise the OS error of
    #[doc = concat!(man!("setsockopt", 2), ".")]
    #[cfg(linux_like)]
    #[doc(alias = "TCP_USER_TIMEOUT")]
    pub fn set_user_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        const CALL: &str = "setsockopt TCP_USER_TIMEOUT";
        let timeout = match timeout {
            None => None,
            Some(d) if d.is_zero() => {
                return Err(Error::InvalidInput {
                    call: CALL,
                    subject: Subject::Fd(self.as_raw_fd()),
                    reason: "a zero user timeout would mean the default; use None for that",
                })
            }
            Some(d) => {
                let ms = d
                    .as_nanos()
                    .div_ceil(1_000_000)
                    .min(libc::c_int::MAX as u128);
                Some(Duration::from_millis(ms as u64))
            }
        };
        self.opt(CALL, |s| s.set_tcp_user_timeout(timeout))
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Socket");
        d.field("fd", &self.fd.as_raw_fd());
        if let Ok(addr) = self.local_addr() {
            d.field("local", &format_args!("{addr}"));
        }
        if let Ok(addr) = self.peer_addr() {
            d.field("peer", &format_args!("{addr}"));
        }
        d.finish()
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl IntoRawFd for Socket {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl From<OwnedFd> for Socket {
    /// Takes ownership of `fd`, which must be a socket (calls on anything else
    /// fail with `ENOTSOCK`; nothing unsound happens).
    fn from(fd: OwnedFd) -> Socket {
        Socket { fd }
    }
}

impl From<Socket> for OwnedFd {
    fn from(socket: Socket) -> OwnedFd {
        socket.fd
    }
}

/// `io::Read`/`io::Write` give the errors std's socket types give: the bare
/// OS error, so `raw_os_error()` keeps errno (code ported from std checks
/// it). The inherent methods ([`recv`](Socket::recv), [`send`](Socket::send),
/// …) keep the context-rich [`Error`].
impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Read for &Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf).map_err(Error::into_std)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.recv_vectored(bufs).map_err(Error::into_std)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf).map_err(Error::into_std)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.send_vectored(bufs).map_err(Error::into_std)
    }

    /// Sockets have no user-space buffer: nothing to flush.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Conversions to and from the standard library's socket types, by moving
/// the descriptor (no system call).
macro_rules! std_conversions {
    ($($std:ty),*) => {$(
        impl From<$std> for Socket {
            fn from(s: $std) -> Socket {
                Socket { fd: OwnedFd::from(s) }
            }
        }

        impl From<Socket> for $std {
            fn from(s: Socket) -> $std {
                <$std>::from(s.fd)
            }
        }
    )*};
}

std_conversions!(
    std::net::TcpStream,
    std::net::TcpListener,
    std::net::UdpSocket,
    std::os::unix::net::UnixStream,
    std::os::unix::net::UnixListener,
    std::os::unix::net::UnixDatagram
);

/// A socket timeout as the `timeval` the kernel will hold: zero refused (it
/// would mean "forever"), anything else rounded up to whole microseconds
/// (socket2 truncates, which turns 500 ns into "forever" and 1.5 µs into 1).
fn timeval_timeout(
    call: &'static str,
    fd: RawFd,
    timeout: Option<Duration>,
) -> Result<Option<Duration>> {
    match timeout {
        None => Ok(None),
        Some(d) if d.is_zero() => Err(Error::InvalidInput {
            call,
            subject: Subject::Fd(fd),
            reason: "a zero timeout would block forever; use None for that",
        }),
        Some(d) => {
            let micros = d.as_nanos().div_ceil(1000);
            let secs = u64::try_from(micros / 1_000_000).unwrap_or(u64::MAX);
            // Whole microseconds below a second, so the nanoseconds fit.
            let nanos = ((micros % 1_000_000) * 1000) as u32;
            Ok(Some(Duration::new(secs, nanos)))
        }
    }
}

/// A duration as the whole seconds the kernel holds for the keep-alive
/// options: zero refused, anything else rounded up (socket2 truncates, which
/// turns 500 ms into the kernel's `EINVAL` for 0) and clamped at `c_int::MAX`
/// seconds (the kernel's own maximum then answers `EINVAL`).
#[cfg(tcp_keepalive_params)]
fn whole_seconds(call: &'static str, fd: RawFd, d: Duration) -> Result<Duration> {
    if d.is_zero() {
        return Err(Error::InvalidInput {
            call,
            subject: Subject::Fd(fd),
            reason: "a keep-alive time cannot be zero",
        });
    }
    let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
    Ok(Duration::from_secs(secs.min(libc::c_int::MAX as u64)))
}
