//! Resolution hints: any family, socket type, protocol and flag set, with
//! a host and a service from the input, through `resolve` — always with
//! numeric host and service, so that nothing is looked up (no traffic off
//! the machine). Errors must be typed (`EAI_*` kept, interior NULs
//! `InvalidInput`); answers must be well-formed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockpoll::{resolve, Domain, Hints, Protocol, Type};

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<13>() else {
        return;
    };
    let word = |i: usize| i32::from_ne_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let flags = head[12];
    let mut hints = Hints::new()
        .family(Domain(word(0)))
        .socket_type(Type(word(4)))
        .protocol(Protocol(word(8)))
        .passive(flags & 1 != 0)
        .canonical_name(flags & 2 != 0)
        .v4_mapped(flags & 4 != 0)
        .all(flags & 8 != 0)
        .addrconfig(flags & 16 != 0);
    hints = hints.numeric_host(true).numeric_service(true);
    let text = String::from_utf8_lossy(rest);
    let (host, service) = text.split_once('|').unwrap_or((&text, ""));
    let host = (flags & 32 == 0).then_some(host);
    let service = (flags & 64 == 0).then_some(service);
    match resolve(host, service, &hints) {
        Ok(answers) => {
            for a in answers {
                let _ = format!("{a:?}");
                assert!(!a.addr.is_empty());
            }
        }
        Err(e) => {
            let _ = (e.kind(), e.raw_os_error(), e.to_string());
        }
    }
});
