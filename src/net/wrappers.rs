//! What every typed wrapper shares, written once as macros: ownership of a
//! `Socket`, descriptor traits, conversions and the calls that mean the
//! same on every type (`shell!`), `io::Read`/`io::Write` for the streams
//! (`stream_io!`), and the message-I/O methods they forward unchanged
//! (`forward_msg!`).

/// Implements the common surface of a typed wrapper `$name(Socket)`;
/// `$wrap` (the tuple constructor unless given) makes one from a `Socket`.
macro_rules! shell {
    ($name:ident, $std:ty) => {
        shell!($name, $std, $name);
    };
    ($name:ident, $std:ty, $wrap:path) => {
        impl $name {
            /// The untyped [`Socket`](crate::net::socket::Socket) inside, by value.
            pub fn into_inner(self) -> crate::net::socket::Socket {
                self.0
            }

            /// The untyped [`Socket`](crate::net::socket::Socket) inside: every option
            /// and call of the socket layer is there.
            pub fn as_socket(&self) -> &crate::net::socket::Socket {
                &self.0
            }

            /// Makes the socket non-blocking (or blocking again).
            ///
            /// # Errors
            ///
            /// The OS error of `fcntl(F_GETFL)`/`fcntl(F_SETFL)` (`O_NONBLOCK`).
            pub fn set_nonblocking(&self, nonblocking: bool) -> crate::error::Result<()> {
                self.0.set_nonblocking(nonblocking)
            }

            /// Takes the pending socket error (`SO_ERROR`).
            ///
            /// # Errors
            ///
            /// The OS error of `getsockopt` itself.
            pub fn take_error(&self) -> crate::error::Result<Option<std::io::Error>> {
                self.0.take_error()
            }

            /// Closes the socket, reporting the error `Drop` would swallow;
            /// see [`Socket::close`](crate::net::socket::Socket::close).
            ///
            /// # Errors
            ///
            /// The OS error of `close`.
            pub fn close(self) -> crate::error::Result<()> {
                self.0.close()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }

        impl std::os::fd::AsFd for $name {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.0.as_fd()
            }
        }

        impl std::os::fd::AsRawFd for $name {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.0.as_raw_fd()
            }
        }

        impl From<std::os::fd::OwnedFd> for $name {
            /// Takes ownership of `fd`, which should be a socket of this kind.
            fn from(fd: std::os::fd::OwnedFd) -> $name {
                $wrap(crate::net::socket::Socket::from(fd))
            }
        }

        impl From<$name> for std::os::fd::OwnedFd {
            fn from(s: $name) -> std::os::fd::OwnedFd {
                s.0.into()
            }
        }

        impl From<$name> for crate::net::socket::Socket {
            fn from(s: $name) -> crate::net::socket::Socket {
                s.0
            }
        }

        impl From<$std> for $name {
            fn from(s: $std) -> $name {
                $wrap(crate::net::socket::Socket::from(s))
            }
        }

        impl From<$name> for $std {
            fn from(s: $name) -> $std {
                s.0.into()
            }
        }
    };
}

/// `io::Read`/`io::Write` for a stream wrapper and for a shared reference to it.
macro_rules! stream_io {
    ($name:ident) => {
        impl std::io::Read for $name {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::io::Read::read(&mut &self.0, buf)
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                std::io::Read::read_vectored(&mut &self.0, bufs)
            }
        }

        impl std::io::Read for &$name {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::io::Read::read(&mut &self.0, buf)
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                std::io::Read::read_vectored(&mut &self.0, bufs)
            }
        }

        impl std::io::Write for $name {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                std::io::Write::write(&mut &self.0, buf)
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                std::io::Write::write_vectored(&mut &self.0, bufs)
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        impl std::io::Write for &$name {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                std::io::Write::write(&mut &self.0, buf)
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                std::io::Write::write_vectored(&mut &self.0, bufs)
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    };
}

/// The message-I/O methods a typed wrapper forwards to its [`Socket`]
/// unchanged, one arm a method, each with the caller's doc lines (the
/// `# Errors` section is added): `recv_msg`, `recv_error_queue`,
/// `send_mmsg`, `recv_mmsg`, `peer_credentials`. Use it inside the
/// wrapper's `impl`. (Forwards that change something — an address type, a
/// sender's name — are written out where they are.)
///
/// [`Socket`]: crate::net::socket::Socket
#[cfg(target_os = "linux")]
macro_rules! forward_msg {
    ($(#[$doc:meta])* recv_msg) => {
        forward_msg!(@fn $(#[$doc])* recv_msg['c](
            bufs: &mut [std::io::IoSliceMut<'_>],
            control: &'c mut [u8]
        ) -> crate::net::msg::RecvMsg<'c>);
    };
    ($(#[$doc:meta])* recv_error_queue) => {
        forward_msg!(@fn $(#[$doc])* recv_error_queue['c](
            bufs: &mut [std::io::IoSliceMut<'_>],
            control: &'c mut [u8]
        ) -> crate::net::msg::RecvMsg<'c>);
    };
    ($(#[$doc:meta])* send_mmsg) => {
        forward_msg!(@fn $(#[$doc])* send_mmsg[](
            batch: &mut crate::net::mmsg::MmsgBatch,
            msgs: &[crate::net::mmsg::SendMsg<'_>]
        ) -> usize);
    };
    ($(#[$doc:meta])* recv_mmsg) => {
        forward_msg!(@fn $(#[$doc])* recv_mmsg[B: AsMut<[u8]>](
            batch: &mut crate::net::mmsg::MmsgBatch,
            bufs: &mut [B]
        ) -> usize);
    };
    ($(#[$doc:meta])* peer_credentials) => {
        forward_msg!(@fn $(#[$doc])* peer_credentials[]() -> crate::net::cmsg::UnixCredentials);
    };
    // The one forward: `name[generics](args) -> T` becomes
    // `pub fn name<generics>(&self, args) -> Result<T>` calling the socket's.
    (@fn $(#[$doc:meta])* $name:ident[$($g:tt)*]($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        $(#[$doc])*
        ///
        /// # Errors
        ///
        #[doc = concat!(
            "As [`Socket::", stringify!($name), "`](crate::net::socket::Socket::", stringify!($name), ")."
        )]
        pub fn $name<$($g)*>(&self, $($arg: $ty),*) -> crate::error::Result<$ret> {
            self.0.$name($($arg),*)
        }
    };
}

#[cfg(target_os = "linux")]
pub(crate) use forward_msg;
pub(crate) use {shell, stream_io};
