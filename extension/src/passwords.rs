//! Password hashing with argon2id, inside the database so that passwords never leave it hashed
//! by anything weaker. Parameters are the `argon2` crate's defaults (19 MiB, 2 passes, 1 lane,
//! as OWASP recommends); each hash records its own, so they can be raised later.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use pgrx::prelude::*;

use crate::errors::raise;

fn hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    crate::random::fill(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("salt: {e}"), None));
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("hashing: {e}"), None))
}

/// Hashes a password; the result is a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
#[pg_extern(name = "_hash_password", volatile, parallel_safe)]
pub fn hash_password(password: &str) -> String {
    hash(password)
}

/// Checks a password against a stored hash. With no stored hash (an unknown account) it still
/// does the full work against a throwaway hash, so timing does not tell whether an account exists.
#[pg_extern(name = "_verify_password", volatile, parallel_safe)]
pub fn verify_password(stored: Option<&str>, password: &str) -> bool {
    static THROWAWAY: OnceLock<String> = OnceLock::new();
    let candidate = match stored {
        Some(s) => s,
        None => THROWAWAY.get_or_init(|| hash("quarry: no such account")),
    };
    let Ok(parsed) = PasswordHash::new(candidate) else {
        return false;
    };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && stored.is_some()
}
