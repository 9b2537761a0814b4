//! Coupon definitions: what an operator states (`footfall collector coupon add`), how it is stored, and the grant
//! the issuer signs from it for one holder's serial.

use footfall_core::wallet::{
    display_terms_ref, Discount, Eligibility, Grant, Gtin, IssuerSigner, LocalDate, LocalDates, OfflinePolicy, Validity,
};
use serde::Serialize;

use super::db;
use crate::db::{args, DatabaseUrl, DbError, Lock, Row, Sql};
use crate::error::CollectorError;
use crate::store::Store;
use crate::timefmt::{now_rfc3339_ms, unix_now_secs};

/// Longest coupon title, in characters (it is shown on a phone).
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest terms text, in characters (it travels in every feed answer that lists the coupon).
pub const MAX_TERMS_CHARS: usize = 4000;

/// A coupon as the operator states it. Validity is store-local days in an IANA zone; the UTC bounds that decide
/// are derived from them when the coupon is added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponSpec {
    /// 1-32 printable ASCII characters.
    pub id: String,
    pub title: String,
    pub terms: String,
    pub discount: Discount,
    /// ISO 4217 (`EUR`); the unit of an amount discount and of `min_basket_minor`.
    pub currency: String,
    /// The eligible items; empty: any item.
    pub gtins: Vec<Gtin>,
    pub min_basket_minor: u64,
    /// At most one coupon of a group applies to a basket; `None` stacks with anything.
    pub stack_group: Option<String>,
    /// Uses of each holder's serial.
    pub max_uses: u32,
    pub offline: OfflinePolicy,
    /// The first store-local day; `None`: today in `zone`.
    pub valid_from: Option<LocalDate>,
    /// The last store-local day (the coupon is usable to its end, plus the grace).
    pub valid_until: LocalDate,
    pub zone: String,
    pub grace_secs: u32,
    /// Only this user id (`X-Footfall-User-Id`) gets the coupon; `None`: every holder gets one.
    pub user: Option<String>,
}

impl CouponSpec {
    /// A single-use coupon for every holder, on any item, accepted offline with no further limit.
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        discount: Discount,
        currency: impl Into<String>,
        valid_until: LocalDate,
        zone: impl Into<String>,
    ) -> Self {
        CouponSpec {
            id: id.into(),
            title: title.into(),
            terms: String::new(),
            discount,
            currency: currency.into(),
            gtins: Vec::new(),
            min_basket_minor: 0,
            stack_group: None,
            max_uses: 1,
            offline: OfflinePolicy { accepted: true, max_uses: 1, max_value_minor: UNLIMITED_VALUE },
            valid_from: None,
            valid_until,
            zone: zone.into(),
            grace_secs: 0,
            user: None,
        }
    }
}

/// "No limit" for the offline value: the largest amount the database stores.
pub const UNLIMITED_VALUE: u64 = i64::MAX as u64;

/// A stored coupon, with its derived validity and change bookkeeping.
#[derive(Debug, Clone)]
pub(crate) struct CouponRow {
    pub id: String,
    pub title: String,
    pub terms: String,
    pub discount: Discount,
    pub currency: String,
    pub gtins: Vec<Gtin>,
    pub min_basket_minor: u64,
    pub stack_group: Option<String>,
    pub uses_allowed: u32,
    pub offline: OfflinePolicy,
    pub validity: Validity,
    pub revoked_at: Option<i64>,
    pub revision: i64,
}

#[derive(Serialize)]
struct Display<'a> {
    title: &'a str,
    terms: &'a str,
}

impl CouponRow {
    /// The display document (`{"title","terms"}`, UTF-8 JSON) whose hash the grant signs as its terms reference.
    pub fn display(&self) -> Vec<u8> {
        serde_json::to_vec(&Display { title: &self.title, terms: &self.terms }).unwrap_or_default()
    }

