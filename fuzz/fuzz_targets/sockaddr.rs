//! Socket addresses from raw storage and lengths: `SockAddr::from_bytes`,
//! and what the kernel writes with the length it reports (which may exceed
//! the storage, or be shorter than any address). Every accessor, the
//! conversions, and `getnameinfo` (numeric: no lookup) on the result; a
//! decoded address must come back equal from its own bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockpoll::{getnameinfo, NameInfoFlags, SockAddr};

fn exercise(addr: &SockAddr) {
    let _ = (
        addr.family(),
        addr.len(),
        addr.is_empty(),
        addr.is_unnamed(),
    );
    let _ = (
        addr.as_socket(),
        addr.as_unix_path(),
        addr.as_abstract_name(),
    );
    let _ = format!("{addr} {addr:?}");
    let _ = std::net::SocketAddr::try_from(addr.clone());
    if let Ok(again) = SockAddr::from_bytes(addr.as_bytes()) {
        assert_eq!(&again, addr, "not canonical: {:?}", addr.as_bytes());
    }
    let flags = NameInfoFlags::NUMERIC_HOST | NameInfoFlags::NUMERIC_SERVICE;
    let _ = getnameinfo(addr, flags);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(addr) = SockAddr::from_bytes(data) {
        exercise(&addr);
    }
    if let Some((len, bytes)) = data.split_first_chunk::<4>() {
        let len = u32::from_ne_bytes(*len) % 1024;
        exercise(&sockpoll::fuzzing::kernel_sockaddr(bytes, len));
    }
});
