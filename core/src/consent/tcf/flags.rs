//! Fixed-length flag fields (purposes, special features, custom purposes), kept exactly as sent.

use serde::{Serialize, Serializer};

/// A fixed-length field of up to 64 flags as sent; flag `n` (1-based) is the field's `n`-th bit.
/// Serialized as the list of set flag numbers, e.g. `[1, 3, 4]`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags {
    /// Bit `n - 1` (least significant first) holds flag `n`.
    bits: u64,
    len: u8,
}

impl Flags {
    /// From the field's value as read big-endian: the first bit sent (flag 1) is the most significant of `len`.
    pub(super) fn from_field(value: u64, len: u8) -> Self {
        let len = len.min(64);
        let mut bits = 0u64;
        for n in 1..=u32::from(len) {
            if (value >> (u32::from(len) - n)) & 1 == 1 {
                bits |= 1 << (n - 1);
            }
        }
        Flags { bits, len }
    }

    /// How many flags the field carries (24 for purposes, 12 for special features, NumCustomPurposes for custom).
    pub fn len(&self) -> u8 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether flag `n` (1-based) is set; `false` outside the field.
    pub fn is_set(&self, n: u32) -> bool {
        (1..=u32::from(self.len)).contains(&n) && (self.bits >> (n - 1)) & 1 == 1
    }

    /// The numbers of the set flags, ascending.
    pub fn ids(&self) -> impl Iterator<Item = u8> + '_ {
        (1..=self.len).filter(|n| self.is_set(u32::from(*n)))
    }

    /// `"0101…"`, character `n - 1` for flag `n`: the format of the in-app keys such as `IABTCF_PurposeConsents`.
    pub fn to_bit_string(&self) -> String {
        (1..=u32::from(self.len)).map(|n| if self.is_set(n) { '1' } else { '0' }).collect()
    }
}

impl std::fmt::Debug for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Flags({})", self.to_bit_string())
    }
}

impl Serialize for Flags {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.ids())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bit_sent_is_flag_one() {
        let flags = Flags::from_field(0b1010_0000_0000_0000_0000_0001, 24);
        assert_eq!(flags.ids().collect::<Vec<_>>(), vec![1, 3, 24]);
        assert!(flags.is_set(1) && !flags.is_set(2) && !flags.is_set(0) && !flags.is_set(25));
        assert_eq!(flags.to_bit_string(), "101000000000000000000001");
        assert_eq!(Flags::from_field(u64::MAX, 64).ids().count(), 64);
    }
}
