//! The command line of `echo_multi` (see [`super`]), parsed and checked.
//! Every mistake is one message and exit status 2.

use std::num::NonZeroU32;

use sockpoll::event::{BackendKind, Mode, BACKEND_ENV};

use crate::program::args::{mode, positional};

/// Served when no ADDR is given.
const DEFAULT_ADDR: &str = "127.0.0.1:7007";

pub const USAGE: &str = "usage: echo_multi [--loops N] [--balance reuseport|exclusive|handoff] [--backend select|poll|epoll|uring] [--mode level|edge|oneshot] [--rearm K] [--pin] [-v] [ADDR]";

/// How connections are shared among the loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    /// One `SO_REUSEPORT` listener per loop: the kernel hashes each
    /// connection to one of them.
    Reuseport,
    /// One listener in every loop's selector with `Interest::EXCLUSIVE`,
    /// re-added every `--rearm` accepts.
    Exclusive,
    /// One acceptor thread; each connection to the loop with fewer
    /// connections of two picked at random, through its `notify`.
    Handoff,
}

impl Balance {
    pub fn name(self) -> &'static str {
        match self {
            Balance::Reuseport => "reuseport",
            Balance::Exclusive => "exclusive",
            Balance::Handoff => "handoff",
        }
    }
}

/// What to run.
#[derive(Debug)]
pub struct Args {
    pub loops: usize,
    pub balance: Balance,
    pub backend: BackendKind,
    pub mode: Mode,
    /// `--rearm K`: re-add the exclusive listener every K accepts (`None`:
    /// `--rearm 0`, never).
    pub rearm: Option<NonZeroU32>,
    /// Pin loop `i` to CPU `i` (modulo the CPUs the process may use).
    pub pin: bool,
    pub verbose: bool,
    pub addr: String,
}

/// Parses the arguments after the program's name; `Ok(None)` is `--help`.
pub fn parse(mut it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let env = std::env::var(BACKEND_ENV).ok();
    let mut a = Args {
        loops: std::thread::available_parallelism().map_or(1, |n| n.get()),
        balance: Balance::Reuseport,
        backend: BackendKind::from_env_value(env.as_deref()).map_err(|e| e.to_string())?,
        mode: Mode::Level,
        rearm: NonZeroU32::new(16),
        pin: false,
        verbose: false,
        addr: DEFAULT_ADDR.to_string(),
    };
    let mut addr = None;
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "-v" | "--verbose" => a.verbose = true,
            "--pin" => a.pin = true,
            "--loops" => {
                let v = value("--loops")?;
                a.loops = match v.parse::<usize>() {
                    Ok(n) if (1..=1024).contains(&n) => n,
                    _ => return Err(format!("bad value for --loops: {v:?} (1 to 1024)")),
                };
            }
            "--balance" => {
                a.balance = match value("--balance")?.as_str() {
                    "reuseport" => Balance::Reuseport,
                    "exclusive" => Balance::Exclusive,
                    "handoff" => Balance::Handoff,
                    other => {
                        return Err(format!(
                            "bad value for --balance: {other:?} (expected reuseport, exclusive or handoff)"
                        ))
                    }
                };
            }
            "--backend" => {
                let v = value("--backend")?;
                a.backend = v
                    .parse()
                    .map_err(|e| format!("bad value for --backend: {e}"))?;
            }
            "--mode" => a.mode = mode(Some(&value("--mode")?))?,
            "--rearm" => {
                let v = value("--rearm")?;
                a.rearm = NonZeroU32::new(
                    v.parse()
                        .map_err(|_| format!("bad value for --rearm: {v:?} (0 = never)"))?,
                );
            }
            _ => positional(arg, &mut addr)?,
        }
    }
    if let Some(addr) = addr {
        a.addr = addr;
    }
    if a.balance == Balance::Exclusive && a.mode.is_oneshot() {
        return Err("--balance exclusive needs --mode level or edge (the kernel refuses an exclusive oneshot registration)".to_string());
    }
    Ok(Some(a))
}
