//! getaddrinfo / getnameinfo / gai_strerror, and the one EAI_* converter.

use std::ffi::{CStr, CString};
use std::ptr;

use super::addr::RawAddr;
use crate::addr::SockAddr;
use crate::error::{EaiCode, Error, ResolveError, Result};

/// The one converter for `EAI_*` returns: 0 is success; `EAI_SYSTEM` takes
/// errno (read before anything else can change it).
fn check_gai(call: &'static str, code: i32, query: impl FnOnce() -> String) -> Result<()> {
    if code == 0 {
        return Ok(());
    }
    let errno = (code == libc::EAI_SYSTEM).then(std::io::Error::last_os_error);
    // SAFETY: gai_strerror returns a pointer to a static NUL-terminated
    // string for any code (glibc returns "Unknown error" for unknown ones).
    let text = unsafe { libc::gai_strerror(code) };
    let message = if text.is_null() {
        format!("unknown getaddrinfo error {code}")
    } else {
        // SAFETY: text is non-null and NUL-terminated (see above).
        unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned()
    };
    Err(Error::Resolve(Box::new(ResolveError {
        call,
        query: query(),
        code: EaiCode(code),
        message,
        errno,
    })))
}

/// One entry of a getaddrinfo answer, copied out of the C list.
pub(crate) struct RawAddrInfo {
    pub(crate) family: i32,
    pub(crate) socktype: i32,
    pub(crate) protocol: i32,
    pub(crate) addr: SockAddr,
    pub(crate) canonical_name: Option<String>,
}

/// The list getaddrinfo allocated; freed exactly once, in Drop.
struct AddrInfoList(*mut libc::addrinfo);

impl Drop for AddrInfoList {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from a successful getaddrinfo and is
            // freed only here.
            unsafe { libc::freeaddrinfo(self.0) };
        }
    }
}

/// `getaddrinfo(3)`. `host`/`service` were checked for interior NULs by the
/// caller (CString::new fails on them; we map that to InvalidInput too).
pub(crate) fn getaddrinfo(
    host: Option<&str>,
    service: Option<&str>,
    family: i32,
    socktype: i32,
    protocol: i32,
    flags: i32,
) -> Result<Vec<RawAddrInfo>> {
    let query = || format!("{}:{}", host.unwrap_or(""), service.unwrap_or(""));
    let to_c = |s: Option<&str>| -> Result<Option<CString>> {
        s.map(CString::new)
            .transpose()
            .map_err(|_| Error::InvalidInput {
                call: "getaddrinfo",
                subject: crate::error::Subject::Name(query()),
                reason: "host and service cannot contain a NUL byte",
            })
    };
    let c_host = to_c(host)?;
    let c_service = to_c(service)?;
    // SAFETY: addrinfo is plain old data; all-zero is the documented way to
    // start hints.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_protocol = protocol;
    hints.ai_flags = flags;
    let mut list = AddrInfoList(ptr::null_mut());
    // SAFETY: the C strings and hints live across the call; list.0 receives
    // a list we free in Drop.
    let code = unsafe {
        libc::getaddrinfo(
            c_host.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
            c_service.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
            &hints,
            &mut list.0,
        )
    };
    check_gai("getaddrinfo", code, query)?;
    let mut out = Vec::new();
    let mut cur = list.0;
    while !cur.is_null() {
        // SAFETY: cur is a node of the list getaddrinfo returned, alive until
        // `list` drops at the end of this function.
        let ai = unsafe { &*cur };
        cur = ai.ai_next;
        let len = ai.ai_addrlen as usize;
        if ai.ai_addr.is_null() || len > std::mem::size_of::<libc::sockaddr_storage>() {
            continue;
        }
        let mut raw = RawAddr::empty();
        // SAFETY: ai_addr points at ai_addrlen readable bytes, which fit in
        // the storage (checked above); the regions do not overlap.
        unsafe {
            ptr::copy_nonoverlapping(ai.ai_addr.cast::<u8>(), raw.as_mut_ptr().cast::<u8>(), len)
        };
        raw.len = ai.ai_addrlen;
        let addr = raw.to_addr();
        let canonical_name = if ai.ai_canonname.is_null() {
            None
        } else {
            // SAFETY: ai_canonname is a NUL-terminated string owned by the list.
            Some(
                unsafe { CStr::from_ptr(ai.ai_canonname) }
                    .to_string_lossy()
                    .into_owned(),
            )
        };
        out.push(RawAddrInfo {
            family: ai.ai_family,
            socktype: ai.ai_socktype,
            protocol: ai.ai_protocol,
            addr,
            canonical_name,
        });
    }
    Ok(out)
}

/// `getnameinfo(3)`: host and service names for `addr`.
pub(crate) fn getnameinfo(addr: &SockAddr, flags: i32) -> Result<(String, String)> {
    let raw = RawAddr::from_addr(addr);
    let mut host = [0 as libc::c_char; libc::NI_MAXHOST as usize];
    let mut service = [0 as libc::c_char; 32];
    // SAFETY: raw is a valid sockaddr of raw.len bytes; both buffers are
    // writable for the lengths passed.
    let code = unsafe {
        libc::getnameinfo(
            raw.as_ptr(),
            raw.len,
            // socklen_t on Linux and Apple, size_t on the BSDs.
            host.as_mut_ptr(),
            host.len() as _,
            service.as_mut_ptr(),
            service.len() as _,
            flags,
        )
    };
    check_gai("getnameinfo", code, || addr.to_string())?;
    // SAFETY: on success both buffers hold NUL-terminated strings.
    let (host, service) = unsafe {
        (
            CStr::from_ptr(host.as_ptr()),
            CStr::from_ptr(service.as_ptr()),
        )
    };
    Ok((
        host.to_string_lossy().into_owned(),
        service.to_string_lossy().into_owned(),
    ))
}
