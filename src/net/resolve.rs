//! Name resolution: `getaddrinfo`, `getnameinfo`, `gethostname`, and the
//! `ToSockAddrs` conversions that let `bind("localhost:7007")` work.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::addr::{Domain, Protocol, SockAddr, Type};
use crate::error::{Error, Result, Subject};
use crate::sys;

// getaddrinfo's flags. libc has them for every target but illumos and
// Solaris, whose values (from their <netdb.h>) follow; AI_NUMERICSERV is
// left out there, since its value could not be checked against a header.
#[cfg(not(solarish))]
use libc::{AI_ADDRCONFIG, AI_CANONNAME, AI_NUMERICHOST, AI_NUMERICSERV, AI_PASSIVE};
#[cfg(all(ai_v4mapped, not(solarish)))]
use libc::{AI_ALL, AI_V4MAPPED};
#[cfg(solarish)]
use solarish_ai::*;

#[cfg(solarish)]
mod solarish_ai {
    pub(super) use libc::AI_CANONNAME;
    pub(super) const AI_V4MAPPED: i32 = 0x0001;
    pub(super) const AI_ALL: i32 = 0x0002;
    pub(super) const AI_ADDRCONFIG: i32 = 0x0004;
    pub(super) const AI_PASSIVE: i32 = 0x0008;
    pub(super) const AI_NUMERICHOST: i32 = 0x0020;
}

/// What [`resolve`] should look for (`struct addrinfo` hints).
///
/// The default asks for every family, type and protocol, with no flags —
/// in particular without `AI_ADDRCONFIG`, which makes `localhost` fail on a
/// machine whose only interface is loopback.
///
/// ```
/// use sockpoll::{Domain, Hints, Type};
/// let hints = Hints::new().family(Domain::IPV4).socket_type(Type::STREAM).numeric_service(true);
/// # let _ = hints;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    family: Option<Domain>,
    ty: Option<Type>,
    protocol: Option<Protocol>,
    flags: i32,
}

impl Hints {
    /// No restriction, no flags.
    pub fn new() -> Hints {
        Hints::default()
    }

    /// Only addresses of this family (`ai_family`).
    pub fn family(mut self, family: Domain) -> Hints {
        self.family = Some(family);
        self
    }

    /// Only this socket type (`ai_socktype`); without it each address comes
    /// once per type (stream, datagram, raw).
    pub fn socket_type(mut self, ty: Type) -> Hints {
        self.ty = Some(ty);
        self
    }

    /// Only this protocol (`ai_protocol`).
    pub fn protocol(mut self, protocol: Protocol) -> Hints {
        self.protocol = Some(protocol);
        self
    }

    fn flag(mut self, flag: i32, on: bool) -> Hints {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
        self
    }

    /// `AI_PASSIVE`: with no host, return the wildcard address (for `bind`).
    pub fn passive(self, on: bool) -> Hints {
        self.flag(AI_PASSIVE, on)
    }

    /// `AI_NUMERICHOST`: the host must be a numeric address; no DNS.
    pub fn numeric_host(self, on: bool) -> Hints {
        self.flag(AI_NUMERICHOST, on)
    }

