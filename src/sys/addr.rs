//! `struct sockaddr` in and out of `SockAddr`, with lengths checked both ways.

use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::error::{Error, Result, Subject};
use crate::net::addr::Repr;
use crate::net::SockAddr;

/// Bytes in `sockaddr_un::sun_path`.
pub(crate) const SUN_PATH_LEN: usize = 108;

const SUN_PATH_OFFSET: usize = mem::offset_of!(libc::sockaddr_un, sun_path);

/// A `sockaddr_storage` and the length the kernel should read (or wrote).
pub(crate) struct RawAddr {
    storage: libc::sockaddr_storage,
    pub(crate) len: libc::socklen_t,
}

impl RawAddr {
    /// An all-zero buffer, its length set to the whole storage, ready for the
    /// kernel to fill (accept, recvfrom, getsockname).
    pub(crate) fn empty() -> RawAddr {
        RawAddr {
            // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
            storage: unsafe { mem::zeroed() },
            len: mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        (&mut self.storage as *mut libc::sockaddr_storage).cast()
    }

    /// Writes `addr` into a fresh buffer.
    pub(crate) fn from_addr(addr: &SockAddr) -> RawAddr {
        let mut raw = RawAddr::empty();
        raw.len = match &addr.0 {
            Repr::Inet(SocketAddr::V4(v4)) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: v4.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(v4.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                raw.write(sin)
            }
            Repr::Inet(SocketAddr::V6(v6)) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: v6.port().to_be(),
                    // Passed through as given, as std, socket2 and nix do
                    // (rust-lang/rust#101605): the same SocketAddrV6 means
                    // the same bits to the kernel through sockpoll or std.
                    sin6_flowinfo: v6.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: v6.ip().octets(),
                    },
                    sin6_scope_id: v6.scope_id(),
                };
                raw.write(sin6)
            }
            Repr::Unix(path) => raw.write_unix(0, path.as_os_str().as_bytes()),
            Repr::Abstract(name) => raw.write_unix(1, name),
            Repr::Unnamed => raw.write_unix(0, &[]),
        };
        raw
    }

    fn write<T>(&mut self, value: T) -> libc::socklen_t {
        const { assert!(mem::size_of::<T>() <= mem::size_of::<libc::sockaddr_storage>()) };
        // SAFETY: T is a sockaddr_* type no larger than sockaddr_storage (checked
        // at compile time above), and sockaddr_storage is aligned for every one.
        unsafe {
            (&mut self.storage as *mut libc::sockaddr_storage)
                .cast::<T>()
                .write(value)
        };
        mem::size_of::<T>() as libc::socklen_t
    }

    /// `AF_UNIX` with `skip` leading NUL bytes (1 for abstract names) then
    /// `bytes`. Lengths were validated when the SockAddr was built.
    fn write_unix(&mut self, skip: usize, bytes: &[u8]) -> libc::socklen_t {
        let mut sun = libc::sockaddr_un {
            sun_family: libc::AF_UNIX as libc::sa_family_t,
            sun_path: [0; SUN_PATH_LEN],
        };
        let n = bytes.len().min(SUN_PATH_LEN - skip);
        for (dst, src) in sun.sun_path[skip..skip + n].iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        self.write(sun);
        // A path gets its terminating NUL counted, as the kernel reports it;
        // an abstract name is exactly its bytes; unnamed is the family alone.
        let tail = match (skip, n) {
            (0, 0) => 0,
            (0, n) => (n + 1).min(SUN_PATH_LEN),
            (_, n) => skip + n,
        };
        (SUN_PATH_OFFSET + tail) as libc::socklen_t
    }

    /// Reads back what the kernel wrote, validating the family and length.
    pub(crate) fn to_addr(&self, call: &'static str) -> Result<SockAddr> {
        let len = self.len as usize;
        let bad = |reason| Error::InvalidInput {
            call,
            subject: Subject::None,
            reason,
        };
        if len > mem::size_of::<libc::sockaddr_storage>() {
            return Err(bad(
                "the kernel returned an address longer than sockaddr_storage",
            ));
        }
        if len < mem::size_of::<libc::sa_family_t>() {
            // Linux reports an unnamed peer of a Unix socket with length 0 in
            // some paths (e.g. recvfrom on a connected datagram socket).
            return Ok(SockAddr::unnamed());
        }
        match self.storage.ss_family as libc::c_int {
            libc::AF_INET => {
                if len < mem::size_of::<libc::sockaddr_in>() {
                    return Err(bad("short sockaddr_in"));
                }
                // SAFETY: family is AF_INET and len covers a sockaddr_in;
                // the storage is aligned for it.
                let sin = unsafe { &*(self.as_ptr().cast::<libc::sockaddr_in>()) };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Ok(SocketAddrV4::new(ip, u16::from_be(sin.sin_port)).into())
            }
            libc::AF_INET6 => {
                if len < mem::size_of::<libc::sockaddr_in6>() {
                    return Err(bad("short sockaddr_in6"));
                }
                // SAFETY: family is AF_INET6 and len covers a sockaddr_in6;
                // the storage is aligned for it.
                let sin6 = unsafe { &*(self.as_ptr().cast::<libc::sockaddr_in6>()) };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Ok(SocketAddrV6::new(
                    ip,
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )
                .into())
            }
            libc::AF_UNIX => {
                // SAFETY: family is AF_UNIX; sockaddr_un fits in the storage
                // (108 + 2 < 128) and the storage is aligned for it.
                let sun = unsafe { &*(self.as_ptr().cast::<libc::sockaddr_un>()) };
                let path_len = len.saturating_sub(SUN_PATH_OFFSET).min(SUN_PATH_LEN);
                let path: Vec<u8> = sun.sun_path[..path_len].iter().map(|&c| c as u8).collect();
                Ok(unix_from_bytes(&path))
            }
            _ => Err(bad("unsupported address family")),
        }
    }
}

