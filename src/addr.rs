//! Socket addresses and the `Domain`/`Type`/`Protocol` newtypes: ground
//! types, below both `sys` (which hands an address's bytes to the kernel)
//! and `net` (which re-exports them as the socket layer's names).
//!
//! This file and `error.rs` are the ground pair and need each other: a
//! bad address is an [`Error`](crate::error::Error), and an error's
//! [`Subject`](crate::error::Subject) may hold the [`SockAddr`] it was
//! about. Neither needs anything else of the crate.
//!
//! A [`SockAddr`] is the bytes of a `struct sockaddr_*` exactly as the kernel
//! reads and writes them, encoded and decoded here with plain byte
//! operations at the offsets libc's own structs give (the family in native
//! byte order, ports in network byte order). So any family the kernel
//! returns can be held — netlink, packet, vsock, … — and nothing received is
//! dropped for want of a decoder; IPv4, IPv6 and Unix addresses also get
//! typed accessors.

use std::ffi::OsStr;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, Result, Subject};

/// Bytes in `struct sockaddr_storage`: room for any address a call returns.
pub(crate) const STORAGE_LEN: usize = mem::size_of::<libc::sockaddr_storage>();

const FAMILY_OFFSET: usize = mem::offset_of!(libc::sockaddr, sa_family);
const FAMILY_LEN: usize = mem::size_of::<libc::sa_family_t>();
/// An address shorter than this carries no family.
const FAMILY_END: usize = FAMILY_OFFSET + FAMILY_LEN;

const SIN_LEN: usize = mem::size_of::<libc::sockaddr_in>();
const SIN_PORT: usize = mem::offset_of!(libc::sockaddr_in, sin_port);
const SIN_ADDR: usize = mem::offset_of!(libc::sockaddr_in, sin_addr);

const SIN6_LEN: usize = mem::size_of::<libc::sockaddr_in6>();
const SIN6_PORT: usize = mem::offset_of!(libc::sockaddr_in6, sin6_port);
const SIN6_FLOWINFO: usize = mem::offset_of!(libc::sockaddr_in6, sin6_flowinfo);
const SIN6_ADDR: usize = mem::offset_of!(libc::sockaddr_in6, sin6_addr);
const SIN6_SCOPE_ID: usize = mem::offset_of!(libc::sockaddr_in6, sin6_scope_id);

const SUN_PATH_OFFSET: usize = mem::offset_of!(libc::sockaddr_un, sun_path);

/// The length of an array field, read from the field's type.
const fn array_len<S, T, const N: usize>(_field: fn(&S) -> &[T; N]) -> usize {
    N
}

/// Bytes in `sockaddr_un::sun_path`, as libc declares it (108 on Linux).
const SUN_PATH_LEN: usize = array_len(|sun: &libc::sockaddr_un| &sun.sun_path);

/// The longest Unix socket path or abstract name, in bytes: `sun_path`
/// less the terminating NUL a path keeps (107 on Linux).
pub const UNIX_PATH_MAX: usize = SUN_PATH_LEN - 1;

/// Addresses up to this long — every IPv4 and IPv6 one, netlink, packet,
/// vsock, unnamed Unix — are held without allocating.
const INLINE_LEN: usize = SIN6_LEN;

// The layout facts the byte encoding relies on, checked when compiling.
const _: () = {
    assert!(mem::offset_of!(libc::sockaddr_in, sin_family) == FAMILY_OFFSET);
    assert!(mem::offset_of!(libc::sockaddr_in6, sin6_family) == FAMILY_OFFSET);
    assert!(mem::offset_of!(libc::sockaddr_un, sun_family) == FAMILY_OFFSET);
    assert!(SUN_PATH_OFFSET == FAMILY_END);
    assert!(SUN_PATH_OFFSET + SUN_PATH_LEN <= STORAGE_LEN);
    assert!(INLINE_LEN <= u8::MAX as usize && INLINE_LEN <= STORAGE_LEN);
};

