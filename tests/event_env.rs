//! `AnySelector::from_env`: the one test that sets `SOCKPOLL_BACKEND`, alone
//! in its binary so no other test reads the environment meanwhile.

use std::io::ErrorKind;

use sockpoll::event::{AnySelector, BackendKind, Selector, BACKEND_ENV};

#[test]
fn from_env_reads_sockpoll_backend() {
    std::env::remove_var(BACKEND_ENV);
    let default = AnySelector::from_env().unwrap();
    assert_eq!(default.kind(), BackendKind::platform_default());
    for &kind in BackendKind::ALL {
        std::env::set_var(BACKEND_ENV, kind.name());
        assert_eq!(AnySelector::from_env().unwrap().name(), kind.name());
    }
    std::env::set_var(BACKEND_ENV, "iocp");
    let err = AnySelector::from_env().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let msg = err.to_string();
    assert!(
        msg.contains("select") && msg.contains("poll") && msg.contains("iocp"),
        "{msg}"
    );
    std::env::remove_var(BACKEND_ENV);
}
