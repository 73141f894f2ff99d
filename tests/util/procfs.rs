//! What `/proc/PID` tells about another process: CPU time, memory,
//! wake-ups, open descriptors, whether a thread sleeps. Linux only, like
//! the tests that read it.

use std::path::{Path, PathBuf};

fn path(pid: i32, file: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{file}"))
}

fn status_field(pid: i32, name: &str) -> String {
    let status = std::fs::read_to_string(path(pid, "status")).expect("read /proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("{name} in /proc/PID/status"))
}

/// utime + stime of process `pid`, in clock ticks.
pub fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(path(pid, "stat")).expect("read /proc/PID/stat");
    // Fields after the command name (which may contain spaces): state is
    // field 3, utime 14, stime 15.
    let after = &stat[stat.rfind(')').expect("comm") + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields[11].parse().expect("utime");
    let stime: u64 = fields[12].parse().expect("stime");
    utime + stime
}

/// Resident set size of process `pid`, in KiB.
pub fn rss_kib(pid: i32) -> u64 {
    status_field(pid, "VmRSS:")
        .trim_end_matches("kB")
        .trim()
        .parse()
        .expect("VmRSS in /proc/PID/status")
}

/// Voluntary context switches of process `pid`: one each time it blocks,
/// so a sleeping loop adds none and a timer adds one a tick.
pub fn wakeups(pid: i32) -> u64 {
    status_field(pid, "voluntary_ctxt_switches:")
        .parse()
        .expect("voluntary_ctxt_switches in /proc/PID/status")
}

/// Open descriptors of process `pid`.
pub fn fd_count(pid: i32) -> usize {
    std::fs::read_dir(path(pid, "fd"))
        .expect("read /proc/PID/fd")
        .count()
}

/// Whether the thread whose `/proc` directory is `task` (`/proc/PID/task/TID`)
/// is asleep (state `S`): blocked in a wait, for a loop thread. False when
/// it cannot be read (gone, or not yet there).
pub fn task_asleep(task: &Path) -> bool {
    let stat = std::fs::read_to_string(task.join("stat")).unwrap_or_default();
    // "tid (comm) S ...": the state follows the last ')'.
    stat.rsplit_once(") ")
        .is_some_and(|(_, rest)| rest.starts_with('S'))
}
