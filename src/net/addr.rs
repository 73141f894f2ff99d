//! Socket addresses and the `Domain`/`Type`/`Protocol` newtypes.

use std::ffi::OsStr;
use std::fmt;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, Subject};

/// The longest Unix socket path, in bytes, not counting the terminating NUL
/// that `sun_path` keeps (107 on Linux).
pub const UNIX_PATH_MAX: usize = crate::sys::addr::SUN_PATH_LEN - 1;

/// An owned socket address: IPv4, IPv6 (with scope id and flow info), a Unix
/// path, a Linux abstract name, or an unnamed Unix socket.
///
/// It corresponds to `struct sockaddr_storage` and its `socklen_t`; lengths
/// are validated both ways (when built from a path, and when read back from
/// the kernel).
///
/// ```
/// use sockpoll::SockAddr;
/// let addr = SockAddr::from(std::net::SocketAddr::from(([127, 0, 0, 1], 7007)));
/// assert_eq!(addr.to_string(), "127.0.0.1:7007");
/// assert_eq!(addr.family(), sockpoll::Domain::IPV4);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SockAddr(pub(crate) Repr);

#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum Repr {
    Inet(SocketAddr),
    Unix(PathBuf),
    Abstract(Box<[u8]>),
    Unnamed,
}

impl SockAddr {
    /// A Unix-domain address for `path` (`AF_UNIX`, `sun_path`).
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) when `path` is
    /// empty, contains a NUL byte, or is longer than [`UNIX_PATH_MAX`] bytes.
    pub fn unix(path: impl AsRef<Path>) -> Result<SockAddr> {
        let path = path.as_ref();
        let bytes = path.as_os_str().as_bytes();
        let reason = if bytes.is_empty() {
            Some("a Unix socket path cannot be empty (use SockAddr::unnamed)")
        } else if bytes.contains(&0) {
            Some("a Unix socket path cannot contain a NUL byte")
        } else if bytes.len() > UNIX_PATH_MAX {
            Some("a Unix socket path is at most 107 bytes (sun_path)")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidInput {
                call: "sockaddr_un",
                subject: Subject::Name(path.display().to_string()),
                reason,
            }),
            None => Ok(SockAddr(Repr::Unix(path.to_path_buf()))),
        }
    }

    /// A Linux abstract Unix-domain address: `sun_path` starts with a NUL
    /// byte and `name` follows; nothing appears in the file system.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) when `name` is
    /// longer than [`UNIX_PATH_MAX`] bytes.
    pub fn abstract_name(name: impl AsRef<[u8]>) -> Result<SockAddr> {
        let name = name.as_ref();
        if name.len() > UNIX_PATH_MAX {
            return Err(Error::InvalidInput {
                call: "sockaddr_un",
                subject: Subject::Name(String::from_utf8_lossy(name).into_owned()),
                reason: "an abstract socket name is at most 107 bytes",
            });
        }
        Ok(SockAddr(Repr::Abstract(name.into())))
    }

    /// The address of an unnamed Unix socket (one from `socketpair`, or a
    /// client that never bound).
    pub fn unnamed() -> SockAddr {
        SockAddr(Repr::Unnamed)
    }

    /// The address family: [`Domain::IPV4`], [`Domain::IPV6`] or [`Domain::UNIX`].
    pub fn family(&self) -> Domain {
        match &self.0 {
            Repr::Inet(SocketAddr::V4(_)) => Domain::IPV4,
            Repr::Inet(SocketAddr::V6(_)) => Domain::IPV6,
            Repr::Unix(_) | Repr::Abstract(_) | Repr::Unnamed => Domain::UNIX,
        }
    }

    /// The IP address and port, if this is an IPv4 or IPv6 address.
    pub fn as_socket(&self) -> Option<SocketAddr> {
        match self.0 {
            Repr::Inet(addr) => Some(addr),
            _ => None,
        }
    }

    /// The file-system path, if this is a Unix path address.
    pub fn as_unix_path(&self) -> Option<&Path> {
        match &self.0 {
            Repr::Unix(path) => Some(path),
            _ => None,
        }
    }

    /// The name (without the leading NUL), if this is an abstract address.
    pub fn as_abstract_name(&self) -> Option<&[u8]> {
        match &self.0 {
            Repr::Abstract(name) => Some(name),
            _ => None,
        }
    }

    /// True for an unnamed Unix socket address.
    pub fn is_unnamed(&self) -> bool {
        matches!(self.0, Repr::Unnamed)
    }
}

impl From<SocketAddr> for SockAddr {
    fn from(addr: SocketAddr) -> SockAddr {
        SockAddr(Repr::Inet(addr))
    }
}

