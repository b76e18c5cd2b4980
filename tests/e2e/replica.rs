//! More than one machine: two sidecars behind a round-robin proxy, both on one primary, with
//! `QUARRY_QUERY_DATABASE_URL` on a streaming replica (hot standby) that `./dev test` copies from
//! the private cluster with pg_basebackup. Every request goes to the other sidecar than the one
//! before, so OAuth (registration, sign-in, consent, code, tokens, refresh rotation), MCP
//! sessions and conversations only work if they live in PostgreSQL; questions must run on the
//! replica, and their audit rows and conversations land on the primary.

use std::time::Duration;

use quarry_e2e::mcp::Mcp;
use quarry_e2e::oauth::{token_request, tokens_for};
use quarry_e2e::proxy::Proxy;
use quarry_e2e::{Sidecar, account, admin, connect, required_env};
use serde_json::{Value, json};

async fn replica_admin() -> tokio_postgres::Client {
    connect(&required_env("QUARRY_E2E_REPLICA_ADMIN")).await
}

/// Waits until the replica has replayed everything the primary wrote so far (a safety bound of
/// a minute, not a measurement).
async fn caught_up(replica: &tokio_postgres::Client) {
    let primary = admin().await;
    let lsn: String = primary.query_one("SELECT pg_current_wal_lsn()::text", &[]).await.unwrap().get(0);
    for _ in 0..600 {
        let done: bool = replica
            .query_one("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", &[&lsn])
            .await
            .unwrap()
            .get(0);
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the replica did not replay up to {lsn} within a minute");
}

/// The count a run_sql answer holds.
fn count(answer: &Value) -> i64 {
    assert_eq!(answer["status"], "answered", "{answer}");
    answer["result"]["rows"][0][0].as_i64().unwrap_or_else(|| panic!("no count in {answer}"))
}

#[tokio::test]
async fn two_sidecars_behind_a_round_robin_proxy_act_as_one_with_questions_on_the_replica() {
    let replica = replica_admin().await;
    let in_recovery: bool = replica.query_one("SELECT pg_is_in_recovery()", &[]).await.unwrap().get(0);
    assert!(in_recovery, "QUARRY_E2E_REPLICA_ADMIN is not a standby");

    // A table only this test uses, readable by the analyst role, replicated before we begin.
    let primary = admin().await;
    primary
        .batch_execute(
            "DROP TABLE IF EXISTS public.replica_probe;
             CREATE TABLE public.replica_probe (n int);
             INSERT INTO public.replica_probe VALUES (1);
             GRANT SELECT ON public.replica_probe TO retail_analyst;",
        )
        .await
        .unwrap();
    caught_up(&replica).await;

    // The proxy listens first: its URL is the sidecars' public URL (issuer, resource, Host).
    let proxy = Proxy::start().await;
    let vars = [
        ("QUARRY_PUBLIC_URL", proxy.url.as_str()),
        ("QUARRY_QUERY_DATABASE_URL", &required_env("QUARRY_E2E_REPLICA_URL")),
    ];
    let a = Sidecar::start_with(&vars).await;
    let b = Sidecar::start_with(&vars).await;
    proxy.round_robin(&[&a.base_url, &b.base_url]);

    // OAuth through both: registration, the sign-in and consent pages, the code and the token
    // exchange each land on the other sidecar than the request before.
    let (id, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
    let (tokens, client) = tokens_for(&proxy.url, &email, &password, None).await;
    let access = tokens["access_token"].as_str().unwrap().to_string();

    // One MCP session (2025-11-25, with Mcp-Session-Id) whose requests alternate.
    let mut mcp = Mcp::new(&format!("{}/mcp", proxy.url), Some(&access));
    mcp.initialize().await;
    assert!(mcp.session_id.is_some(), "the server gave no session id");
    let before = proxy.hits();
    let first = mcp.ok("run_sql", json!({ "sql": "SELECT count(*) AS n FROM public.replica_probe" })).await;
    assert_eq!(count(&first), 1);
    let second = mcp.ok("run_sql", json!({ "sql": "SELECT count(*) + 0 AS n FROM public.replica_probe" })).await;
    assert_eq!(count(&second), 1);
    let after = proxy.hits();
    assert!(after[0] > before[0] && after[1] > before[1], "both sidecars served the session: {before:?} -> {after:?}");
    // run_sql calls of one session collect into one conversation, wherever they ran.
    assert_eq!(first["conversation_id"], second["conversation_id"], "{first}\n{second}");

    // Questions run on the replica: with its replay paused, rows the primary gained are not seen.
    replica.batch_execute("SELECT pg_wal_replay_pause()").await.unwrap();
    primary.batch_execute("INSERT INTO public.replica_probe SELECT g FROM generate_series(2, 42) g").await.unwrap();
    let paused = async {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let answer = mcp.ok("run_sql", json!({ "sql": "SELECT count(*) AS n FROM public.replica_probe" })).await;
            seen.push(count(&answer));
        }
        seen
    }
    .await;
    replica.batch_execute("SELECT pg_wal_replay_resume()").await.unwrap();
    assert_eq!(paused, vec![1, 1], "questions read the primary (42 rows), not the paused replica (1 row)");
    caught_up(&replica).await;
    let resumed = mcp.ok("run_sql", json!({ "sql": "SELECT count(*) AS n FROM public.replica_probe" })).await;
    assert_eq!(count(&resumed), 42);
    // The planner's questions take the same path.
    let planned = mcp.ok("run_query", json!({ "question": "How many orders are there?" })).await;
    assert_eq!(planned["status"], "answered", "{planned}");

    // Audit rows and the conversation are on the primary (the replica cannot be written).
    let audited: i64 = primary
        .query_one("SELECT count(*) FROM quarry.audit_log WHERE account_id = $1 AND action = 'run_sql'", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 5, "one audit row per run_sql call, on the primary");
    let asked: i64 = primary
        .query_one("SELECT count(*) FROM quarry.audit_log WHERE account_id = $1 AND action = 'run_query'", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(asked, 1, "the run_query call's audit row, on the primary");
    let turns: i64 = primary
        .query_one(
            "SELECT count(*) FROM quarry.conversations c WHERE c.account_id = $1 AND c.mcp_session_id = $2",
            &[&id, &mcp.session_id.clone().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(turns, 1, "the session's conversation is on the primary");
    // A conversation continues by id on whichever sidecar gets the call.
    let listed = mcp.ok("get_conversation", json!({ "conversation_id": first["conversation_id"] })).await;
    assert_eq!(listed["id"], first["conversation_id"], "{listed}");

    // Refresh rotation across sidecars: each refresh lands on the other one; the rotated token
    // works, and the first one's successor is the same when it is presented again in the grace period.
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let fields = |token: &str| {
        vec![
            ("grant_type".to_string(), "refresh_token".to_string()),
            ("refresh_token".to_string(), token.to_string()),
            ("client_id".to_string(), client.client_id.clone()),
        ]
    };
    let ask = |f: Vec<(String, String)>| {
        let url = proxy.url.clone();
        async move {
            let borrowed: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            token_request(&url, &borrowed).await
        }
    };
    let (status, rotated, _) = ask(fields(&refresh)).await;
    assert_eq!(status, 200, "{rotated}");
    let next = rotated["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(next, refresh);
    let (status, again, _) = ask(fields(&refresh)).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["refresh_token"], rotated["refresh_token"], "the grace period gives the same successor on the other sidecar");
    let (status, third, _) = ask(fields(&next)).await;
    assert_eq!(status, 200, "{third}");
    let mut fresh = Mcp::new(&format!("{}/mcp", proxy.url), third["access_token"].as_str());
    fresh.initialize().await;
    assert_eq!(count(&fresh.ok("run_sql", json!({ "sql": "SELECT count(*) AS n FROM public.replica_probe" })).await), 42);

    primary.batch_execute("DROP TABLE public.replica_probe").await.unwrap();
}
