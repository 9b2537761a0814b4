//! Why a campaign document was refused. Every error names where it is (the campaign id, or the top-level member)
//! and what is wrong, so a product team can fix the console entry without reading SDK logs in detail.

/// Why the proximity campaigns of a remote config were refused (the SDK then keeps the campaigns it had).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CampaignError {
    #[error("the config is not valid JSON of the expected shape: {0}")]
    Shape(String),
    #[error("the document names a member twice: {0}")]
    RepeatedMember(String),
    #[error("proximity.{member}: {problem}")]
    Document { member: &'static str, problem: Problem },
    #[error("campaign '{campaign}': {problem}")]
    Campaign { campaign: String, problem: Problem },
    #[error("campaign '{0}' is declared twice")]
    DuplicateCampaign(String),
    #[error("campaign '{campaign}' names zone '{zone}', which the zones do not declare")]
    UnknownZone { campaign: String, zone: String },
}

/// What is wrong with one member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("not of the expected shape: {0}")]
    Shape(String),
    #[error("the id is not 1 to 64 of a-z 0-9 _ - . /")]
    BadId,
    #[error("zones is empty: a campaign must name at least one zone")]
    NoZones,
    #[error("zone '{0}' is empty, longer than 128 characters or listed twice")]
    BadZone(String),
    #[error("trigger '{0}' is neither 'enter' nor 'dwell'")]
    UnknownTrigger(String),
    #[error("{member} '{value}' is not a time of day HH:MM (00:00 to 23:59)")]
    BadTime { member: &'static str, value: String },
    #[error("{member} from {from} to {from}: a span must not start where it ends")]
    EmptySpan { member: &'static str, from: String },
    #[error("day '{0}' is not one of mon tue wed thu fri sat sun")]
    UnknownDay(String),
    #[error("a window lists no days (omit days for every day)")]
    NoDays,
    #[error("windows is empty (omit it to run at any time)")]
    NoWindows,
    #[error("{member} '{value}' is not an RFC 3339 instant with an offset (2026-12-01T00:00:00Z)")]
    BadInstant { member: &'static str, value: String },
    #[error("endsAt is not after startsAt")]
    EndsNotAfterStart,
    #[error("{member} must be a whole number from {min} to {max}")]
    OutOfRange { member: &'static str, min: u64, max: u64 },
    #[error("offer.{0} is required (a copy key the app resolves) and at most 256 characters")]
    MissingCopy(&'static str),
    #[error("offer.couponId is empty, longer than 128 characters or holds spaces or control characters")]
    BadCouponId,
    #[error("audience.event '{0}' is not an event name")]
    BadEvent(String),
    #[error("audience.where.{member}: {reason}")]
    BadWhere { member: String, reason: &'static str },
}

/// At most 64 characters of an input echoed in an error, so a huge value cannot make a huge message.
pub(super) fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}
