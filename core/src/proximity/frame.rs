//! BLE advertisement bytes → a beacon frame, strictly. The advertisement's AD structures are walked with their
//! lengths checked (a zero length ends the data, as the Bluetooth Core Specification allows for padding); the first
//! structure that carries a beacon decides, and its payload must have exactly the length its format defines. Short
//! frames are never zero-padded and nothing here panics: every problem is a [`FrameError`].
//!
//! Formats (see docs/proximity.md): iBeacon (manufacturer data, company 0x004C, `02 15`, UUID, major, minor,
//! measured power at 1 m); AltBeacon (manufacturer data, any company, `BE AC`, 20-byte id, power, reserved);
//! Eddystone (service data for 0xFEAA): UID (power at 0 m, namespace, instance, the two reserved bytes optional),
//! URL, TLM (version 0 plain, version 1 encrypted) and EID.

use super::eddystone_url;

const AD_MANUFACTURER: u8 = 0xff;
const AD_SERVICE_DATA_16: u8 = 0x16;
const APPLE: u16 = 0x004c;
const EDDYSTONE: [u8; 2] = [0xaa, 0xfe];

/// A recognised beacon frame. Identifiers are bytes in the order they were sent.
#[derive(Debug, Clone, PartialEq)]
pub enum BeaconFrame {
    Ibeacon {
        uuid: [u8; 16],
        major: u16,
        minor: u16,
        tx_power: i8,
        manufacturer: u16,
    },
    Altbeacon {
        id: [u8; 20],
        tx_power: i8,
        reserved: u8,
        manufacturer: u16,
    },
    EddystoneUid {
        namespace: [u8; 10],
        instance: [u8; 6],
        tx_power: i8,
    },
    EddystoneUrl {
        url: String,
        tx_power: i8,
    },
    /// Unencrypted telemetry. `temperature_c` is None when the beacon reports 0x8000 (not supported).
    EddystoneTlm {
        version: u8,
        battery_mv: u16,
        temperature_c: Option<f64>,
        adv_count: u32,
        uptime_s: f64,
    },
    /// Encrypted telemetry (version 1): readable only with the beacon's key, reported as such.
    EddystoneEtlm {
        encrypted: [u8; 12],
        salt: u16,
        mic: u16,
    },
    EddystoneEid {
        eid: [u8; 8],
        tx_power: i8,
    },
}

/// Why bytes are not a beacon frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("AD structure at byte {at} says {len} bytes but only {left} remain")]
    Truncated { at: usize, len: usize, left: usize },
    #[error("{format} payload is {len} bytes; {expected} expected")]
    WrongLength { format: &'static str, len: usize, expected: &'static str },
    #[error("Eddystone frame type 0x{0:02x} is not one this parser knows")]
    UnknownEddystoneFrame(u8),
    #[error("Eddystone TLM version 0x{0:02x} is not defined")]
    UnknownTlmVersion(u8),
    #[error("Eddystone URL: {0}")]
    Url(#[from] eddystone_url::UrlError),
    #[error("no iBeacon, AltBeacon or Eddystone frame in the advertisement")]
    NotABeacon,
    #[error("bytes after the zero-length terminator are not all zero (byte {0})")]
    TrailingData(usize),
}

/// Parses one advertisement (the concatenated AD structures of an advertising or scan-response PDU).
pub fn parse_advertisement(data: &[u8]) -> Result<BeaconFrame, FrameError> {
    let mut found = None;
    let mut at = 0;
    while at < data.len() {
        let len = usize::from(data[at]);
        if len == 0 {
            // Early termination: what follows is padding and must be zero.
            if let Some(offset) = data[at..].iter().position(|b| *b != 0) {
                return Err(FrameError::TrailingData(at + offset));
            }
            break;
        }
        let left = data.len() - at - 1;
        if len > left {
            return Err(FrameError::Truncated { at, len, left });
        }
        let (ad_type, payload) = (data[at + 1], &data[at + 2..at + 1 + len]);
        if found.is_none() {
            found = beacon(ad_type, payload)?;
        }
        at += 1 + len;
    }
    found.ok_or(FrameError::NotABeacon)
}

/// The beacon one AD structure carries, if it carries one.
fn beacon(ad_type: u8, payload: &[u8]) -> Result<Option<BeaconFrame>, FrameError> {
    match ad_type {
        AD_MANUFACTURER if payload.len() >= 4 => {
            let company = u16::from_le_bytes([payload[0], payload[1]]);
            match (company, payload[2], payload[3]) {
                (APPLE, 0x02, 0x15) => ibeacon(&payload[4..]).map(Some),
                (_, 0xbe, 0xac) => altbeacon(company, &payload[4..]).map(Some),
                _ => Ok(None),
            }
        }
        AD_SERVICE_DATA_16 if payload.len() >= 3 && payload[..2] == EDDYSTONE => eddystone(&payload[2..]).map(Some),
        _ => Ok(None),
    }
}

