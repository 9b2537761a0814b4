//! Base45 (RFC 9285): the redemption code's text form. Its 45 characters are exactly QR alphanumeric mode, so a
//! code is plain text for the CLI, logs-free copy and paste and keyboard-wedge scanners, and still packs densely
//! into a QR code (2 bytes → 3 characters → 16.5 bits).

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(2) * 3);
    for chunk in bytes.chunks(2) {
        // Two bytes become three characters, a last odd byte two; least significant digit first.
        let mut n = chunk.iter().fold(0usize, |n, b| n * 256 + usize::from(*b));
        for _ in 0..=chunk.len() {
            out.push(char::from(ALPHABET[n % 45]));
            n /= 45;
        }
    }
    out
}

/// Why text is not Base45.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Base45Error {
    #[error("character {0} is not in the Base45 alphabet")]
    BadCharacter(usize),
    #[error("a group of characters decodes to more than its bytes can hold")]
    Overflow,
    #[error("length {0} leaves a single dangling character")]
    BadLength(usize),
}

pub fn decode(text: &str) -> Result<Vec<u8>, Base45Error> {
    let digits = text
        .bytes()
        .enumerate()
        .map(|(i, c)| ALPHABET.iter().position(|a| *a == c).ok_or(Base45Error::BadCharacter(i)))
        .collect::<Result<Vec<_>, _>>()?;
    if digits.len() % 3 == 1 {
        return Err(Base45Error::BadLength(digits.len()));
    }
    let mut out = Vec::with_capacity(digits.len() / 3 * 2 + 1);
    for group in digits.chunks(3) {
        let value = group.iter().rev().fold(0usize, |n, d| n * 45 + d);
        if group.len() == 3 {
            let value = u16::try_from(value).map_err(|_| Base45Error::Overflow)?;
            out.extend_from_slice(&value.to_be_bytes());
        } else {
            out.push(u8::try_from(value).map_err(|_| Base45Error::Overflow)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_9285_examples() {
        assert_eq!(encode(b"AB"), "BB8");
        assert_eq!(encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(decode("QED8WEX0").unwrap(), b"ietf!");
        assert_eq!(decode("GGW"), Err(Base45Error::Overflow));
    }

    #[test]
    fn any_bytes_round_trip_and_bad_text_is_refused() {
        let bytes: Vec<u8> = (0..=255).chain((0..=255).rev()).collect();
        for len in 0..bytes.len() {
            assert_eq!(decode(&encode(&bytes[..len])).unwrap(), &bytes[..len]);
        }
        assert_eq!(decode("ab"), Err(Base45Error::BadCharacter(0)));
        assert_eq!(decode("BB8B"), Err(Base45Error::BadLength(4)));
        assert_eq!(decode(":::"), Err(Base45Error::Overflow));
    }
}
