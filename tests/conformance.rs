//! The conformance suite, run against every backend through the
//! `sockpoll-conformance` harness: each backend directly, through
//! `AnySelector`, boxed as `dyn Selector`, and behind `Arc`. One line a
//! backend: `conformance_tests!(module, constructor, capabilities)` expands
//! to one `#[test]` per case. The cases live in `conformance/src/cases/`;
//! none is written here.

use std::io::ErrorKind;
use std::sync::Arc;

use sockpoll::event::{AnySelector, BackendKind, PollSelector, SelectSelector, Selector};
use sockpoll_conformance::{conformance_tests, Capabilities};

/// `select`: level and oneshot; a hang-up is seen only once the queue is
/// drained; no fd limit on Linux (sets sized to the highest fd), FD_SETSIZE
/// elsewhere.
fn select_caps() -> Capabilities {
    let caps = Capabilities::level_only()
        .name("select")
        .read_closed_before_drained(false);
    if cfg!(any(target_os = "linux", target_os = "android")) {
        caps
    } else {
        // FD_SETSIZE is usize on some targets, c_int on others.
        #[allow(clippy::useless_conversion)]
        caps.fd_limit(usize::try_from(libc::FD_SETSIZE).ok())
    }
}

/// `poll`: level and oneshot.
fn poll_caps() -> Capabilities {
    Capabilities::level_only().name("poll")
}

/// `epoll`: everything.
#[cfg(target_os = "linux")]
fn epoll_caps() -> Capabilities {
    Capabilities::full().name("epoll")
}

/// `uring`: everything epoll has (edge is a multishot `POLL_ADD`,
/// exclusive wake-ups `EPOLLEXCLUSIVE` in the poll's mask).
#[cfg(uring)]
fn uring_caps() -> Capabilities {
    Capabilities::full().name("uring")
}

/// `DefaultSelector`: epoll on Linux, poll elsewhere.
#[cfg(target_os = "linux")]
fn default_caps() -> Capabilities {
    epoll_caps()
}
#[cfg(not(target_os = "linux"))]
fn default_caps() -> Capabilities {
    poll_caps()
}

conformance_tests!(select, SelectSelector::new, select_caps());
conformance_tests!(poll, PollSelector::new, poll_caps());
#[cfg(target_os = "linux")]
conformance_tests!(epoll, sockpoll::event::EpollSelector::new, epoll_caps());
#[cfg(uring)]
conformance_tests!(uring, sockpoll::event::UringSelector::new, uring_caps());
// The smallest ring: every submission fills the queue, so every case also
// exercises submitting a full queue and filling it again.
#[cfg(uring)]
conformance_tests!(
    uring_smallest,
    || sockpoll::event::UringSelector::with_entries(2),
    uring_caps()
);
conformance_tests!(
    any_select,
    || AnySelector::new(BackendKind::Select),
    select_caps()
);
conformance_tests!(
    any_poll,
    || AnySelector::new(BackendKind::Poll),
    poll_caps()
);
#[cfg(target_os = "linux")]
conformance_tests!(
    any_epoll,
    || AnySelector::new(BackendKind::Epoll),
    epoll_caps()
);
#[cfg(uring)]
conformance_tests!(
    any_uring,
    || AnySelector::new(BackendKind::Uring),
    uring_caps()
);

/// On a Linux architecture the uring backend is not built for, asking for
/// it says why, and its cases are listed as skipped (`ignored`) with the
/// reason, never counted as passing.
#[cfg(all(uring_kind, not(uring)))]
#[test]
fn uring_says_it_is_not_built_for_this_architecture() {
    let err = AnySelector::new(BackendKind::Uring).unwrap_err();
    assert!(
        matches!(
            err,
            sockpoll::Error::Unavailable {
                reason: sockpoll::UnavailableReason::NotBuilt,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("not built"), "{err}");
    // Named, not listed as built.
    assert_eq!("uring".parse::<BackendKind>().unwrap(), BackendKind::Uring);
    assert!(!BackendKind::ALL.contains(&BackendKind::Uring));
    let choice = AnySelector::best().unwrap();
    assert_ne!(choice.chosen(), BackendKind::Uring);
    assert!(choice.why().iter().any(|(k, _)| *k == BackendKind::Uring));
}

#[cfg(all(uring_kind, not(uring)))]
#[test]
#[ignore = "the uring backend is not built for this architecture: its conformance cases, tests/event_uring.rs and tests/echo_uring.rs cannot run"]
fn uring_cases() {}
conformance_tests!(
    boxed,
    || -> sockpoll::Result<Box<dyn Selector>> {
        Ok(Box::new(sockpoll::event::DefaultSelector::new()?))
    },
    default_caps()
);
conformance_tests!(
    boxed_select,
    || -> sockpoll::Result<Box<dyn Selector>> { Ok(Box::new(SelectSelector::new()?)) },
    select_caps()
);
conformance_tests!(
    arc_poll,
    || -> sockpoll::Result<Arc<PollSelector>> { Ok(Arc::new(PollSelector::new()?)) },
    poll_caps()
);

#[test]
fn backend_kind_parses_displays_and_lists() {
    for &kind in BackendKind::ALL {
        assert_eq!(kind.to_string().parse::<BackendKind>().unwrap(), kind);
        assert_eq!(AnySelector::new(kind).unwrap().kind(), kind);
    }
    assert_eq!(
        BackendKind::from_env_value(None).unwrap(),
        BackendKind::platform_default()
    );
    assert_eq!(
        BackendKind::from_env_value(Some("POLL")).unwrap(),
        BackendKind::Poll
    );
    let err = BackendKind::from_env_value(Some("kqueue")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let msg = err.to_string();
    for &kind in BackendKind::ALL {
        assert!(msg.contains(kind.name()), "{msg}");
    }
    assert!(msg.contains("kqueue"), "{msg}");
}

fn assert_send_sync<T: Send + Sync + ?Sized>() {}

#[test]
fn every_backend_is_send_and_sync() {
    assert_send_sync::<SelectSelector>();
    assert_send_sync::<PollSelector>();
    #[cfg(target_os = "linux")]
    assert_send_sync::<sockpoll::event::EpollSelector>();
    assert_send_sync::<AnySelector>();
    assert_send_sync::<dyn Selector>();
}
