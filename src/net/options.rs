//! Every socket option of [`Socket`], one `impl` block per level
//! (`SOL_SOCKET`, `IPPROTO_IP`, `IPPROTO_IPV6`, `IPPROTO_TCP`, `SOL_UDP`),
//! most of them written by the one `sockopt!` macro over socket2 or a
//! plain `int`. The typed wrappers reach them through `as_socket()`.

#[cfg(linux_like)]
use std::ffi::{OsStr, OsString};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
#[cfg(has_so_domain)]
use std::os::fd::AsFd;
use std::os::fd::{AsRawFd, RawFd};
#[cfg(linux_like)]
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::Duration;

use socket2::SockRef;

use crate::addr::{Domain, Type};
use crate::error::{Error, Result, Subject};
#[cfg(target_os = "linux")]
use crate::net::cmsg::UnixCredentials;
#[cfg(all(doc, target_os = "linux"))]
use crate::net::cmsg::{Cmsg, ControlMessage};
#[cfg(all(doc, target_os = "linux"))]
use crate::net::msg::RecvMsg;
use crate::net::socket::Socket;
#[cfg(has_so_domain)]
use crate::sys;

impl Socket {
    /// Runs `f` on the socket as socket2 sees it, the error named `call`.
    pub(crate) fn opt<T>(
        &self,
        call: &'static str,
        f: impl FnOnce(&SockRef<'_>) -> io::Result<T>,
    ) -> Result<T> {
        f(&SockRef::from(self)).map_err(|e| Error::os(call, Subject::Fd(self.as_raw_fd()), e))
    }
}

/// Generates an option's getter and setter: over `socket2::SockRef`
/// (`=> getter / setter`), or over one `int` read and written with
/// `getsockopt`/`setsockopt` (`=> int(level, name)`, a boolean), for the
/// options socket2 lacks.
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
    ($(#[$doc:meta])* $get:ident / $set:ident: bool => int($level:expr, $opt:expr), $name:literal) => {
        $(#[$doc])*
        #[doc = concat!("\n\nCorresponds to `getsockopt(", $name, ")`.\n\n# Errors\n\nThe OS error of ", man!("getsockopt", 2), ", e.g. `ENOPROTOOPT` on a socket of the wrong family or protocol.")]
        #[doc(alias = $name)]
        pub fn $get(&self) -> Result<bool> {
            sys::socket::getsockopt_int(self.as_fd(), $level, $opt, concat!("getsockopt ", $name)).map(|v| v != 0)
        }

        #[doc = concat!("Sets `", $name, "`; see [`", stringify!($get), "`](Socket::", stringify!($get), ").\n\n# Errors\n\nThe OS error of ", man!("setsockopt", 2), ".")]
        #[doc(alias = $name)]
        pub fn $set(&self, on: bool) -> Result<()> {
            sys::socket::setsockopt_int(self.as_fd(), $level, $opt, libc::c_int::from(on), concat!("setsockopt ", $name))
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
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
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
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
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
    #[cfg(any(target_os = "linux", target_os = "android"))]
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
    #[cfg(not(any(target_os = "illumos", target_os = "solaris")))]
    sockopt! {
        /// Whether several sockets may bind the same address and port
        /// (not on illumos and Solaris, which have no `SO_REUSEPORT`).
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

    /// The socket's domain: `SO_DOMAIN` on Linux, Android, FreeBSD, OpenBSD
    /// and illumos; on Apple, NetBSD and DragonFly (no `SO_DOMAIN`) the
    /// family of the socket's own address from `getsockname`, which every
    /// socket has, bound or not.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt` (or `getsockname`).
    pub fn domain(&self) -> Result<Domain> {
        #[cfg(has_so_domain)]
        return sys::socket::getsockopt_int(
            self.as_fd(),
            libc::SOL_SOCKET,
            libc::SO_DOMAIN,
            "getsockopt SO_DOMAIN",
        )
        .map(Domain);
        #[cfg(not(has_so_domain))]
        return self.local_addr().map(|a| a.family());
    }

    /// Whether `SO_PASSCRED` is on: every message received on this Unix
    /// socket carries the sender's [`Cmsg::ScmCredentials`].
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    #[cfg(target_os = "linux")]
    pub fn pass_credentials(&self) -> Result<bool> {
        self.opt("getsockopt SO_PASSCRED", |s| s.passcred())
    }

    /// Sets `SO_PASSCRED`; see [`pass_credentials`](Socket::pass_credentials).
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("setsockopt", 2), ".")]
    #[cfg(target_os = "linux")]
    pub fn set_pass_credentials(&self, on: bool) -> Result<()> {
        self.opt("setsockopt SO_PASSCRED", |s| s.set_passcred(on))
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
    #[cfg(target_os = "linux")]
    pub fn peer_credentials(&self) -> Result<UnixCredentials> {
        sys::msg::peer_credentials(self.as_fd()).map(UnixCredentials::from)
    }

    asm_generic_items! {
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
        pub fn pass_pidfd(&self) -> Result<bool> {
            sys::socket::getsockopt_int(
                self.as_fd(),
                libc::SOL_SOCKET,
                sys::cmsg::SO_PASSPIDFD,
                "getsockopt SO_PASSPIDFD",
            )
            .map(|v| v != 0)
        }

        /// Sets `SO_PASSPIDFD`; see [`pass_pidfd`](Socket::pass_pidfd).
        ///
        /// # Errors
        ///
        /// `ENOPROTOOPT` before Linux 6.5; the OS error of `setsockopt`.
        pub fn set_pass_pidfd(&self, on: bool) -> Result<()> {
            sys::socket::setsockopt_int(
                self.as_fd(),
                libc::SOL_SOCKET,
                sys::cmsg::SO_PASSPIDFD,
                libc::c_int::from(on),
                "setsockopt SO_PASSPIDFD",
            )
        }
    }

    #[cfg(target_os = "linux")]
    sockopt! {
        /// Whether each message received carries [`Cmsg::TimestampNs`], the
        /// kernel's receive time (`SO_TIMESTAMPNS`).
        recv_timestamp_ns / set_recv_timestamp_ns: bool => int(libc::SOL_SOCKET, libc::SO_TIMESTAMPNS), "SO_TIMESTAMPNS"
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

    #[cfg(target_os = "linux")]
    sockopt! {
        /// Whether each datagram received carries [`Cmsg::PktInfoV4`]: the
        /// interface and local address it arrived at (`IP_PKTINFO`). Also
        /// lets [`ControlMessage::PktInfoV4`] choose the source of a send.
        recv_pktinfo_v4 / set_recv_pktinfo_v4: bool => int(libc::IPPROTO_IP, libc::IP_PKTINFO), "IP_PKTINFO"
    }

    #[cfg(target_os = "linux")]
    sockopt! {
        /// Whether errors for datagrams sent are queued for
        /// [`recv_error_queue`](Socket::recv_error_queue) as
        /// [`Cmsg::ExtendedError`] (`IP_RECVERR`).
        recv_errors_v4 / set_recv_errors_v4: bool => int(libc::IPPROTO_IP, libc::IP_RECVERR), "IP_RECVERR"
    }

    /// Whether each datagram received carries its type-of-service byte as
    /// [`Cmsg::Tos`] (`IP_RECVTOS`).
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    #[cfg(target_os = "linux")]
    pub fn recv_tos(&self) -> Result<bool> {
        self.opt("getsockopt IP_RECVTOS", |s| s.recv_tos_v4())
    }

    /// Sets `IP_RECVTOS`; see [`recv_tos`](Socket::recv_tos).
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("setsockopt", 2), ".")]
    #[cfg(target_os = "linux")]
    pub fn set_recv_tos(&self, on: bool) -> Result<()> {
        self.opt("setsockopt IP_RECVTOS", |s| s.set_recv_tos_v4(on))
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
    ipv6_tclass_items! {
        /// The traffic class byte of outgoing IPv6 packets (`IPV6_TCLASS`):
        /// DSCP in the upper six bits, ECN in the lower two; 0 by default.
        ///
        /// Corresponds to `getsockopt(IPPROTO_IPV6, IPV6_TCLASS)`; see
        #[doc = concat!(man!("ipv6", 7), ".")]
        ///
        /// # Errors
        ///
        #[doc = concat!("The OS error of ", man!("getsockopt", 2), ", e.g. `ENOPROTOOPT` on an IPv4 socket.")]
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
        #[doc(alias = "IPV6_TCLASS")]
        pub fn set_tclass_v6(&self, tclass: u8) -> Result<()> {
            self.opt("setsockopt IPV6_TCLASS", |s| {
                s.set_tclass_v6(u32::from(tclass))
            })
        }
    }

    sockopt! {
        /// The hop limit of outgoing unicast packets.
        unicast_hops_v6 / set_unicast_hops_v6: u32 => unicast_hops_v6 / set_unicast_hops_v6, "IPV6_UNICAST_HOPS"
    }

    #[cfg(target_os = "linux")]
    sockopt! {
        /// Whether each datagram received carries [`Cmsg::PktInfoV6`]
        /// (`IPV6_RECVPKTINFO`).
        recv_pktinfo_v6 / set_recv_pktinfo_v6: bool => int(libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO), "IPV6_RECVPKTINFO"
    }

    #[cfg(target_os = "linux")]
    sockopt! {
        /// As [`recv_errors_v4`](Socket::recv_errors_v4), for IPv6
        /// (`IPV6_RECVERR`).
        recv_errors_v6 / set_recv_errors_v6: bool => int(libc::IPPROTO_IPV6, libc::IPV6_RECVERR), "IPV6_RECVERR"
    }

    /// Whether each datagram received carries its traffic class as
    /// [`Cmsg::TrafficClass`] (`IPV6_RECVTCLASS`).
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    #[cfg(target_os = "linux")]
    pub fn recv_tclass(&self) -> Result<bool> {
        self.opt("getsockopt IPV6_RECVTCLASS", |s| s.recv_tclass_v6())
    }

    /// Sets `IPV6_RECVTCLASS`; see [`recv_tclass`](Socket::recv_tclass).
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("setsockopt", 2), ".")]
    #[cfg(target_os = "linux")]
    pub fn set_recv_tclass(&self, on: bool) -> Result<()> {
        self.opt("setsockopt IPV6_RECVTCLASS", |s| s.set_recv_tclass_v6(on))
    }
}

/// TCP options (`IPPROTO_TCP`).
impl Socket {
    #[cfg(any(target_os = "linux", target_os = "android"))]
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
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
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
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
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
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
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
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
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

    keepalive_params_items! {
        /// How many unanswered keep-alive probes end the connection
        /// (`TCP_KEEPCNT`; the `net.ipv4.tcp_keepalive_probes` sysctl, 9, until
        /// set).
        ///
        #[doc = concat!("Corresponds to `getsockopt(IPPROTO_TCP, TCP_KEEPCNT)`; see ", man!("tcp", 7), ".")]
        ///
        /// # Errors
        ///
        #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
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
        #[doc(alias = "TCP_KEEPINTVL")]
        pub fn set_keepalive_interval(&self, interval: Duration) -> Result<()> {
            const CALL: &str = "setsockopt TCP_KEEPINTVL";
            let interval = whole_seconds(CALL, self.as_raw_fd(), interval)?;
            let params = socket2::TcpKeepalive::new().with_interval(interval);
            self.opt(CALL, |s| s.set_tcp_keepalive(&params))
        }
    }

    sockopt! {
        /// Whether Nagle's algorithm is off (small writes go out at once).
        nodelay / set_nodelay: bool => tcp_nodelay / set_tcp_nodelay, "TCP_NODELAY"
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
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
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    #[doc(alias = "TCP_INFO")]
    pub fn tcp_info(&self) -> Result<crate::net::tcp_info::TcpInfo> {
        sys::socket::tcp_info(self.as_fd()).map(|raw| crate::net::tcp_info::TcpInfo::from(&raw))
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
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
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
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
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

/// UDP options (`SOL_UDP`): receive and send offload.
impl Socket {
    #[cfg(target_os = "linux")]
    sockopt! {
        /// Whether UDP generic receive offload is on (`UDP_GRO`): the
        /// kernel may coalesce datagrams of one flow into one buffer and
        /// report their size in [`Cmsg::UdpGroSegments`]. Receive into
        /// buffers of 64 KiB with it on.
        udp_gro / set_udp_gro: bool => int(libc::SOL_UDP, libc::UDP_GRO), "UDP_GRO"
    }

    /// The socket-wide UDP GSO segment size (`getsockopt(SOL_UDP,
    /// UDP_SEGMENT)`), 0 when unset: every send is then cut into datagrams
    /// of this size. Succeeds only where the kernel has UDP GSO (4.18+),
    /// which is how [`UdpSocket::gso_max_segments`](crate::net::udp::UdpSocket::gso_max_segments)
    /// probes it.
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` where the kernel lacks UDP GSO, or on a socket that is
    /// not UDP.
    #[cfg(target_os = "linux")]
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
    #[cfg(target_os = "linux")]
    pub fn set_udp_segment(&self, size: u16) -> Result<()> {
        sys::socket::setsockopt_int(
            self.as_fd(),
            libc::SOL_UDP,
            libc::UDP_SEGMENT,
            libc::c_int::from(size),
            "setsockopt UDP_SEGMENT",
        )
    }
}

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

keepalive_params_items! {
    /// A duration as the whole seconds the kernel holds for the keep-alive
    /// options: zero refused, anything else rounded up (socket2 truncates, which
    /// turns 500 ms into the kernel's `EINVAL` for 0) and clamped at `c_int::MAX`
    /// seconds (the kernel's own maximum then answers `EINVAL`).
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
}
