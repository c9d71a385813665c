//! SSH public keys users register for `git push` (spec §3.10.3, with the stricter
//! validation §9 item 27 allows: the key must really be an RSA, ECDSA or Ed25519 key).

use base64::Engine;
use md5::{Digest, Md5};

/// The key types the builder's SSH daemon is expected to accept.
const SUPPORTED: [&str; 5] = [
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-ed25519",
];

/// The original's message for key data whose base64 length is wrong; the test-suite
/// pins it (`ssh-rsa foo_bar`).
pub const INCORRECT_PADDING: &str = "Incorrect padding";

/// A public key in OpenSSH's one-line form (`<type> <base64> [comment]`), known to hold
/// a well-formed key of a supported type, with its MD5 fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    text: String,
    fingerprint: String,
}

impl PublicKey {
    /// Checks `text` and computes the fingerprint; the error is the message shown under
    /// `public`. The text is kept exactly as given, since uniqueness is on the text.
    pub fn parse(text: &str) -> Result<PublicKey, String> {
        let mut words = text.split_whitespace();
        let (Some(kind), Some(data)) = (words.next(), words.next()) else {
            return Err(
                "Not an SSH public key: expected \"<key type> <base64 key data> [comment]\"."
                    .into(),
            );
        };

        if !SUPPORTED.contains(&kind) {
            return Err(format!(
                "Unsupported key type \"{kind}\": use one of {}.",
                SUPPORTED.join(", ")
            ));
        }

        let blob = decode_base64(data)?;

        // The decoded blob is parsed rather than the whole line so that errors speak of
        // the key data; the type word must then name the type inside it.
        let key = ssh_key::PublicKey::from_bytes(&blob)
            .map_err(|err| format!("The key data is not a valid {kind} key ({err})."))?;
        if key.algorithm().as_str() != kind {
            return Err(format!("The key data does not hold a {kind} key."));
        }

        Ok(PublicKey {
            text: text.to_string(),
            fingerprint: fingerprint(&blob),
        })
    }