/// `prefix`, `n` in decimal, then `suffix`, joined when compiling, so that an
/// error's `&'static str` reason can name a limit libc defines. Only called
/// in constants: running out of room is a build error, never a run-time one.
const fn join_number<const CAP: usize>(prefix: &str, n: usize, suffix: &str) -> ([u8; CAP], usize) {
    let mut buf = [0u8; CAP];
    let mut len = 0;
    let mut digits = [0u8; 20];
    let mut ndigits = 0;
    let mut rest = n;
    loop {
        digits[ndigits] = b'0' + (rest % 10) as u8;
        ndigits += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    assert!(
        prefix.len() + ndigits + suffix.len() <= CAP,
        "message too long"
    );
    let mut i = 0;
    while i < prefix.len() {
        buf[len] = prefix.as_bytes()[i];
        len += 1;
        i += 1;
    }
    while ndigits > 0 {
        ndigits -= 1;
        buf[len] = digits[ndigits];
        len += 1;
    }
    i = 0;
    while i < suffix.len() {
        buf[len] = suffix.as_bytes()[i];
        len += 1;
        i += 1;
    }
    (buf, len)
}

/// A `&'static str` of `prefix`, the number `n`, `suffix` (see [`join_number`]).
macro_rules! with_number {
    ($prefix:literal, $n:expr, $suffix:literal) => {{
        const PARTS: ([u8; 96], usize) = join_number($prefix, $n, $suffix);
        let bytes: &'static [u8; 96] = &PARTS.0;
        match std::str::from_utf8(bytes.split_at(PARTS.1).0) {
            Ok(text) => text,
            Err(_) => panic!("not UTF-8"),
        }
    }};
}

const PATH_TOO_LONG: &str = with_number!(
    "a Unix socket path is at most ",
    UNIX_PATH_MAX,
    " bytes (sun_path)"
);
const NAME_TOO_LONG: &str = with_number!(
    "an abstract socket name is at most ",
    UNIX_PATH_MAX,
    " bytes"
);

/// An owned socket address of any family: IPv4, IPv6 (with scope id and
/// flow info), a Unix path, a Linux abstract name, an unnamed Unix socket,
/// any other family the kernel reports (netlink, packet, vsock, …) — or no
/// address at all, when a call reported none.
///
/// It holds the bytes of a `struct sockaddr_*` and their length, as
/// `sockaddr_storage` and its `socklen_t` do: [`family`](SockAddr::family)
/// says which family; [`as_socket`](SockAddr::as_socket),
/// [`as_unix_path`](SockAddr::as_unix_path) and
/// [`as_abstract_name`](SockAddr::as_abstract_name) read the families
/// sockpoll models; [`as_bytes`](SockAddr::as_bytes) and
/// [`from_bytes`](SockAddr::from_bytes) carry the others. Lengths are
/// validated both ways (when built from a path or bytes, and when read back
/// from the kernel). Two addresses are equal when their bytes are.
///
/// ```
/// use sockpoll::SockAddr;
/// let addr = SockAddr::from(std::net::SocketAddr::from(([127, 0, 0, 1], 7007)));
/// assert_eq!(addr.to_string(), "127.0.0.1:7007");
/// assert_eq!(addr.family(), sockpoll::Domain::IPV4);
/// ```
#[derive(Clone)]
pub struct SockAddr(Bytes);

/// The address's bytes; always at most [`STORAGE_LEN`] of them.
#[derive(Clone)]
enum Bytes {
    /// Short addresses, without an allocation (`len <= INLINE_LEN`).
    Inline { len: u8, buf: [u8; INLINE_LEN] },
    /// Longer ones: Unix paths and names past a few bytes, and the like.
    Heap(Box<[u8]>),
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
            Some(PATH_TOO_LONG)
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidInput {
                call: "sockaddr_un",
                subject: Subject::Name(path.display().to_string()),
                reason,
            }),
            None => Ok(unix_path(bytes)),
        }
    }

    /// A Linux abstract Unix-domain address: `sun_path` starts with a NUL
    /// byte and `name` follows; nothing appears in the file system.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) on systems other
    /// than Linux and Android, which have no abstract names; and
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) when `name` is
    /// longer than [`UNIX_PATH_MAX`] bytes.
    pub fn abstract_name(name: impl AsRef<[u8]>) -> Result<SockAddr> {
        if !cfg!(linux_like) {
            return Err(Error::InvalidInput {
                call: "sockaddr_un",
                subject: Subject::Name(String::from_utf8_lossy(name.as_ref()).into_owned()),
                reason: "abstract socket names exist only on Linux and Android",
            });
        }
        let name = name.as_ref();
        if name.len() > UNIX_PATH_MAX {
            return Err(Error::InvalidInput {
                call: "sockaddr_un",
                subject: Subject::Name(String::from_utf8_lossy(name).into_owned()),
                reason: NAME_TOO_LONG,
            });
        }
        let mut bytes = Vec::with_capacity(SUN_PATH_OFFSET + 1 + name.len());
        bytes.extend_from_slice(&family_bytes(libc::AF_UNIX));
        bytes.push(0);
        bytes.extend_from_slice(name);
        Ok(SockAddr::owned(bytes))
    }

    /// The address of an unnamed Unix socket (one from `socketpair`, or a
    /// client that never bound): `AF_UNIX` and no `sun_path` at all, its
    /// length that of `sa_family_t`.
    pub fn unnamed() -> SockAddr {
        SockAddr::raw(&family_bytes(libc::AF_UNIX))
    }

    /// An address of any family from the bytes of its `struct sockaddr_*`
    /// (the family first, in native byte order, as the kernel lays it out),
    /// e.g. a `sockaddr_nl` for netlink. Bytes of a family sockpoll models
    /// read back through its accessors: the 16 bytes of a `sockaddr_in` make
    /// the same address as `SockAddr::from` of that `SocketAddr`.
    ///
    /// ```
    /// use sockpoll::{Domain, SockAddr};
    /// // struct sockaddr_nl { nl_family: AF_NETLINK, nl_pad, nl_pid: 0, nl_groups: 0 }:
    /// // the kernel's own netlink address.
    /// let mut nl = [0u8; 12];
    /// nl[..2].copy_from_slice(&(libc::AF_NETLINK as libc::sa_family_t).to_ne_bytes());
    /// let kernel = SockAddr::from_bytes(&nl)?;
    /// assert_eq!(kernel.family(), Domain(libc::AF_NETLINK));
    /// assert_eq!(kernel.as_bytes(), &nl[..]);
    /// assert_eq!(kernel.as_socket(), None);
    /// # Ok::<(), sockpoll::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) when `bytes` is
    /// too short to hold a family (`sa_family_t`) or longer than
    /// `sockaddr_storage`.
    pub fn from_bytes(bytes: &[u8]) -> Result<SockAddr> {
        if bytes.len() < FAMILY_END || bytes.len() > STORAGE_LEN {
            return Err(Error::InvalidInput {
                call: "sockaddr",
                subject: Subject::Name(format!("{} bytes", bytes.len())),
                reason: "a socket address holds at least its family (sa_family_t) \
                         and at most sockaddr_storage",
            });
        }
        Ok(SockAddr::decode(bytes))
    }

    /// What the kernel wrote: `bytes` is as long as the length it reported
    /// (the caller keeps that within `sockaddr_storage`). Never fails, so a
    /// datagram or connection is never lost to its address: length 0 is no
    /// address, an unknown family keeps its bytes. Modelled families are
    /// stored in one canonical form, so equal addresses compare equal
    /// whichever call produced them.
    pub(crate) fn decode(bytes: &[u8]) -> SockAddr {
        let bytes = bytes.get(..STORAGE_LEN).unwrap_or(bytes);
        match family_of(bytes) {
            Some(libc::AF_INET) => match decode_v4(bytes) {
                Some(v4) => SockAddr::from(v4),
                None => SockAddr::raw(bytes),
            },
            Some(libc::AF_INET6) => match decode_v6(bytes) {
                Some(v6) => SockAddr::from(v6),
                None => SockAddr::raw(bytes),
            },
            Some(libc::AF_UNIX) => decode_unix(bytes),
            _ => SockAddr::raw(bytes),
        }
    }

    /// `bytes` as they are, without copying a long one again.
    fn owned(mut bytes: Vec<u8>) -> SockAddr {
        if bytes.len() <= INLINE_LEN {
            return SockAddr::raw(&bytes);
        }
        bytes.truncate(STORAGE_LEN);
        SockAddr(Bytes::Heap(bytes.into_boxed_slice()))
    }

    /// `bytes` as they are (at most `STORAGE_LEN` of them).
    fn raw(bytes: &[u8]) -> SockAddr {
        if bytes.len() <= INLINE_LEN {
            let mut buf = [0u8; INLINE_LEN];
            buf[..bytes.len()].copy_from_slice(bytes);
            SockAddr(Bytes::Inline {
                len: bytes.len() as u8,
                buf,
            })
        } else {
            SockAddr(Bytes::Heap(
                bytes.get(..STORAGE_LEN).unwrap_or(bytes).into(),
            ))
        }
    }

    /// The address family: [`Domain::IPV4`], [`Domain::IPV6`],
    /// [`Domain::UNIX`], the number of any other family the kernel reported
    /// (e.g. `Domain(libc::AF_NETLINK)`), or [`Domain::UNSPEC`] for no
    /// address ([`is_empty`](SockAddr::is_empty)).
    pub fn family(&self) -> Domain {
        Domain(family_of(self.as_bytes()).unwrap_or(libc::AF_UNSPEC))
    }

    /// The bytes of the `struct sockaddr_*`, as long as its `socklen_t`
    /// says: what the kernel reads for this address, or wrote into it.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Bytes::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or(&buf[..]),
            Bytes::Heap(bytes) => bytes,
        }
    }

    /// The address's length in bytes (its `socklen_t`).
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True when there is no address at all (length 0; family
    /// [`Domain::UNSPEC`]; displayed `(none)`): what the kernel reports for
    /// the sender of data on a connected TCP socket, and for a Unix datagram
    /// sender that never bound when read through [`Socket`](crate::Socket)
    /// ([`UnixDatagram`](crate::UnixDatagram) says
    /// [`unnamed`](SockAddr::unnamed) there). Not a Unix address.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// The IP address and port, if this is an IPv4 or IPv6 address.
    pub fn as_socket(&self) -> Option<SocketAddr> {
        let bytes = self.as_bytes();
        match family_of(bytes)? {
            libc::AF_INET => decode_v4(bytes).map(SocketAddr::V4),
            libc::AF_INET6 => decode_v6(bytes).map(SocketAddr::V6),
            _ => None,
        }
    }

    /// `sun_path` as far as the length goes, if this is a Unix address.
    fn sun_path(&self) -> Option<&[u8]> {
        let bytes = self.as_bytes();
        if family_of(bytes)? != libc::AF_UNIX {
            return None;
        }
        bytes.get(SUN_PATH_OFFSET..)
    }

    /// The file-system path, if this is a Unix path address.
    pub fn as_unix_path(&self) -> Option<&Path> {
        let path = self.sun_path()?;
        if matches!(path.first(), None | Some(0)) {
            return None;
        }
        let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
        path.get(..end).map(|p| Path::new(OsStr::from_bytes(p)))
    }

    /// The name (without the leading NUL), if this is an abstract address.
    pub fn as_abstract_name(&self) -> Option<&[u8]> {
        match self.sun_path()?.split_first()? {
            (0, name) => Some(name),
            _ => None,
        }
    }

    /// True for an unnamed Unix socket address (`AF_UNIX`, no `sun_path`).
    pub fn is_unnamed(&self) -> bool {
        self.sun_path().is_some_and(<[u8]>::is_empty)
    }

    /// True for the families with typed accessors (and for no address).
    fn is_modelled(&self) -> bool {
        self.is_empty() || self.as_socket().is_some() || self.sun_path().is_some()
    }
}

