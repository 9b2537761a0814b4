//! Helpers for the cross-process and fault tests: locate the `footfall` binary, start a collector on loopback,
//! and wait for conditions with a deadline (never a fixed sleep).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use footfall_collector::{Collector, CollectorConfig};

/// The vector called `name` in `tests/tcf-vectors/vectors.json` (TC strings encoded and decoded by the IAB's
/// `@iabtcf/core`): its `tc_string`, segments and the library's decoding under `expected`.
pub fn tcf_vector(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tcf-vectors/vectors.json");
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let found = file["vectors"].as_array().unwrap().iter().find(|v| v["name"] == name).cloned();
    found.unwrap_or_else(|| panic!("no vector {name}"))
}

/// The `footfall` binary built by the test script (`FOOTFALL_BIN` overrides).
pub fn footfall_bin() -> PathBuf {
    if let Ok(path) = std::env::var("FOOTFALL_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    for profile in ["debug", "release"] {
        let candidate = target.join(profile).join("footfall");
        if candidate.exists() {
            return candidate;
        }
    }
    panic!(
        "footfall binary not found under {}; run `cargo build -p footfall-cli` first (scripts/test.sh does)",
        target.display()
    );
}

pub fn footfall(args: &[&str]) -> Output {
    Command::new(footfall_bin()).args(args).output().expect("run footfall")
}

/// A collector on an ephemeral loopback port with its database in `dir`.
pub fn collector_in(dir: &Path, adjust: impl FnOnce(&mut CollectorConfig)) -> Collector {
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), dir.join("collector.db"));
    adjust(&mut config);
    Collector::start(config).expect("collector starts")
}

/// Polls `condition` until it holds; panics with `what` after `timeout`. For conditions another process
/// produces, where no channel exists to wait on.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
