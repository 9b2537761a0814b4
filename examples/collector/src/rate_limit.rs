//! Per-client rate limits on the protocol endpoints: a token bucket per client, kept as one number (the generic
//! cell rate algorithm: the instant the bucket will be full again), in a table of bounded size. Pure: the clock is
//! injected, and the HTTP side (who the client is, the 429) is in `body`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::RateLimit;

const NANOS_PER_MS: u64 = 1_000_000;
const NANOS_PER_SEC: f64 = 1e9;

/// Whose budget a request spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Client {
    /// The collector's API key, presented correctly (checked before the limiter is asked).
    ApiKey,
    /// A client address, when the collector runs without a key.
    Address(IpAddr),
}

impl Client {
    /// The bucket of a client address. IPv4-mapped IPv6 addresses (a dual-stack listener) count as the IPv4
    /// address, and IPv6 addresses by their /64: one host or home usually holds a whole /64, so counting single
    /// addresses would let it spread its requests over 2^64 budgets.
    pub(crate) fn address(ip: IpAddr) -> Client {
        Client::Address(match ip.to_canonical() {
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
            v4 => v4,
        })
    }
}

/// One client's bucket.
struct Bucket {
    /// When the bucket will be full again (ns on the limiter's clock): not after now means full. Taking a token
    /// moves it one interval later, and a request is let through while it stays within a burst of now.
    full_at: u64,
    /// When the client was last seen, as a unique sequence number: the least recently seen is evicted first.
    seen: u64,
}

pub(crate) struct RateLimiter {
    /// Time for one token to come back, ns.
    interval: u64,
    /// Time for an empty bucket to fill, ns (`burst` intervals).
    capacity: u64,
    max_clients: usize,
    clock: Arc<dyn footfall_core::Clock>,
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    buckets: HashMap<Client, Bucket>,
    /// Requests seen so far: the next `Bucket::seen`.
    seen: u64,
}

impl RateLimiter {
    /// The limiter `config` describes, or what is wrong with it.
    pub(crate) fn new(config: &RateLimit) -> Result<RateLimiter, String> {
        if !config.per_second.is_finite() || config.per_second < RateLimit::MIN_PER_SECOND {
            return Err(format!(
                "requests per second must be at least one an hour (1/3600), got {}",
                config.per_second
            ));
        }
        if !(1..=RateLimit::MAX_BURST).contains(&config.burst) {
            return Err(format!("the burst must be between 1 and {}, got {}", RateLimit::MAX_BURST, config.burst));
        }
        if config.max_clients == 0 {
            return Err("the rate limiter must track at least one client".into());
        }
        // At most 3.6e12 ns (one an hour), so `capacity` stays below 3.6e18 ns: no overflow in u64.
        let interval = ((NANOS_PER_SEC / config.per_second).round() as u64).max(1);
        Ok(RateLimiter {
            interval,
            capacity: interval * u64::from(config.burst),
            max_clients: config.max_clients,
            clock: config.clock.clone(),
            table: Mutex::default(),
        })
    }

    /// Spends one of `client`'s tokens: `Ok`, or `Err` with the time until the next token comes back (the
    /// bucket is then left as it was: a refused request costs nothing).
    pub(crate) fn take(&self, client: Client) -> Result<(), Duration> {
        let now = self.clock.monotonic_ms().saturating_mul(NANOS_PER_MS);
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        table.seen += 1;
        let seen = table.seen;
        if !table.buckets.contains_key(&client) && table.buckets.len() >= self.max_clients {
            self.make_room(&mut table.buckets, now);
        }
        let bucket = table.buckets.entry(client).or_insert(Bucket { full_at: now, seen });
        bucket.seen = seen;
        let after = bucket.full_at.max(now).saturating_add(self.interval);
        let allowed_from = after.saturating_sub(self.capacity);
        if allowed_from > now {
            return Err(Duration::from_nanos(allowed_from - now));
        }
        bucket.full_at = after;
        Ok(())
    }

    /// Clients tracked now.
    pub(crate) fn tracked(&self) -> usize {
        self.table.lock().unwrap_or_else(|p| p.into_inner()).buckets.len()
    }