fn ibeacon(p: &[u8]) -> Result<BeaconFrame, FrameError> {
    let p: &[u8; 21] = exact(p, "iBeacon", "21 after 4C 00 02 15")?;
    Ok(BeaconFrame::Ibeacon {
        uuid: take(&p[..16]),
        major: u16::from_be_bytes([p[16], p[17]]),
        minor: u16::from_be_bytes([p[18], p[19]]),
        tx_power: p[20] as i8,
        manufacturer: APPLE,
    })
}

fn altbeacon(manufacturer: u16, p: &[u8]) -> Result<BeaconFrame, FrameError> {
    let p: &[u8; 22] = exact(p, "AltBeacon", "22 after the company and BE AC")?;
    Ok(BeaconFrame::Altbeacon { id: take(&p[..20]), tx_power: p[20] as i8, reserved: p[21], manufacturer })
}

fn eddystone(frame: &[u8]) -> Result<BeaconFrame, FrameError> {
    let (kind, p) = (frame[0], &frame[1..]);
    match kind {
        0x00 => {
            // The specification ends the UID frame with two reserved bytes; many beacons leave them out.
            if p.len() != 17 && p.len() != 19 {
                return Err(FrameError::WrongLength { format: "Eddystone UID", len: p.len(), expected: "17 or 19" });
            }
            Ok(BeaconFrame::EddystoneUid {
                tx_power: p[0] as i8,
                namespace: take(&p[1..11]),
                instance: take(&p[11..17]),
            })
        }
        0x10 => {
            if p.len() < 2 {
                return Err(FrameError::WrongLength { format: "Eddystone URL", len: p.len(), expected: "2 to 19" });
            }
            Ok(BeaconFrame::EddystoneUrl { tx_power: p[0] as i8, url: eddystone_url::decode(p[1], &p[2..])? })
        }
        0x20 => match p.first() {
            Some(0x00) => {
                let p: &[u8; 13] = exact(p, "Eddystone TLM", "13")?;
                let raw_temperature = i16::from_be_bytes([p[3], p[4]]);
                Ok(BeaconFrame::EddystoneTlm {
                    version: 0,
                    battery_mv: u16::from_be_bytes([p[1], p[2]]),
                    temperature_c: (raw_temperature != i16::MIN).then(|| f64::from(raw_temperature) / 256.0),
                    adv_count: u32::from_be_bytes([p[5], p[6], p[7], p[8]]),
                    uptime_s: f64::from(u32::from_be_bytes([p[9], p[10], p[11], p[12]])) / 10.0,
                })
            }
            Some(0x01) => {
                let p: &[u8; 17] = exact(p, "Eddystone encrypted TLM", "17")?;
                Ok(BeaconFrame::EddystoneEtlm {
                    encrypted: take(&p[1..13]),
                    salt: u16::from_be_bytes([p[13], p[14]]),
                    mic: u16::from_be_bytes([p[15], p[16]]),
                })
            }
            Some(&version) => Err(FrameError::UnknownTlmVersion(version)),
            None => Err(FrameError::WrongLength { format: "Eddystone TLM", len: 0, expected: "13 or 17" }),
        },
        0x30 => {
            let p: &[u8; 9] = exact(p, "Eddystone EID", "9")?;
            Ok(BeaconFrame::EddystoneEid { tx_power: p[0] as i8, eid: take(&p[1..9]) })
        }
        other => Err(FrameError::UnknownEddystoneFrame(other)),
    }
}

/// `p` as exactly N bytes, or the error naming the format.
fn exact<'a, const N: usize>(
    p: &'a [u8],
    format: &'static str,
    expected: &'static str,
) -> Result<&'a [u8; N], FrameError> {
    p.try_into().map_err(|_| FrameError::WrongLength { format, len: p.len(), expected })
}