    /// The grant for one holder's serial (unsigned).
    pub fn grant(&self, serial: &str) -> Grant {
        Grant {
            coupon_id: self.id.clone(),
            serial: serial.to_string(),
            terms_ref: display_terms_ref(&self.display()),
            currency: self.currency.clone(),
            discount: self.discount,
            eligibility: if self.gtins.is_empty() {
                Eligibility::AnyItem
            } else {
                Eligibility::Gtins(self.gtins.clone())
            },
            min_basket_minor: self.min_basket_minor,
            stack_group: self.stack_group.clone(),
            uses_allowed: self.uses_allowed,
            validity: self.validity.clone(),
            offline: self.offline,
        }
    }

    /// When the coupon stops being usable: its end plus the grace.
    pub fn usable_until(&self) -> i64 {
        self.validity.not_after.saturating_add(i64::from(self.validity.grace_secs))
    }
}

const COLUMNS: &str = "coupon_id, title, terms, currency, discount_kind, discount_value, gtins, min_basket_minor, \
    stack_group, uses_allowed, offline_accepted, offline_max_uses, offline_max_value_minor, first_day, last_day, zone, \
    not_before, not_after, grace_secs, revoked_at, revision";

fn corrupt(column: usize, what: impl std::fmt::Display) -> DbError {
    DbError::Conversion(format!("wallet_coupons column {column}: {what}"))
}

fn from_row(r: &Row) -> Result<CouponRow, DbError> {
    let unsigned = |i: usize| -> Result<u64, DbError> {
        u64::try_from(r.get::<i64>(i)?).map_err(|_| corrupt(i, "a negative count"))
    };
    let small = |i: usize| -> Result<u32, DbError> {
        u32::try_from(r.get::<i64>(i)?).map_err(|_| corrupt(i, "a count out of range"))
    };
    let kind: String = r.get(4)?;
    let value = unsigned(5)?;
    let discount = match kind.as_str() {
        "percent" => Discount::Percent {
            basis_points: u16::try_from(value).map_err(|_| corrupt(5, "basis points out of range"))?,
        },
        _ => Discount::Amount { minor: value },
    };
    let gtins: String = r.get(6)?;
    let gtins = gtins
        .split(',')
        .filter(|g| !g.is_empty())
        .map(|g| Gtin::parse(g).map_err(|e| corrupt(6, e)))
        .collect::<Result<Vec<_>, _>>()?;
    let date =
        |i: usize| -> Result<LocalDate, DbError> { LocalDate::parse(&r.get::<String>(i)?).map_err(|e| corrupt(i, e)) };
    let local = LocalDates { first_day: date(13)?, last_day: date(14)?, zone: r.get(15)? };
    Ok(CouponRow {
        id: r.get(0)?,
        title: r.get(1)?,
        terms: r.get(2)?,
        currency: r.get(3)?,
        discount,
        gtins,
        min_basket_minor: unsigned(7)?,
        stack_group: r.get(8)?,
        uses_allowed: small(9)?,
        offline: OfflinePolicy { accepted: r.get::<bool>(10)?, max_uses: small(11)?, max_value_minor: unsigned(12)? },
        validity: Validity {
            not_before: r.get(16)?,
            not_after: r.get(17)?,
            grace_secs: small(18)?,
            local: Some(local),
        },
        revoked_at: r.get(19)?,
        revision: r.get(20)?,
    })
}

/// One coupon by id.
pub(crate) fn load(tx: &mut dyn Sql, id: &str) -> Result<Option<CouponRow>, DbError> {
    let row = tx.query_opt(&format!("SELECT {COLUMNS} FROM wallet_coupons WHERE coupon_id = ?1"), &args![id])?;
    row.as_ref().map(from_row).transpose()
}

/// The coupons a holder may hold (for that user, or for everyone) with an id after `after`, in id order.
pub(crate) fn load_for_holder(tx: &mut dyn Sql, user: Option<&str>, after: &str) -> Result<Vec<CouponRow>, DbError> {
    let rows = tx.query(
        &format!(
            "SELECT {COLUMNS} FROM wallet_coupons WHERE (target_user IS NULL OR target_user = ?1) AND coupon_id > ?2
             ORDER BY coupon_id"
        ),
        &args![user, after],
    )?;
    rows.iter().map(from_row).collect()
}