    /// Frees room in a full table. First the buckets that have refilled go: a client that comes back gets a full
    /// bucket either way. If more than three quarters remain (every client is active: a flood), the least
    /// recently seen go too, down to three quarters, so cleaning (linear in the table) happens at most once per
    /// quarter table of new clients.
    fn make_room(&self, buckets: &mut HashMap<Client, Bucket>, now: u64) {
        buckets.retain(|_, bucket| bucket.full_at > now);
        let keep = (self.max_clients - self.max_clients / 4).min(self.max_clients - 1);
        if buckets.len() <= keep {
            return;
        }
        if keep == 0 {
            buckets.clear();
            return;
        }
        let mut seen: Vec<u64> = buckets.values().map(|bucket| bucket.seen).collect();
        let cut = seen.len() - keep;
        // `seen` values are unique, so exactly `keep` buckets are at or after the cut.
        let (_, &mut oldest_kept, _) = seen.select_nth_unstable(cut);
        buckets.retain(|_, bucket| bucket.seen >= oldest_kept);
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use footfall_core::ManualClock;

    use super::*;

    fn limiter(per_second: f64, burst: u32, max_clients: usize) -> (RateLimiter, Arc<ManualClock>) {
        let clock = ManualClock::new(0);
        let mut config = RateLimit::new(per_second, burst);
        config.max_clients = max_clients;
        config.clock = clock.clone();
        (RateLimiter::new(&config).unwrap(), clock)
    }

    fn ip(n: u32) -> Client {
        Client::address(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)))
    }

    #[test]
    fn a_burst_then_one_token_per_interval() {
        let (limiter, clock) = limiter(2.0, 3, 10);
        for _ in 0..3 {
            limiter.take(Client::ApiKey).unwrap();
        }
        assert_eq!(limiter.take(Client::ApiKey), Err(Duration::from_millis(500)));
        clock.advance_ms(200);
        assert_eq!(limiter.take(Client::ApiKey), Err(Duration::from_millis(300)), "refusals cost nothing");
        clock.advance_ms(300);
        limiter.take(Client::ApiKey).unwrap();
        assert_eq!(limiter.take(Client::ApiKey), Err(Duration::from_millis(500)));
        clock.advance_ms(60_000);
        for _ in 0..3 {
            limiter.take(Client::ApiKey).unwrap();
        }
        assert!(limiter.take(Client::ApiKey).is_err(), "a long pause refills the bucket, never beyond the burst");
    }

    #[test]
    fn clients_have_their_own_buckets() {
        let (limiter, _) = limiter(1.0, 1, 10);
        limiter.take(ip(1)).unwrap();
        assert!(limiter.take(ip(1)).is_err());
        limiter.take(ip(2)).unwrap();
        limiter.take(Client::ApiKey).unwrap();
    }

    #[test]
    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Client::address(a), Client::address(b));
        assert_ne!(Client::address(a), Client::address(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(Client::address(mapped), Client::address("192.0.2.7".parse().unwrap()));
    }

    #[test]
    fn the_table_stays_bounded_under_a_flood_of_new_clients() {
        let (limiter, clock) = limiter(1.0, 1, 1000);
        limiter.take(Client::ApiKey).unwrap();
        for n in 0..100_000 {
            limiter.take(ip(n)).unwrap();
            assert!(limiter.tracked() <= 1000);
            if n % 300 == 0 {
                // A busy client keeps being seen, so the flood does not evict it...
                assert!(limiter.take(Client::ApiKey).is_err(), "at {n}");
            }
        }
        // ...while the flood's addresses, each seen once, come and go.
        assert!(limiter.take(ip(0)).is_ok(), "long evicted: a fresh bucket");
        clock.advance_ms(1000);
        limiter.take(ip(1_000_000)).unwrap();
        assert!(limiter.tracked() <= 1000);
    }

    #[test]
    fn refilled_buckets_are_forgotten_first() {
        let (limiter, clock) = limiter(1.0, 1, 4);
        limiter.take(ip(1)).unwrap();
        clock.advance_ms(2000);
        for n in 2..=4 {
            limiter.take(ip(n)).unwrap();
        }
        // Full table: client 1 has refilled, so it goes and the three busy ones stay.
        limiter.take(ip(5)).unwrap();
        assert_eq!(limiter.tracked(), 4);
        for n in 2..=5 {
            assert!(limiter.take(ip(n)).is_err(), "client {n} kept its spent bucket");
        }
    }

    #[test]
    fn a_table_of_one() {
        let (limiter, _) = limiter(1.0, 1, 1);
        limiter.take(ip(1)).unwrap();
        limiter.take(ip(2)).unwrap();
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn invalid_limits_are_refused() {
        let bad = |per_second: f64, burst: u32, max_clients: usize| {
            let mut config = RateLimit::new(per_second, burst);
            config.max_clients = max_clients;
            RateLimiter::new(&config).err().unwrap()
        };
        assert!(bad(0.0, 1, 1).contains("per second"));
        assert!(bad(f64::NAN, 1, 1).contains("per second"));
        assert!(bad(f64::INFINITY, 1, 1).contains("per second"));
        assert!(bad(1.0, 0, 1).contains("burst"));
        assert!(bad(1.0, RateLimit::MAX_BURST + 1, 1).contains("burst"));
        assert!(bad(1.0, 1, 0).contains("one client"));
        let slowest = RateLimit::new(RateLimit::MIN_PER_SECOND, RateLimit::MAX_BURST);
        assert!(RateLimiter::new(&slowest).is_ok());
    }

    #[test]
    fn the_default_burst_is_ten_seconds_worth() {
        assert_eq!(RateLimit::default_burst(5.0), 50);
        assert_eq!(RateLimit::default_burst(0.25), 3);
        assert_eq!(RateLimit::default_burst(0.001), 1);
        assert_eq!(RateLimit::default_burst(1e12), RateLimit::MAX_BURST);
    }
}
