//! Strong random bytes and tokens, from PostgreSQL's own CSPRNG (`pg_strong_random`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pgrx::prelude::*;

use crate::errors::raise;

/// Fills `buf` with cryptographically strong random bytes, or raises.
pub fn fill(buf: &mut [u8]) {
    // SAFETY: the pointer and length describe `buf`, which outlives the call.
    let ok = unsafe { pg_sys::pg_strong_random(buf.as_mut_ptr().cast(), buf.len()) };
    if !ok {
        raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, "could not generate random bytes", None);
    }
}

/// A random token of `nbytes` bytes (16 to 64), base64url-encoded without padding: client ids,
/// secrets, authorization codes, refresh tokens. Only its hash is ever stored.
#[pg_extern(name = "_random_token", volatile, parallel_safe)]
pub fn random_token(nbytes: i32) -> String {
    let Ok(n @ 16..=64) = usize::try_from(nbytes) else {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("a token has 16 to 64 random bytes, not {nbytes}"),
            None,
        );
    };
    let mut buf = vec![0u8; n];
    fill(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// `nbytes` (16 to 1024) cryptographically strong random bytes.
#[pg_extern(name = "_random_bytes", volatile, parallel_safe)]
pub fn random_bytes(nbytes: i32) -> Vec<u8> {
    let Ok(n @ 16..=1024) = usize::try_from(nbytes) else {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("16 to 1024 random bytes, not {nbytes}"), None);
    };
    let mut buf = vec![0u8; n];
    fill(&mut buf);
    buf
}