impl From<SocketAddrV4> for SockAddr {
    fn from(addr: SocketAddrV4) -> SockAddr {
        SockAddr(Repr::Inet(addr.into()))
    }
}

impl From<SocketAddrV6> for SockAddr {
    fn from(addr: SocketAddrV6) -> SockAddr {
        SockAddr(Repr::Inet(addr.into()))
    }
}

impl TryFrom<SockAddr> for SocketAddr {
    type Error = Error;

    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) for a Unix address.
    fn try_from(addr: SockAddr) -> Result<SocketAddr> {
        inet(addr, "as_socket")
    }
}

/// The IP address inside `addr`, or an error naming `call` for a Unix one.
pub(crate) fn inet(addr: SockAddr, call: &'static str) -> Result<SocketAddr> {
    match addr.0 {
        Repr::Inet(ip) => Ok(ip),
        _ => Err(Error::InvalidInput {
            call,
            subject: Subject::Addr(addr),
            reason: "not an IPv4 or IPv6 address",
        }),
    }
}

/// `127.0.0.1:80`, `[fe80::1%2]:80`, `/run/x.sock`, `@abstract`, `(unnamed)`.
impl fmt::Display for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Inet(addr) => fmt::Display::fmt(addr, f),
            Repr::Unix(path) => fmt::Display::fmt(&path.display(), f),
            Repr::Abstract(name) => write!(f, "@{}", OsStr::from_bytes(name).to_string_lossy()),
            Repr::Unnamed => f.write_str("(unnamed)"),
        }
    }
}

impl fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SockAddr({:?}, {self})", self.family())
    }
}

macro_rules! named_consts {
    ($(#[$meta:meta])* $name:ident { $($(#[$cmeta:meta])* $konst:ident = $value:expr, $cname:literal;)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub i32);

        impl $name {
            $($(#[$cmeta])* pub const $konst: $name = $name($value);)*

            /// The C constant's name, if this value is one sockpoll knows.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $(v if v == $value => Some($cname),)*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl From<i32> for $name {
            fn from(value: i32) -> $name {
                $name(value)
            }
        }

        impl From<$name> for i32 {
            fn from(value: $name) -> i32 {
                value.0
            }
        }
    };
}

named_consts! {
    /// A socket's communication domain: the first argument of `socket(2)`.
    /// `Debug` prints the constant (`AF_INET`).
    Domain {
        /// `AF_INET`: IPv4.
        IPV4 = libc::AF_INET, "AF_INET";
        /// `AF_INET6`: IPv6.
        IPV6 = libc::AF_INET6, "AF_INET6";
        /// `AF_UNIX`: Unix-domain sockets.
        UNIX = libc::AF_UNIX, "AF_UNIX";
        /// `AF_UNSPEC`: any family (resolution hints).
        UNSPEC = libc::AF_UNSPEC, "AF_UNSPEC";
    }
}

impl Domain {
    /// The domain of an IP socket address.
    pub fn for_address(addr: SocketAddr) -> Domain {
        match addr {
            SocketAddr::V4(_) => Domain::IPV4,
            SocketAddr::V6(_) => Domain::IPV6,
        }
    }
}

named_consts! {
    /// A socket's type: the second argument of `socket(2)`. `Debug` prints
    /// the constant (`SOCK_STREAM`).
    Type {
        /// `SOCK_STREAM`: reliable byte stream (TCP, Unix stream).
        STREAM = libc::SOCK_STREAM, "SOCK_STREAM";
        /// `SOCK_DGRAM`: datagrams (UDP, Unix datagram).
        DGRAM = libc::SOCK_DGRAM, "SOCK_DGRAM";
        /// `SOCK_SEQPACKET`: reliable, ordered datagrams.
        SEQPACKET = libc::SOCK_SEQPACKET, "SOCK_SEQPACKET";
        /// `SOCK_RAW`: raw network protocol access.
        RAW = libc::SOCK_RAW, "SOCK_RAW";
    }
}

named_consts! {
    /// A socket's protocol: the third argument of `socket(2)`. `Debug` prints
    /// the constant (`IPPROTO_TCP`).
    Protocol {
        /// `IPPROTO_TCP`.
        TCP = libc::IPPROTO_TCP, "IPPROTO_TCP";
        /// `IPPROTO_UDP`.
        UDP = libc::IPPROTO_UDP, "IPPROTO_UDP";
        /// `IPPROTO_ICMP`.
        ICMPV4 = libc::IPPROTO_ICMP, "IPPROTO_ICMP";
        /// `IPPROTO_ICMPV6`.
        ICMPV6 = libc::IPPROTO_ICMPV6, "IPPROTO_ICMPV6";
    }
}