impl PartialEq for SockAddr {
    fn eq(&self, other: &SockAddr) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SockAddr {}

impl Hash for SockAddr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

/// The family of `bytes`, if they are long enough to carry one.
fn family_of(bytes: &[u8]) -> Option<i32> {
    let family = bytes.get(FAMILY_OFFSET..FAMILY_END)?.try_into().ok()?;
    Some(i32::from(libc::sa_family_t::from_ne_bytes(family)))
}

/// `family` as the first bytes of a `struct sockaddr_*` hold it.
fn family_bytes(family: i32) -> [u8; FAMILY_LEN] {
    (family as libc::sa_family_t).to_ne_bytes()
}

/// Copies `src` into `buf` at `at`. Offsets come from libc's structs and
/// `buf` is one of them, so it always fits; if it did not, nothing is
/// written rather than a panic.
fn put(buf: &mut [u8], at: usize, src: &[u8]) {
    if let Some(dst) = buf.get_mut(at..at + src.len()) {
        dst.copy_from_slice(src);
    }
}

/// `N` bytes of `bytes` at `at`, if it holds them.
fn take<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at + N)?.try_into().ok()
}

fn decode_v4(bytes: &[u8]) -> Option<SocketAddrV4> {
    if bytes.len() < SIN_LEN {
        return None;
    }
    let port = u16::from_be_bytes(take(bytes, SIN_PORT)?);
    // s_addr is in network byte order: its bytes are the octets.
    let ip = Ipv4Addr::from(take::<4>(bytes, SIN_ADDR)?);
    Some(SocketAddrV4::new(ip, port))
}

