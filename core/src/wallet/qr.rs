//! The QR module matrix of a redemption code, so Kotlin and Swift only draw squares (no image types, no QR
//! code of their own to disagree with the core's).

use qrcode::{Color, EcLevel, QrCode, Version};

/// A square QR symbol: `width × width` modules, row-major, `true` = dark. Draw a 4-module light quiet zone
/// around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    pub width: u32,
    /// QR version (1-40): 17 + 4 × version modules a side.
    pub version: u8,
    pub modules: Vec<bool>,
}

impl QrMatrix {
    pub fn is_dark(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.width && self.modules[(y * self.width + x) as usize]
    }
}

/// Why no QR symbol could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the text does not fit a QR code: {0}")]
pub struct QrError(pub String);

/// The symbol for `code` at error correction level M (what phone screens and till scanners read reliably); the
/// encoder picks the smallest version and, for Base45 text, alphanumeric mode.
pub fn qr_matrix(code: &str) -> Result<QrMatrix, QrError> {
    let symbol =
        QrCode::with_error_correction_level(code.as_bytes(), EcLevel::M).map_err(|e| QrError(e.to_string()))?;
    let version = match symbol.version() {
        Version::Normal(v) => u8::try_from(v).map_err(|_| QrError("unexpected version".into()))?,
        Version::Micro(_) => return Err(QrError("unexpected micro QR".into())),
    };
    let width = u32::try_from(symbol.width()).map_err(|_| QrError("too wide".into()))?;
    let modules = symbol.to_colors().into_iter().map(|c| c == Color::Dark).collect();
    Ok(QrMatrix { width, version, modules })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_follows_the_version_and_the_finder_patterns_are_dark() {
        let m = qr_matrix("HELLO WORLD").unwrap();
        assert_eq!(m.width, 17 + 4 * u32::from(m.version));
        assert_eq!(m.modules.len(), (m.width * m.width) as usize);
        // The three finder patterns' corners.
        assert!(m.is_dark(0, 0) && m.is_dark(m.width - 1, 0) && m.is_dark(0, m.width - 1));
        assert!(!m.is_dark(m.width, 0));
    }

    #[test]
    fn too_much_text_is_a_typed_error() {
        assert!(qr_matrix(&"A".repeat(5000)).is_err());
    }
}