    /// `AI_NUMERICSERV`: the service must be a port number; no services
    /// lookup. Not on illumos and Solaris.
    #[cfg(not(solarish))]
    #[cfg_attr(
        docsrs,
        doc(cfg(not(any(target_os = "illumos", target_os = "solaris"))))
    )]
    pub fn numeric_service(self, on: bool) -> Hints {
        self.flag(AI_NUMERICSERV, on)
    }

    /// `AI_CANONNAME`: fill [`AddrInfo::canonical_name`] of the first entry.
    pub fn canonical_name(self, on: bool) -> Hints {
        self.flag(AI_CANONNAME, on)
    }

    /// `AI_V4MAPPED`: with [`family`](Hints::family) `Domain::IPV6`, answer
    /// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) when a name has no IPv6
    /// address. Not on NetBSD and OpenBSD, whose getaddrinfo never maps.
    #[cfg(ai_v4mapped)]
    #[cfg_attr(
        docsrs,
        doc(cfg(not(any(target_os = "netbsd", target_os = "openbsd"))))
    )]
    pub fn v4_mapped(self, on: bool) -> Hints {
        self.flag(AI_V4MAPPED, on)
    }

    /// `AI_ALL`: with [`v4_mapped`](Hints::v4_mapped), answer the IPv6
    /// addresses *and* the IPv4 ones, mapped. Not on NetBSD and OpenBSD.
    #[cfg(ai_v4mapped)]
    #[cfg_attr(
        docsrs,
        doc(cfg(not(any(target_os = "netbsd", target_os = "openbsd"))))
    )]
    pub fn all(self, on: bool) -> Hints {
        self.flag(AI_ALL, on)
    }

    /// `AI_ADDRCONFIG`: only families configured on a non-loopback interface.
    /// Off by default (see the type's docs).
    pub fn addrconfig(self, on: bool) -> Hints {
        self.flag(AI_ADDRCONFIG, on)
    }
}

/// One answer of [`resolve`] (`struct addrinfo`, copied out; the C list is
/// freed before `resolve` returns).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AddrInfo {
    /// The family (`ai_family`).
    pub domain: Domain,
    /// The socket type (`ai_socktype`).
    pub ty: Type,
    /// The protocol (`ai_protocol`).
    pub protocol: Protocol,
    /// The address (`ai_addr`).
    pub addr: SockAddr,
    /// The canonical name (`ai_canonname`), when asked for and given.
    pub canonical_name: Option<String>,
}

/// Resolves `host` and `service` (a name or a port number) to addresses.
///
/// Either may be `None`, not both. The answer is in getaddrinfo's order
/// (RFC 6724 preference), which callers should try in turn.
///
#[doc = concat!("Corresponds to ", man!("getaddrinfo", 3), ".")]
///
/// ```
/// use sockpoll::{resolve, Hints, Type};
/// # fn main() -> sockpoll::Result<()> {
/// let answers = resolve(Some("localhost"), Some("7007"), &Hints::new().socket_type(Type::STREAM))?;
/// assert!(answers.iter().any(|a| a.addr.as_socket().is_some_and(|s| s.ip().is_loopback())));
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// [`Error::Resolve`] with the `EAI_*` code and `gai_strerror`'s text:
/// [`NotFound`](std::io::ErrorKind::NotFound) for an unknown name,
/// [`InvalidInput`](std::io::ErrorKind::InvalidInput) for bad hints or
/// service; `EAI_SYSTEM` carries errno and its kind. A NUL byte inside
/// `host` or `service` is [`InvalidInput`](std::io::ErrorKind::InvalidInput)
/// without any lookup.
#[doc(alias = "getaddrinfo")]
pub fn resolve(host: Option<&str>, service: Option<&str>, hints: &Hints) -> Result<Vec<AddrInfo>> {
    let raw = sys::resolve::getaddrinfo(
        host,
        service,
        hints.family.map_or(libc::AF_UNSPEC, |d| d.0),
        hints.ty.map_or(0, |t| t.0),
        hints.protocol.map_or(0, |p| p.0),
        hints.flags,
    )?;
    let asked_canonical = hints.flags & AI_CANONNAME != 0;
    Ok(raw
        .into_iter()
        .map(|r| AddrInfo {
            domain: Domain(r.family),
            ty: Type(r.socktype),
            protocol: Protocol(r.protocol),
            addr: r.addr,
            // musl fills ai_canonname unasked: reported only when asked for,
            // the same everywhere.
            canonical_name: r.canonical_name.filter(|_| asked_canonical),
        })
        .collect())
}

/// Flags for [`getnameinfo`] (`NI_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NameInfoFlags(i32);

