//! TLS certificates users upload for the router (spec §3.11.3, with the §9 item 29 fix:
//! the private key is checked too, and must belong to the certificate).

use std::io::Cursor;

use p256::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::pkcs1::DecodeRsaPrivateKey;
use x509_parser::pem::Pem;

/// A certificate with the private key that belongs to it, both as the user sent them
/// (PEM), and what the API shows of them.
pub struct CertificatePair {
    certificate: String,
    key: String,
    /// The subject CN, or the first DNS subjectAltName when the subject has none.
    derived_name: Option<String>,
    /// notAfter, in microseconds since the epoch.
    expires: i64,
}

/// Why a certificate/key pair was refused: the field it concerns and the message.
#[derive(Debug, PartialEq, Eq)]
pub enum CertificateError {
    Certificate(String),
    Key(String),
}

impl CertificatePair {
    /// Parses the certificate and the key and checks that the key's public half is the
    /// certificate's. A bad certificate is reported first, as without one the key
    /// cannot be judged.
    pub fn parse(certificate: &str, key: &str) -> Result<CertificatePair, CertificateError> {
        let parsed = ParsedCertificate::read(certificate).map_err(|detail| {
            CertificateError::Certificate(format!("Could not load certificate: {detail}"))
        })?;
        let key_spki = public_key_of(key).map_err(CertificateError::Key)?;
        if key_spki != parsed.spki {
            return Err(CertificateError::Key(
                "The private key does not belong to the certificate.".into(),
            ));
        }
        Ok(CertificatePair {
            certificate: certificate.to_string(),
            key: key.to_string(),
            derived_name: parsed.name,
            expires: parsed.expires,
        })
    }

    pub fn certificate(&self) -> &str {
        &self.certificate
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// The host name the certificate is for, when it names one.
    pub fn derived_name(&self) -> Option<&str> {
        self.derived_name.as_deref()
    }

    /// The end of the validity period, in microseconds since the epoch.
    pub fn expires(&self) -> i64 {
        self.expires
    }
}

/// The key's `Debug` must never show the key.
impl std::fmt::Debug for CertificatePair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificatePair")
            .field("derived_name", &self.derived_name)
            .field("expires", &self.expires)
            .field("key", &"<redacted>")
            .finish()
    }
}

struct ParsedCertificate {
    name: Option<String>,
    expires: i64,
    /// DER of the SubjectPublicKeyInfo.
    spki: Vec<u8>,
}

impl ParsedCertificate {
    fn read(text: &str) -> Result<ParsedCertificate, String> {
        let pem = read_pem(text)?;
        if pem.label != "CERTIFICATE" {
            return Err(format!(
                "expected a CERTIFICATE PEM block, found {}",
                pem.label
            ));
        }
        let cert = pem
            .parse_x509()
            .map_err(|e| format!("not an X.509 certificate ({e})"))?;

        let from_subject = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok());
        let from_san = || -> Option<&str> {
            let san = cert.subject_alternative_name().ok()??;
            san.value.general_names.iter().find_map(|name| match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => Some(*dns),
                _ => None,
            })
        };
        let name = from_subject.or_else(from_san).map(str::to_string);

        let expires = cert
            .validity()
            .not_after
            .timestamp()
            .checked_mul(1_000_000)
            .ok_or("its expiry date is out of range")?;

        Ok(ParsedCertificate {
            name,
            expires,
            spki: cert.public_key().raw.to_vec(),
        })
    }
}

fn read_pem(text: &str) -> Result<Pem, String> {
    match Pem::read(Cursor::new(text.as_bytes())) {
        Ok((pem, _)) => Ok(pem),
        Err(x509_parser::error::PEMError::MissingHeader) => {
            Err("no PEM block (\"-----BEGIN ...-----\") found".into())
        }
        Err(e) => Err(format!("malformed PEM ({e})")),
    }
}

