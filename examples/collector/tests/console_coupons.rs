//! The console's coupons page against the real issuer: a coupon issued from the form reaches a holder's feed,
//! signed; a double spend shows the device that made it next to the device whose use counted; a revocation and
//! a forged form behave.

mod common;

use common::console::{admin, hidden, text, Browser, PASSWORD};
use common::wallet::{code, device, local_day, now, redemption, Issuer, ZONE};
use footfall_core::wallet::{device_id, DeviceSigner};

#[test]
fn a_coupon_issued_in_the_console_is_redeemed_once_and_the_double_spend_names_both_devices() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::start_with(&dir, |config| config.console = Some(admin()));
    let mut browser = Browser::new(&issuer.collector);
    browser.sign_in(PASSWORD);
    let page = browser.get("/console/coupons");
    assert!(text(&page).contains("No coupons yet"), "the empty state says what to do");
    let csrf = hidden(&page, "csrf");
    let until = local_day(5).to_string();
    let form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("id", "spring10".into()),
            ("title", "10 % off spring jackets".into()),
            ("discount", "10%".into()),
            ("currency", "JPY".into()),
            ("valid_until", until.clone()),
            ("zone", ZONE.into()),
            ("uses", "1".into()),
            ("offline", "on".into()),
        ]
    };
    let refs = |form: &[(&'static str, String)]| form.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let forged = refs(&form("forged"));
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(browser.post("/console/coupons/issue", &forged).status, 403);
    assert!(issuer.grants(&issuer.feed("anon-1", None)).is_empty(), "a forged form issues nothing");

    let good = refs(&form(&csrf));
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let issued = browser.post("/console/coupons/issue", &good);
    assert!(issued.header("location").unwrap().contains("done="), "{:?}", issued.header("location"));
    let again = browser.post("/console/coupons/issue", &good);
    assert!(again.header("location").unwrap().contains("error="), "an id is issued once");

    // The holder's feed carries it, signed as devices verify it.
    let grant = issuer.grants(&issuer.feed("anon-1", None)).into_iter().find(|g| g.grant().coupon_id == "spring10");
    let grant = grant.expect("the issued coupon reaches the holder");
    let (phone, copy) = (device(), device());
    let at = now() - 60;
    assert_eq!(issuer.redeem_statuses(&[redemption(1, &code(&grant, &phone, 1, at), at)]), ["accepted"]);
    assert_eq!(issuer.redeem_statuses(&[redemption(2, &code(&grant, &copy, 1, at + 5), at + 5)]), ["double_spend"]);

    let page = text(&browser.get("/console/coupons"));
    let phone_id = device_id(&phone.public_key().unwrap());
    let copy_id = device_id(&copy.public_key().unwrap());
    let flagged = &page[page.find("<tr class=\"flag\">").expect("the double spend is flagged")..];
    let flagged = &flagged[..flagged.find("</tr>").unwrap()];
    assert!(flagged.contains("double_spend"), "{flagged}");
    let (by, counted) = (flagged.find(&copy_id).unwrap(), flagged.find(&phone_id).unwrap());
    assert!(by < counted, "the device that spent again, then the one whose use counted: {flagged}");
    assert!(page.contains("<strong class=\"bad\">1</strong>"), "one double spend counted on the coupon");

    let csrf = hidden(&browser.get("/console/coupons"), "csrf");
    let revoked = browser.post("/console/coupons/revoke", &[("csrf", &csrf), ("coupon", "spring10")]);
    assert!(revoked.header("location").unwrap().contains("done="));
    assert!(text(&browser.get("/console/coupons")).contains("Revoked"));
    let audit = text(&browser.get("/console/audit"));
    assert!(audit.contains("spring10&#39; revoked") || audit.contains("spring10&#x27; revoked"), "{audit}");
    assert!(audit.contains("issued: 10 % off spring jackets"));

    // The table sorts by a column when its header is followed, and the other way when followed again.
    let csrf = hidden(&browser.get("/console/coupons"), "csrf");
    let autumn = [
        ("csrf", csrf.as_str()),
        ("id", "autumn5"),
        ("title", "5 % off"),
        ("discount", "5%"),
        ("currency", "JPY"),
        ("valid_until", until.as_str()),
        ("zone", ZONE),
    ];
    assert!(browser.post("/console/coupons/issue", &autumn).header("location").unwrap().contains("done="));
    let mut order = |query: &str| {
        let page = text(&browser.get(&format!("/console/coupons{query}")));
        (page.find("<th scope=\"row\">autumn5").unwrap(), page.find("<th scope=\"row\">spring10").unwrap())
    };
    let (autumn_at, spring_at) = order("?sort=coupon&dir=asc");
    assert!(autumn_at < spring_at, "by id, ascending");
    let (autumn_at, spring_at) = order("?sort=coupon&dir=desc");
    assert!(autumn_at > spring_at, "by id, descending");
    let page = text(&browser.get("/console/coupons?sort=double_spends&dir=desc"));
    assert!(
        page.contains("aria-sort=\"descending\"><a href=\"/console/coupons?sort=double_spends&#38;dir=asc\""),
        "{page}"
    );
}
