//! Event ids: UUIDv7 stamped with the injected clock's milliseconds and OS randomness drawn in blocks.
//! `Uuid::now_v7()` makes one `getrandom` syscall per id, which costs more than the rest of `track()` together.

use std::sync::Mutex;

use uuid::{Builder, Uuid};

/// Random bytes fetched per syscall: 409 ids' worth.
const POOL_BYTES: usize = 4096;
const ID_RANDOM_BYTES: usize = 10;

pub(crate) struct IdGenerator {
    pool: Mutex<Pool>,
}

struct Pool {
    bytes: [u8; POOL_BYTES],
    used: usize,
    /// Fallback if the OS refuses randomness (never seen in practice): still unique per install, not secret.
    fallback: fastrand::Rng,
}

impl Default for IdGenerator {
    fn default() -> Self {
        IdGenerator {
            pool: Mutex::new(Pool { bytes: [0; POOL_BYTES], used: POOL_BYTES, fallback: fastrand::Rng::new() }),
        }
    }
}

impl IdGenerator {
    /// A UUIDv7 for an event recorded at `unix_ms`.
    pub fn next(&self, unix_ms: i64) -> Uuid {
        let mut random = [0u8; ID_RANDOM_BYTES];
        {
            let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
            if pool.used + ID_RANDOM_BYTES > POOL_BYTES {
                pool.refill();
            }
            let start = pool.used;
            random.copy_from_slice(&pool.bytes[start..start + ID_RANDOM_BYTES]);
            pool.used += ID_RANDOM_BYTES;
        }
        Builder::from_unix_timestamp_millis(unix_ms.max(0) as u64, &random).into_uuid()
    }
}

impl Pool {
    fn refill(&mut self) {
        if getrandom::fill(&mut self.bytes).is_err() {
            let Pool { bytes, fallback, .. } = self;
            fallback.fill(bytes);
        }
        self.used = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_carry_the_timestamp_and_do_not_repeat() {
        let ids = IdGenerator::default();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..3 * (POOL_BYTES / ID_RANDOM_BYTES) {
            let id = ids.next(1_795_000_000_123);
            assert_eq!(id.get_version_num(), 7);
            let (secs, nanos) = id.get_timestamp().expect("v7 has a timestamp").to_unix();
            assert_eq!(secs * 1000 + u64::from(nanos / 1_000_000), 1_795_000_000_123);
            assert!(seen.insert(id), "repeated id {id}");
        }
    }
}
