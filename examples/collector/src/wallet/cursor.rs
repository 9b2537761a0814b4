//! The feed cursor: opaque to the device (base64url text), two shapes inside.
//!
//! - `v1:<revision>:<expiry>`: everything is known up to wallet revision `revision`, and every coupon that
//!   stopped being usable at or before `expiry` (UTC seconds) is known to have.
//! - `p1:<full|since>:<revision>:<expiry>:<snapshot revision>:<snapshot expiry>:<after>`: the next page of a
//!   listing (full, or since a `v1` point) that started at the snapshot and has listed coupons up to id `after`.
//!   Pages go by coupon id, so a coupon changed while the device pages through is never skipped: it is either
//!   still ahead, or it changed after the snapshot, which the final `v1` cursor names.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

/// A point in the wallet's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    pub revision: i64,
    pub expiry: i64,
}

/// Where the next page of a listing starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    /// `None`: a full listing; otherwise the changes after this point.
    pub since: Option<Mark>,
    /// The listing's snapshot: what the final page's cursor says.
    pub snapshot: Mark,
    /// The last coupon id listed so far.
    pub after: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cursor {
    Since(Mark),
    Page(Page),
}

impl Cursor {
    pub fn encode(&self) -> String {
        let text = match self {
            Cursor::Since(m) => format!("v1:{}:{}", m.revision, m.expiry),
            Cursor::Page(p) => {
                let (kind, since) = match p.since {
                    None => ("full", Mark { revision: 0, expiry: 0 }),
                    Some(m) => ("since", m),
                };
                format!(
                    "p1:{kind}:{}:{}:{}:{}:{}",
                    since.revision, since.expiry, p.snapshot.revision, p.snapshot.expiry, p.after
                )
            }
        };
        B64.encode(text)
    }

    /// The cursor in `text`, or `None` when it is not one this collector made (the feed answers 410).
    pub fn decode(text: &str) -> Option<Cursor> {
        let bytes = B64.decode(text).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let number = |part: Option<&str>| part?.parse::<u64>().ok().and_then(|n| i64::try_from(n).ok());
        if let Some(rest) = text.strip_prefix("v1:") {
            let mut parts = rest.split(':');
            let mark = Mark { revision: number(parts.next())?, expiry: number(parts.next())? };
            return parts.next().is_none().then_some(Cursor::Since(mark));
        }
        let rest = text.strip_prefix("p1:")?;
        // The coupon id is last, so it may hold ':' itself.
        let mut parts = rest.splitn(6, ':');
        let full = match parts.next()? {
            "full" => true,
            "since" => false,
            _ => return None,
        };
        let since = Mark { revision: number(parts.next())?, expiry: number(parts.next())? };
        let snapshot = Mark { revision: number(parts.next())?, expiry: number(parts.next())? };
        let after = parts.next()?.to_string();
        if after.is_empty() || (!full && (since.revision > snapshot.revision || since.expiry > snapshot.expiry)) {
            return None;
        }
        Some(Cursor::Page(Page { since: (!full).then_some(since), snapshot, after }))
    }

    /// The latest point the cursor names, to refuse one from the future.
    pub fn latest(&self) -> Mark {
        match self {
            Cursor::Since(m) => *m,
            Cursor::Page(p) => p.snapshot,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_anything_else_is_refused() {
        let since = Cursor::Since(Mark { revision: 12, expiry: 1_795_342_510 });
        assert_eq!(since.encode(), B64.encode("v1:12:1795342510"));
        assert_eq!(Cursor::decode(&since.encode()), Some(since));
        for page in [
            Page { since: None, snapshot: Mark { revision: 3, expiry: 9 }, after: "a:b".into() },
            Page {
                since: Some(Mark { revision: 1, expiry: 2 }),
                snapshot: Mark { revision: 3, expiry: 9 },
                after: "x".into(),
            },
        ] {
            let cursor = Cursor::Page(page);
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
        for bad in ["", "!!", "v1:1", "v1:1:2:3", "v1:-1:2", "v2:1:2", "p1:full:0:0:1:1:", "p1:since:5:0:1:1:x"] {
            assert_eq!(Cursor::decode(&B64.encode(bad)), None, "{bad}");
        }
        assert_eq!(Cursor::decode("not base64url!"), None);
    }
}
