//! Consent: reading decisions made elsewhere. Today the IAB TCF v2.2 TC string ([`tcf`]); Footfall's own consent
//! domain (stable purposes, versioned policies, the hash-chained consent log) will join it here.

pub mod tcf;