// The NI_* constants are unsigned on illumos and Solaris, c_int elsewhere.
#[allow(clippy::unnecessary_cast)]
impl NameInfoFlags {
    /// `NI_NUMERICHOST`: the address as digits, no reverse DNS.
    pub const NUMERIC_HOST: NameInfoFlags = NameInfoFlags(libc::NI_NUMERICHOST as i32);
    /// `NI_NUMERICSERV`: the port as digits.
    pub const NUMERIC_SERVICE: NameInfoFlags = NameInfoFlags(libc::NI_NUMERICSERV as i32);
    /// `NI_NAMEREQD`: fail instead of returning digits when there is no name.
    pub const NAME_REQUIRED: NameInfoFlags = NameInfoFlags(libc::NI_NAMEREQD as i32);
    /// `NI_DGRAM`: look the port up as a UDP service.
    pub const DATAGRAM: NameInfoFlags = NameInfoFlags(libc::NI_DGRAM as i32);
}

impl std::ops::BitOr for NameInfoFlags {
    type Output = NameInfoFlags;
    fn bitor(self, rhs: NameInfoFlags) -> NameInfoFlags {
        NameInfoFlags(self.0 | rhs.0)
    }
}

/// Reverse lookup: the host and service names of an IP address.
///
#[doc = concat!("Corresponds to ", man!("getnameinfo", 3), ".")]
///
/// # Errors
///
/// [`Error::Resolve`] (e.g. `EAI_NONAME` with `NAME_REQUIRED` and no name).
/// A Unix address is `EAI_FAMILY` on most libcs; glibc instead answers
/// `("localhost", path)`.
pub fn getnameinfo(addr: &SockAddr, flags: NameInfoFlags) -> Result<(String, String)> {
    sys::resolve::getnameinfo(addr, flags.0)
}

/// This machine's host name.
///
#[doc = concat!("Corresponds to ", man!("gethostname", 2), ".")]
///
/// # Errors
///
/// The OS error, or [`InvalidData`](std::io::ErrorKind::InvalidData) when
/// the name is not UTF-8.
#[doc(alias = "gethostname")]
pub fn hostname() -> Result<String> {
    let name =
        nix::unistd::gethostname().map_err(|e| sys::from_nix("gethostname", Subject::None, e))?;
    name.into_string().map_err(|bad| {
        Error::os(
            "gethostname",
            Subject::Name(bad.to_string_lossy().into_owned()),
            std::io::Error::new(std::io::ErrorKind::InvalidData, "host name is not UTF-8"),
        )
    })
}

/// Anything that names one or more socket addresses: `SocketAddr` and its
/// parts, `(host, port)`, `"host:port"` and `"[v6]:port"` strings, slices,
/// and [`SockAddr`]. Host names go through sockpoll's own [`resolve`]
/// (getaddrinfo), not the standard library's.
///
/// The typed wrappers' `bind` and `connect` try each address in turn and
/// report the last error.
pub trait ToSockAddrs {
    /// The addresses, in the order to try them.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) for a string
    /// without a port or with a port that is not a `u16`; resolution errors
    /// from [`resolve`].
    fn to_sock_addrs(&self) -> Result<Vec<SockAddr>>;
}

impl ToSockAddrs for SockAddr {
    fn to_sock_addrs(&self) -> Result<Vec<SockAddr>> {
        Ok(vec![self.clone()])
    }
}

impl ToSockAddrs for SocketAddr {
    fn to_sock_addrs(&self) -> Result<Vec<SockAddr>> {
        Ok(vec![(*self).into()])
    }
}

impl ToSockAddrs for SocketAddrV4 {
    fn to_sock_addrs(&self) -> Result<Vec<SockAddr>> {
        Ok(vec![(*self).into()])
    }
}

impl ToSockAddrs for SocketAddrV6 {
    fn to_sock_addrs(&self) -> Result<Vec<SockAddr>> {
        Ok(vec![(*self).into()])
    }
}