/// Checks a spec and derives the stored row (validity in UTC from the local days).
fn check(spec: &CouponSpec, today: impl FnOnce(&str) -> Result<LocalDate, String>) -> Result<CouponRow, String> {
    let title_chars = spec.title.chars().count();
    if spec.title.trim().is_empty() || title_chars > MAX_TITLE_CHARS {
        return Err(format!("the title must be 1-{MAX_TITLE_CHARS} characters"));
    }
    if spec.terms.chars().count() > MAX_TERMS_CHARS {
        return Err(format!("the terms must be at most {MAX_TERMS_CHARS} characters"));
    }
    if spec.user.as_ref().is_some_and(|u| u.trim().is_empty()) {
        return Err("the user id must not be blank".into());
    }
    if spec.min_basket_minor > UNLIMITED_VALUE || spec.offline.max_value_minor > UNLIMITED_VALUE {
        return Err(format!("amounts are at most {UNLIMITED_VALUE} minor units"));
    }
    if matches!(spec.discount, Discount::Amount { minor } if minor > UNLIMITED_VALUE) {
        return Err(format!("amounts are at most {UNLIMITED_VALUE} minor units"));
    }
    let first_day = match spec.valid_from {
        Some(day) => day,
        None => today(&spec.zone)?,
    };
    let local = LocalDates { first_day, last_day: spec.valid_until, zone: spec.zone.clone() };
    let validity = Validity::from_local_dates(local, spec.grace_secs).map_err(|e| e.to_string())?;
    let row = CouponRow {
        id: spec.id.clone(),
        title: spec.title.clone(),
        terms: spec.terms.clone(),
        discount: spec.discount,
        currency: spec.currency.clone(),
        gtins: spec.gtins.clone(),
        min_basket_minor: spec.min_basket_minor,
        stack_group: spec.stack_group.clone(),
        uses_allowed: spec.max_uses,
        offline: spec.offline,
        validity,
        revoked_at: None,
        revision: 0,
    };
    // Sign a grant like the ones the feed will sign (same serial and key id lengths): every rule a device
    // applies, and the size limit, are checked now rather than when a shopper's phone asks.
    let probe_signer = IssuerSigner::from_seed("k00000000", &[0; 32]).map_err(|e| e.to_string())?;
    row.grant("s-000000000000").sign(&probe_signer).map_err(|e| e.to_string())?;
    Ok(row)
}

fn today_in(zone: &str) -> Result<LocalDate, String> {
    let tz = jiff::tz::TimeZone::get(zone).map_err(|_| format!("'{zone}' is not a known IANA time zone"))?;
    let date = jiff::Timestamp::now().to_zoned_datetime(tz).date();
    LocalDate::new(date.year(), date.month() as u8, date.day() as u8).map_err(|e| e.to_string())
}

/// Adds a coupon to the collector database `db` (a SQLite file is created if missing). Holders see it at their
/// next feed pull.
pub fn add_coupon(db: impl Into<DatabaseUrl>, spec: CouponSpec) -> Result<(), CollectorError> {
    add_coupon_and(&open(db)?, spec, |_| Ok(()))
}

/// The store with the wallet's tables, for the CLI's one-off changes.
fn open(db: impl Into<DatabaseUrl>) -> Result<Store, CollectorError> {
    let store = Store::open(&db.into())?;
    db::init(store.db(), &now_rfc3339_ms()).map_err(CollectorError::db(store.db()))?;
    Ok(store)
}

/// Why a wallet transaction stopped: the operator's mistake, or storage.
enum Refused {
    Exists,
    Unknown,
    Storage(DbError),
}

