//! Comparing secrets (API keys, passwords, CSRF tokens) without leaking where they differ through timing.

/// Comparison whose time does not depend on where the first difference is. It does depend on the length: a
/// length mismatch answers at once, and a comparison of equal lengths takes time in proportion to it, so a caller
/// timing it can learn the secret's length (never its content). Callers accept that: the API key and passwords
/// are long enough that knowing their length does not help guessing them.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // Every byte is folded in, with no branch on the bytes; `black_box` keeps the optimiser from turning the fold
    // into an early exit at the first difference.
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| std::hint::black_box(acc | (x ^ y)));
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn equal_only_when_every_byte_and_the_length_match() {
        assert!(constant_time_eq(b"key:", b"key:"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"key:", b"kez:"));
        assert!(!constant_time_eq(b"key:", b"Key:"));
        assert!(!constant_time_eq(b"key:", b"key:x"));
        assert!(!constant_time_eq(b"key", b""));
    }
}
