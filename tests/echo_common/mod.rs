//! Black-box tests of the `echo_<backend>` examples: the helpers, and the
//! test bodies every backend runs (each `tests/echo_<backend>.rs` instantiates
//! them with [`cli_tests!`] and [`behaviour_tests!`]).
//!
//! Every test spawns its own server on port 0 of a loopback address, every
//! wait is bounded, and a [`Server`] kills its child on drop, so a failing
//! test never leaks a process.
#![allow(dead_code)] // each test file uses a different part

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

#[path = "../../examples/support/fdlimit.rs"]
mod fdlimit;

/// How long a server may take to print its `listening on` line.
pub const STARTUP: Duration = Duration::from_secs(10);
/// Read/write timeout of every client socket: a stuck server fails the
/// test instead of hanging it.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A backend and a `--mode` (None: the default, level).
#[derive(Debug, Clone, Copy)]
pub struct Cfg {
    pub backend: &'static str,
    pub mode: Option<&'static str>,
}

impl Cfg {
    pub const fn new(backend: &'static str, mode: Option<&'static str>) -> Cfg {
        Cfg { backend, mode }
    }

    /// `[--mode M] addr`
    fn args(self, addr: &str) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(mode) = self.mode {
            args.extend(["--mode".to_string(), mode.to_string()]);
        }
        args.push(addr.to_string());
        args
    }

    pub fn start(self) -> Server {
        Server::start(self.backend, &self.args("127.0.0.1:0"), None)
    }

    pub fn start_on(self, addr: &str) -> Server {
        Server::start(self.backend, &self.args(addr), None)
    }

    /// Starts the server with its descriptor limit (soft and hard) at `nofile`.
    pub fn start_with_nofile(self, nofile: u64) -> Server {
        Server::start(self.backend, &self.args("127.0.0.1:0"), Some(nofile))
    }
}

// ---- binaries -------------------------------------------------------------

/// `target/<profile>/examples`, built once per test process. `cargo test`
/// does not build the examples for `--test echo_*` alone, and a stale binary
/// would test old code, so this always runs `cargo build --examples` once
/// (well under a second when everything is fresh).
pub fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("current_exe");
        // …/target/<profile>/deps/echo_x-hash
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary inside target/<profile>/deps")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("target dir");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--examples", "--quiet", "--target-dir"])
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => {}
            Some("release") => {
                cmd.arg("--release");
            }
            Some(other) => {
                cmd.args(["--profile", other]);
            }
            None => {}
        }
        let out = cmd.output().expect("run cargo build --examples");
        assert!(
            out.status.success(),
            "cargo build --examples failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        profile_dir.join("examples")
    })
}

pub fn binary(name: &str) -> PathBuf {
    let path = examples_dir().join(name);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

// ---- a running server -----------------------------------------------------

/// A running `echo_<backend>`; killed (SIGKILL) and reaped on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub backend: &'static str,
    /// Lines on stdout after the `listening on` line.
    stdout_rest: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stderr_done: mpsc::Receiver<()>,
}

