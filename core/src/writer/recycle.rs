//! Message buffers handed back by the writer after a commit, for the next `track()` to write into. Steady state,
//! the path from `track()` to disk then allocates and frees no message text at all; and what the writer would
//! otherwise free belongs to the caller's heap (glibc makes that free wait for the caller's arena lock).

use std::sync::Mutex;

/// Buffers kept at most: a group's worth, so a burst after a commit finds one each.
const MAX_KEPT: usize = 2_048;
/// A buffer grown past this (one large event) is freed rather than kept: the pool stays under ~2 MB.
const MAX_CAPACITY: usize = 1_024;
/// What a new buffer is sized for: a typical retail event's name, properties and purpose.
const NEW_CAPACITY: usize = 256;

#[derive(Default)]
pub(crate) struct BufferPool {
    free: Mutex<Vec<String>>,
}

impl BufferPool {
    /// An empty buffer: a recycled one when there is one.
    pub(crate) fn take(&self) -> String {
        let recycled = self.free.lock().ok().and_then(|mut free| free.pop());
        recycled.unwrap_or_else(|| String::with_capacity(NEW_CAPACITY))
    }

    /// Keeps what fits of `buffers` (one lock for the lot).
    pub(crate) fn give_back(&self, buffers: impl IntoIterator<Item = String>) {
        let Ok(mut free) = self.free.lock() else { return };
        for mut buffer in buffers {
            if free.len() >= MAX_KEPT {
                break;
            }
            if buffer.capacity() <= MAX_CAPACITY {
                buffer.clear();
                free.push(buffer);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        self.free.lock().map(|f| f.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_is_the_next_one_taken() {
        let pool = BufferPool::default();
        let mut buffer = pool.take();
        buffer.push_str("product_viewed{\"sku\":\"1\"}analytics");
        let address = buffer.as_ptr();
        pool.give_back([buffer]);
        let again = pool.take();
        assert_eq!(again.as_ptr(), address, "the same allocation comes back");
        assert!(again.is_empty(), "emptied before reuse");
    }

    #[test]
    fn large_buffers_are_freed_and_the_pool_is_bounded() {
        let pool = BufferPool::default();
        pool.give_back([String::with_capacity(MAX_CAPACITY + 1)]);
        assert_eq!(pool.kept(), 0, "one large event does not pin its buffer");
        pool.give_back((0..MAX_KEPT + 10).map(|_| String::with_capacity(64)));
        assert_eq!(pool.kept(), MAX_KEPT);
    }

    #[test]
    fn committed_messages_give_their_buffers_back_and_track_reuses_them() {
        let dir = tempfile::tempdir().unwrap();
        let sdk = crate::Footfall::open(crate::Config::new(dir.path())).unwrap();
        let event = |purpose| {
            crate::Event::new("product_viewed").properties(serde_json::json!({"sku": "4901234567894"})).purpose(purpose)
        };
        sdk.grant(&["analytics"], crate::consent::record::Method::Api).unwrap();
        for _ in 0..10 {
            sdk.track(event("analytics")).unwrap();
        }
        sdk.flush_to_disk().unwrap();
        assert_eq!(sdk.status().unwrap().pending, 10);
        // Ten buffers if the writer took all ten at once, fewer if a later track() already reused one.
        let kept = sdk.recycled_buffers();
        assert!((1..=10).contains(&kept), "stored messages' buffers are kept for reuse: {kept}");
        sdk.track(event("analytics")).unwrap();
        assert_eq!(sdk.recycled_buffers(), kept - 1, "the next track() wrote into one of them");
        sdk.flush_to_disk().unwrap();
        assert_eq!(sdk.recycled_buffers(), kept, "and it came back after its commit");
        sdk.close();
    }
}
