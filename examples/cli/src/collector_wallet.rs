//! The reference collector's wallet issuer from the command line: `collector serve --issuer-key`, `collector
//! coupon add|revoke`, `collector keyset` and `collector redemptions`. Output is JSON, one object per line.

use footfall_collector::DatabaseUrl;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use footfall_collector::wallet::{
    add_coupon, keyset_json, parse_discount, read_keyset, read_redemptions, revoke_coupon, CouponSpec, UNLIMITED_VALUE,
};
use footfall_collector::CollectorConfig;
use footfall_core::wallet::{Gtin, LocalDate, OfflinePolicy};

use crate::CmdResult;

/// The currency of a percentage coupon when `--currency` is not given.
const DEFAULT_CURRENCY: &str = "EUR";

/// `collector serve` flags for the wallet.
#[derive(Args)]
pub struct ServeWalletArgs {
    /// Issue coupons with this Ed25519 key file (`{"kid","seed"}`, created with mode 0600 if missing). Without
    /// it the wallet endpoints answer 404 not_offered.
    #[arg(long)]
    issuer_key: Option<PathBuf>,
    /// A signed key set rotation (`{"keyset","kid","sig"}`) to hand out in every wallet feed answer.
    #[arg(long, requires = "issuer_key")]
    keyset_rotation: Option<PathBuf>,
}

impl ServeWalletArgs {
    pub fn apply(self, config: &mut CollectorConfig) {
        config.issuer_key = self.issuer_key;
        config.keyset_rotation = self.keyset_rotation;
    }
}

#[derive(Subcommand)]
pub enum CouponCommand {
    /// Add a coupon; every holder gets one (or only --user). Prints {"coupon":ID,"status":"added"}.
    Add(Box<CouponAddArgs>),
    /// Revoke a coupon: holders get a `revoked` tombstone, and later redemptions are rejected.
    Revoke {
        /// The collector database: a SQLite file, or a PostgreSQL URL (postgres://user@host/db).
        #[arg(long, visible_alias = "database-url", value_parser = crate::args::parse_database)]
        db: DatabaseUrl,
        #[arg(long)]
        id: String,
    },
}

#[derive(Args)]
pub struct CouponAddArgs {
    /// The collector database: a SQLite file, or a PostgreSQL URL (postgres://user@host/db).
    #[arg(long, visible_alias = "database-url", value_parser = crate::args::parse_database)]
    db: DatabaseUrl,
    /// 1-32 printable ASCII characters.
    #[arg(long)]
    id: String,
    #[arg(long)]
    title: String,
    #[arg(long, default_value = "")]
    terms: String,
    /// `10%` (up to two decimals: `12.5%`), or an amount in minor units and its currency: `"300 JPY"` is ¥300,
    /// `"250 EUR"` is €2.50.
    #[arg(long)]
    discount: String,
    /// ISO 4217 currency of a percentage coupon (and of --min-basket); default EUR. An amount names its own.
    #[arg(long)]
    currency: Option<String>,
    /// First store-local day (YYYY-MM-DD); default today in --zone.
    #[arg(long)]
    valid_from_local: Option<String>,
    /// Last store-local day (YYYY-MM-DD); usable until that day ends in --zone, plus --grace-secs.
    #[arg(long)]
    valid_until_local: String,
    /// The stores' IANA time zone (Asia/Tokyo).
    #[arg(long)]
    zone: String,
    /// Signed grace after the last day ends, seconds (at most 7 days).
    #[arg(long, default_value_t = 0)]
    grace_secs: u32,
    /// Only this user id gets the coupon.
    #[arg(long)]
    user: Option<String>,
    /// Uses of each holder's serial.
    #[arg(long, default_value_t = 1)]
    max_uses: u32,
    /// Uses allowed offline before the device syncs again; default --max-uses.
    #[arg(long)]
    offline_max_uses: Option<u32>,
    /// Discount value (minor units) allowed offline before the device syncs again; default no limit.
    #[arg(long)]
    offline_max_value: Option<u64>,
    /// Never redeemable offline.
    #[arg(long)]
    online_only: bool,
    /// Eligible items (GTIN-8/12/13/14, comma-separated); default any item.
    #[arg(long, value_delimiter = ',')]
    gtins: Vec<String>,
    /// Least basket total, minor units.
    #[arg(long, default_value_t = 0)]
    min_basket: u64,
    /// At most one coupon of a stack group applies to a basket.
    #[arg(long)]
    stack_group: Option<String>,
}

