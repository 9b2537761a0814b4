//! Comparing secrets (API keys, passwords, CSRF tokens) without leaking where they differ through timing.

/// Comparison whose time does not depend on where the first difference is.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
