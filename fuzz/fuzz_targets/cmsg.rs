//! Control-message decoding: arbitrary bytes as a received control buffer,
//! walked and decoded as `RecvMsg::cmsgs` does (headers with any length,
//! truncated data, unknown levels and types, too-short payloads). Nothing
//! may read out of bounds, loop, or panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let n = sockpoll::fuzzing::control_messages(data);
    // Each message takes at least a header.
    assert!(n <= data.len() / 16 + 1);
});
