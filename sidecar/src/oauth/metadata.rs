//! Discovery: Protected Resource Metadata (RFC 9728) and Authorization Server Metadata (RFC 8414).
//! Both derive from the public URL alone, so they answer even while the database is down.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::db::oauth::SCOPES;
use crate::urls::PublicUrls;

pub async fn protected_resource(State(urls): State<Arc<PublicUrls>>) -> Json<Value> {
    Json(json!({
        "resource": urls.resource,
        "authorization_servers": [urls.issuer],
        "scopes_supported": SCOPES,
        "bearer_methods_supported": ["header"],
        "resource_name": "Quarry",
    }))
}

pub async fn authorization_server(State(urls): State<Arc<PublicUrls>>) -> Json<Value> {
    Json(json!({
        "issuer": urls.issuer,
        "authorization_endpoint": urls.endpoint("/oauth/authorize"),
        "token_endpoint": urls.endpoint("/v1/oauth/token"),
        "registration_endpoint": urls.endpoint("/v1/oauth/register"),
        "revocation_endpoint": urls.endpoint("/v1/oauth/revoke"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": urls.endpoint("/"),
    }))
}
