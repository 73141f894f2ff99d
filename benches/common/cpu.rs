//! Where a bench thread runs and what it spent: pinning to a CPU, and a
//! thread's CPU time read from procfs.

/// Pins the calling thread to `cpu` when the machine has it; a failure is
/// only noise, never an error.
pub fn pin_to(cpu: usize) {
    use nix::sched::{sched_setaffinity, CpuSet};
    use nix::unistd::Pid;
    let have = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpu >= have {
        return;
    }
    let mut set = CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = sched_setaffinity(Pid::from_raw(0), &set);
    }
}

/// The CPU time of thread `tid` of this process: ns on CPU from
/// `/proc/self/task/TID/schedstat` and utime+stime clock ticks from `.../stat`
/// (0 when unreadable: a bench reports it, never fails on it).
pub fn thread_cpu(tid: i32) -> (u64, u64) {
    let base = format!("/proc/self/task/{tid}");
    let ns = std::fs::read_to_string(format!("{base}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let ticks = std::fs::read_to_string(format!("{base}/stat"))
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 1..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    (ns, ticks)
}