/// A fixed-size copy of a slice whose length the caller has checked.
fn take<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    fn parse(text: &str) -> Result<BeaconFrame, FrameError> {
        parse_advertisement(&hex(text))
    }

    const UUID: &str = "2f234454cf6d4a0fadf2f4911ba9ffa6";

    #[test]
    fn ibeacon_with_flags_before_it() {
        let frame = parse(&format!("0201061aff4c000215{UUID}01020304c5")).unwrap();
        assert_eq!(
            frame,
            BeaconFrame::Ibeacon { uuid: take(&hex(UUID)), major: 258, minor: 772, tx_power: -59, manufacturer: 76 }
        );
    }

    // AltBeacon library test vectors (BeaconParserTest), read with the standard AltBeacon layout.
    #[test]
    fn altbeacon_vectors_from_the_altbeacon_library() {
        let id = |tail: &str| -> [u8; 20] { take(&hex(tail)) };
        // testReEncodesBeacon: exactly one AltBeacon structure after the flags.
        let frame = parse(&format!("02011a1bff1801beac{UUID}00010002c509")).unwrap();
        let expected = BeaconFrame::Altbeacon {
            id: id(&format!("{UUID}00010002")),
            tx_power: -59,
            reserved: 0x09,
            manufacturer: 0x0118,
        };
        assert_eq!(frame, expected);
        // testRecognizeBeaconWithFormatSpecifyingManufacturer: the same with zero padding after it.
        assert_eq!(parse(&format!("02011a1bff1801beac{UUID}00010002c509000000")).unwrap(), expected);
        // testRecognizeBeaconCapturedManufacturer: company 0xbbaa, little-endian on the air.
        let captured =
            parse(&format!("0201061bffaabbbeace2c56db5dffb48d2b060d0f5a71096e000010004c5{}", "0".repeat(60))).unwrap();
        assert!(matches!(captured, BeaconFrame::Altbeacon { manufacturer: 0xbbaa, tx_power: -59, reserved: 0, .. }));
        // testParseProblematicBeaconFromIssue229.
        let issue229 = parse("0201061bffe000beac7777772e626c756b692e636f6d000100010001abaa000000").unwrap();
        assert!(matches!(issue229, BeaconFrame::Altbeacon { manufacturer: 0x00e0, tx_power: -86, reserved: 0, .. }));
        // testParseManufacturerIdentifierThatRunsOverPduLength: the structure ends before the identifiers do.
        assert!(matches!(
            parse(&format!("02011a16ff1801beac{UUID}00010002c509000000")),
            Err(FrameError::WrongLength { format: "AltBeacon", len: 17, .. })
        ));
    }

    #[test]
    fn eddystone_url_and_a_name_after_it() {
        // testParseGattIdentifierThatRunsOverPduLength's advertisement, read as the URL frame it is.
        let data = format!("0201060303aafe0d16aafe10e702676f6f676c65000c09526164426561636f6e2047{}", "00".repeat(28));
        assert_eq!(
            parse(&data).unwrap(),
            BeaconFrame::EddystoneUrl { url: "http://google.com/".into(), tx_power: -25 }
        );
    }

    #[test]
    fn eddystone_uid_with_and_without_its_reserved_bytes() {
        let uid = "e78b0ca750e7a74e14bd99000000000001";
        for (len, rfu) in [("15", ""), ("17", "0000")] {
            let frame = parse(&format!("0201060303aafe{len}16aafe00{uid}{rfu}")).unwrap();
            assert_eq!(
                frame,
                BeaconFrame::EddystoneUid {
                    namespace: take(&hex("8b0ca750e7a74e14bd99")),
                    instance: take(&hex("000000000001")),
                    tx_power: -25
                }
            );
        }
    }

    #[test]
    fn eddystone_telemetry_plain_and_encrypted() {
        // Version 0: 3000 mV, 23.5 °C, 1000 advertisements, 360.5 s.
        let plain = parse("0201060303aafe1116aafe20000bb81780000003e800000e15").unwrap();
        assert_eq!(
            plain,
            BeaconFrame::EddystoneTlm {
                version: 0,
                battery_mv: 3000,
                temperature_c: Some(23.5),
                adv_count: 1000,
                uptime_s: 360.5
            }
        );
        let unsupported = parse("0201060303aafe1116aafe20000bb88000000003e800000e15").unwrap();
        assert!(matches!(unsupported, BeaconFrame::EddystoneTlm { temperature_c: None, .. }));
        let encrypted = parse("0201060303aafe1516aafe2001000102030405060708090a0b1234abcd").unwrap();
        assert_eq!(
            encrypted,
            BeaconFrame::EddystoneEtlm { encrypted: take(&hex("000102030405060708090a0b")), salt: 0x1234, mic: 0xabcd }
        );
        // The AltBeacon library's TLM re-encoding vector says 21 bytes and carries 17: it reads only because that
        // library zero-pads short packets, a quirk this parser does not copy.
        assert_eq!(
            parse("0201060303aafe1516aafe2001021203130414243405152535"),
            Err(FrameError::Truncated { at: 7, len: 21, left: 17 })
        );
    }

    #[test]
    fn eddystone_eid() {
        let frame = parse("0201060303aafe0d16aafe30e70102030405060708").unwrap();
        assert_eq!(frame, BeaconFrame::EddystoneEid { eid: take(&hex("0102030405060708")), tx_power: -25 });
    }

    #[test]
    fn malformed_advertisements_are_errors_never_panics() {
        assert_eq!(parse("02011a1bff1801"), Err(FrameError::Truncated { at: 3, len: 27, left: 3 }));
        assert_eq!(parse("020106"), Err(FrameError::NotABeacon));
        assert_eq!(parse(""), Err(FrameError::NotABeacon));
        assert_eq!(parse("0201060005"), Err(FrameError::TrailingData(4)));
        assert_eq!(parse("0201060403aafe40"), Err(FrameError::NotABeacon));
        assert_eq!(parse("0201060416aafe40"), Err(FrameError::UnknownEddystoneFrame(0x40)));
        assert_eq!(parse("0201060516aafe2002"), Err(FrameError::UnknownTlmVersion(2)));
        assert!(matches!(parse("0201060716aafe10e7040a"), Err(FrameError::Url(_))));
        // Every prefix of a valid frame is an error, not a shorter beacon.
        let valid = hex(&format!("0201061aff4c000215{UUID}01020304c5"));
        for end in 0..valid.len() {
            assert!(parse_advertisement(&valid[..end]).is_err(), "prefix of {end} bytes");
        }
    }
}