#[derive(Args)]
pub struct KeysetArgs {
    /// The collector database: the key set recorded when `serve --issuer-key` last started.
    #[arg(
        long,
        visible_alias = "database-url",
        value_parser = crate::args::parse_database,
        required_unless_present = "issuer_key",
        conflicts_with = "issuer_key"
    )]
    db: Option<DatabaseUrl>,
    /// Or the issuer key file itself.
    #[arg(long)]
    issuer_key: Option<PathBuf>,
}

pub fn coupon(command: CouponCommand) -> CmdResult {
    match command {
        CouponCommand::Add(args) => {
            let (db, spec) = (args.db.clone(), spec(*args)?);
            let id = spec.id.clone();
            add_coupon(&db, spec).map_err(|e| e.to_string())?;
            print_line(&serde_json::json!({"coupon": id, "status": "added"}).to_string())
        }
        CouponCommand::Revoke { db, id } => {
            revoke_coupon(&db, &id).map_err(|e| e.to_string())?;
            print_line(&serde_json::json!({"coupon": id, "status": "revoked"}).to_string())
        }
    }
}

/// The key set JSON a till loads and an app pins.
pub fn keyset(args: KeysetArgs) -> CmdResult {
    let json = match (args.db, args.issuer_key) {
        (_, Some(key_file)) => keyset_json(&key_file),
        (Some(db), None) => read_keyset(&db),
        (None, None) => return Err("give --db or --issuer-key".into()),
    };
    print_line(&json.map_err(|e| e.to_string())?)
}

/// One JSON object per recorded redemption: status accepted, double_spend or rejected (with its reason).
pub fn redemptions(db: &DatabaseUrl) -> CmdResult {
    let rows = read_redemptions(db).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    for row in rows {
        writeln!(out, "{}", serde_json::to_string(&row).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_line(line: &str) -> CmdResult {
    writeln!(std::io::stdout().lock(), "{line}").map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

fn spec(args: CouponAddArgs) -> Result<CouponSpec, String> {
    let (discount, amount_currency) = parse_discount(&args.discount).map_err(|e| format!("--discount {e}"))?;
    let currency = match (amount_currency, args.currency) {
        (Some(own), Some(given)) if own != given.to_ascii_uppercase() => {
            return Err(format!("--discount is in {own} but --currency says {given}"))
        }
        (Some(own), _) => own,
        (None, Some(given)) => given.to_ascii_uppercase(),
        (None, None) => DEFAULT_CURRENCY.to_string(),
    };
    let date = |flag: &str, text: &str| LocalDate::parse(text).map_err(|e| format!("{flag}: {e}"));
    let gtins = args
        .gtins
        .iter()
        .map(|g| Gtin::parse(g.trim()).map_err(|e| format!("--gtins: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut spec = CouponSpec::new(
        args.id,
        args.title,
        discount,
        currency,
        date("--valid-until-local", &args.valid_until_local)?,
        args.zone,
    );
    spec.terms = args.terms;
    spec.valid_from = args.valid_from_local.as_deref().map(|d| date("--valid-from-local", d)).transpose()?;
    spec.grace_secs = args.grace_secs;
    spec.user = args.user;
    spec.max_uses = args.max_uses;
    spec.offline = OfflinePolicy {
        accepted: !args.online_only,
        max_uses: args.offline_max_uses.unwrap_or(args.max_uses),
        max_value_minor: args.offline_max_value.unwrap_or(UNLIMITED_VALUE),
    };
    spec.gtins = gtins;
    spec.min_basket_minor = args.min_basket;
    spec.stack_group = args.stack_group;
    Ok(spec)
}
