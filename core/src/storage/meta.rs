//! Every key of the `meta` table, in one place: an area names its settings here, so two areas can never share
//! or collide on a key by accident, and the personal-data registry can see them all.

/// A row of `meta` (small settings and state, one value each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    /// Identity in force (writer): the anonymous id, the user id, the session and its last event time.
    AnonymousId,
    UserId,
    SessionId,
    SessionLastMs,
    /// Sync history (`status()`).
    LastError,
    LastErrorAt,
    LastSuccessAt,
    /// Each upload lane's persisted state (hold, certificate wait; `status()`).
    LaneStateEvents,
    LaneStateEssential,
    /// Consent: the policy in force, the context, the cached ETag and the last refused policy.
    ConsentPolicy,
    ConsentContext,
    ConsentPolicyEtag,
    ConsentPolicyRefused,
    /// Wallet: the feed position (holder, cursor, ETag), the rotated key set and the server-time offset.
    WalletFeed,
    WalletKeySet,
    WalletServerOffsetMs,
    /// Proximity: the last configuration document the server sent (applied at start-up when newer than the app's).
    ProximityConfig,
    /// Encryption at rest: the data key's id and the key wrapped by the platform (`at_rest`); never the key.
    DataKey,
}

impl MetaKey {
    /// The stored key; never change one that shipped (files in the field use it).
    pub fn as_str(self) -> &'static str {
        match self {
            MetaKey::AnonymousId => "anonymous_id",
            MetaKey::UserId => "user_id",
            MetaKey::SessionId => "session_id",
            MetaKey::SessionLastMs => "session_last_ms",
            MetaKey::LastError => "last_error",
            MetaKey::LastErrorAt => "last_error_at",
            MetaKey::LastSuccessAt => "last_success_at",
            MetaKey::LaneStateEvents => "lane_state_events",
            MetaKey::LaneStateEssential => "lane_state_essential",
            MetaKey::ConsentPolicy => "consent_policy",
            MetaKey::ConsentContext => "consent_context",
            MetaKey::ConsentPolicyEtag => "consent_policy_etag",
            MetaKey::ConsentPolicyRefused => "consent_policy_refused",
            MetaKey::WalletFeed => "wallet_feed",
            MetaKey::WalletKeySet => "wallet_keyset",
            MetaKey::WalletServerOffsetMs => "wallet_server_offset_ms",
            MetaKey::ProximityConfig => "proximity_config",
            MetaKey::DataKey => "data_key",
        }
    }
}