impl Refused {
    fn into_error(self, coupon_id: &str, store: &Store) -> CollectorError {
        match self {
            Refused::Exists => CollectorError::CouponExists(coupon_id.to_string()),
            Refused::Unknown => CollectorError::UnknownCoupon(coupon_id.to_string()),
            Refused::Storage(e) => CollectorError::db(store.db())(e),
        }
    }
}

impl From<DbError> for Refused {
    fn from(e: DbError) -> Self {
        Refused::Storage(e)
    }
}

/// [`add_coupon`] on a store whose wallet tables exist, running `also` in the same transaction (the console's
/// audit entry: both land or neither).
pub(crate) fn add_coupon_and(
    store: &Store,
    spec: CouponSpec,
    mut also: impl FnMut(&mut dyn Sql) -> Result<(), DbError>,
) -> Result<(), CollectorError> {
    let row = check(&spec, today_in).map_err(CollectorError::InvalidCoupon)?;
    let (kind, value) = match row.discount {
        Discount::Percent { basis_points } => ("percent", u64::from(basis_points)),
        Discount::Amount { minor } => ("amount", minor),
    };
    let gtins: Vec<String> = row.gtins.iter().map(Gtin::as_gtin14).collect();
    let local = row.validity.local.as_ref().ok_or_else(|| CollectorError::InvalidCoupon("no local dates".into()))?;
    let (first_day, last_day) = (local.first_day.to_string(), local.last_day.to_string());
    let added = store.db().write(Lock::Wallet, |tx: &mut dyn Sql| {
        if load(tx, &row.id)?.is_some() {
            return Err(Refused::Exists);
        }
        let revision = db::bump_revision(tx)?;
        tx.execute(
            &format!(
                "INSERT INTO wallet_coupons ({COLUMNS}, target_user, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, NULL, ?20, ?21, ?22)"
            ),
            &args![
                &row.id,
                &row.title,
                &row.terms,
                &row.currency,
                kind,
                value as i64,
                &gtins.join(","),
                row.min_basket_minor as i64,
                &row.stack_group,
                row.uses_allowed,
                row.offline.accepted,
                row.offline.max_uses,
                row.offline.max_value_minor as i64,
                &first_day,
                &last_day,
                &local.zone,
                row.validity.not_before,
                row.validity.not_after,
                row.validity.grace_secs,
                revision,
                &spec.user,
                unix_now_secs(),
            ],
        )?;
        also(tx)?;
        Ok(())
    });
    added.map_err(|refused| refused.into_error(&row.id, store))
}

/// Revokes a coupon: holders get a `revoked` tombstone at their next pull, and a redemption presented from now on
/// is rejected (one presented before still counts). Revoking twice changes nothing.
pub fn revoke_coupon(db: impl Into<DatabaseUrl>, id: &str) -> Result<(), CollectorError> {
    revoke_coupon_and(&open(db)?, id, |_| Ok(()))
}

/// [`revoke_coupon`] on a store whose wallet tables exist, running `also` in the same transaction when it revokes
/// (not for an already revoked coupon).
pub(crate) fn revoke_coupon_and(
    store: &Store,
    id: &str,
    mut also: impl FnMut(&mut dyn Sql) -> Result<(), DbError>,
) -> Result<(), CollectorError> {
    let revoked = store.db().write(Lock::Wallet, |tx: &mut dyn Sql| {
        match load(tx, id)? {
            None => return Err(Refused::Unknown),
            Some(row) if row.revoked_at.is_some() => return Ok(()),
            Some(_) => {}
        }
        let revision = db::bump_revision(tx)?;
        tx.execute(
            "UPDATE wallet_coupons SET revoked_at = ?2, revision = ?3 WHERE coupon_id = ?1",
            &args![id, unix_now_secs(), revision],
        )?;
        also(tx)?;
        Ok(())
    });
    revoked.map_err(|refused| refused.into_error(id, store))
}

