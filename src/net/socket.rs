//! `Socket`: an owned socket descriptor and the calls made on it.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use crate::addr::{Domain, Protocol, SockAddr, Type};
use crate::error::{Error, Result, Subject};
use crate::sys;

/// An owned socket: a file descriptor closed when the `Socket` drops.
///
/// `Socket` is the untyped layer: any domain, type and protocol. The typed
/// wrappers ([`TcpStream`](crate::net::tcp::TcpStream), [`UdpSocket`](crate::net::udp::UdpSocket),
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
}

/// Receives into uninitialised memory.
impl Socket {
    /// Like [`recv`](Socket::recv), into uninitialised memory. On success
    /// the first `n` bytes of `buf` are initialised;
    /// [`recv_uninit_init`](Socket::recv_uninit_init) hands them back as
    /// `&mut [u8]`.
    ///
    #[doc = concat!("Corresponds to ", man!("recv", 2), ".")]
    ///
    /// ```
    /// use std::mem::MaybeUninit;
    /// # use sockpoll::UdpSocket;
    /// # fn main() -> sockpoll::Result<()> {
    /// let a = UdpSocket::bind("127.0.0.1:0")?;
    /// let b = UdpSocket::bind("127.0.0.1:0")?;
    /// a.send_to(b"raw", b.local_addr()?)?;
    /// let mut buf = [MaybeUninit::<u8>::uninit(); 16];
    /// assert_eq!(b.as_socket().recv_uninit_init(&mut buf)?, b"raw");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`recv`](Socket::recv).
    pub fn recv_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<usize> {
        sys::socket::recv_uninit(self.as_fd(), buf, 0)
    }

    /// [`recv_uninit`](Socket::recv_uninit), returning the bytes received
    /// as an initialised slice at the start of `buf`.
    ///
    /// # Errors
    ///
    /// As [`recv`](Socket::recv).
    pub fn recv_uninit_init<'b>(&self, buf: &'b mut [MaybeUninit<u8>]) -> Result<&'b mut [u8]> {
        sys::socket::recv_uninit_init(self.as_fd(), buf, 0)
    }

    /// Like [`recv_from`](Socket::recv_from), into uninitialised memory;
    /// the first `n` bytes of `buf` are initialised afterwards.
    ///
    #[doc = concat!("Corresponds to ", man!("recvfrom", 2), ".")]
    ///
    /// # Errors
    ///
    /// As [`recv`](Socket::recv).
    pub fn recv_from_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<(usize, SockAddr)> {
        sys::socket::recv_from_uninit(self.as_fd(), buf, 0)
    }

    /// Like [`peek_from`](Socket::peek_from), into uninitialised memory.
    ///
    /// # Errors
    ///
    /// As [`recv`](Socket::recv).
    pub fn peek_from_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> Result<(usize, SockAddr)> {
        sys::socket::recv_from_uninit(self.as_fd(), buf, libc::MSG_PEEK)
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
