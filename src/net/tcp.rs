//! TCP: `TcpListener` and `TcpStream`, thin shells over `Socket`.

use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use crate::addr::inet;
use crate::addr::{SockAddr, Type};
use crate::error::Result;
use crate::net::resolve::{each_addr, ToSockAddrs};
use crate::net::socket::Socket;
use crate::net::wrappers::{shell, stream_io};

/// The listen backlog of [`TcpListener::bind`] (the kernel caps it at
/// `net.core.somaxconn`).
pub const DEFAULT_BACKLOG: i32 = 1024;

/// A TCP socket listening for connections.
///
/// ```
/// use std::io::{Read, Write};
/// use sockpoll::{TcpListener, TcpStream};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let listener = TcpListener::bind("localhost:0")?;
/// let mut client = TcpStream::connect(listener.local_addr()?)?;
/// let (mut server, _) = listener.accept()?;
/// client.write_all(b"hi")?;
/// let mut buf = [0; 2];
/// server.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"hi");
/// # Ok(()) }
/// ```
pub struct TcpListener(Socket);

shell!(TcpListener, std::net::TcpListener);

impl TcpListener {
    /// Creates a socket for each address of `addr` in turn, with
    /// `SO_REUSEADDR` (a restart is not blocked by `TIME_WAIT`), binds and
    /// listens with [`DEFAULT_BACKLOG`]. Port 0 picks a free port.
    ///
    /// # Errors
    ///
    /// The last address's error: [`AddrInUse`](std::io::ErrorKind::AddrInUse)
    /// ("Address already in use", naming the address) for a busy port;
    /// resolution errors for a bad name.
    pub fn bind(addr: impl ToSockAddrs) -> Result<TcpListener> {
        each_addr("bind", &addr, |addr| {
            let socket = Socket::new(addr.family(), Type::STREAM, None)?;
            socket.set_reuse_address(true)?;
            socket.bind(addr)?;
            socket.listen(DEFAULT_BACKLOG)?;
            Ok(TcpListener(socket))
        })
    }

    /// Accepts a connection (blocking, close-on-exec) and its peer's address.
    ///
    /// # Errors
    ///
    /// As [`Socket::accept`].
    pub fn accept(&self) -> Result<(TcpStream, SocketAddr)> {
        let (socket, addr) = self.0.accept()?;
        Ok((TcpStream(socket), inet(addr, "accept4")?))
    }

    /// Accepts a connection whose socket is already non-blocking.
    ///
    /// # Errors
    ///
    /// As [`Socket::accept`].
    pub fn accept_nonblocking(&self) -> Result<(TcpStream, SocketAddr)> {
        let (socket, addr) = self.0.accept_nonblocking()?;
        Ok((TcpStream(socket), inet(addr, "accept4")?))
    }

    /// The bound address (the real port when bound to port 0).
    ///
    /// # Errors
    ///
    /// As [`Socket::local_addr`].
    pub fn local_addr(&self) -> Result<SocketAddr> {
        inet(self.0.local_addr()?, "getsockname")
    }
}

/// A connected TCP stream. Reads and writes go through `io::Read` and
/// `io::Write` (also on `&TcpStream`); sends never raise `SIGPIPE`.
pub struct TcpStream(Socket);

shell!(TcpStream, std::net::TcpStream);
stream_io!(TcpStream);