    /// The key exactly as the user sent it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// MD5 of the key data as 16 lowercase hex pairs joined by `:`, as `ssh-keygen -E md5`
    /// shows it and the builder names keys.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// Strict standard base64; a length that cannot be padded correctly gets the
/// original's "Incorrect padding".
fn decode_base64(data: &str) -> Result<Vec<u8>, String> {
    use base64::DecodeError;

    match base64::engine::general_purpose::STANDARD.decode(data) {
        Ok(blob) => Ok(blob),
        Err(DecodeError::InvalidLength(_) | DecodeError::InvalidPadding) => {
            Err(INCORRECT_PADDING.into())
        }
        Err(DecodeError::InvalidLastSymbol(..)) => Err(INCORRECT_PADDING.into()),
        Err(DecodeError::InvalidByte(..)) if !data.len().is_multiple_of(4) => {
            Err(INCORRECT_PADDING.into())
        }
        Err(DecodeError::InvalidByte(offset, byte)) => Err(format!(
            "The key data is not valid base64 (character {:?} at position {offset}).",
            char::from(byte)
        )),
    }
}

fn fingerprint(blob: &[u8]) -> String {
    let digest = Md5::digest(blob);
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RSA key of the original test-suite (`RSA_PUBKEY`), with its known fingerprint.
    const SUITE_RSA: &str =
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCfQkkUUoxpvcNMkvv7jqnfodgs37M2eBO\
        APgLK+KNBMaZaaKB4GF1QhTCMfFhoiTW3rqa0J75bHJcdkoobtTHlK8XUrFqsquWyg3XhsT\
        Yr/3RQQXvO86e2sF7SVDJqVtpnbQGc5SgNrHCeHJmf5HTbXSIjCO/AJSvIjnituT/SIAMGe\
        Bw0Nq/iSltwYAek1hiKO7wSmLcIQ8U4A00KEUtalaumf2aHOcfjgPfzlbZGP0S0cuBwSqLr\
        8b5XGPmkASNdUiuJY4MJOce7bFU14B7oMAy2xacODUs1momUeYtGI9T7X2WMowJaO7tP3Gl\
        sgBMP81VfYTfYChAyJpKp2yoP autotest@autotesting comment";

    // Generated with `ssh-keygen -t <type> -N '' -C dev@box`; fingerprints from
    // `ssh-keygen -l -E md5`.
    const ED25519: &str = "ssh-ed25519 \
        AAAAC3NzaC1lZDI1NTE5AAAAIBP7tUF9jAqoTsoLWwikROF2hlltDDYx/RoWndD2Y7VX dev@box";
    const ED25519_MD5: &str = "f6:c1:54:55:33:fa:8e:58:44:9d:b2:59:e0:f9:a2:d3";
    const ECDSA384: &str = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQ\
        AAABhBNTHmMvOTeMi4vu4GAYy7d1GNowEnoTy9qxQ1HzVnEcLtlrDzRugpIzGcHvRFgdd055vd/SiC+mY+/KHRrR\
        MsY0+bN0DEUgukkRSTbHI6TmgXWbgwPOnvv067TMIaOjMWQ== dev@box";
    const ECDSA384_MD5: &str = "d9:91:74:44:c7:e5:ae:80:ff:73:4b:c5:e9:17:a9:03";
    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7w6Eo9PYF87olWb8wUdU7ewDKorAa/lGB\
        oY7ITe0k6TizPUDf6+tGn6HL2//2LutoqNwTShbQ160l9TXZc+3gHD4dkffuQeSEG+qnfct0KnkkydFMfOS+4Uns\
        12rQA5hWgEO3gFTTP1vT00HiN/smOZij4MnJqFTrSB6YEmrKlb2US5iIK1XgTzlMeqLAZDJTF7khvrLODMtntP5r\
        MgVBGUoaJGeSgIGhGrYl6HORJlbsSU2xRHwHQOdCUmXuIA1mvJZssmBJIyeKAhQNUh4P3Q1OkRNQiVrFPFKVEVwu\
        ohksUt3qvwcaS8h7w6GVTWxJy2c0caHNHARXAbkA1285 dev@box";
    const RSA_MD5: &str = "b0:ec:1f:14:25:13:28:73:8a:2d:7e:52:ec:fc:f1:27";

    fn data_of(key: &str) -> &str {
        key.split_whitespace().nth(1).unwrap()
    }

    #[test]
    fn the_suite_rsa_key_has_the_known_fingerprint() {
        let key = PublicKey::parse(SUITE_RSA).unwrap();
        assert_eq!(
            key.fingerprint(),
            "54:6d:da:1f:91:b5:2b:6f:a2:83:90:c4:f9:73:76:f5"
        );
        assert_eq!(key.text(), SUITE_RSA);
    }

    #[test]
    fn rsa_ecdsa_and_ed25519_keys_match_ssh_keygen_fingerprints() {
        for (text, md5) in [
            (RSA, RSA_MD5),
            (ECDSA384, ECDSA384_MD5),
            (ED25519, ED25519_MD5),
        ] {
            assert_eq!(PublicKey::parse(text).unwrap().fingerprint(), md5, "{text}");
        }
    }

    #[test]
    fn a_key_without_comment_has_the_same_fingerprint() {
        let bare = format!("ssh-ed25519 {}", data_of(ED25519));
        assert_eq!(PublicKey::parse(&bare).unwrap().fingerprint(), ED25519_MD5);
    }

    #[test]
    fn a_badly_padded_key_keeps_the_original_message() {
        assert_eq!(
            PublicKey::parse("ssh-rsa foo_bar").unwrap_err(),
            "Incorrect padding"
        );
        assert_eq!(
            PublicKey::parse("ssh-rsa AAAAB").unwrap_err(),
            "Incorrect padding"
        );
    }

    #[test]
    fn a_key_without_data_is_refused() {
        for text in ["ssh-rsa", "", "   "] {
            assert!(PublicKey::parse(text)
                .unwrap_err()
                .starts_with("Not an SSH public key"));
        }
    }

    #[test]
    fn an_unknown_key_type_is_refused() {
        let err = PublicKey::parse(&format!("ssh-foo {}", data_of(RSA))).unwrap_err();
        assert!(err.starts_with("Unsupported key type \"ssh-foo\""), "{err}");
    }

    #[test]
    fn non_base64_data_is_refused() {
        let err = PublicKey::parse("ssh-rsa AAAA*AAA").unwrap_err();
        assert!(err.contains("not valid base64"), "{err}");
    }

    #[test]
    fn a_truncated_key_is_refused() {
        let data = base64::engine::general_purpose::STANDARD
            .decode(data_of(RSA))
            .unwrap();
        let cut = base64::engine::general_purpose::STANDARD.encode(&data[..data.len() - 10]);
        let err = PublicKey::parse(&format!("ssh-rsa {cut}")).unwrap_err();
        assert!(
            err.starts_with("The key data is not a valid ssh-rsa key"),
            "{err}"
        );
    }

    #[test]
    fn trailing_bytes_after_the_key_are_refused() {
        let mut data = base64::engine::general_purpose::STANDARD
            .decode(data_of(ED25519))
            .unwrap();
        data.extend_from_slice(b"garbage");
        let long = base64::engine::general_purpose::STANDARD.encode(&data);
        let err = PublicKey::parse(&format!("ssh-ed25519 {long}")).unwrap_err();
        assert!(
            err.starts_with("The key data is not a valid ssh-ed25519 key"),
            "{err}"
        );
    }

    #[test]
    fn a_type_word_that_disagrees_with_the_key_data_is_refused() {
        let err = PublicKey::parse(&format!("ssh-rsa {}", data_of(ED25519))).unwrap_err();
        assert_eq!(err, "The key data does not hold a ssh-rsa key.");
    }

    #[test]
    fn the_minimal_key_the_original_accepted_is_refused() {
        assert!(PublicKey::parse("ssh-rsa AAAA").is_err());
    }
}