fn decode_v6(bytes: &[u8]) -> Option<SocketAddrV6> {
    if bytes.len() < SIN6_LEN {
        return None;
    }
    Some(SocketAddrV6::new(
        Ipv6Addr::from(take::<16>(bytes, SIN6_ADDR)?),
        u16::from_be_bytes(take(bytes, SIN6_PORT)?),
        u32::from_ne_bytes(take(bytes, SIN6_FLOWINFO)?),
        u32::from_ne_bytes(take(bytes, SIN6_SCOPE_ID)?),
    ))
}

/// An `AF_UNIX` address the kernel wrote, in canonical form.
fn decode_unix(bytes: &[u8]) -> SockAddr {
    let path = bytes.get(SUN_PATH_OFFSET..).unwrap_or_default();
    match path.first() {
        None => SockAddr::unnamed(),
        // Abstract: every byte of the name counts, NULs included.
        Some(0) => SockAddr::raw(bytes),
        Some(_) => {
            // A path ends at its first NUL, whether or not the reported
            // length counted it; canonically the NUL is counted, as Linux
            // reports it. One that would not fit with it stays as it came.
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            match path.get(..end) {
                Some(path) if SUN_PATH_OFFSET + path.len() < STORAGE_LEN => unix_path(path),
                _ => SockAddr::raw(bytes),
            }
        }
    }
}