impl TcpStream {
    /// The kernel's view of the connection (`TCP_INFO`): state, RTT,
    /// retransmits, congestion window, bytes acked and received.
    ///
    /// # Errors
    ///
    /// As [`Socket::tcp_info`].
    #[cfg(linux_like)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    pub fn tcp_info(&self) -> Result<crate::net::tcp_info::TcpInfo> {
        self.0.tcp_info()
    }

    /// Connects to each address of `addr` in turn until one accepts.
    ///
    /// # Errors
    ///
    /// The last address's error (e.g.
    /// [`ConnectionRefused`](std::io::ErrorKind::ConnectionRefused), naming
    /// the address); resolution errors for a bad name.
    pub fn connect(addr: impl ToSockAddrs) -> Result<TcpStream> {
        each_addr("connect", &addr, |addr| {
            let socket = Socket::new(addr.family(), Type::STREAM, None)?;
            socket.connect(addr)?;
            Ok(TcpStream(socket))
        })
    }

    /// Connects to `addr`, giving up after `timeout`.
    ///
    /// # Errors
    ///
    /// As [`Socket::connect_timeout`].
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> Result<TcpStream> {
        let addr = SockAddr::from(*addr);
        let socket = Socket::new(addr.family(), Type::STREAM, None)?;
        socket.connect_timeout(&addr, timeout)?;
        Ok(TcpStream(socket))
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// As [`Socket::local_addr`].
    pub fn local_addr(&self) -> Result<SocketAddr> {
        inet(self.0.local_addr()?, "getsockname")
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// As [`Socket::peer_addr`].
    pub fn peer_addr(&self) -> Result<SocketAddr> {
        inet(self.0.peer_addr()?, "getpeername")
    }

    /// Shuts down one or both directions; see [`Socket::shutdown`].
    ///
    /// # Errors
    ///
    /// As [`Socket::shutdown`].
    pub fn shutdown(&self, how: Shutdown) -> Result<()> {
        self.0.shutdown(how)
    }

    /// Reads without consuming (`MSG_PEEK`).
    ///
    /// # Errors
    ///
    /// As [`Socket::recv`].
    pub fn peek(&self, buf: &mut [u8]) -> Result<usize> {
        self.0.peek(buf)
    }
}

/// Forwards option getter/setter pairs to the `Socket` inside, each
/// documented as its `Socket` twin.
macro_rules! forward_opts {
    ($wrapper:ident { $($(#[$cfg:meta])* $get:ident / $set:ident: $ty:ty, $name:literal;)* }) => {
        impl $wrapper {$(
            $(#[$cfg])*
            #[doc = concat!("Reads `", $name, "` (`getsockopt`); see [`Socket::", stringify!($get), "`].\n\n# Errors\n\nAs [`Socket::", stringify!($get), "`].")]
            #[doc(alias = $name)]
            pub fn $get(&self) -> Result<$ty> {
                self.0.$get()
            }

            $(#[$cfg])*
            #[doc = concat!("Sets `", $name, "` (`setsockopt`); see [`Socket::", stringify!($set), "`].\n\n# Errors\n\nAs [`Socket::", stringify!($set), "`].")]
            #[doc(alias = $name)]
            pub fn $set(&self, value: $ty) -> Result<()> {
                self.0.$set(value)
            }
        )*}
    };
}

forward_opts!(TcpListener {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fastopen / set_fastopen: u32, "TCP_FASTOPEN";
});

forward_opts!(TcpStream {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    cork / set_cork: bool, "TCP_CORK";
    keepalive / set_keepalive: bool, "SO_KEEPALIVE";
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple", target_os = "freebsd", target_os = "dragonfly", target_os = "netbsd", target_os = "illumos"))]
    keepalive_count / set_keepalive_count: u32, "TCP_KEEPCNT";
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple", target_os = "freebsd", target_os = "dragonfly", target_os = "netbsd", target_os = "illumos"))]
    keepalive_idle / set_keepalive_idle: Duration, "TCP_KEEPIDLE";
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple", target_os = "freebsd", target_os = "dragonfly", target_os = "netbsd", target_os = "illumos"))]
    keepalive_interval / set_keepalive_interval: Duration, "TCP_KEEPINTVL";
    nodelay / set_nodelay: bool, "TCP_NODELAY";
    #[cfg(any(target_os = "linux", target_os = "android"))]
    quickack / set_quickack: bool, "TCP_QUICKACK";
    #[cfg(any(target_os = "linux", target_os = "android"))]
    user_timeout / set_user_timeout: Option<Duration>, "TCP_USER_TIMEOUT";
});
