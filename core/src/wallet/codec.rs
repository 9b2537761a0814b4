//! The byte reader and writer the wallet's binary formats share: LEB128 varints and length-prefixed strings,
//! every read bounds-checked so hostile bytes give a typed error, never a panic or an oversized allocation.

/// Why bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("ends early while reading {0}")]
    Truncated(&'static str),
    #[error("{0} is not a minimal varint or overflows 64 bits")]
    BadVarint(&'static str),
    #[error("{0} is not printable ASCII")]
    NotAscii(&'static str),
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
    #[error("{0} trailing bytes after the end")]
    Trailing(usize),
}

pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.at
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, CodecError> {
        let byte = *self.bytes.get(self.at).ok_or(CodecError::Truncated(what))?;
        self.at += 1;
        Ok(byte)
    }

    pub(crate) fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], CodecError> {
        let end = self.at.checked_add(len).ok_or(CodecError::Truncated(what))?;
        let slice = self.bytes.get(self.at..end).ok_or(CodecError::Truncated(what))?;
        self.at = end;
        Ok(slice)
    }

    pub(crate) fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CodecError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// Unsigned LEB128. Only the minimal encoding is accepted, so every value has exactly one byte form (the
    /// signature covers bytes, and two spellings of one grant would defeat serial bookkeeping keyed on them).
    pub(crate) fn varint(&mut self, what: &'static str) -> Result<u64, CodecError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.u8(what)?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(CodecError::BadVarint(what));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                if byte == 0 && shift > 0 {
                    return Err(CodecError::BadVarint(what));
                }
                return Ok(value);
            }
        }
        Err(CodecError::BadVarint(what))
    }

    pub(crate) fn varint_u32(&mut self, what: &'static str) -> Result<u32, CodecError> {
        u32::try_from(self.varint(what)?).map_err(|_| CodecError::OutOfRange(what))
    }

    /// A one-byte length, then that many bytes of printable ASCII (ids, zone names: never free text).
    pub(crate) fn str8(&mut self, what: &'static str) -> Result<String, CodecError> {
        let len = usize::from(self.u8(what)?);
        let bytes = self.take(len, what)?;
        if !bytes.iter().all(|b| (0x21..=0x7e).contains(b)) {
            return Err(CodecError::NotAscii(what));
        }
        Ok(bytes.iter().map(|b| char::from(*b)).collect())
    }

    pub(crate) fn finish(self) -> Result<(), CodecError> {
        match self.bytes.len() - self.at {
            0 => Ok(()),
            n => Err(CodecError::Trailing(n)),
        }
    }
}

#[derive(Default)]
pub(crate) struct Writer {
    pub(crate) bytes: Vec<u8>,
}

impl Writer {
    pub(crate) fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    pub(crate) fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.bytes.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    /// Callers validate `value` (≤ 255 bytes of printable ASCII) first; see [`is_short_ascii`].
    pub(crate) fn str8(&mut self, value: &str) {
        self.u8(value.len() as u8);
        self.raw(value.as_bytes());
    }
}

/// What [`Writer::str8`] can carry and [`Reader::str8`] accepts back.
pub(crate) fn is_short_ascii(value: &str, max: usize) -> bool {
    value.len() <= max.min(255) && value.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_width() {
        for value in [0, 1, 127, 128, 300, 16_383, 16_384, u64::from(u32::MAX), u64::MAX - 1, u64::MAX] {
            let mut w = Writer::default();
            w.varint(value);
            let mut r = Reader::new(&w.bytes);
            assert_eq!(r.varint("v"), Ok(value));
            assert_eq!(r.finish(), Ok(()));
        }
    }

    #[test]
    fn non_minimal_and_overlong_varints_are_refused() {
        assert_eq!(Reader::new(&[0x80, 0x00]).varint("v"), Err(CodecError::BadVarint("v")));
        assert_eq!(Reader::new(&[0xff; 11]).varint("v"), Err(CodecError::BadVarint("v")));
        let mut too_big = vec![0xff; 9];
        too_big.push(0x02);
        assert_eq!(Reader::new(&too_big).varint("v"), Err(CodecError::BadVarint("v")));
        assert_eq!(Reader::new(&[0x80]).varint("v"), Err(CodecError::Truncated("v")));
    }

    #[test]
    fn strings_must_fit_and_be_printable() {
        assert_eq!(Reader::new(&[3, b'a', b'b']).str8("s"), Err(CodecError::Truncated("s")));
        assert_eq!(Reader::new(&[2, b'a', b' ']).str8("s"), Err(CodecError::NotAscii("s")));
        assert_eq!(Reader::new(&[2, b'a', b'b']).str8("s"), Ok("ab".to_string()));
        assert!(is_short_ascii("Asia/Tokyo", 64) && !is_short_ascii("a b", 64) && !is_short_ascii("é", 64));
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let mut r = Reader::new(&[1, 2, 3]);
        r.u8("x").unwrap();
        assert_eq!(r.finish(), Err(CodecError::Trailing(2)));
    }
}