/// `AF_UNIX`, `path` (no NUL in it, short enough), then the terminating NUL.
fn unix_path(path: &[u8]) -> SockAddr {
    let mut bytes = Vec::with_capacity(SUN_PATH_OFFSET + path.len() + 1);
    bytes.extend_from_slice(&family_bytes(libc::AF_UNIX));
    bytes.extend_from_slice(path);
    bytes.push(0);
    SockAddr::owned(bytes)
}

impl From<SocketAddr> for SockAddr {
    fn from(addr: SocketAddr) -> SockAddr {
        match addr {
            SocketAddr::V4(v4) => v4.into(),
            SocketAddr::V6(v6) => v6.into(),
        }
    }
}

impl From<SocketAddrV4> for SockAddr {
    fn from(addr: SocketAddrV4) -> SockAddr {
        let mut sin = [0u8; SIN_LEN];
        put(&mut sin, FAMILY_OFFSET, &family_bytes(libc::AF_INET));
        put(&mut sin, SIN_PORT, &addr.port().to_be_bytes());
        put(&mut sin, SIN_ADDR, &addr.ip().octets());
        SockAddr::raw(&sin)
    }
}

impl From<SocketAddrV6> for SockAddr {
    fn from(addr: SocketAddrV6) -> SockAddr {
        let mut sin6 = [0u8; SIN6_LEN];
        put(&mut sin6, FAMILY_OFFSET, &family_bytes(libc::AF_INET6));
        put(&mut sin6, SIN6_PORT, &addr.port().to_be_bytes());
        // Passed through as given, as std, socket2 and nix do
        // (rust-lang/rust#101605): the same SocketAddrV6 means the same bits
        // to the kernel through sockpoll or std.
        put(&mut sin6, SIN6_FLOWINFO, &addr.flowinfo().to_ne_bytes());
        put(&mut sin6, SIN6_ADDR, &addr.ip().octets());
        put(&mut sin6, SIN6_SCOPE_ID, &addr.scope_id().to_ne_bytes());
        SockAddr::raw(&sin6)
    }
}

