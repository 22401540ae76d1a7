//! What the process uses: RSS and its peak (`/proc/self/status`), CPU by thread kind
//! (`/proc/self/task/*/stat`), and where the resident memory is (`/proc/self/smaps`).

use std::collections::HashMap;
use std::time::Duration;

use crate::spec::total_objects;

/// A `/proc/self/status` figure in MiB (`VmRSS`, `VmHWM`).
pub fn mem_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU seconds used so far by this process's threads, summed by thread kind: `main` (the bench's
/// own task, which runs `run_due_jobs`), `tokio` (the runtime's workers: the list server, the HTTP
/// connections), `sqlite` (sqlx's one thread per pooled SQLite connection) and `other`.
pub fn cpu_by_thread() -> HashMap<&'static str, f64> {
    // USER_HZ is 100 on every Linux this runs on.
    const TICK: f64 = 0.01;
    let mut out = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        // After the name: state (field 3) … utime (14), stime (15).
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ticks: f64 = fields
            .get(11..13)
            .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
            .unwrap_or(0.0);
        let kind = if comm.starts_with("tokio-") {
            "tokio"
        } else if comm.starts_with("sqlx-sqlite") {
            "sqlite"
        } else if task.file_name().to_str() == Some(&std::process::id().to_string()) {
            "main"
        } else {
            "other"
        };
        *out.entry(kind).or_insert(0.0) += ticks * TICK;
    }
    out
}

/// `after - before`, by thread kind, as one line; `workers` names what the runtime's workers do.
pub fn cpu_line(before: &HashMap<&'static str, f64>, wall: Duration, workers: &str) -> String {
    let after = cpu_by_thread();
    let used =
        |k: &str| after.get(k).copied().unwrap_or(0.0) - before.get(k).copied().unwrap_or(0.0);
    let total: f64 = ["main", "tokio", "sqlite", "other"]
        .iter()
        .map(|k| used(k))
        .sum();
    format!(
        "CPU {total:.2} s in {:.2} s wall ({:.2} cores; {:.1} µs/object): sync task (main thread) {:.2} s, {workers} {:.2} s, SQLite threads {:.2} s, other {:.2} s",
        wall.as_secs_f64(),
        total / wall.as_secs_f64(),
        total * 1e6 / total_objects() as f64,
        used("main"),
        used("tokio"),
        used("sqlite"),
        used("other"),
    )
}

/// Resets the peak (`VmHWM`) to the current RSS (Linux ≥ 4.0); whether it could.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The load average (1, 5, 15 minutes), as `/proc/loadavg` gives it.
pub fn loadavg() -> String {
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    loadavg
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `/proc/self/status` count (`Threads`).
pub fn status_count(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Where the resident memory is now, from `/proc/self/smaps`: the program's file, the shared
/// libraries, glibc's main heap (`[heap]`), the main stack, and the anonymous mappings (glibc's
/// per-thread arenas, reserved 64 MiB at a time; thread stacks; large blocks `mmap`ped alone),
/// largest first. In MiB, as lines.
pub fn smaps_breakdown() -> Vec<String> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    // (name, size kB, rss kB, readable) of each mapping.
    let mut maps: Vec<(String, u64, u64, bool)> = Vec::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if first.contains('-') && !first.ends_with(':') {
            // A mapping's header: range perms offset dev inode [path].
            let readable = fields.next().is_some_and(|p| p.starts_with('r'));
            let path = fields.nth(3).unwrap_or("").to_owned();
            maps.push((path, 0, 0, readable));
        } else if let (Some(last), Some(kb)) = (
            maps.last_mut(),
            fields.next().and_then(|v| v.parse::<u64>().ok()),
        ) {
            match first {
                "Size:" => last.1 = kb,
                "Rss:" => last.2 = kb,
                _ => {}
            }
        }
    }
    let mib = |kb: u64| kb as f64 / 1024.0;
    let sum = |keep: &dyn Fn(&str) -> bool| -> (usize, u64) {
        maps.iter()
            .filter(|m| keep(&m.0))
            .fold((0, 0), |(n, kb), m| (n + usize::from(m.2 > 0), kb + m.2))
    };
    let total = sum(&|_| true).1;
    let (_, binary) = sum(&|p| p == exe);
    let (libs_n, libs) = sum(&|p| p.starts_with('/') && p != exe);
    let (_, heap) = sum(&|p| p == "[heap]");
    let (_, stack) = sum(&|p| p == "[stack]");
    let (anon_n, anon) = sum(&|p| p.is_empty());
    let (_, other) = sum(&|p| p.starts_with('[') && p != "[heap]" && p != "[stack]");
    // Unreadable anonymous mappings: what glibc reserved for its arenas and the guard pages.
    let (reserved_n, reserved) = maps
        .iter()
        .filter(|m| m.0.is_empty() && !m.3)
        .fold((0, 0), |(n, kb), m| (n + 1, kb + m.1));
    let mut anon_maps: Vec<(u64, u64)> = maps
        .iter()
        .filter(|m| m.0.is_empty() && m.3)
        .map(|m| (m.2, m.1))
        .collect();
    anon_maps.sort_unstable_by(|a, b| b.cmp(a));
    let largest: Vec<String> = anon_maps
        .iter()
        .take(8)
        .map(|(rss, size)| format!("{:.1} of {:.1}", mib(*rss), mib(*size)))
        .collect();
    vec![
        format!(
            "RSS {:.1} MiB now = the program's file {:.1} + shared libraries {:.1} ({libs_n} mappings) + [heap] (glibc's main arena) {:.1} + [stack] {:.1} + anonymous {:.1} ({anon_n} mappings) + other {:.1}",
            mib(total),
            mib(binary),
            mib(libs),
            mib(heap),
            mib(stack),
            mib(anon),
            mib(other)
        ),
        format!(
            "largest readable anonymous mappings, MiB resident of mapped (glibc's thread arenas, thread stacks, blocks mmapped alone): {}; and {reserved_n} unreadable ones, {:.1} MiB, none resident (the rest of the arenas' 64 MiB reservations, guard pages)",
            largest.join(", "),
            mib(reserved)
        ),
        format!(
            "{} threads; /proc/self/status: RssAnon {:.1} MiB, RssFile {:.1} MiB",
            status_count("Threads"),
            mem_mib("RssAnon"),
            mem_mib("RssFile")
        ),
    ]
}