impl ToSockAddrs for (IpAddr, u16) {
    fn to_sock_addrs(&self) -> Result<Vec<SockAddr>> {
        Ok(vec![SocketAddr::from(*self).into()])
    }
}

impl ToSockAddrs for (Ipv4Addr, u16) {
    fn to_sock_addrs(&self) -> Result<Vec<SockAddr>> {
        Ok(vec![SocketAddr::from(*self).into()])
    }
}

impl ToSockAddrs for (Ipv6Addr, u16) {
    fn to_sock_addrs(&self) -> Result<Vec<SockAddr>> {
        Ok(vec![SocketAddr::from(*self).into()])
    }
}

impl ToSockAddrs for [SocketAddr] {
    fn to_sock_addrs(&self) -> Result<Vec<SockAddr>> {
        Ok(self.iter().map(|&a| a.into()).collect())
    }
}

impl ToSockAddrs for [SockAddr] {
    fn to_sock_addrs(&self) -> Result<Vec<SockAddr>> {
        Ok(self.to_vec())
    }
}

impl ToSockAddrs for (&str, u16) {
    fn to_sock_addrs(&self) -> Result<Vec<SockAddr>> {
        resolve_host_port(self.0, self.1)
    }
}

impl ToSockAddrs for (String, u16) {
    fn to_sock_addrs(&self) -> Result<Vec<SockAddr>> {
        resolve_host_port(&self.0, self.1)
    }
}

impl ToSockAddrs for str {
    fn to_sock_addrs(&self) -> Result<Vec<SockAddr>> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Ok(vec![addr.into()]);
        }
        let (host, port) = split_host_port(self)?;
        resolve_host_port(host, port)
    }
}

/// `"host:port"` or `"[v6]:port"` as (host, port); the host unresolved.
pub(crate) fn split_host_port(s: &str) -> Result<(&str, u16)> {
    let bad = |reason| Error::InvalidInput {
        call: "getaddrinfo",
        subject: Subject::Name(s.to_string()),
        reason,
    };
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| bad("expected host:port"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| bad("the port is not a number from 0 to 65535"))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Ok((host, port))
}

impl ToSockAddrs for String {
    fn to_sock_addrs(&self) -> Result<Vec<SockAddr>> {
        self.as_str().to_sock_addrs()
    }
}

impl<T: ToSockAddrs + ?Sized> ToSockAddrs for &T {
    fn to_sock_addrs(&self) -> Result<Vec<SockAddr>> {
        (**self).to_sock_addrs()
    }
}

/// `host` through getaddrinfo (numeric service: the port), one entry per
/// address (stream type, so each address comes once), keeping the order.
fn resolve_host_port(host: &str, port: u16) -> Result<Vec<SockAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port).into()]);
    }
    let hints = Hints::new().socket_type(Type::STREAM);
    // A service of digits is a port everywhere; the flag only spares the
    // services database a look.
    #[cfg(not(solarish))]
    let hints = hints.numeric_service(true);
    let answers = resolve(Some(host), Some(&port.to_string()), &hints)?;
    let mut out: Vec<SockAddr> = Vec::with_capacity(answers.len());
    for a in answers {
        if !out.contains(&a.addr) {
            out.push(a.addr);
        }
    }
    Ok(out)
}

/// Tries `f` on each address of `addrs` in turn; the first success wins,
/// otherwise the last error is returned. `call` names what an empty list
/// could not be used for.
pub(crate) fn each_addr<T>(
    call: &'static str,
    addrs: &(impl ToSockAddrs + ?Sized),
    mut f: impl FnMut(&SockAddr) -> Result<T>,
) -> Result<T> {
    let addrs = addrs.to_sock_addrs()?;
    let mut last = None;
    for addr in &addrs {
        match f(addr) {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(Error::InvalidInput {
        call,
        subject: Subject::None,
        reason: "no address to try (an empty list, or a name with no address)",
    }))
}
