//! The kernel's side of a [`SockAddr`]: an aligned `sockaddr_storage`-sized
//! buffer and the `socklen_t` the kernel reads (or wrote), for the length of
//! one call.
//!
//! `SockAddr` itself (`crate::addr`) encodes and decodes the bytes; this
//! buffer only gives them a place the kernel — and libc, which reads
//! `sa_family` and casts, as in `getnameinfo` — may use as a
//! `struct sockaddr`.

use std::mem;

use crate::addr::{SockAddr, STORAGE_LEN};

/// Bytes as long as, and aligned at least as strictly as,
/// `sockaddr_storage`, so that a pointer to them is a valid
/// `*mut sockaddr` of any family.
#[repr(C, align(8))]
struct Storage([u8; STORAGE_LEN]);

const _: () = {
    assert!(mem::align_of::<Storage>() >= mem::align_of::<libc::sockaddr_storage>());
    assert!(mem::size_of::<Storage>() == mem::size_of::<libc::sockaddr_storage>());
    assert!(STORAGE_LEN <= libc::socklen_t::MAX as usize);
};

/// A `sockaddr_storage` and the length the kernel should read (or wrote).
pub(crate) struct RawAddr {
    storage: Storage,
    pub(crate) len: libc::socklen_t,
}

impl RawAddr {
    /// An all-zero buffer, its length set to the whole storage, ready for the
    /// kernel to fill (accept, recvfrom, getsockname).
    pub(crate) fn empty() -> RawAddr {
        RawAddr {
            storage: Storage([0; STORAGE_LEN]),
            len: STORAGE_LEN as libc::socklen_t,
        }
    }

    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        self.storage.0.as_ptr().cast()
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        self.storage.0.as_mut_ptr().cast()
    }

    /// Fuzzing only: `bytes` (at most `sockaddr_storage`) as if the kernel
    /// had written them and reported `len`.
    #[cfg(fuzzing)]
    pub(crate) fn written(bytes: &[u8], len: libc::socklen_t) -> RawAddr {
        let mut raw = RawAddr::empty();
        let n = bytes.len().min(STORAGE_LEN);
        raw.storage.0[..n].copy_from_slice(&bytes[..n]);
        raw.len = len;
        raw
    }

    /// The storage as bytes, for tests to play the kernel.
    #[cfg(all(test, linux_like))]
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.storage.0
    }

    /// `addr`'s bytes in a fresh buffer. A `SockAddr` never holds more than
    /// `sockaddr_storage`, so they all fit.
    pub(crate) fn from_addr(addr: &SockAddr) -> RawAddr {
        let mut raw = RawAddr::empty();
        let bytes = addr.as_bytes();
        let n = bytes.len().min(STORAGE_LEN);
        raw.storage.0[..n].copy_from_slice(&bytes[..n]);
        raw.len = n as libc::socklen_t;
        raw
    }

    /// What the kernel wrote, as long as it said. Never an error: the call
    /// has already consumed a datagram or made a connection, which must not
    /// be lost to its address. Linux never reports more than
    /// `sockaddr_storage` (`_K_SS_MAXSIZE`); a length past it (the kernel
    /// reports the full length of an address it cut) keeps what fits.
    pub(crate) fn to_addr(&self) -> SockAddr {
        let len = (self.len as usize).min(STORAGE_LEN);
        SockAddr::decode(&self.storage.0[..len])
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};

    use super::*;
    #[cfg(linux_like)]
    use crate::addr::Domain;

    /// The bytes the kernel would read for `addr`.
    fn ours(addr: SocketAddr) -> Vec<u8> {
        let raw = RawAddr::from_addr(&addr.into());
        // SAFETY: as_ptr points at the storage, of which raw.len bytes were
        // written by from_addr; raw outlives the slice.
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
            let back = RawAddr::from_addr(&addr.into()).to_addr();
            assert_eq!(back.as_socket(), Some(addr));
        }
    }

    /// Unix addresses too: socket2 builds them from libc's sockaddr_un.
    #[test]
    fn unix_addresses_reach_the_kernel_exactly_as_through_socket2() {
        let path = SockAddr::unix("/run/x.sock").unwrap();
        let s2 = socket2::SockAddr::unix("/run/x.sock").unwrap();
        // SAFETY: socket2 guarantees as_ptr() points at len() valid bytes.
        let theirs =
            unsafe { std::slice::from_raw_parts(s2.as_ptr().cast::<u8>(), s2.len() as usize) };
        assert_eq!(path.as_bytes(), theirs);
    }

    /// A family sockpoll does not model (here `AF_PACKET`'s `sockaddr_ll`)
    /// reads back from the kernel whole: never an "unsupported address
    /// family" error after the call has consumed what it received (a lost
    /// datagram or connection).
    #[test]
    #[cfg(linux_like)]
    fn any_family_the_kernel_writes_reads_back_whole() {
        let mut raw = RawAddr::empty();
        let ll_len = mem::size_of::<libc::sockaddr_ll>();
        let family = (libc::AF_PACKET as libc::sa_family_t).to_ne_bytes();
        raw.bytes_mut()[..2].copy_from_slice(&family);
        raw.bytes_mut()[2..ll_len].fill(0xab);
        raw.len = ll_len as libc::socklen_t;
        let addr = raw.to_addr();
        assert_eq!(addr.family(), Domain(libc::AF_PACKET));
        assert_eq!(addr.len(), ll_len);
        assert!(addr.as_bytes()[2..].iter().all(|&b| b == 0xab));
        assert_eq!(RawAddr::from_addr(&addr).len as usize, ll_len);
    }

    /// A length past the storage (never from Linux) keeps what fits.
    #[test]
    fn an_over_long_length_is_clamped_not_an_error() {
        let mut raw = RawAddr::empty();
        raw.len = libc::socklen_t::MAX;
        assert_eq!(raw.to_addr().len(), STORAGE_LEN);
        raw.len = 0;
        assert!(raw.to_addr().is_empty());
    }
}
