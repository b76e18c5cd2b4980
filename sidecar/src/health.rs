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
        Ok(installed) => body(
            "unavailable",
            &format!("extension quarry {installed} is installed; this sidecar needs {EXTENSION_VERSION} (ALTER EXTENSION quarry UPDATE)"),
            Some(&installed),
        ),
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
