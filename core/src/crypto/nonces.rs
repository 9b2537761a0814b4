//! Nonces for AES-GCM: 96 random bits each, drawn from the OS in blocks (one system call per 341 nonces rather
//! than per value sealed). Random nonces under one key stay safe far beyond what a phone's queue writes (the
//! collision bound is about 2^32 values per key; storage rotates the data key long before, see `at_rest`).

use std::sync::Mutex;

pub(crate) const NONCE_LEN: usize = 12;
const BLOCK: usize = NONCE_LEN * 341;

pub(crate) struct Nonces {
    block: Mutex<(Box<[u8; BLOCK]>, usize)>,
}

impl Nonces {
    pub fn new() -> Nonces {
        // Starts empty: the first draw fills the block.
        Nonces { block: Mutex::new((Box::new([0; BLOCK]), BLOCK)) }
    }

    /// A fresh nonce; `None` only when the OS has no randomness to give (then nothing is sealed).
    pub fn next(&self) -> Option<[u8; NONCE_LEN]> {
        let mut guard = self.block.lock().unwrap_or_else(|p| p.into_inner());
        let (block, used) = &mut *guard;
        if *used + NONCE_LEN > BLOCK {
            getrandom::fill(&mut block[..]).ok()?;
            *used = 0;
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&block[*used..*used + NONCE_LEN]);
        // Never handed out twice: wiped as it is taken.
        block[*used..*used + NONCE_LEN].fill(0);
        *used += NONCE_LEN;
        Some(nonce)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_do_not_repeat_across_blocks() {
        let nonces = Nonces::new();
        let drawn: std::collections::HashSet<[u8; NONCE_LEN]> = (0..2_000).map(|_| nonces.next().unwrap()).collect();
        assert_eq!(drawn.len(), 2_000);
    }
}
