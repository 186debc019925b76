//! How busy the machine was with other work while we measured: the whole machine's busy CPU
//! time from `/proc/stat` minus this process's own from `/proc/self/stat`, per second of wall
//! time, in cores. It shows the fuzz campaign sharing the machine. Linux only; zero elsewhere.

use std::time::Instant;

/// A reading of the counters.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    at: Instant,
    machine_busy: u64,
    own_busy: u64,
}

fn ticks_per_second() -> f64 {
    // USER_HZ is 100 on every Linux architecture we run on.
    100.0
}

fn machine_busy() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else { return 0 };
    let fields: Vec<u64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal guest guest_nice
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    total.saturating_sub(idle)
}

fn own_busy() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name may contain spaces: fields start after the last ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return 0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state(0) ... utime is field 14 overall, i.e. index 11 here; stime index 12.
    let utime: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0);
    let stime: u64 = fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
    utime + stime
}

impl Sample {
    pub fn now() -> Self {
        Self { at: Instant::now(), machine_busy: machine_busy(), own_busy: own_busy() }
    }

    /// (other work, this process) in cores, averaged since `self`.
    pub fn cores_since(&self) -> (f64, f64) {
        let now = Self::now();
        let secs = now.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let machine = now.machine_busy.saturating_sub(self.machine_busy) as f64 / ticks_per_second();
        let own = now.own_busy.saturating_sub(self.own_busy) as f64 / ticks_per_second();
        (((machine - own) / secs).max(0.0), own / secs)
    }
}

/// The number of online CPUs.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