impl TryFrom<SockAddr> for SocketAddr {
    type Error = Error;

    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) for an address that
    /// is not IPv4 or IPv6 (Unix, another family, none).
    fn try_from(addr: SockAddr) -> Result<SocketAddr> {
        inet(addr, "as_socket")
    }
}

/// The IP address inside `addr`, or an error naming `call` for any other.
pub(crate) fn inet(addr: SockAddr, call: &'static str) -> Result<SocketAddr> {
    match addr.as_socket() {
        Some(ip) => Ok(ip),
        None => Err(Error::InvalidInput {
            call,
            subject: Subject::Addr(addr),
            reason: "not an IPv4 or IPv6 address",
        }),
    }
}

/// `127.0.0.1:80`, `[fe80::1%2]:80`, `/run/x.sock`, `@abstract`,
/// `(unnamed)`; `(none)` for no address; `(family 16, 12 bytes)` for a
/// family sockpoll does not model.
impl fmt::Display for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("(none)");
        }
        if let Some(addr) = self.as_socket() {
            return fmt::Display::fmt(&addr, f);
        }
        if let Some(path) = self.as_unix_path() {
            return fmt::Display::fmt(&path.display(), f);
        }
        if let Some(name) = self.as_abstract_name() {
            return write!(f, "@{}", OsStr::from_bytes(name).to_string_lossy());
        }
        if self.is_unnamed() {
            return f.write_str("(unnamed)");
        }
        write!(f, "(family {}, {} bytes)", self.family().0, self.len())
    }
}

