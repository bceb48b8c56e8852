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

/// Fails when the file at `path` exists and group or others may read or write it: a secret anyone
/// on the machine can read is no secret. A missing file is fine (it will be created private).
pub fn check_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(err),
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "{} is open to group or others (mode {mode:o}); run `chmod 600 {}` (and replace the secret in it \
                     and on GitHub if others may have read it)",
                    path.display(),
                    path.display()
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Reads the secret at `path`, creating it (mode 0600, 256 random bits as hex) when missing.
/// Returns the secret and whether it was created now. An existing file open to group or others
/// is refused ([`check_private`]), empty or not.
pub fn load_or_create(path: &Path) -> std::io::Result<(Secret, bool)> {
    check_private(path)?;
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

    #[cfg(unix)]
    #[test]
    fn a_file_open_to_others_is_refused_and_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("data.db.webhook-secret");
        std::fs::write(&path, "").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = load_or_create(&path).expect_err("refused");
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("chmod 600"), "{message}");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "",
            "no secret written into it"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let (_, created) = load_or_create(&path).expect("private now");
        assert!(created, "an empty private file gets a secret");
    }
}
