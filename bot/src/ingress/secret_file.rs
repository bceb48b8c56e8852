//! The generated GitHub webhook secret: Sentinel never accepts unsigned webhooks, so when no secret
//! is configured the first run creates a strong random one in a file only its owner can read.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Secret;

/// The secret file that belongs beside the database at `database_url`.
pub fn path_for(database_url: &str) -> PathBuf {
    let db = crate::store::database_file(database_url).unwrap_or_else(|| PathBuf::from("sentinel.db"));
    let name = db
        .file_name()
        .map(|n| format!("{}.webhook-secret", n.to_string_lossy()))
        .unwrap_or_else(|| "sentinel.webhook-secret".to_owned());
    db.with_file_name(name)
}

/// Reads the secret at `path`, creating it (mode 0600, 256 random bits as hex) when missing.
/// Returns the secret and whether it was created now.
pub fn load_or_create(path: &Path) -> std::io::Result<(Secret, bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok((Secret::new(text.trim()), false)),
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|err| std::io::Error::other(err.to_string()))?;
    let secret = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(secret.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok((Secret::new(secret), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_private_random_secret_once_and_reuses_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_for(&format!("sqlite://{}/data.db", dir.path().display()));
        assert_eq!(path, dir.path().join("data.db.webhook-secret"));
        let (first, created) = load_or_create(&path).expect("create");
        assert!(created);
        assert_eq!(first.expose().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let (again, created) = load_or_create(&path).expect("read");
        assert!(!created);
        assert_eq!(again, first);
    }
}
