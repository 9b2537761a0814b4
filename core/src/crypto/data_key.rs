//! The data key and the sealed value format: `[1 (format)] [key id: u32 BE] [nonce: 12] [ciphertext] [tag: 16]`.
//! The additional data is the value's [`Binding`] and the key id, so moving a sealed value to another row, column
//! or key fails authentication.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

use super::nonces::{Nonces, NONCE_LEN};

const FORMAT: u8 = 1;
const HEADER: usize = 1 + 4 + NONCE_LEN;
const TAG: usize = 16;
/// Bytes a sealed value takes beyond its plaintext.
pub const SEAL_OVERHEAD: usize = HEADER + TAG;

/// What a sealed value is and where it belongs: a fixed name for the kind of value (`"event.payload"`) and the
/// identity of its row (the event's id). Both are authenticated, neither is stored in the value.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub what: &'static str,
    pub row: &'a [u8],
}

impl<'a> Binding<'a> {
    pub fn new(what: &'static str, row: &'a [u8]) -> Self {
        Binding { what, row }
    }

    fn aad(&self, key_id: u32) -> Aad96 {
        let len = self.what.len() + self.row.len() + 9;
        let mut aad =
            if len <= AAD_INLINE { Aad96::Inline([0; AAD_INLINE], 0) } else { Aad96::Heap(Vec::with_capacity(len)) };
        aad.extend(self.what.as_bytes());
        aad.extend(&[0]);
        aad.extend(&(self.row.len() as u32).to_be_bytes());
        aad.extend(self.row);
        aad.extend(&key_id.to_be_bytes());
        aad
    }
}

/// Additional data up to this many bytes is built on the stack (an event's binding is about 40): sealing runs once
/// per queued event on the writer's thread, where an allocation per value showed.
const AAD_INLINE: usize = 96;

enum Aad96 {
    Inline([u8; AAD_INLINE], usize),
    Heap(Vec<u8>),
}

impl Aad96 {
    fn extend(&mut self, bytes: &[u8]) {
        match self {
            Aad96::Inline(buf, len) => {
                buf[*len..*len + bytes.len()].copy_from_slice(bytes);
                *len += bytes.len();
            }
            Aad96::Heap(vec) => vec.extend_from_slice(bytes),
        }
    }
}

impl AsRef<[u8]> for Aad96 {
    fn as_ref(&self) -> &[u8] {
        match self {
            Aad96::Inline(buf, len) => &buf[..*len],
            Aad96::Heap(vec) => vec,
        }
    }
}

/// Why a stored value did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// Sealed under another data key (one that was lost and replaced).
    OtherKey(u32),
    /// Not a sealed value of this format, or altered, or bound elsewhere: never shown.
    Tampered,
}

/// An AES-256-GCM key with its id. Never printed, never stored unwrapped.
pub struct DataKey {
    id: u32,
    key: LessSafeKey,
    nonces: Nonces,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl DataKey {
    /// The key of `id` from its 32 raw bytes (as unwrapped by the platform); `None` for any other length.
    pub fn from_bytes(id: u32, bytes: &[u8]) -> Option<DataKey> {
        let key = UnboundKey::new(&AES_256_GCM, bytes).ok()?;
        Some(DataKey { id, key: LessSafeKey::new(key), nonces: Nonces::new() })
    }

    /// 32 fresh random bytes for a new data key (to wrap and store, then [`DataKey::from_bytes`]).
    pub fn generate_bytes() -> Option<[u8; 32]> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).ok()?;
        Some(bytes)
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    /// `plaintext` sealed for `binding`; `None` only when the OS gives no randomness for a nonce.
    pub fn seal(&self, binding: Binding<'_>, plaintext: &[u8]) -> Option<Vec<u8>> {
        let nonce = self.nonces.next()?;
        let mut out = Vec::with_capacity(plaintext.len() + SEAL_OVERHEAD);
        out.push(FORMAT);
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(binding.aad(self.id)),
                &mut out[HEADER..],
            )
            .ok()?;
        out.extend_from_slice(tag.as_ref());
        Some(out)
    }

    /// The plaintext of a value sealed for `binding` under this key.
    pub fn open(&self, binding: Binding<'_>, sealed: &[u8]) -> Result<Vec<u8>, Opened> {
        if sealed.len() < SEAL_OVERHEAD || sealed[0] != FORMAT {
            return Err(Opened::Tampered);
        }
        let key_id = u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]);
        if key_id != self.id {
            return Err(Opened::OtherKey(key_id));
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[5..HEADER]);
        let mut body = sealed[HEADER..].to_vec();
        let plain = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(binding.aad(self.id)), &mut body)
            .map_err(|_| Opened::Tampered)?;
        let len = plain.len();
        body.truncate(len);
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32) -> DataKey {
        DataKey::from_bytes(id, &DataKey::generate_bytes().unwrap()).unwrap()
    }

    const ROW: &[u8] = b"0193-event-id";

    #[test]
    fn a_sealed_value_opens_only_where_it_belongs_and_unaltered() {
        let k = key(7);
        let here = Binding::new("event.payload", ROW);
        let sealed = k.seal(here, br#"{"sku":"4901234567894"}"#).unwrap();
        assert_eq!(sealed.len(), 23 + SEAL_OVERHEAD);
        assert_eq!(k.open(here, &sealed).unwrap(), br#"{"sku":"4901234567894"}"#);
        assert!(!sealed.windows(4).any(|w| w == b"4901"), "no plaintext in the sealed bytes");

        assert_eq!(k.open(Binding::new("event.payload", b"another-row"), &sealed), Err(Opened::Tampered));
        assert_eq!(k.open(Binding::new("context.user_id", ROW), &sealed), Err(Opened::Tampered));
        for i in 0..sealed.len() {
            let mut flipped = sealed.clone();
            flipped[i] ^= 0x01;
            assert!(k.open(here, &flipped).is_err(), "byte {i} altered");
        }
        assert_eq!(k.open(here, &sealed[..sealed.len() - 1]), Err(Opened::Tampered));
        assert_eq!(k.open(here, b""), Err(Opened::Tampered));
    }

    #[test]
    fn another_key_is_named_not_mistaken_for_tampering() {
        let (old, new) = (key(1), key(2));
        let here = Binding::new("event.payload", ROW);
        let sealed = old.seal(here, b"x").unwrap();
        assert_eq!(new.open(here, &sealed), Err(Opened::OtherKey(1)));
        // The same id with other key material: authentication fails.
        assert_eq!(key(1).open(here, &sealed), Err(Opened::Tampered));
    }

    #[test]
    fn long_bindings_are_bound_as_fully_as_short_ones() {
        let k = key(4);
        let (long, other) = ([7u8; 300], [8u8; 300]);
        let sealed = k.seal(Binding::new("visit.zone", &long), b"x").unwrap();
        assert_eq!(k.open(Binding::new("visit.zone", &long), &sealed).unwrap(), b"x");
        assert_eq!(k.open(Binding::new("visit.zone", &other), &sealed), Err(Opened::Tampered));
    }

    #[test]
    fn the_same_plaintext_seals_differently_each_time() {
        let k = key(3);
        let here = Binding::new("event.payload", ROW);
        assert_ne!(k.seal(here, b"same").unwrap(), k.seal(here, b"same").unwrap());
        assert!(DataKey::from_bytes(1, &[0; 16]).is_none(), "AES-256 only");
        assert!(!format!("{k:?}").contains("key:"), "the key material is never printed");
    }
}
