//! `GET /healthz`: is the database reachable, and does it have the extension version this sidecar
//! needs? 200 when both hold, 503 with the reason otherwise (for load balancers and people).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::EXTENSION_VERSION;
use crate::db::{Db, DbError};

pub async fn healthz(State(db): State<Db>) -> (StatusCode, Json<Value>) {
    let report = match check(&db).await {
        Ok(installed) if installed == EXTENSION_VERSION => {
            return (StatusCode::OK, Json(body("ok", "ok", Some(&installed))));
        }
        Ok(installed) => body("unavailable", &version_problem(&installed).unwrap_or_default(), Some(&installed)),
        Err(problem) => body("unavailable", &problem, None),
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(report))
}

fn body(status: &str, database: &str, installed: Option<&str>) -> Value {
    json!({
        "status": status,
        "database": database,
        "extension": { "installed": installed, "required": EXTENSION_VERSION },
    })
}

/// The installed extension version, or a sentence saying what is wrong.
pub async fn check(db: &Db) -> Result<String, String> {
    let installed = db.version().await.map_err(|e| match e {
        DbError::Unavailable => "the database is unreachable".to_string(),
        DbError::Missing(_) => "the quarry extension is not installed in this database (CREATE EXTENSION quarry)".to_string(),
        DbError::Forbidden { .. } => {
            "this sidecar's role may not use the quarry schema (SELECT quarry.grant_service('<role>'))".to_string()
        }
        other => {
            tracing::warn!(error = %other, "health check failed");
            "the database did not answer the health check".to_string()
        }
    })?;
    installed.ok_or_else(|| "the quarry extension is not installed in this database".to_string())
}

/// Why this sidecar cannot serve a database whose extension is at version `installed`, and what
/// to run about it; `None` when it is the version this sidecar was built for. Every release of
/// the sidecar calls the functions of its own release, so any other version is refused.
pub fn version_problem(installed: &str) -> Option<String> {
    if installed == EXTENSION_VERSION {
        return None;
    }
    let remedy = if newer(installed, EXTENSION_VERSION) {
        // An extension cannot be taken back to an earlier version.
        format!("run a quarry-sidecar of version {installed}")
    } else {
        format!(
            "run ALTER EXTENSION quarry UPDATE TO '{EXTENSION_VERSION}'; in that database as a superuser \
             (the {EXTENSION_VERSION} extension must be installed on the server; the upgrade keeps all data)"
        )
    };
    Some(format!("the database has quarry {installed}; this sidecar needs {EXTENSION_VERSION}: {remedy}"))
}

/// Whether dotted version `a` is later than `b` (false when either is not numbers and dots).
fn newer(a: &str, b: &str) -> bool {
    let parse = |v: &str| v.split('.').map(str::parse::<u64>).collect::<Result<Vec<_>, _>>();
    matches!((parse(a), parse(b)), (Ok(a), Ok(b)) if a > b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_extension_is_updated_and_a_newer_one_needs_a_newer_sidecar() {
        assert_eq!(version_problem(EXTENSION_VERSION), None);
        let older = version_problem("0.0.1").unwrap();
        assert!(older.starts_with(&format!("the database has quarry 0.0.1; this sidecar needs {EXTENSION_VERSION}: ")), "{older}");
        assert!(older.contains(&format!("ALTER EXTENSION quarry UPDATE TO '{EXTENSION_VERSION}';")), "{older}");
        let newer = version_problem("999.0.0").unwrap();
        assert!(newer.ends_with("run a quarry-sidecar of version 999.0.0"), "{newer}");
        assert!(super::newer("0.10.0", "0.9.1") && !super::newer("0.9.1", "0.10.0") && !super::newer("x", "0.1.0"));
    }
}
