//! `"host:port"` and `"[v6]:port"` strings as `ToSockAddrs` splits them,
//! then the host through `resolve` with numeric host and service only (no
//! lookup: nothing leaves the machine).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockpoll::{resolve, Hints};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((whole, host, port)) = sockpoll::fuzzing::host_port(s) else {
        return;
    };
    let hints = Hints::new().numeric_host(true).numeric_service(true);
    let answers = resolve(Some(&host), Some(&port.to_string()), &hints);
    if let (Some(whole), Ok(answers)) = (whole, &answers) {
        // A whole SocketAddr string resolves to itself, numerically.
        assert!(
            answers
                .iter()
                .any(|a| a.addr.as_socket().map(|s| s.port()) == Some(whole.port())),
            "{s:?}: {answers:?}"
        );
    }
});