/// Interprets the bytes of `sun_path` (as many as the length said).
fn unix_from_bytes(path: &[u8]) -> SockAddr {
    match path.split_first() {
        None => SockAddr::unnamed(),
        Some((0, name)) => SockAddr(Repr::Abstract(name.into())),
        Some(_) => {
            // A path may or may not carry its NUL in the reported length.
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            let path = std::ffi::OsStr::from_bytes(&path[..end]);
            SockAddr(Repr::Unix(PathBuf::from(path)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes the kernel would read for `addr`.
    fn ours(addr: SocketAddr) -> Vec<u8> {
        let raw = RawAddr::from_addr(&addr.into());
        // SAFETY: raw.len bytes of the storage were written by from_addr.
        unsafe { std::slice::from_raw_parts(raw.as_ptr().cast::<u8>(), raw.len as usize) }.to_vec()
    }

    /// The bytes socket2 (which follows std) hands the kernel for `addr`.
    fn socket2s(addr: SocketAddr) -> Vec<u8> {
        let s2 = socket2::SockAddr::from(addr);
        // SAFETY: socket2 guarantees as_ptr() points at len() valid bytes.
        unsafe { std::slice::from_raw_parts(s2.as_ptr().cast::<u8>(), s2.len() as usize) }.to_vec()
    }

    #[test]
    fn inet_addresses_reach_the_kernel_exactly_as_through_std_and_socket2() {
        let cases: [SocketAddr; 3] = [
            "127.0.0.1:7007".parse().unwrap(),
            SocketAddrV6::new("fe80::1".parse().unwrap(), 7007, 0x000a_bcde, 3).into(),
            SocketAddrV6::new(Ipv6Addr::LOCALHOST, 1, 0x1234_5678, 0).into(),
        ];
        for addr in cases {
            assert_eq!(ours(addr), socket2s(addr), "{addr}");
            let back = RawAddr::from_addr(&addr.into()).to_addr("test").unwrap();
            assert_eq!(back.as_socket(), Some(addr));
        }
    }
}