/// `SockAddr(AF_INET, 127.0.0.1:80)`; for a family sockpoll does not model,
/// the family and every byte: `SockAddr(Domain(16), [10 00 …])`.
impl fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_modelled() {
            return write!(f, "SockAddr({:?}, {self})", self.family());
        }
        write!(f, "SockAddr({:?}, [", self.family())?;
        for (i, b) in self.as_bytes().iter().enumerate() {
            write!(f, "{}{b:02x}", if i == 0 { "" } else { " " })?;
        }
        f.write_str("])")
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
    /// A socket's communication domain: the first argument of `socket(2)`,
    /// and the family of a [`SockAddr`]. `Debug` prints the constant
    /// (`AF_INET`), or the number of one sockpoll does not name
    /// (`Domain(16)`).
    Domain {
        /// `AF_INET`: IPv4.
        IPV4 = libc::AF_INET, "AF_INET";
        /// `AF_INET6`: IPv6.
        IPV6 = libc::AF_INET6, "AF_INET6";
        /// `AF_UNIX`: Unix-domain sockets.
        UNIX = libc::AF_UNIX, "AF_UNIX";
        /// `AF_UNSPEC`: any family (resolution hints), or no address.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The size that keeps `Error` (which holds a `SockAddr` in
    /// `Subject::Addr`) and so every `Result` small: a whole
    /// `sockaddr_storage` inline would push `Error` past clippy's
    /// `result_large_err` threshold (128 bytes).
    #[test]
    fn a_sock_addr_is_no_bigger_than_a_socket_addr() {
        assert!(mem::size_of::<SockAddr>() <= mem::size_of::<SocketAddr>());
        assert!(mem::size_of::<Error>() < 128, "{}", mem::size_of::<Error>());
    }

    #[test]
    fn sun_path_len_is_libcs() {
        assert_eq!(
            SUN_PATH_OFFSET + SUN_PATH_LEN,
            mem::size_of::<libc::sockaddr_un>()
        );
        assert_eq!(
            PATH_TOO_LONG,
            format!("a Unix socket path is at most {UNIX_PATH_MAX} bytes (sun_path)")
        );
    }

    #[test]
    fn canonical_forms_compare_equal() {
        // A path with its NUL uncounted, or padded with NULs, is the path.
        let mut padded = family_bytes(libc::AF_UNIX).to_vec();
        padded.extend_from_slice(b"/tmp/x");
        let bare = SockAddr::from_bytes(&padded).unwrap();
        padded.resize(mem::size_of::<libc::sockaddr_un>(), 0);
        let full = SockAddr::from_bytes(&padded).unwrap();
        let made = SockAddr::unix("/tmp/x").unwrap();
        assert_eq!(bare, made);
        assert_eq!(full, made);
        assert_eq!(made.len(), SUN_PATH_OFFSET + 7);
        // A whole sockaddr_storage holding a sockaddr_in is that address.
        let v4 = SockAddr::from(SocketAddr::from(([10, 1, 2, 3], 4567)));
        let mut storage = v4.as_bytes().to_vec();
        storage.resize(STORAGE_LEN, 0);
        assert_eq!(SockAddr::from_bytes(&storage).unwrap(), v4);
        // A short one is kept as it came, not read past its end.
        let short = SockAddr::from_bytes(&storage[..8]).unwrap();
        assert_eq!((short.family(), short.as_socket()), (Domain::IPV4, None));
        assert_eq!(short.to_string(), "(family 2, 8 bytes)");
    }

    #[test]
    fn from_bytes_checks_the_length() {
        assert!(SockAddr::from_bytes(&[]).is_err());
        assert!(SockAddr::from_bytes(&[1]).is_err());
        assert!(SockAddr::from_bytes(&[0; STORAGE_LEN + 1]).is_err());
        let unspec = SockAddr::from_bytes(&[0; FAMILY_LEN]).unwrap();
        assert_eq!(unspec.family(), Domain::UNSPEC);
        assert!(!unspec.is_empty());
        let long = [7u8; STORAGE_LEN];
        assert_eq!(SockAddr::from_bytes(&long).unwrap().as_bytes(), &long[..]);
    }

    #[test]
    #[cfg(linux_like)]
    fn unmodelled_families_show_their_number() {
        let mut nl = family_bytes(libc::AF_NETLINK).to_vec();
        nl.resize(mem::size_of::<libc::sockaddr_nl>(), 0);
        nl[4] = 0x2a;
        let addr = SockAddr::from_bytes(&nl).unwrap();
        assert_eq!(addr.to_string(), "(family 16, 12 bytes)");
        let hex: Vec<String> = nl.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            format!("{addr:?}"),
            format!("SockAddr(Domain(16), [{}])", hex.join(" "))
        );
        assert!(format!("{addr:?}").contains(" 2a "));
        assert_eq!(
            (addr.as_socket(), addr.as_unix_path(), addr.is_unnamed()),
            (None, None, false)
        );
    }

    #[test]
    fn no_address_is_its_own_case() {
        let none = SockAddr::decode(&[]);
        assert!(none.is_empty());
        assert!(!none.is_unnamed());
        assert_eq!(none.family(), Domain::UNSPEC);
        assert_eq!(none.to_string(), "(none)");
        assert_eq!(format!("{none:?}"), "SockAddr(AF_UNSPEC, (none))");
        assert_ne!(none, SockAddr::unnamed());
        assert_eq!(SockAddr::unnamed().len(), FAMILY_LEN);
    }
}
