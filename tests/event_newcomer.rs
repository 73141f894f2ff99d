//! The readiness issue's "done when", as a newcomer would write it: one TCP
//! accept/echo loop, using only the public API, run over each backend, over
//! `AnySelector` of each kind, and over `AnySelector::from_env` (this binary
//! is the only reader of `SOCKPOLL_BACKEND` in it, and sets it once, before
//! any thread starts reading it). Every run must produce the same transcript.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use sockpoll::event::{
    AnySelector, BackendKind, Events, Interest, Mode, PollSelector, SelectSelector, Selector, Token,
};
use sockpoll::{TcpListener, TcpStream};

const LISTENER: Token = Token(0);
const CLIENTS: usize = 8;

/// Serves `CLIENTS` blocking clients (one thread each) with a single-threaded
/// echo loop on `sel`; returns what each client got back, sorted.
fn echo_transcript<S: Selector + ?Sized>(sel: &mut S) -> Vec<String> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    sel.register(listener.as_fd(), LISTENER, Interest::READABLE, Mode::Level)
        .unwrap();

    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.as_socket()
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let msg = format!("client {i}: {}", "x".repeat(i * 1000));
                s.write_all(msg.as_bytes()).unwrap();
                s.shutdown(Shutdown::Write).unwrap();
                let mut back = String::new();
                s.read_to_string(&mut back).unwrap();
                back
            })
        })
        .collect();

    let mut conns: Vec<Option<TcpStream>> = Vec::new();
    let mut events = Events::with_capacity(16);
    let mut finished = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 4096];
    while finished < CLIENTS {
        assert!(
            Instant::now() < deadline,
            "{}: echo loop timed out",
            sel.name()
        );
        sel.wait(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        while let Some(ev) = sel.next_event(&mut events) {
            if ev.token() == LISTENER {
                loop {
                    match listener.accept_nonblocking() {
                        Ok((s, _)) => {
                            let token = Token(conns.len() + 1);
                            sel.register(s.as_fd(), token, Interest::READABLE, Mode::Level)
                                .unwrap();
                            conns.push(Some(s));
                        }
                        Err(e) if e.is_would_block() => break,
                        Err(e) => panic!("accept: {e}"),
                    }
                }
                continue;
            }
            let id = ev.token().0 - 1;
            let Some(s) = conns[id].as_mut() else {
                continue;
            };
            loop {
                match s.as_socket().recv(&mut buf) {
                    Ok(0) => {
                        sel.deregister(s.as_fd()).unwrap();
                        conns[id] = None; // drop closes after the echo went out
                        finished += 1;
                        break;
                    }
                    // At most 8 KiB per client: a loopback send buffer takes
                    // it whole, so this non-blocking write never blocks.
                    Ok(n) => s.write_all(&buf[..n]).unwrap(),
                    Err(e) if e.is_would_block() => break,
                    Err(e) => panic!("recv: {e}"),
                }
            }
        }
    }
    let mut got: Vec<String> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    got.sort();
    got
}

#[test]
fn the_same_echo_loop_gives_the_same_transcript_on_every_backend() {
    let expected = echo_transcript(&mut PollSelector::new().unwrap());
    assert_eq!(expected.len(), CLIENTS);
    assert!(expected[3].starts_with("client 3: xxx"));

    assert_eq!(
        echo_transcript(&mut SelectSelector::new().unwrap()),
        expected
    );
    for &kind in BackendKind::ALL {
        let mut any = AnySelector::new(kind).unwrap();
        assert_eq!(any.name(), kind.name());
        assert_eq!(echo_transcript(&mut any), expected, "AnySelector({kind})");
        let mut boxed: Box<dyn Selector> = Box::new(AnySelector::new(kind).unwrap());
        assert_eq!(
            echo_transcript(&mut *boxed),
            expected,
            "Box<dyn Selector>({kind})"
        );
    }
    for &kind in BackendKind::ALL {
        std::env::set_var("SOCKPOLL_BACKEND", kind.name());
        let mut from_env = AnySelector::from_env().unwrap();
        assert_eq!(from_env.name(), kind.name());
        assert_eq!(
            echo_transcript(&mut from_env),
            expected,
            "SOCKPOLL_BACKEND={kind}"
        );
    }
}