impl Server {
    /// Spawns the server (under a descriptor limit of `nofile` if given) and
    /// waits, bounded, for its `listening on` line.
    pub fn start(backend: &'static str, args: &[String], nofile: Option<u64>) -> Server {
        let bin = binary(&format!("echo_{backend}"));
        let mut cmd = match nofile {
            Some(n) if which("prlimit") => {
                let mut cmd = Command::new("prlimit");
                cmd.arg(format!("--nofile={n}:{n}")).arg(&bin);
                cmd
            }
            // No prlimit: the shell's ulimit sets both limits, then execs.
            Some(n) => {
                let mut cmd = Command::new("sh");
                cmd.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\"")])
                    .arg(&bin);
                cmd
            }
            None => Command::new(&bin),
        };
        let mut child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));

        let (line_tx, line_rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (done_tx, stderr_done) = mpsc::channel();
        let mut pipe = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&stderr);
        // Drained continuously, so a chatty server never blocks on stderr.
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            let _ = done_tx.send(());
        });

        let mut server = Server {
            child,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            backend,
            stdout_rest: line_rx,
            stderr,
            stderr_done,
        };
        let line = match server.stdout_rest.recv_timeout(STARTUP) {
            Ok(line) => line,
            Err(e) => {
                let _ = server.child.kill();
                let _ = server.child.wait();
                panic!(
                    "echo_{backend} {args:?}: no `listening on` line ({e:?}); stderr:\n{}",
                    server.stderr_now()
                );
            }
        };
        server.addr = parse_listening_line(&line, backend);
        server
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits in i32")
    }

    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid()), signal).expect("kill");
    }

    /// Polls for the exit for at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// The server is still running.
    pub fn is_alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    pub fn assert_alive(&mut self) {
        if let Some(status) = self.child.try_wait().expect("try_wait") {
            panic!(
                "echo_{} exited ({status}); stderr:\n{}",
                self.backend,
                self.stderr_now()
            );
        }
    }

    /// Stderr so far.
    pub fn stderr_now(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// After the exit: all of stderr, and stdout beyond the first line.
    pub fn outputs_after_exit(&self) -> (Vec<String>, String) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut rest = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout_rest.recv_timeout(left) {
                Ok(line) => rest.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("stdout not closed after exit"),
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = self.stderr_done.recv_timeout(left);
        (rest, self.stderr_now())
    }

    /// Sends `signal` and checks the server exits 0 within one second,
    /// printing nothing more on stdout and no panic on stderr.
    pub fn assert_clean_exit_on(mut self, signal: Signal) {
        self.signal(signal);
        let status = self
            .wait_exit(Duration::from_secs(1))
            .unwrap_or_else(|| panic!("echo_{} still running 1 s after {signal}", self.backend));
        let (rest, stderr) = self.outputs_after_exit();
        assert_eq!(
            status.code(),
            Some(0),
            "exit after {signal}; stderr:\n{stderr}"
        );
        assert!(rest.is_empty(), "more than one line on stdout: {rest:?}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }

    pub fn proc_path(&self, file: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/{file}", self.pid()))
    }

    /// utime + stime of the server, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(self.proc_path("stat")).expect("read /proc/PID/stat");
        // Fields after the command name (which may contain spaces): state is
        // field 3, utime 14, stime 15.
        let after = &stat[stat.rfind(')').expect("comm") + 1..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        let utime: u64 = fields[11].parse().expect("utime");
        let stime: u64 = fields[12].parse().expect("stime");
        utime + stime
    }

    /// Resident set size in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(self.proc_path("status")).expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// Voluntary context switches of the server: one each time it blocks,
    /// so a sleeping loop adds none and a timer adds one a tick.
    pub fn wakeups(&self) -> u64 {
        let status =
            std::fs::read_to_string(self.proc_path("status")).expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("voluntary_ctxt_switches in /proc/PID/status")
    }

    /// Open descriptors of the server.
    pub fn fd_count(&self) -> usize {
        std::fs::read_dir(self.proc_path("fd"))
            .expect("read /proc/PID/fd")
            .count()
    }

    /// Waits (bounded) until the server holds `want` descriptors.
    pub fn wait_fd_count(&self, want: usize, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        loop {
            let n = self.fd_count();
            if n == want || Instant::now() >= deadline {
                return n;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn connect(&self) -> TcpStream {
        connect(self.addr)
    }

    /// A UDP socket on the same loopback family, connected to the server.
    pub fn udp(&self) -> UdpSocket {
        let any: SocketAddr = if self.addr.is_ipv4() {
            "127.0.0.1:0".parse().unwrap()
        } else {
            "[::1]:0".parse().unwrap()
        };
        let s = UdpSocket::bind(any).expect("bind udp client");
        s.connect(self.addr).expect("connect udp");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    /// One TCP round trip on a fresh connection: the server still serves.
    pub fn assert_serves(&self) {
        let mut c = self.connect();
        roundtrip(&mut c, b"are you still there?");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn which(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}

/// `listening on <ip:port> (tcp+udp, backend <name>)`, exactly.
pub fn parse_listening_line(line: &str, backend: &str) -> SocketAddr {
    let rest = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let suffix = format!(" (tcp+udp, backend {backend})");
    let addr = rest
        .strip_suffix(&suffix)
        .unwrap_or_else(|| panic!("line {line:?} does not end with {suffix:?}"));
    let addr: SocketAddr = addr
        .parse()
        .unwrap_or_else(|e| panic!("{addr:?} in {line:?} is not ip:port: {e}"));
    assert_ne!(
        addr.port(),
        0,
        "the line must show the bound port: {line:?}"
    );
    addr
}

/// Runs a command to its end (bounded: 10 s), feeding `stdin`.
pub fn run_bounded(cmd: &mut Command, stdin: &[u8]) -> (ExitStatus, String, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let feeder = thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let readers = [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ]
    .map(|mut pipe| {
        thread::spawn(move || {
            let mut s = Vec::new();
            let _ = pipe.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not exit within 10 s");
        }
        thread::sleep(Duration::from_millis(5));
    };
    feeder.join().unwrap();
    let [out, err] = readers.map(|r| r.join().unwrap());
    (status, out, err)
}

// ---- clients ----------------------------------------------------------------

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Writes `msg` and reads exactly as many bytes back.
pub fn roundtrip(c: &mut TcpStream, msg: &[u8]) {
    c.write_all(msg).expect("write");
    let mut back = vec![0; msg.len()];
    c.read_exact(&mut back).expect("read the echo");
    assert_eq!(back, msg, "the echo differs");
}

/// Reads until EOF, bounded by `limit` overall (and IO_TIMEOUT a read).
pub fn read_to_eof(c: &mut TcpStream, limit: Duration, expect: usize) -> Vec<u8> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::with_capacity(expect);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        assert!(
            Instant::now() < deadline,
            "no EOF within {limit:?} ({} of {expect} bytes back)",
            got.len()
        );
        match c.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("read after {} of {expect} bytes: {e}", got.len()),
        }
    }
}

/// Pseudo-random bytes (xorshift64*), the same for the same seed.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Compares byte streams, naming the first difference.
pub fn assert_same(got: &[u8], want: &[u8], what: &str) {
    if got == want {
        return;
    }
    let first = got.iter().zip(want).position(|(a, b)| a != b);
    panic!(
        "{what}: {} bytes back, {} sent; first difference at {:?}",
        got.len(),
        want.len(),
        first
    );
}

/// A message unique to client `i`, 1 to 2,000 bytes long.
pub fn message(i: usize) -> Vec<u8> {
    let mut m = format!("client {i}:").into_bytes();
    m.extend(pattern(i as u64 + 7, (i * 37) % 2000));
    m
}

/// Raises this process's soft descriptor limit to the hard one, which must
/// leave room for `need` descriptors.
pub fn raise_own_fd_limit(need: u64) {
    let limit = fdlimit::raise_fd_limit(u64::MAX);
    assert!(
        limit >= need,
        "the hard RLIMIT_NOFILE ({limit}) is below the {need} descriptors this test needs"
    );
}

/// Resets the connection on drop (SO_LINGER 0: close sends RST).
pub fn reset(c: TcpStream) {
    socket2::SockRef::from(&c)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER 0");
    drop(c);
}

// ---- the tests, as functions of the configuration ---------------------------

/// The `listening on` line names the real port, UDP is on the same port,
/// and SIGTERM ends it with 0 and no second line.
pub fn listening_line(cfg: Cfg) {
    let server = cfg.start();
    assert_eq!(server.addr.ip(), IpAddr::from([127, 0, 0, 1]));
    // UDP answers on the very port number the line names.
    let udp = server.udp();
    udp_roundtrip(&udp, b"same port");
    let mut c = server.connect();
    roundtrip(&mut c, b"tcp too");
    server.assert_clean_exit_on(Signal::SIGTERM);
}

pub fn ipv6(cfg: Cfg) {
    let server = cfg.start_on("[::1]:0");
    assert_eq!(
        server.addr.ip(),
        IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
    );
    let mut c = server.connect();
    roundtrip(&mut c, b"over IPv6");
    udp_roundtrip(&server.udp(), b"datagram over IPv6");
    let big = pattern(6, sockpoll::MAX_UDP_PAYLOAD_V4);
    udp_roundtrip(&server.udp(), &big);
    server.assert_clean_exit_on(Signal::SIGTERM);
}

pub fn host_name(cfg: Cfg) {
    let server = cfg.start_on("localhost:0");
    assert!(server.addr.ip().is_loopback(), "{}", server.addr);
    let mut c = server.connect();
    roundtrip(&mut c, b"by name");
    udp_roundtrip(&server.udp(), b"datagram by name");
    server.assert_clean_exit_on(Signal::SIGTERM);
}

/// SIGINT or SIGTERM, with a client connected and data in flight: exit 0
/// within a second.
pub fn signal_exits_zero(cfg: Cfg, signal: Signal) {
    let server = cfg.start();
    let mut c = server.connect();
    roundtrip(&mut c, b"before the signal");
    c.write_all(&pattern(3, 100_000)).unwrap();
    server.assert_clean_exit_on(signal);
}

pub fn help_mentions_default(cfg: Cfg) {
    let (status, out, err) = run_bounded(
        Command::new(binary(&format!("echo_{}", cfg.backend))).arg("--help"),
        b"",
    );
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(out.contains("127.0.0.1:7007"), "usage: {out:?}");
    assert!(out.contains("--mode"), "usage: {out:?}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Runs the server with `args`, which it must refuse: exit 2, one stderr
/// line naming `bad`, nothing on stdout, no panic.
pub fn assert_refused(backend: &str, args: &[&str], bad: &str, code: i32) -> String {
    let (status, out, err) = run_bounded(
        Command::new(binary(&format!("echo_{backend}"))).args(args),
        b"",
    );
    assert_eq!(status.code(), Some(code), "{args:?}: stderr {err:?}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert!(out.is_empty(), "{args:?}: stdout {out:?}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "{args:?}: want one stderr line, got {err:?}"
    );
    assert!(
        lines[0].to_lowercase().contains(&bad.to_lowercase()),
        "{args:?}: {err:?} does not name {bad:?}"
    );
    err
}

pub fn bad_arguments(cfg: Cfg) {
    let cases: [(&[&str], &str); 6] = [
        (&["127.0.0.1:99999"], "99999"),
        (&["not-an-address"], "not-an-address"),
        (&["--bogus"], "--bogus"),
        (&["--mode", "sideways"], "sideways"),
        (&["--mode"], "--mode"),
        (&["127.0.0.1:0", "127.0.0.1:0"], "127.0.0.1:0"),
    ];
    for (args, bad) in cases {
        assert_refused(cfg.backend, args, bad, 2);
    }
}

/// A TCP port someone else listens on: a nonzero exit naming the address.
pub fn busy_tcp_port(cfg: Cfg) {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let err = assert_busy(cfg, &addr);
    drop(taken);
    assert!(err.contains(&addr), "{err:?}");
}

/// The port is free for TCP but taken for UDP: the same.
pub fn busy_udp_port(cfg: Cfg) {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let err = assert_busy(cfg, &addr);
    drop(taken);
    assert!(err.contains(&addr), "{err:?}");
}

fn assert_busy(cfg: Cfg, addr: &str) -> String {
    let (status, out, err) = run_bounded(
        Command::new(binary(&format!("echo_{}", cfg.backend))).args(cfg.args(addr)),
        b"",
    );
    assert!(!status.success(), "started on a busy port: {out:?}");
    assert!(status.code().is_some(), "killed by a signal: {status}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.is_empty(), "stdout {out:?}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "want one stderr line, got {err:?}");
    assert!(lines[0].contains("Address already in use"), "{err:?}");
    err
}

/// 8 MiB of pseudo-random bytes come back byte-exact, then EOF after our
/// FIN; another client is served meanwhile.
pub fn large_stream(cfg: Cfg) {
    const TOTAL: usize = 8 << 20;
    let mut server = cfg.start();
    let data = Arc::new(pattern(1, TOTAL));
    let mut c = server.connect();
    let mut writer = c.try_clone().unwrap();
    let sent = Arc::clone(&data);
    let w = thread::spawn(move || -> io::Result<()> {
        for chunk in sent.chunks(100_000) {
            writer.write_all(chunk)?;
        }
        writer.shutdown(Shutdown::Write)
    });
    // While the big stream is in flight, another client is served.
    server.assert_serves();
    let got = read_to_eof(&mut c, Duration::from_secs(60), TOTAL);
    w.join().unwrap().expect("writer");
    assert_same(&got, &data, "8 MiB stream");
    server.assert_alive();
}

/// Hundreds of clients connected at once, each gets its own message back.
pub fn many_clients(cfg: Cfg, n: usize) {
    let mut server = cfg.start();
    let mut clients: Vec<TcpStream> = (0..n).map(|_| server.connect()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.write_all(&message(i)).unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let want = message(i);
        let mut back = vec![0; want.len()];
        c.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("client {i} of {n}: {e}"));
        assert_same(&back, &want, &format!("client {i}"));
    }
    server.assert_alive();
}

/// Write, shutdown(Write), then every byte back and EOF: a short message,
/// and 2 MiB so that output is still queued when the FIN arrives.
pub fn half_close(cfg: Cfg) {
    let server = cfg.start();
    let mut c = server.connect();
    c.write_all(b"hello, half-closed world").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let got = read_to_eof(&mut c, Duration::from_secs(10), 24);
    assert_eq!(got, b"hello, half-closed world");

    let data = Arc::new(pattern(2, 2 << 20));
    let mut c = server.connect();
    let mut writer = c.try_clone().unwrap();
    let sent = Arc::clone(&data);
    let w = thread::spawn(move || -> io::Result<()> {
        writer.write_all(&sent)?;
        writer.shutdown(Shutdown::Write)
    });
    let got = read_to_eof(&mut c, Duration::from_secs(30), data.len());
    w.join().unwrap().expect("writer");
    assert_same(&got, &data, "half-closed 2 MiB");
    // Half-closed at once, nothing sent: EOF.
    let mut c = server.connect();
    c.shutdown(Shutdown::Write).unwrap();
    assert!(read_to_eof(&mut c, Duration::from_secs(10), 0).is_empty());
}

/// Clients that reset (RST) at various points; another client keeps being
/// served throughout and no descriptor is left behind.
pub fn reset_mid_stream(cfg: Cfg) {
    let mut server = cfg.start();
    let mut steady = server.connect();
    roundtrip(&mut steady, b"steady");
    let baseline = server.fd_count();
    for round in 0..12 {
        let mut c = server.connect();
        match round % 4 {
            // Reset right after connecting.
            0 => {}
            // Reset with echoed data unread and output queued at the server.
            1 => {
                c.set_nonblocking(true).unwrap();
                let chunk = pattern(round, 64 * 1024);
                for _ in 0..64 {
                    if c.write(&chunk).is_err() {
                        break;
                    }
                }
            }
            // Reset after reading part of the echo.
            2 => {
                c.write_all(&pattern(round, 300_000)).unwrap();
                let mut some = [0u8; 1000];
                c.read_exact(&mut some).unwrap();
            }
            // Reset after a half-close, mid-flush.
            _ => {
                c.write_all(&pattern(round, 500_000)).unwrap();
                c.shutdown(Shutdown::Write).unwrap();
            }
        }
        reset(c);
        roundtrip(&mut steady, format!("after reset {round}").as_bytes());
    }
    server.assert_alive();
    let fds = server.wait_fd_count(baseline, Duration::from_secs(5));
    assert_eq!(fds, baseline, "descriptors left after resets");
    roundtrip(&mut steady, b"still here");
}

/// A client that sends a lot and never reads: its writes eventually block,
/// the server's memory stays bounded, others are served, and once it reads
/// it gets every byte back.
pub fn never_reading_client(cfg: Cfg) {
    const CAP: usize = 1 << 30;
    const RSS_GROWTH_MAX_KIB: u64 = 64 * 1024;
    let mut server = cfg.start();
    server.assert_serves();
    let rss_before = server.rss_kib();

    let mut c = server.connect();
    c.set_nonblocking(true).unwrap();
    let chunk = pattern(4, 64 * 1024);
    let mut sent = 0usize;
    let mut last_progress = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // Stalled for half a second: the server stopped reading from us.
        if last_progress.elapsed() > Duration::from_millis(500) {
            break;
        }
        assert!(
            sent < CAP && Instant::now() < deadline,
            "the client never blocked: {sent} bytes accepted"
        );
        let growth = server.rss_kib().saturating_sub(rss_before);
        assert!(
            growth < RSS_GROWTH_MAX_KIB,
            "server RSS grew {growth} KiB while {sent} bytes were unread"
        );
        let off = sent % chunk.len();
        match c.write(&chunk[off..]) {
            Ok(n) => {
                sent += n;
                last_progress = Instant::now();
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("write after {sent} bytes: {e}"),
        }
    }
    let growth = server.rss_kib().saturating_sub(rss_before);
    assert!(growth < RSS_GROWTH_MAX_KIB, "server RSS grew {growth} KiB");
    server.assert_alive();
    // Another client is served while this one is stuck.
    server.assert_serves();

    // Now read: every byte comes back, then EOF after our FIN.
    c.set_nonblocking(false).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let got = read_to_eof(&mut c, Duration::from_secs(60), sent);
    let want: Vec<u8> = chunk.iter().copied().cycle().take(sent).collect();
    assert_same(&got, &want, "the never-reading client's echo");
}

/// One byte at a time, each read back before the next; then 200 single
/// bytes sent apart and read back at once.
pub fn trickle(cfg: Cfg) {
    let server = cfg.start();
    let mut c = server.connect();
    let data = pattern(5, 300);
    for (i, b) in data.iter().enumerate() {
        c.write_all(&[*b]).unwrap();
        let mut back = [0u8];
        c.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("byte {i}: {e}"));
        assert_eq!(back[0], *b, "byte {i}");
    }
    for b in &data[..200] {
        c.write_all(&[*b]).unwrap();
        thread::sleep(Duration::from_millis(1));
    }
    let mut back = vec![0u8; 200];
    c.read_exact(&mut back).unwrap();
    assert_same(&back, &data[..200], "trickled bytes");
}

/// Out of descriptors (EMFILE): the server neither dies nor spins, serves
/// what it accepted, and serves the waiting clients once others leave.
pub fn emfile(cfg: Cfg) {
    const NOFILE: u64 = 64;
    const CLIENTS: usize = 90;
    // A correct server wakes ~10 times a second to retry; a spinning one
    // burns whatever CPU it gets. 0.25 s leaves a wide margin both ways.
    const MAX_TICKS_PER_SECOND: u64 = 25;
    let mut server = cfg.start_with_nofile(NOFILE);
    let mut clients: Vec<TcpStream> = (0..CLIENTS).map(|_| server.connect()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.write_all(&message(i)).unwrap();
    }
    thread::sleep(Duration::from_millis(300));
    let before = server.cpu_ticks();
    thread::sleep(Duration::from_secs(1));
    let spent = server.cpu_ticks() - before;
    server.assert_alive();
    assert!(
        spent < MAX_TICKS_PER_SECOND,
        "{spent} ticks of CPU in 1 s of EMFILE overload: spinning"
    );
    assert!(
        server.stderr_now().contains("Too many open files"),
        "no EMFILE episode logged: {}",
        server.stderr_now()
    );

    // Who has been served so far (their echo is waiting)?
    let mut served = Vec::new();
    let mut waiting = Vec::new();
    for (i, mut c) in clients.drain(..).enumerate() {
        c.set_nonblocking(true).unwrap();
        let mut first = [0u8; 1];
        let got = match c.read(&mut first) {
            Ok(1) => true,
            Ok(_) => panic!("client {i}: EOF before its echo"),
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(e) => panic!("client {i}: {e}"),
        };
        c.set_nonblocking(false).unwrap();
        if got {
            let want = message(i);
            let mut rest = vec![0u8; want.len() - 1];
            c.read_exact(&mut rest).unwrap();
            assert_eq!(first[0], want[0]);
            assert_same(&rest, &want[1..], &format!("client {i}"));
            served.push(c);
        } else {
            waiting.push((i, c));
        }
    }
    assert!(!served.is_empty(), "nobody served under the fd limit");
    assert!(
        !waiting.is_empty(),
        "all {CLIENTS} served under a limit of {NOFILE}: the limit was not reached"
    );
    // Recovery: the accepted clients leave, the waiting ones are served.
    drop(served);
    for (i, mut c) in waiting {
        let want = message(i);
        let mut back = vec![0u8; want.len()];
        c.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("waiting client {i} never served: {e}"));
        assert_same(&back, &want, &format!("client {i}"));
    }
    server.assert_alive();
    server.assert_serves();
}

pub fn udp_roundtrip(s: &UdpSocket, msg: &[u8]) {
    s.send(msg).expect("send datagram");
    let mut buf = vec![0u8; 65_536 + 1];
    let n = s.recv(&mut buf).expect("no datagram back");
    assert_same(&buf[..n], msg, "datagram");
}

/// An empty datagram comes back empty; the largest IPv4 datagram whole.
pub fn udp_sizes(cfg: Cfg) {
    let server = cfg.start();
    let s = server.udp();
    for _ in 0..3 {
        udp_roundtrip(&s, b"");
        udp_roundtrip(&s, b"x");
    }
    let max = pattern(8, sockpoll::MAX_UDP_PAYLOAD_V4);
    assert_eq!(max.len(), 65_507);
    udp_roundtrip(&s, &max);
    udp_roundtrip(&s, b"");
}

/// 200 datagrams at once: most come back, each one byte-exact.
pub fn udp_burst(cfg: Cfg) {
    const N: usize = 200;
    let server = cfg.start();
    let s = server.udp();
    // Room for the whole burst on our side (capped by rmem_max).
    let _ = socket2::SockRef::from(&s).set_recv_buffer_size(4 << 20);
    let datagram = |i: usize| {
        let mut d = (i as u32).to_be_bytes().to_vec();
        d.extend(pattern(i as u64 + 1000, 1 + i * 7));
        d
    };
    for i in 0..N {
        s.send(&datagram(i)).unwrap();
    }
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut seen = [false; N];
    let mut buf = vec![0u8; 65_536];
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.iter().any(|s| !s) && Instant::now() < deadline {
        let n = match s.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("recv: {e}"),
        };
        assert!(n >= 4, "a {n}-byte datagram that was never sent");
        let i = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
        assert!(i < N && !seen[i], "datagram {i} unexpected or twice");
        assert_same(&buf[..n], &datagram(i), &format!("datagram {i}"));
        seen[i] = true;
    }
    let got = seen.iter().filter(|s| **s).count();
    assert!(got >= N * 9 / 10, "only {got} of {N} datagrams came back");
}

/// Idle, the server sleeps: at most 2 clock ticks of CPU in a second, and
/// no timer waking it up (a few wake-ups of slack).
pub fn idle_cpu(cfg: Cfg) {
    let mut server = cfg.start();
    let mut c = server.connect();
    roundtrip(&mut c, b"then nothing");
    udp_roundtrip(&server.udp(), b"then nothing");
    thread::sleep(Duration::from_millis(200));
    let (ticks, wakeups) = (server.cpu_ticks(), server.wakeups());
    thread::sleep(Duration::from_secs(1));
    let spent = server.cpu_ticks() - ticks;
    let woke = server.wakeups() - wakeups;
    assert!(spent <= 2, "{spent} ticks of CPU in 1 s idle");
    assert!(woke <= 5, "woke up {woke} times in 1 s idle");
    server.assert_alive();
}

/// 200 connections come and go (clean close, half-close, reset, silent):
/// the descriptor count returns to its baseline.
pub fn no_fd_leak(cfg: Cfg) {
    let mut server = cfg.start();
    // Before any connection: nothing can be pending a close yet.
    let baseline = server.fd_count();
    server.assert_serves();
    for batch in 0..4 {
        let mut conns: Vec<TcpStream> = (0..50).map(|_| server.connect()).collect();
        for (i, mut c) in conns.drain(..).enumerate() {
            match (batch * 50 + i) % 4 {
                0 => roundtrip(&mut c, &message(i)),
                1 => {
                    c.write_all(&message(i)).unwrap();
                    c.shutdown(Shutdown::Write).unwrap();
                    let got = read_to_eof(&mut c, Duration::from_secs(10), 0);
                    assert_same(&got, &message(i), "half-closed");
                }
                2 => {
                    c.write_all(&message(i)).unwrap();
                    reset(c);
                }
                _ => drop(c),
            }
        }
    }
    let fds = server.wait_fd_count(baseline, Duration::from_secs(5));
    assert_eq!(fds, baseline, "descriptors left after 200 connections");
    server.assert_alive();
}

/// 10,000 connections open at once, each served (batches of 500 connect,
/// send and read back; then every one once more).
pub fn ten_thousand(cfg: Cfg) {
    const N: usize = 10_000;
    const BATCH: usize = 500;
    raise_own_fd_limit(N as u64 + 1000);
    let mut server = cfg.start();
    let mut clients: Vec<TcpStream> = Vec::with_capacity(N);
    while clients.len() < N {
        let start = clients.len();
        for _ in 0..BATCH {
            clients.push(server.connect());
        }
        for (i, c) in clients[start..].iter_mut().enumerate() {
            c.write_all(&(start + i).to_be_bytes()).unwrap();
        }
        for (i, c) in clients[start..].iter_mut().enumerate() {
            let mut back = [0u8; 8];
            c.read_exact(&mut back)
                .unwrap_or_else(|e| panic!("client {}: {e}", start + i));
            assert_eq!(usize::from_be_bytes(back), start + i);
        }
    }
    assert!(
        server.fd_count() >= N,
        "the server holds {} descriptors",
        server.fd_count()
    );
    for (i, c) in clients.iter_mut().enumerate() {
        c.write_all(&(!i).to_be_bytes()).unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let mut back = [0u8; 8];
        c.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("client {i}, second round: {e}"));
        assert_eq!(usize::from_be_bytes(back), !i);
    }
    server.assert_alive();
    drop(clients);
    server.assert_serves();
}

/// The `echo_client` example against this server: TCP and UDP, one
/// message and lines from stdin.
pub fn echo_client(cfg: Cfg) {
    let server = cfg.start();
    let addr = server.addr.to_string();
    let client = binary("echo_client");
    let (status, out, err) =
        run_bounded(Command::new(&client).args([&addr, "hello", "world"]), b"");
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(out, "hello world\n");
    let (status, out, err) = run_bounded(
        Command::new(&client).args(["--udp", &addr, "hello", "udp"]),
        b"",
    );
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(out, "hello udp\n");
    let (status, out, err) = run_bounded(Command::new(&client).arg(&addr), b"one\ntwo\n");
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(out, "one\ntwo\n");
    assert!(!err.contains("panicked"));
}

// ---- instantiation ---------------------------------------------------------

/// The command-line tests of one backend, in a module `cli`.
macro_rules! cli_tests {
    ($backend:literal) => {
        mod cli {
            use nix::sys::signal::Signal;

            use crate::echo_common as c;

            const CFG: c::Cfg = c::Cfg::new($backend, None);

            #[test]
            fn listening_line_names_port_and_udp_shares_it() {
                c::listening_line(CFG)
            }

            #[test]
            fn ipv6_tcp_and_udp() {
                c::ipv6(CFG)
            }

            #[test]
            fn host_name_is_resolved() {
                c::host_name(CFG)
            }

            #[test]
            fn sigint_exits_zero() {
                c::signal_exits_zero(CFG, Signal::SIGINT)
            }

            #[test]
            fn sigterm_exits_zero() {
                c::signal_exits_zero(CFG, Signal::SIGTERM)
            }

            #[test]
            fn help_mentions_default_address() {
                c::help_mentions_default(CFG)
            }

            #[test]
            fn bad_arguments_exit_2() {
                c::bad_arguments(CFG)
            }

            #[test]
            fn busy_tcp_port_is_one_clear_line() {
                c::busy_tcp_port(CFG)
            }

            #[test]
            fn busy_udp_port_is_one_clear_line() {
                c::busy_udp_port(CFG)
            }

            #[test]
            fn echo_client_talks_to_it() {
                c::echo_client(CFG)
            }
        }
    };
}
pub(crate) use cli_tests;

/// The behaviour tests of one backend in one mode, in a module `$name`.
macro_rules! behaviour_tests {
    ($name:ident, $backend:literal, $mode:expr) => {
        mod $name {
            use crate::echo_common as c;

            const CFG: c::Cfg = c::Cfg::new($backend, $mode);

            #[test]
            fn large_stream_byte_exact() {
                c::large_stream(CFG)
            }

            #[test]
            fn five_hundred_clients() {
                c::many_clients(CFG, 500)
            }

            #[test]
            fn half_close_gets_everything_then_eof() {
                c::half_close(CFG)
            }

            #[test]
            fn reset_mid_stream_others_served() {
                c::reset_mid_stream(CFG)
            }

            #[test]
            fn never_reading_client_is_bounded() {
                c::never_reading_client(CFG)
            }

            #[test]
            fn trickle_one_byte_at_a_time() {
                c::trickle(CFG)
            }

            #[test]
            fn emfile_backs_off_and_recovers() {
                c::emfile(CFG)
            }

            #[test]
            fn udp_empty_and_max_datagrams() {
                c::udp_sizes(CFG)
            }

            #[test]
            fn udp_burst_mostly_echoed() {
                c::udp_burst(CFG)
            }

            #[test]
            fn idle_burns_no_cpu() {
                c::idle_cpu(CFG)
            }

            #[test]
            fn no_fd_leak_after_200_connections() {
                c::no_fd_leak(CFG)
            }
        }
    };
}
pub(crate) use behaviour_tests;
