//! The core's `tracing` records, forwarded to a foreign `LogSink` (Logcat, os_log, the app's logger).
//!
//! A `tracing_subscriber` layer is installed as the process's global subscriber on the first `set_log_sink`
//! call; later calls swap the sink and the level. The level is checked before a record is formatted, so
//! disabled levels cost one atomic load. The core never logs event names, properties or user ids; records
//! carry a level, the emitting module and a message with the structured fields appended (`key=value`).

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::error::{FootfallError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LogRecord {
    pub level: LogLevel,
    /// The Rust module that logged, e.g. `footfall_core::sync::uploader`.
    pub target: String,
    pub message: String,
}

/// Implemented by the app. Called on whichever SDK thread logged; must not call back into the SDK.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    fn log(&self, record: LogRecord) -> Result<(), FootfallError>;
}

/// 0: off; otherwise the most verbose level forwarded (1 = error … 5 = trace).
static MAX_LEVEL: AtomicU8 = AtomicU8::new(0);
static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);
static INSTALLED: OnceLock<std::result::Result<(), String>> = OnceLock::new();

thread_local! {
    /// Set while a record is in the sink, so a sink that logs through the SDK cannot recurse.
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

/// Sends the SDK's log records at `level` and above to `sink`; `None` stops forwarding. Process-wide.
#[uniffi::export]
pub fn set_log_sink(sink: Option<Arc<dyn LogSink>>, level: LogLevel) -> Result<()> {
    let installed = INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(ForeignLayer);
        tracing::subscriber::set_global_default(subscriber).map_err(|e| e.to_string())
    });
    if let Err(e) = installed {
        return Err(FootfallError::Config { reason: format!("another tracing subscriber is installed: {e}") });
    }
    let enabled = sink.is_some();
    *SINK.write().unwrap_or_else(|p| p.into_inner()) = sink;
    MAX_LEVEL.store(if enabled { rank(level) } else { 0 }, Ordering::Release);
    Ok(())
}

fn rank(level: LogLevel) -> u8 {
    match level {
        LogLevel::Error => 1,
        LogLevel::Warn => 2,
        LogLevel::Info => 3,
        LogLevel::Debug => 4,
        LogLevel::Trace => 5,
    }
}

fn from_tracing(level: &Level) -> LogLevel {
    match *level {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        _ => LogLevel::Trace,
    }
}

struct ForeignLayer;

impl<S: Subscriber> Layer<S> for ForeignLayer {
    /// The level can change at run time, so no call site's interest is cached.
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        rank(from_tracing(metadata.level())) <= MAX_LEVEL.load(Ordering::Acquire)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if IN_SINK.with(Cell::get) {
            return;
        }
        let Some(sink) = SINK.read().unwrap_or_else(|p| p.into_inner()).clone() else { return };
        let mut text = Text::default();
        event.record(&mut text);
        let record = LogRecord {
            level: from_tracing(event.metadata().level()),
            target: event.metadata().target().to_string(),
            message: text.finish(),
        };
        IN_SINK.with(|f| f.set(true));
        // A failing sink has nowhere to report to; the record is dropped.
        let _ = sink.log(record);
        IN_SINK.with(|f| f.set(false));
    }
}

/// The message first, then the other fields as `key=value`.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Text {
    fn finish(mut self) -> String {
        if !self.fields.is_empty() {
            if !self.message.is_empty() {
                self.message.push(' ');
            }
            self.message.push_str(&self.fields);
        }
        self.message
    }

    fn field(&mut self, name: &str, value: std::fmt::Arguments<'_>) {
        if !self.fields.is_empty() {
            self.fields.push(' ');
        }
        let _ = write!(self.fields, "{name}={value}");
    }
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.field(field.name(), format_args!("{value}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.field(field.name(), format_args!("{value:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Collect(Mutex<Vec<LogRecord>>);

    impl LogSink for Collect {
        fn log(&self, record: LogRecord) -> Result<(), FootfallError> {
            // A sink that logs must not recurse.
            tracing::error!("from inside the sink");
            self.0.lock().unwrap().push(record);
            Ok(())
        }
    }

    fn take(sink: &Collect) -> Vec<LogRecord> {
        std::mem::take(&mut *sink.0.lock().unwrap())
    }

    /// One test: the sink is process-wide.
    #[test]
    fn records_are_filtered_by_level_formatted_and_swappable() {
        let sink = Arc::new(Collect::default());
        set_log_sink(Some(sink.clone()), LogLevel::Info).unwrap();
        let reason = "HTTP 503";
        tracing::info!(reason = %reason, retry_in_ms = 1200u64, "upload failed; will retry");
        tracing::debug!("too verbose");
        tracing::warn!(status = 400u16, "rejected");
        let got = take(&sink);
        assert_eq!(
            got,
            vec![
                LogRecord {
                    level: LogLevel::Info,
                    target: module_path!().into(),
                    message: "upload failed; will retry reason=HTTP 503 retry_in_ms=1200".into()
                },
                LogRecord {
                    level: LogLevel::Warn,
                    target: module_path!().into(),
                    message: "rejected status=400".into()
                },
            ]
        );

        set_log_sink(Some(sink.clone()), LogLevel::Debug).unwrap();
        tracing::debug!("now visible");
        tracing::trace!("still not");
        assert_eq!(take(&sink).iter().map(|r| r.message.as_str()).collect::<Vec<_>>(), vec!["now visible"]);

        set_log_sink(None, LogLevel::Trace).unwrap();
        tracing::error!("nobody listens");
        assert!(take(&sink).is_empty());
    }
}
