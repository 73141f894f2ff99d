//! getaddrinfo / getnameinfo / gai_strerror, and the one EAI_* converter.

use std::io;

/// glibc's `EAI_ADDRFAMILY` (a GNU extension libc does not export): the host
/// has no address in the requested family.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const EAI_ADDRFAMILY: i32 = -9;

/// The name of an `EAI_*` code.
pub(crate) fn eai_name(code: i32) -> Option<&'static str> {
    Some(match code {
        libc::EAI_AGAIN => "EAI_AGAIN",
        libc::EAI_BADFLAGS => "EAI_BADFLAGS",
        libc::EAI_FAIL => "EAI_FAIL",
        libc::EAI_FAMILY => "EAI_FAMILY",
        libc::EAI_MEMORY => "EAI_MEMORY",
        libc::EAI_NONAME => "EAI_NONAME",
        libc::EAI_SERVICE => "EAI_SERVICE",
        libc::EAI_SOCKTYPE => "EAI_SOCKTYPE",
        libc::EAI_SYSTEM => "EAI_SYSTEM",
        libc::EAI_OVERFLOW => "EAI_OVERFLOW",
        #[cfg(any(target_os = "linux", target_os = "android"))]
        libc::EAI_NODATA => "EAI_NODATA",
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        EAI_ADDRFAMILY => "EAI_ADDRFAMILY",
        _ => return None,
    })
}

/// The `io::ErrorKind` of an `EAI_*` code (EAI_SYSTEM: see `Error::kind`).
pub(crate) fn eai_kind(code: i32) -> io::ErrorKind {
    match code {
        libc::EAI_NONAME => io::ErrorKind::NotFound,
        #[cfg(any(target_os = "linux", target_os = "android"))]
        libc::EAI_NODATA => io::ErrorKind::NotFound,
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        EAI_ADDRFAMILY => io::ErrorKind::NotFound,
        libc::EAI_BADFLAGS | libc::EAI_FAMILY | libc::EAI_SERVICE | libc::EAI_SOCKTYPE => {
            io::ErrorKind::InvalidInput
        }
        libc::EAI_MEMORY => io::ErrorKind::OutOfMemory,
        _ => io::ErrorKind::Other,
    }
}
