//! What Linux says about this process: its resident memory and its threads' context switches (`/proc/self`).
//! Elsewhere every answer is `None` or empty, and the bench reports null.

use std::collections::HashMap;

/// The SDK names its threads `footfall-…`; the main thread (named after the binary) is never counted.
const SDK_THREAD_PREFIX: &str = "footfall-";

pub fn supported() -> bool {
    cfg!(target_os = "linux") && std::path::Path::new("/proc/self/task").is_dir()
}

/// VmRSS in KiB.
pub fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    field(&status, "VmRSS:")
}

/// Thread id → (name, voluntary + involuntary context switches) for each live SDK thread. Every wake-up of a
/// sleeping thread is a voluntary switch when it sleeps again; preemptions are the involuntary ones. A thread can
/// be missed while another thread of the process exits (the kernel lists tasks by position); the bench reads
/// while the SDK is idle, when none does.
pub fn sdk_switches() -> HashMap<u64, (String, u64)> {
    let mut threads = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return threads };
    let main = u64::from(std::process::id());
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse::<u64>().ok()).filter(|t| *t != main) else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else { continue };
        let name = status.lines().find_map(|l| l.strip_prefix("Name:")).unwrap_or("").trim().to_string();
        if !name.starts_with(SDK_THREAD_PREFIX) {
            continue;
        }
        let switches = field(&status, "voluntary_ctxt_switches:").unwrap_or(0)
            + field(&status, "nonvoluntary_ctxt_switches:").unwrap_or(0);
        threads.insert(tid, (name, switches));
    }
    threads
}

/// The first number after `key` on its line.
fn field(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_first_number_of_a_field_and_not_its_longer_namesakes() {
        let status =
            "Name:\tfootfall-sync\nVmRSS:\t  1234 kB\nvoluntary_ctxt_switches:\t7\nnonvoluntary_ctxt_switches:\t3\n";
        assert_eq!(field(status, "VmRSS:"), Some(1234));
        assert_eq!(field(status, "voluntary_ctxt_switches:"), Some(7));
        assert_eq!(field(status, "nonvoluntary_ctxt_switches:"), Some(3));
        assert_eq!(field(status, "VmHWM:"), None);
    }

    #[test]
    fn counts_only_threads_named_by_the_sdk() {
        if !supported() {
            return;
        }
        let (started, running) = std::sync::mpsc::channel();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        // std names a thread before running its closure, so once it reports in, its name is visible.
        let handle = std::thread::Builder::new()
            .name("footfall-probe".into())
            .spawn(move || {
                let _ = started.send(());
                let _ = stopped.recv();
            })
            .expect("a thread");
        running.recv().expect("the thread started");
        // Listing /proc/self/task can skip a live thread when another one exits meanwhile (the kernel walks the
        // thread list by position), as other tests' threads do: a few listings, not one.
        let found = (0..5).any(|_| sdk_switches().values().any(|(name, _)| name == "footfall-probe"));
        drop(stop);
        handle.join().expect("joined");
        assert!(found, "the named thread is listed");
        assert!(sdk_switches().values().all(|(name, _)| name.starts_with(SDK_THREAD_PREFIX)));
        assert!(rss_kib().is_some_and(|kib| kib > 0));
    }
}
