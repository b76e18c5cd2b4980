//! Parameters of forms and OAuth requests, from an `application/x-www-form-urlencoded` or JSON
//! body (or a query string): each given at most once (RFC 6749 §3.1), strings only, bodies of
//! bounded size. The OAuth endpoints and the pages read their input with it.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderMap, header};

/// Largest request body an OAuth endpoint or a page form reads.
pub const MAX_BODY: usize = 64 * 1024;

/// Why parameters could not be read: a description for the sender, and whether the body was
/// simply too large (everything else is a malformed request).
#[derive(Debug, Clone)]
pub struct FormError {
    pub description: String,
    pub too_large: bool,
}

impl FormError {
    fn invalid(description: impl Into<String>) -> FormError {
        FormError { description: description.into(), too_large: false }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// A parameter, with empty values treated as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn from_pairs(pairs: impl Iterator<Item = (String, String)>) -> Result<Params, FormError> {
        let mut map = HashMap::new();
        for (name, value) in pairs {
            if map.insert(name.clone(), value).is_some() {
                return Err(FormError::invalid(format!("parameter {name} is given more than once")));
            }
        }
        Ok(Params(map))
    }

    pub fn from_query(query: Option<&str>) -> Result<Params, FormError> {
        let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned();
        Params::from_pairs(pairs)
    }

    /// Reads a form or JSON body of at most `MAX_BODY` bytes.
    pub async fn from_body(headers: &HeaderMap, body: Body) -> Result<Params, FormError> {
        let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| FormError {
            description: format!("the request body is larger than {} kB", MAX_BODY / 1024),
            too_large: true,
        })?;
        Params::parse(headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), &bytes)
    }

    /// Parses a body of the given `Content-Type` (form or JSON; anything else is refused).
    pub fn parse(content_type: Option<&str>, bytes: &[u8]) -> Result<Params, FormError> {
        let content_type = content_type.map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()).unwrap_or_default();
        match content_type.as_str() {
            "application/x-www-form-urlencoded" => Params::from_pairs(form_urlencoded::parse(bytes).into_owned()),
            "application/json" => {
                let value: serde_json::Value = serde_json::from_slice(bytes)
                    .map_err(|e| FormError::invalid(format!("the body is not valid JSON: {e}")))?;
                let serde_json::Value::Object(object) = value else {
                    return Err(FormError::invalid("the body must be a JSON object"));
                };
                let mut pairs = Vec::with_capacity(object.len());
                for (name, value) in object {
                    match value {
                        serde_json::Value::String(s) => pairs.push((name, s)),
                        serde_json::Value::Null => {}
                        _ => return Err(FormError::invalid(format!("parameter {name} must be a string"))),
                    }
                }
                Params::from_pairs(pairs.into_iter())
            }
            "" => Err(FormError::invalid("the request has no Content-Type; send application/x-www-form-urlencoded")),
            other => Err(FormError::invalid(format!(
                "unsupported Content-Type {other}; send application/x-www-form-urlencoded or application/json"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Strategy;

    use super::*;

    #[test]
    fn duplicates_are_refused() {
        let e = Params::from_query(Some("a=1&b=2&a=3")).unwrap_err();
        assert!(!e.too_large);
        assert!(e.description.contains("parameter a"));
    }

    #[test]
    fn empty_values_are_absent() {
        let p = Params::from_query(Some("scope=&state=x")).unwrap();
        assert_eq!(p.get("scope"), None);
        assert_eq!(p.get("state"), Some("x"));
    }

    #[tokio::test]
    async fn bodies() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/json; charset=utf-8".parse().unwrap());
        let p = Params::from_body(&headers, Body::from(r#"{"grant_type":"refresh_token","x":null}"#)).await.unwrap();
        assert_eq!(p.get("grant_type"), Some("refresh_token"));
        let e = Params::from_body(&headers, Body::from(r#"{"n": 5}"#)).await.unwrap_err();
        assert!(e.description.contains("must be a string"));
        let e = Params::from_body(&headers, Body::from("[1]")).await.unwrap_err();
        assert!(!e.too_large);
        let e = Params::from_body(&headers, Body::from(vec![b' '; MAX_BODY + 1])).await.unwrap_err();
        assert!(e.too_large);
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        let e = Params::from_body(&headers, Body::from("a=b")).await.unwrap_err();
        assert!(e.description.contains("text/plain"));
    }

    // Fuzzing: whatever bytes arrive, parsing answers Ok or an error, never panics, and an
    // accepted body holds each parameter once.
    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 2000, ..Default::default() })]

        #[test]
        fn any_form_body_parses_or_is_refused(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            if let Ok(params) = Params::parse(Some("application/x-www-form-urlencoded"), &bytes) {
                for (name, _) in form_urlencoded::parse(&bytes) {
                    let _ = params.get(&name);
                }
            }
        }

        #[test]
        fn any_json_body_parses_or_is_refused(text in "\\PC{0,300}", content_type in "(application/json|application/x-www-form-urlencoded|text/plain|)(; charset=utf-8)?") {
            let _ = Params::parse(Some(&content_type), text.as_bytes());
        }

        #[test]
        fn json_shaped_bodies_parse_or_are_refused(
            pairs in proptest::collection::vec(("[a-z_]{1,12}", proptest::prop_oneof![
                "\\PC{0,40}".prop_map(serde_json::Value::String),
                proptest::num::i64::ANY.prop_map(serde_json::Value::from),
                proptest::bool::ANY.prop_map(serde_json::Value::Bool),
                proptest::strategy::Just(serde_json::Value::Null),
            ]), 0..8),
        ) {
            let object: serde_json::Map<String, serde_json::Value> = pairs.into_iter().collect();
            let body = serde_json::to_vec(&object).unwrap();
            match Params::parse(Some("application/json"), &body) {
                Ok(params) => {
                    for (name, value) in &object {
                        proptest::prop_assert_eq!(params.get(name), value.as_str().filter(|s| !s.is_empty()));
                    }
                }
                Err(e) => proptest::prop_assert!(!e.too_large),
            }
        }
    }
}