/// The DER SubjectPublicKeyInfo of a PEM private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC,
/// P-256 and P-384).
// LIMITATION: Ed25519 and P-521 keys, and encrypted keys, are refused; they matter only
// to users whose certificates use them, and the router would need them too.
fn public_key_of(text: &str) -> Result<Vec<u8>, String> {
    let pem = read_pem(text).map_err(|detail| format!("Could not load private key: {detail}"))?;
    let der = pem.contents.as_slice();
    let unsupported = |what: &str| format!("Could not load private key: {what}");
    let spki = match pem.label.as_str() {
        "PRIVATE KEY" => {
            if let Ok(key) = rsa::RsaPrivateKey::from_pkcs8_der(der) {
                key.to_public_key().to_public_key_der()
            } else if let Ok(key) = p256::SecretKey::from_pkcs8_der(der) {
                key.public_key().to_public_key_der()
            } else if let Ok(key) = p384::SecretKey::from_pkcs8_der(der) {
                key.public_key().to_public_key_der()
            } else {
                return Err(unsupported("not an RSA, P-256 or P-384 key in PKCS#8 form"));
            }
        }
        "RSA PRIVATE KEY" => rsa::RsaPrivateKey::from_pkcs1_der(der)
            .map_err(|e| unsupported(&format!("not a valid RSA key ({e})")))?
            .to_public_key()
            .to_public_key_der(),
        "EC PRIVATE KEY" => {
            if let Ok(key) = p256::SecretKey::from_sec1_der(der) {
                key.public_key().to_public_key_der()
            } else if let Ok(key) = p384::SecretKey::from_sec1_der(der) {
                key.public_key().to_public_key_der()
            } else {
                return Err(unsupported("not a P-256 or P-384 key"));
            }
        }
        "ENCRYPTED PRIVATE KEY" => {
            return Err(unsupported(
                "the key is encrypted; send it without a passphrase",
            ))
        }
        other => {
            return Err(unsupported(&format!(
                "expected a PRIVATE KEY PEM block, found {other}"
            )))
        }
    };
    spki.map(|doc| doc.as_bytes().to_vec())
        .map_err(|e| unsupported(&format!("its public key cannot be encoded ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate and key made by `openssl` in a temporary directory.
    fn openssl(args: &[&str]) -> (String, String) {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        let cert = dir.path().join("c");
        let status = std::process::Command::new("openssl")
            .args(["req", "-x509", "-nodes", "-days", "30", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        (
            std::fs::read_to_string(cert).unwrap(),
            std::fs::read_to_string(key).unwrap(),
        )
    }

    fn rsa_cert(cn: &str) -> (String, String) {
        openssl(&["-newkey", "rsa:2048", "-subj", &format!("/CN={cn}")])
    }

    #[test]
    fn an_rsa_certificate_with_its_key_is_accepted() {
        let (cert, key) = rsa_cert("www.example.com");
        let pair = CertificatePair::parse(&cert, &key).unwrap();
        assert_eq!(pair.derived_name(), Some("www.example.com"));
        let days = (pair.expires() - crate::time::now_micros()) / 86_400_000_000;
        assert!((29..=30).contains(&days), "{days}");
    }

    #[test]
    fn an_ec_certificate_with_its_key_is_accepted() {
        let (cert, key) = openssl(&[
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-subj",
            "/CN=ec.example.com",
        ]);
        let pair = CertificatePair::parse(&cert, &key).unwrap();
        assert_eq!(pair.derived_name(), Some("ec.example.com"));
    }

    #[test]
    fn a_pkcs1_rsa_key_is_accepted() {
        let (cert, key) = rsa_cert("old.example.com");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("k"), &key).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["rsa", "-traditional", "-in"])
            .arg(dir.path().join("k"))
            .stderr(std::process::Stdio::null())
            .output()
            .unwrap();
        let pkcs1 = String::from_utf8(out.stdout).unwrap();
        assert!(pkcs1.contains("BEGIN RSA PRIVATE KEY"));
        assert!(CertificatePair::parse(&cert, &pkcs1).is_ok());
    }

    #[test]
    fn the_name_comes_from_the_san_when_the_subject_has_no_cn() {
        let (cert, key) = openssl(&[
            "-newkey",
            "rsa:2048",
            "-subj",
            "/",
            "-addext",
            "subjectAltName=DNS:san.example.com",
        ]);
        let pair = CertificatePair::parse(&cert, &key).unwrap();
        assert_eq!(pair.derived_name(), Some("san.example.com"));
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let (cert, _) = rsa_cert("a.example.com");
        let (_, other_key) = rsa_cert("b.example.com");
        assert_eq!(
            CertificatePair::parse(&cert, &other_key).unwrap_err(),
            CertificateError::Key("The private key does not belong to the certificate.".into())
        );
    }

    #[test]
    fn garbage_is_refused_with_the_field_it_concerns() {
        let (cert, key) = rsa_cert("a.example.com");
        match CertificatePair::parse("garbage", &key).unwrap_err() {
            CertificateError::Certificate(m) => {
                assert!(m.starts_with("Could not load certificate: "))
            }
            other => panic!("{other:?}"),
        }
        match CertificatePair::parse(&cert, "garbage").unwrap_err() {
            CertificateError::Key(m) => assert!(m.starts_with("Could not load private key: ")),
            other => panic!("{other:?}"),
        }
        match CertificatePair::parse(&key, &key).unwrap_err() {
            CertificateError::Certificate(m) => assert!(m.contains("found PRIVATE KEY"), "{m}"),
            other => panic!("{other:?}"),
        }
        match CertificatePair::parse(&cert, &cert).unwrap_err() {
            CertificateError::Key(m) => assert!(m.contains("found CERTIFICATE"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_debug_print_never_shows_the_key() {
        let (cert, key) = rsa_cert("a.example.com");
        let pair = CertificatePair::parse(&cert, &key).unwrap();
        let shown = format!("{pair:?}");
        assert!(!shown.contains("PRIVATE"));
    }
}
