//! The command line of `echo_<backend>`: `[--mode level|edge|oneshot] [-v]
//! [ADDR]`. Every mistake is one message and exit status 2.

use sockpoll::event::Mode;

use crate::server::Options;

/// Served when no ADDR is given.
const DEFAULT_ADDR: &str = "127.0.0.1:7007";

/// What the command line asks for.
pub enum Command {
    /// `-h` or `--help`: print the usage line and exit 0.
    Help,
    /// Serve `addr` (a host name or address, resolved later) with `opts`.
    Serve { opts: Options, addr: String },
}

/// The one-line usage of the program called `name`.
pub fn usage(name: &str) -> String {
    format!(
        "usage: {name} [--mode level|edge|oneshot] [-v] [ADDR]   (ADDR defaults to {DEFAULT_ADDR})"
    )
}

/// Parses the arguments after the program's name. An error is the message
/// to print after the name; the first mistake wins, and so does `--help`
/// when it comes first.
pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut opts = Options::default();
    let mut addr = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-v" | "--verbose" => opts.verbose = true,
            "--mode" => opts.mode = mode(args.next().as_deref())?,
            _ => positional(arg, &mut addr)?,
        }
    }
    let addr = addr.unwrap_or_else(|| DEFAULT_ADDR.to_string());
    Ok(Command::Serve { opts, addr })
}

/// An argument no option took: the one ADDR (`-[v6]:port`-style
/// addresses included), or a mistake — an unknown option, a second ADDR.
pub(crate) fn positional(arg: String, addr: &mut Option<String>) -> Result<(), String> {
    if arg.starts_with('-') && arg.len() > 1 && !arg.starts_with("-[") {
        return Err(format!("unknown option {arg:?} (try --help)"));
    }
    if addr.is_some() {
        return Err(format!(
            "unexpected argument {arg:?}: only one ADDR (try --help)"
        ));
    }
    *addr = Some(arg);
    Ok(())
}

/// The value of `--mode`.
pub(crate) fn mode(value: Option<&str>) -> Result<Mode, String> {
    match value {
        Some("level") => Ok(Mode::Level),
        Some("edge") => Ok(Mode::Edge),
        Some("oneshot") => Ok(Mode::Oneshot),
        Some(other) => Err(format!(
            "bad value for --mode: {other:?} (expected level, edge or oneshot)"
        )),
        None => Err("--mode needs a value: level, edge or oneshot".to_string()),
    }
}
