//! The documented example configuration stays valid: it parses, and `check-config` accepts it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn the_example_configuration_is_valid_and_passes_check_config() {
    let path = format!("{}/config/sentinel.example.toml", env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(["--config", &path, "check-config"])
        .env_remove("SENTINEL_CONFIG")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("configuration is valid"), "{text}");
}