/// `10%` / `12.5%` → basis points; `300 JPY` → minor units and the currency.
pub fn parse_discount(text: &str) -> Result<(Discount, Option<String>), String> {
    let text = text.trim();
    let bad = || format!("'{text}': write a percentage (10%, 12.5%) or minor units and a currency (300 JPY)");
    if let Some(percent) = text.strip_suffix('%') {
        let (whole, fraction) = percent.trim().split_once('.').unwrap_or((percent.trim(), ""));
        if fraction.len() > 2
            || whole.is_empty()
            || !(whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()))
        {
            return Err(bad());
        }
        let whole: u32 = whole.parse().map_err(|_| bad())?;
        let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
        let basis_points = whole.checked_mul(100).and_then(|w| w.checked_add(fraction)).ok_or_else(bad)?;
        let basis_points = u16::try_from(basis_points).map_err(|_| bad())?;
        return Ok((Discount::Percent { basis_points }, None));
    }
    let (amount, currency) = text.split_once(char::is_whitespace).ok_or_else(bad)?;
    let minor: u64 = amount.parse().map_err(|_| bad())?;
    Ok((Discount::Amount { minor }, Some(currency.trim().to_ascii_uppercase())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> CouponSpec {
        CouponSpec::new(
            "xmas10",
            "10 % off",
            Discount::Percent { basis_points: 1000 },
            "JPY",
            LocalDate::parse("2026-12-24").unwrap(),
            "Asia/Tokyo",
        )
    }

    fn fixed_today(_: &str) -> Result<LocalDate, String> {
        Ok(LocalDate::parse("2026-12-01").unwrap())
    }

    #[test]
    fn local_days_become_utc_bounds_and_the_display_is_bound_to_the_grant() {
        let row = check(&spec(), fixed_today).unwrap();
        // 2026-12-01T00:00+09:00 and the end of the 24th in Tokyo.
        assert_eq!((row.validity.not_before, row.validity.not_after), (1_796_050_800, 1_798_124_400));
        let grant = row.grant("s-1");
        assert_eq!(grant.terms_ref, display_terms_ref(br#"{"title":"10 % off","terms":""}"#));
        assert_eq!(grant.eligibility, Eligibility::AnyItem);
    }

    #[test]
    fn specs_a_device_would_refuse_are_refused_when_added() {
        let refused = |change: &dyn Fn(&mut CouponSpec)| {
            let mut s = spec();
            change(&mut s);
            check(&s, fixed_today).unwrap_err()
        };
        assert!(refused(&|s| s.id = "has space".into()).contains("coupon_id"));
        assert!(refused(&|s| s.currency = "yen".into()).contains("currency"));
        assert!(refused(&|s| s.title = " ".into()).contains("title"));
        assert!(refused(&|s| s.zone = "Mars/Olympus".into()).contains("time zone"));
        assert!(refused(&|s| s.valid_from = Some(LocalDate::parse("2027-01-01").unwrap())).contains("ends before"));
        assert!(refused(&|s| s.max_uses = 0).contains("uses_allowed"));
        assert!(refused(&|s| s.user = Some("".into())).contains("user id"));
    }

    #[test]
    fn discounts_read_as_basis_points_or_minor_units() {
        assert_eq!(parse_discount("10%"), Ok((Discount::Percent { basis_points: 1000 }, None)));
        assert_eq!(parse_discount("12.5 %"), Ok((Discount::Percent { basis_points: 1250 }, None)));
        assert_eq!(parse_discount("0.05%"), Ok((Discount::Percent { basis_points: 5 }, None)));
        assert_eq!(parse_discount("300 JPY"), Ok((Discount::Amount { minor: 300 }, Some("JPY".into()))));
        assert_eq!(parse_discount(" 250 eur "), Ok((Discount::Amount { minor: 250 }, Some("EUR".into()))));
        for bad in ["10", "%", "1.234%", "-5%", "ten%", "2.50 EUR", "700%x", "99999%"] {
            assert!(parse_discount(bad).is_err(), "{bad}");
        }
    }
}
