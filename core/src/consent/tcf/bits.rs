//! Base64url text to bits: 6 bits per character, big-endian, read left to right, and a reader that reports a
//! typed error instead of ever reading past the end.

use super::{Segment, TcfError};

/// The 6-bit value of one base64url character (`A–Z a–z 0–9 - _`).
fn sextet(c: char) -> Option<u8> {
    Some(match c {
        'A'..='Z' => c as u8 - b'A',
        'a'..='z' => c as u8 - b'a' + 26,
        '0'..='9' => c as u8 - b'0' + 52,
        '-' => 62,
        '_' => 63,
        _ => return None,
    })
}

/// One segment's characters as 6-bit values, trailing `=` padding dropped. `position` is the character index of
/// the segment's first character in the whole TC string, so errors point at the offending character.
pub(super) fn sextets(text: &str, position: usize) -> Result<Vec<u8>, TcfError> {
    let text = text.trim_end_matches('=');
    text.chars()
        .enumerate()
        .map(|(i, character)| sextet(character).ok_or(TcfError::InvalidCharacter { position: position + i, character }))
        .collect()
}

/// Reads big-endian unsigned fields from one segment's bits.
pub(super) struct BitReader {
    sextets: Vec<u8>,
    pos: usize,
    segment: Segment,
}

impl BitReader {
    pub(super) fn new(sextets: Vec<u8>, segment: Segment) -> Self {
        BitReader { sextets, pos: 0, segment }
    }

    pub(super) fn segment(&self) -> Segment {
        self.segment
    }

    /// Bits not read yet.
    pub(super) fn remaining(&self) -> usize {
        (self.sextets.len() * 6).saturating_sub(self.pos)
    }

    fn truncated(&self, field: &'static str) -> TcfError {
        TcfError::Truncated { segment: self.segment, field }
    }

    fn next_bit(&mut self) -> Option<bool> {
        let value = *self.sextets.get(self.pos / 6)?;
        let bit = (value >> (5 - self.pos % 6)) & 1 == 1;
        self.pos += 1;
        Some(bit)
    }

    pub(super) fn bit(&mut self, field: &'static str) -> Result<bool, TcfError> {
        self.next_bit().ok_or_else(|| self.truncated(field))
    }

    /// An unsigned field of `width` ≤ 64 bits. Checks the length first, so a short read consumes nothing.
    pub(super) fn uint(&mut self, width: u32, field: &'static str) -> Result<u64, TcfError> {
        debug_assert!(width <= 64);
        if self.remaining() < width as usize {
            return Err(self.truncated(field));
        }
        let mut value = 0u64;
        for _ in 0..width {
            value = (value << 1) | u64::from(self.next_bit().unwrap_or(false));
        }
        Ok(value)
    }

    pub(super) fn u8(&mut self, width: u32, field: &'static str) -> Result<u8, TcfError> {
        Ok(self.uint(width.min(8), field)? as u8)
    }

    pub(super) fn u16(&mut self, width: u32, field: &'static str) -> Result<u16, TcfError> {
        Ok(self.uint(width.min(16), field)? as u16)
    }

    /// True when a bit after the current position is set: data past the last field, which padding never is.
    /// Marks everything as read (opaque segments).
    pub(super) fn skip_rest(&mut self) {
        self.pos = self.sextets.len() * 6;
    }

    pub(super) fn rest_has_data(&self) -> bool {
        (self.pos..self.sextets.len() * 6).any(|i| self.sextets.get(i / 6).is_some_and(|v| (v >> (5 - i % 6)) & 1 == 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_fields_across_characters() {
        // "CA" = 000010 000000: version 2 then zeros.
        let mut r = BitReader::new(sextets("CA", 0).unwrap(), Segment::Core);
        assert_eq!(r.uint(6, "Version").unwrap(), 2);
        assert_eq!(r.remaining(), 6);
        assert_eq!(r.uint(7, "x"), Err(TcfError::Truncated { segment: Segment::Core, field: "x" }));
        assert_eq!(r.remaining(), 6, "a short read consumes nothing");
        assert!(!r.rest_has_data());
    }

    #[test]
    fn alphabet_and_padding() {
        assert_eq!(sextets("AZaz09-_==", 0).unwrap(), vec![0, 25, 26, 51, 52, 61, 62, 63]);
        assert_eq!(sextets("AB+C", 10), Err(TcfError::InvalidCharacter { position: 12, character: '+' }));
        assert_eq!(sextets("A=B", 0), Err(TcfError::InvalidCharacter { position: 1, character: '=' }));
    }
}
