//! Readiness errors name the real call and what it acted on. One test in
//! this binary: it lowers the process's fd limit for a moment, which would
//! break any test running beside it.

use std::io::ErrorKind;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use sockpoll::event::{Events, Interest, Mode, PollSelector, Selector, Token};
use sockpoll::Error;
use sockpoll::Subject;

#[test]
fn readiness_errors_name_call_and_subject() {
    // `reregister` into a mode the backend lacks names itself, not
    // "register": a conformance case now (edge_once_per_edge_or_unsupported,
    // tests/conformance.rs), on every backend that lacks edge mode.

    // FdLimit (raised by `select` where FD_SETSIZE binds, not on Linux)
    // carries its call too.
    let err = Error::FdLimit {
        call: "register",
        backend: "select",
        fd: 1500,
        limit: 1024,
    };
    assert_eq!(err.call(), "register");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let msg = err.to_string();
    assert!(msg.starts_with("register fd 1500: "), "{msg}");
    assert!(msg.contains("select") && msg.contains("1024"), "{msg}");

    // epoll_ctl on a regular file is EPERM, naming the fd.
    #[cfg(target_os = "linux")]
    {
        let file = std::fs::File::open("/proc/self/exe").unwrap();
        let sel = sockpoll::event::EpollSelector::new().unwrap();
        let err = sel
            .register(file.as_fd(), Token(1), Interest::READABLE, Mode::Level)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc_eperm()), "{err}");
        assert_eq!(err.call(), "epoll_ctl");
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        assert!(
            matches!(&err, Error::Os { subject: Subject::Fd(n), .. } if *n == fd),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with(&format!("epoll_ctl fd {fd}: ")),
            "{err}"
        );
    }

    // A real `poll` failure: more pollfds than RLIMIT_NOFILE is EINVAL, and
    // the error names nfds, not just the call.
    let pairs: Vec<_> = (0..8).map(|_| UnixStream::pair().unwrap()).collect();
    let sel = PollSelector::new().unwrap();
    for (i, (a, b)) in pairs.iter().enumerate() {
        sel.register(a.as_fd(), Token(2 * i), Interest::READABLE, Mode::Level)
            .unwrap();
        sel.register(b.as_fd(), Token(2 * i + 1), Interest::READABLE, Mode::Level)
            .unwrap();
    }
    let mut events = Events::with_capacity(8);
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, 4, hard).unwrap();
    let res = sel.wait(&mut events, Some(Duration::ZERO));
    setrlimit(Resource::RLIMIT_NOFILE, soft, hard).unwrap();
    let err = res.unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc_einval()), "{err}");
    assert_eq!(err.call(), "poll");
    assert!(
        matches!(
            err,
            Error::Os {
                // 16 registrations and the selector's own eventfd.
                subject: Subject::Nfds(17),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("poll nfds 17: "), "{err}");
}

#[cfg(target_os = "linux")]
fn libc_eperm() -> i32 {
    nix::errno::Errno::EPERM as i32
}

fn libc_einval() -> i32 {
    nix::errno::Errno::EINVAL as i32
}
