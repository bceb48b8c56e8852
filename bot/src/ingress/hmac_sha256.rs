//! HMAC-SHA256 signing and constant-time verification, shared by the GitHub and Slack signature
//! schemes (they differ only in what is signed and how the hex digest is prefixed).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::config::Secret;

fn mac_of(secret: &Secret, parts: &[&[u8]]) -> Option<Hmac<Sha256>> {
    // HMAC takes keys of any length, so this only fails in theory.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).ok()?;
    for part in parts {
        mac.update(part);
    }
    Some(mac)
}

/// True when `hex_digest` is the lowercase or uppercase hex of HMAC-SHA256 over the concatenated
/// `parts` under `secret`; the comparison is constant-time (`Mac::verify_slice`).
pub fn verify(secret: &Secret, parts: &[&[u8]], hex_digest: &str) -> bool {
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    mac_of(secret, parts).is_some_and(|mac| mac.verify_slice(&expected).is_ok())
}

/// The lowercase hex HMAC-SHA256 over the concatenated `parts` under `secret` (for signing test
/// requests and `sentinel simulate`).
pub fn sign(secret: &Secret, parts: &[&[u8]]) -> String {
    mac_of(secret, parts)
        .map(|mac| hex::encode(mac.finalize().into_bytes()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_signed_as_one_message() {
        // RFC 4231 test case 2.
        let secret = Secret::new("Jefe");
        let digest = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(sign(&secret, &[b"what do ya want ", b"for nothing?"]), digest);
        assert!(verify(&secret, &[b"what do ya want for nothing?"], digest));
        assert!(verify(
            &secret,
            &[b"what do ya want for nothing?"],
            &digest.to_uppercase()
        ));
        assert!(!verify(&secret, &[b"what do ya want for nothing!"], digest));
        assert!(!verify(&secret, &[b"what do ya want for nothing?"], &digest[..62]));
        assert!(!verify(&secret, &[b"what do ya want for nothing?"], "zz"));
    }
}
