//! The binary's behaviour on bad configuration: a clear message naming the variable, exit code 2,
//! no panic and no stack trace.

use std::process::Command;

fn run(vars: &[(&str, &str)]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_quarry-sidecar"))
        .env_clear()
        .envs(vars.iter().copied())
        .output()
        .expect("run quarry-sidecar");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn missing_database_url() {
    let (code, stderr) = run(&[]);
    assert_eq!(code, 2);
    assert_eq!(stderr.trim(), "quarry-sidecar: DATABASE_URL is not set");
}

#[test]
fn invalid_values_are_named() {
    let db = ("DATABASE_URL", "postgres://q@127.0.0.1:1/q");
    for (var, value) in [
        ("QUARRY_BIND", "not-an-address"),
        ("QUARRY_PUBLIC_URL", "javascript:alert(1)"),
        ("QUARRY_DB_POOL_SIZE", "lots"),
        ("QUARRY_LOG_FORMAT", "xml"),
    ] {
        let (code, stderr) = run(&[db, (var, value)]);
        assert_eq!(code, 2, "{var}={value}");
        assert!(stderr.starts_with(&format!("quarry-sidecar: {var} is invalid")), "{var}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn address_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_quarry-sidecar"))
        .env_clear()
        .env("DATABASE_URL", "postgres://q@127.0.0.1:1/q")
        .env("QUARRY_BIND", &addr)
        .env("QUARRY_LOG_FORMAT", "text")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.contains(&format!("cannot listen on {addr}")), "{out}");
}
