//! HMAC-SHA256 signing and constant-time verification, shared by the GitHub and Slack signature
//! schemes (they differ only in what is signed and how the hex digest is prefixed).
//!
//! ring's HMAC, not RustCrypto's `hmac` + `sha2`: on CPUs without the SHA extensions `sha2` falls
//! back to portable code, and hashing every 10 KB webhook body was the largest single item of
//! the ingest profile (13 % of the server's CPU under a burst, `bench/docs/cluster.md`); ring
//! picks its AVX2/SSSE3 assembly at run time. ring is already in the build (rustls's provider).

use ring::hmac;

use crate::config::Secret;

fn key(secret: &Secret) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes())
}

/// True when `hex_digest` is the lowercase or uppercase hex of HMAC-SHA256 over the concatenated
/// `parts` under `secret`; the comparison is constant-time (`ring::hmac::verify`).
pub fn verify(secret: &Secret, parts: &[&[u8]], hex_digest: &str) -> bool {
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let key = key(secret);
    match parts {
        [one] => hmac::verify(&key, one, &expected).is_ok(),
        // ring verifies one slice; the multi-part messages (Slack's `v0:{ts}:{body}`) are small.
        _ => hmac::verify(&key, &parts.concat(), &expected).is_ok(),
    }
}

/// The lowercase hex HMAC-SHA256 over the concatenated `parts` under `secret` (for signing test
/// requests and `sentinel simulate`).
pub fn sign(secret: &Secret, parts: &[&[u8]]) -> String {
    let mut context = hmac::Context::with_key(&key(secret));
    for part in parts {
        context.update(part);
    }
    hex::encode(context.sign().as_ref())
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
