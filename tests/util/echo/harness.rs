//! The echo harness: building the examples, running an `echo_<backend>`
//! server as a child process (killed on drop), and the clients that talk
//! to it. The test bodies are in `cli.rs` and `behaviour.rs`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::util::bytes::assert_same;
use crate::util::bytes::pattern;
use crate::util::process::which;
use crate::util::procfs;
use crate::util::raise_fd_limit;

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
    pub fn args(self, addr: &str) -> Vec<String> {
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
    /// Spawns `echo_<backend>` (under a descriptor limit of `nofile` if
    /// given) and waits, bounded, for its `listening on` line.
    pub fn start(backend: &'static str, args: &[String], nofile: Option<u64>) -> Server {
        let suffix = format!(" (tcp+udp, backend {backend})");
        Server::spawn(&format!("echo_{backend}"), &suffix, backend, args, nofile)
    }

    /// Spawns the example `program` and waits, bounded, for its
    /// `listening on <ip:port><suffix>` line.
    pub fn spawn(
        program: &str,
        suffix: &str,
        backend: &'static str,
        args: &[String],
        nofile: Option<u64>,
    ) -> Server {
        let bin = binary(program);
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
                    "{program} {args:?}: no `listening on` line ({e:?}); stderr:\n{}",
                    server.stderr_now()
                );
            }
        };
        server.addr = parse_listening_line(&line, suffix);
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

    /// The server is still running (else: its exit status and stderr).
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

    /// utime + stime of the server, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        procfs::cpu_ticks(self.pid())
    }

    /// Resident set size in KiB.
    pub fn rss_kib(&self) -> u64 {
        procfs::rss_kib(self.pid())
    }

    /// Voluntary context switches of the server: one each time it blocks,
    /// so a sleeping loop adds none and a timer adds one a tick.
    pub fn wakeups(&self) -> u64 {
        procfs::wakeups(self.pid())
    }

    /// Waits (bounded) until the server has `count` threads whose names
    /// start with `prefix`, all asleep (`S` in `/proc`) twice in a row 2 ms
    /// apart: blocked in their waits, not still starting.
    pub fn wait_threads_asleep(&self, prefix: &str, count: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        let tasks = format!("/proc/{}/task", self.pid());
        let states = || -> Vec<bool> {
            let Ok(dir) = std::fs::read_dir(&tasks) else {
                return Vec::new();
            };
            dir.filter_map(|e| e.ok())
                .filter(|e| {
                    std::fs::read_to_string(e.path().join("comm"))
                        .is_ok_and(|c| c.starts_with(prefix))
                })
                .map(|e| procfs::task_asleep(&e.path()))
                .collect()
        };
        loop {
            let now = states();
            if now.len() == count && now.iter().all(|&s| s) {
                thread::sleep(Duration::from_millis(2));
                let again = states();
                if again.len() == count && again.iter().all(|&s| s) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{prefix}* threads never all slept: {now:?}"
            );
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// Open descriptors of the server.
    pub fn fd_count(&self) -> usize {
        procfs::fd_count(self.pid())
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

/// `listening on <ip:port><suffix>`, exactly (suffix: ` (tcp+udp, backend epoll)`, say).
pub fn parse_listening_line(line: &str, suffix: &str) -> SocketAddr {
    let rest = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let addr = rest
        .strip_suffix(suffix)
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

pub fn udp_roundtrip(s: &UdpSocket, msg: &[u8]) {
    s.send(msg).expect("send datagram");
    let mut buf = vec![0u8; 65_536 + 1];
    let n = s.recv(&mut buf).expect("no datagram back");
    assert_same(&buf[..n], msg, "datagram");
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
    let limit = raise_fd_limit(u64::MAX);
    assert!(
        limit >= need,
        "the hard RLIMIT_NOFILE ({limit}) is below the {need} descriptors this test needs"
    );
}
