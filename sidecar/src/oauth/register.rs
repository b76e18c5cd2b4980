//! Dynamic Client Registration (RFC 7591) at `POST /v1/oauth/register`.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::error::{OAuthError, no_store};
use crate::config::Config;
use crate::db::Db;
use crate::db::oauth::NewClient;
use crate::form::MAX_BODY;
use crate::session::ClientIp;

/// Descriptive metadata kept as the client gave it (and shown back in the response).
const DESCRIPTIVE: &[&str] = &["client_uri", "logo_uri", "tos_uri", "policy_uri", "software_id", "software_version"];

fn metadata_error(description: impl Into<String>) -> OAuthError {
    OAuthError::new("invalid_client_metadata", description)
}

fn optional_string(object: &Map<String, Value>, name: &str) -> Result<Option<String>, OAuthError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(metadata_error(format!("{name} must be a string"))),
    }
}

fn optional_strings(object: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, OAuthError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| metadata_error(format!("{name} must be an array of strings"))))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(metadata_error(format!("{name} must be an array of strings"))),
    }
}

pub async fn register(
    State(db): State<Db>,
    State(config): State<Arc<Config>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match handle(&db, config.oauth.registrations_per_hour, ip, &headers, body).await {
        Ok(registered) => no_store((StatusCode::CREATED, Json(registered)).into_response()),
        Err(e) => e.into_response(),
    }
}

/// What a registration asks for, as read from its JSON body.
#[derive(Debug)]
struct Registration {
    client_name: Option<String>,
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    scope: Option<String>,
    /// Descriptive metadata, kept as given.
    descriptive: Map<String, Value>,
}

/// Reads a registration body (RFC 7591 client metadata); the extension checks the values.
fn registration(bytes: &[u8]) -> Result<Registration, OAuthError> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(bytes) else {
        return Err(metadata_error("the body must be a JSON object"));
    };
    let redirect_uris = match object.get("redirect_uris") {
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect::<Vec<_>>()
        }
        Some(_) => return Err(OAuthError::new("invalid_redirect_uri", "redirect_uris must be an array of strings")),
        None => return Err(OAuthError::new("invalid_redirect_uri", "redirect_uris is required")),
    };
    if let Some(types) = optional_strings(&object, "response_types")?
        && types.iter().any(|t| t != "code")
    {
        return Err(metadata_error("response_types may only contain code"));
    }
    let mut descriptive = Map::new();
    for name in DESCRIPTIVE {
        if let Some(value) = optional_string(&object, name)? {
            descriptive.insert(name.to_string(), Value::String(value));
        }
    }
    if let Some(contacts) = optional_strings(&object, "contacts")? {
        descriptive.insert("contacts".into(), contacts.into());
    }
    Ok(Registration {
        client_name: optional_string(&object, "client_name")?,
        redirect_uris,
        token_endpoint_auth_method: optional_string(&object, "token_endpoint_auth_method")?,
        grant_types: optional_strings(&object, "grant_types")?,
        scope: optional_string(&object, "scope")?,
        descriptive,
    })
}

async fn handle(db: &Db, per_hour: i32, ip: Option<std::net::IpAddr>, headers: &HeaderMap, body: Body) -> Result<Value, OAuthError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(metadata_error("send the client metadata as application/json"));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| OAuthError::new("request_too_large", "the request body is too large"))?;
    let r = registration(&bytes)?;
    let registered = db
        .register_client(&NewClient {
            client_name: r.client_name.as_deref(),
            redirect_uris: &r.redirect_uris,
            token_endpoint_auth_method: r.token_endpoint_auth_method.as_deref(),
            grant_types: r.grant_types.as_deref(),
            scope: r.scope.as_deref(),
            metadata: &r.descriptive,
            ip,
            per_hour,
        })
        .await?;
    tracing::info!(client_id = registered["client_id"].as_str().unwrap_or_default(), "client registered");
    Ok(registered)
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Strategy;

    use super::*;

    #[test]
    fn a_registration_reads_what_rfc_7591_defines() {
        let r = registration(br#"{"client_name":"App","redirect_uris":["http://127.0.0.1/cb"],"contacts":["a@b"],"logo_uri":"https://x/l.png","extra":1}"#).unwrap();
        assert_eq!(r.client_name.as_deref(), Some("App"));
        assert_eq!(r.redirect_uris, ["http://127.0.0.1/cb"]);
        assert_eq!(r.descriptive.len(), 2, "only descriptive metadata is kept: {:?}", r.descriptive);
        assert_eq!(registration(br#"{"client_name":"App"}"#).unwrap_err().code, "invalid_redirect_uri");
        assert_eq!(registration(br#"{"redirect_uris":["x"],"response_types":["token"]}"#).unwrap_err().code, "invalid_client_metadata");
        assert_eq!(registration(b"[]").unwrap_err().code, "invalid_client_metadata");
    }

    // Fuzzing: any body is read or refused with an RFC 7591 error, never a panic.
    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 2000, ..Default::default() })]

        #[test]
        fn any_bytes_are_read_or_refused(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            if let Err(e) = registration(&bytes) {
                proptest::prop_assert!(["invalid_client_metadata", "invalid_redirect_uri"].contains(&e.code));
            }
        }

        #[test]
        fn metadata_shaped_bodies_are_read_or_refused(
            fields in proptest::collection::vec((
                proptest::sample::select(vec!["client_name", "redirect_uris", "grant_types", "scope", "contacts", "logo_uri",
                                              "token_endpoint_auth_method", "response_types", "software_id", "other"]),
                proptest::prop_oneof![
                    "\\PC{0,30}".prop_map(Value::String),
                    proptest::collection::vec("\\PC{0,20}".prop_map(Value::String), 0..4).prop_map(Value::Array),
                    proptest::num::i64::ANY.prop_map(Value::from),
                    proptest::strategy::Just(Value::Null),
                    proptest::strategy::Just(serde_json::json!({"nested": [1, {"deep": true}]})),
                ],
            ), 0..8),
        ) {
            let object: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            let body = serde_json::to_vec(&object).unwrap();
            match registration(&body) {
                Ok(r) => proptest::prop_assert_eq!(Some(&Value::from(r.redirect_uris.clone())), object.get("redirect_uris")),
                Err(e) => proptest::prop_assert!(["invalid_client_metadata", "invalid_redirect_uri"].contains(&e.code)),
            }
        }
    }
}
