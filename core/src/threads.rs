//! The SDK's own threads (the writer, the sync thread) and how they are stopped.

use std::thread::JoinHandle;

/// Joins `thread` unless it is the calling one (an app closing from a listener, or from a coroutine resumed on an
/// SDK thread): that thread has been told to stop and ends on its own; joining itself would fail.
pub(crate) fn join_unless_current(thread: JoinHandle<()>) {
    if thread.thread().id() != std::thread::current().id() {
        let _ = thread.join();
    }
}
