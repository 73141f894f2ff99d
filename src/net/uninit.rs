//! Receives into uninitialised memory (`&mut [MaybeUninit<u8>]`), so a
//! buffer need not be zeroed before the kernel fills it. The `&mut [u8]`
//! receives of [`Socket`] are these, over initialised memory.

use std::mem::MaybeUninit;
use std::os::fd::AsFd;

use crate::error::Result;
use crate::net::{SockAddr, Socket};
use crate::sys;

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
