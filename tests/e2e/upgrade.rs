//! Upgrades that keep data. A database made with the released 0.1.0 (its install script is frozen
//! in extension/releases) and filled through 0.1.0's own SQL API is upgraded with
//! `ALTER EXTENSION quarry UPDATE`; then every row is still there, what people hold keeps working
//! (access and refresh tokens, a pending authorization code, browser and MCP sessions, passwords,
//! conversations, dashboards), and its `quarry` schema is the one a fresh install of this version
//! makes, as `pg_dump --schema-only` writes it.
//!
//! The test makes its own databases, quarry_upgrade_old and quarry_upgrade_new, in the cluster of
//! the end-to-end tests, and leaves them behind for inspection (the next run replaces them). Their
//! objects end up detached from the extension: see `detach`.

use std::collections::BTreeMap;

use quarry_e2e::{admin, admin_conninfo_for, connect, required_env};
use serde_json::{Value, json};
use tokio_postgres::Client;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const OLD: &str = "quarry_upgrade_old";
const NEW: &str = "quarry_upgrade_new";
const READER: &str = "quarry_upgrade_reader";
const SERVICE: &str = "quarry_upgrade_service";

// The RFC 7636 example verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const RESOURCE: &str = "http://127.0.0.1:8080/mcp";
const REDIRECT: &str = "http://127.0.0.1:43123/callback";
const MCP_SESSION: &str = "mcp-session-made-before-the-upgrade";

/// A small schema for a dataset, the same in both databases.
const SHOP: &str = "
    CREATE SCHEMA shop;
    CREATE TABLE shop.customers (id integer PRIMARY KEY, name text NOT NULL, region text NOT NULL);
    CREATE TABLE shop.orders (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES shop.customers,
                              placed_on date NOT NULL, amount numeric(10, 2) NOT NULL, status text NOT NULL);
    INSERT INTO shop.customers VALUES (1, 'Acme', 'EMEA'), (2, 'Globex', 'AMER');
    INSERT INTO shop.orders VALUES (1, 1, '2025-01-05', 120.00, 'shipped'), (2, 2, '2025-02-11', 80.50, 'placed');
    GRANT USAGE ON SCHEMA shop TO quarry_upgrade_reader;
    GRANT SELECT ON ALL TABLES IN SCHEMA shop TO quarry_upgrade_reader;";

/// What the 0.1.0 database holds that the checks use.
struct Before {
    ada: i64,
    team: i64,
    dataset: i64,
    client: String,
    access: String,
    refresh: String,
    pending_code: String,
    browser_session: String,
    conversation: i64,
    dashboard: i64,
    pin: i64,
}

#[tokio::test]
async fn upgrade_from_0_1_0_keeps_every_row_and_makes_the_schema_of_a_fresh_install() {
    let old = fresh_database(OLD).await;
    let new = fresh_database(NEW).await;

    old.batch_execute("CREATE EXTENSION quarry VERSION '0.1.0'").await.unwrap();
    assert_eq!(version(&old).await, "0.1.0");
    let before = fill_with_0_1_0(&old).await;
    let rows_before = rows(&old).await;
    for (table, rows) in &rows_before {
        assert!(!rows.is_empty(), "quarry.{table} is empty: fill it, so that the upgrade is seen to keep its rows");
    }

    old.batch_execute(&format!("ALTER EXTENSION quarry UPDATE TO '{VERSION}'")).await.unwrap();
    assert_eq!(version(&old).await, VERSION);

    // Every row is still there, with the same values in the columns 0.1.0 had.
    let rows_after = rows(&old).await;
    for (table, rows) in &rows_before {
        let columns = columns_of(rows);
        let Some(after) = rows_after.get(table) else { panic!("quarry.{table} is gone after the upgrade") };
        let mut kept: Vec<Value> = after.iter().map(|row| only(row, &columns)).collect();
        kept.sort_by_key(|row| row.to_string());
        assert_eq!(&kept, rows, "rows of quarry.{table} changed in the upgrade");
    }

    check_what_people_hold(&old, &before).await;

    // A fresh install of this version, with the same service role and a dataset over the same schema.
    new.batch_execute("CREATE EXTENSION quarry").await.unwrap();
    assert_eq!(version(&new).await, VERSION);
    new.execute("SELECT quarry.grant_service($1)", &[&SERVICE]).await.unwrap();
    let team: i64 = new.query_one("SELECT quarry.create_team('Upgraders')", &[]).await.unwrap().get(0);
    let fresh_dataset: i64 = new
        .query_one("SELECT quarry.create_dataset($1, 'Shop', ARRAY['shop'], 'Orders and customers')", &[&team])
        .await
        .unwrap()
        .get(0);

    // The upgrade derived the 0.1.0 dataset's semantic model as a new dataset gets it. (Names only:
    // whether a dimension lists its values depends on statistics, which differ between databases.)
    let model = "SELECT coalesce(jsonb_agg(jsonb_build_array(kind, table_name, name) ORDER BY kind, table_name, name), '[]')
                   FROM quarry.semantic_items WHERE dataset_id = $1";
    let upgraded_model: Value = old.query_one(model, &[&before.dataset]).await.unwrap().get(0);
    let fresh_model: Value = new.query_one(model, &[&fresh_dataset]).await.unwrap().get(0);
    assert!(upgraded_model.as_array().is_some_and(|items| !items.is_empty()), "no semantic model after the upgrade");
    assert_eq!(upgraded_model, fresh_model);

    // The same objects belong to the extension, the same tables are dumped with it, and the same
    // privileges count as the extension's own (pg_dump leaves those out, so a dump of either
    // database restores the same grants; taking the objects out of the extension, below, forgets
    // them).
    let members = "SELECT pg_describe_object(d.classid, d.objid, d.objsubid)
                     FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'quarry'";
    let dumped_tables = "SELECT c::regclass::text FROM pg_extension e, unnest(e.extconfig) c WHERE e.extname = 'quarry'";
    let initial_privileges = "SELECT pg_describe_object(p.classoid, p.objoid, p.objsubid) || ': ' || p.initprivs::text
                                FROM pg_init_privs p
                               WHERE p.privtype = 'e' AND p.objsubid = 0
                                 AND (p.classoid, p.objoid) IN (
                                         SELECT 'pg_namespace'::regclass, 'quarry'::regnamespace::oid
                                         UNION ALL SELECT 'pg_proc'::regclass, oid FROM pg_proc WHERE pronamespace = 'quarry'::regnamespace
                                         UNION ALL SELECT 'pg_class'::regclass, oid FROM pg_class WHERE relnamespace = 'quarry'::regnamespace)";
    for (what, query) in [
        ("objects of the extension", members),
        ("tables dumped with the extension", dumped_tables),
        ("initial privileges", initial_privileges),
    ] {
        let upgraded = strings(&old, query).await;
        let fresh = strings(&new, query).await;
        let missing: Vec<_> = fresh.iter().filter(|x| !upgraded.contains(x)).collect();
        let extra: Vec<_> = upgraded.iter().filter(|x| !fresh.contains(x)).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{what}: the upgraded database lacks {missing:?} and has {extra:?} too");
    }

    // The same schema, object by object, as pg_dump writes it.
    detach(&old).await;
    detach(&new).await;
    let upgraded = schema_dump(OLD);
    let fresh = schema_dump(NEW);
    if upgraded != fresh {
        panic!(
            "an upgraded database and a fresh install have different schemas (- fresh, + upgraded); the upgrade script \
             (extension/upgrade/*.pre.sql, then scripts/upgrade-script.sh) misses something:\n{}",
            diff(&fresh, &upgraded)
        );
    }
}

/// A new, empty database, with the roles the test uses (they are the cluster's).
async fn fresh_database(name: &str) -> Client {
    let admin = admin().await;
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    // Roles are shared by the databases of a cluster; tests may create them concurrently.
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN
               IF to_regrole('{READER}') IS NULL THEN CREATE ROLE {READER} NOLOGIN; END IF;
               IF to_regrole('{SERVICE}') IS NULL THEN CREATE ROLE {SERVICE} NOLOGIN NOINHERIT; END IF;
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
             END $$;"
        ))
        .await
        .unwrap();
    let client = connect(&admin_conninfo_for(name)).await;
    client.batch_execute(SHOP).await.unwrap();
    client
}

/// The first column of every row, sorted.
async fn strings(db: &Client, sql: &str) -> Vec<String> {
    let mut values: Vec<String> = db.query(sql, &[]).await.unwrap().iter().map(|row| row.get(0)).collect();
    values.sort();
    values
}

async fn version(db: &Client) -> String {
    db.query_one("SELECT quarry.version()", &[]).await.unwrap().get(0)
}

async fn one<T: for<'a> tokio_postgres::types::FromSql<'a>>(
    db: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> T {
    db.query_one(sql, params).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// Fills every table through the functions 0.1.0 has, as they are in its install script.
async fn fill_with_0_1_0(db: &Client) -> Before {
    let ada: i64 = one(db, "SELECT quarry.create_account('ada@upgrade.test', 'ada password 1234', 'Ada', $1)", &[&READER]).await;
    let bob: i64 = one(db, "SELECT quarry.create_account('bob@upgrade.test', 'bob password 1234', 'Bob')", &[]).await;
    let team: i64 = one(db, "SELECT quarry.create_team('Upgraders', $1)", &[&ada]).await;
    db.execute("SELECT quarry.add_team_member($1, $2)", &[&team, &bob]).await.unwrap();
    let dataset: i64 = one(db, "SELECT quarry.create_dataset($1, 'Shop', ARRAY['shop'], 'Orders and customers')", &[&team]).await;
    db.execute("SELECT quarry.set_glossary_term($1, 'big order', 'An order over 100', ARRAY['large order'])", &[&dataset])
        .await
        .unwrap();
    db.execute("SELECT quarry.add_example($1, 'How many orders?', 'SELECT count(*) FROM shop.orders')", &[&dataset])
        .await
        .unwrap();
    let model: i64 =
        one(db, "SELECT quarry.create_model_config($1, 'Team model', 'openai', 'gpt-4o-mini', NULL, 'OPENAI_API_KEY')", &[&team])
            .await;
    db.execute("SELECT quarry.set_dataset_model($1, $2)", &[&dataset, &model]).await.unwrap();
    db.execute("SELECT quarry.grant_service($1)", &[&SERVICE]).await.unwrap();

    // An OAuth client, a code redeemed for tokens, and a code still pending.
    let registered: Value = one(db, "SELECT quarry.register_client('Upgrade client', ARRAY[$1])", &[&REDIRECT]).await;
    let client = registered["client_id"].as_str().expect("a client id").to_string();
    let authorize = "SELECT quarry.authorize($1, $2, $3, ARRAY['read', 'datasets'], $4, $5, '1 hour')";
    let code: String = one(db, authorize, &[&ada, &client, &REDIRECT, &RESOURCE, &CHALLENGE]).await;
    let tokens: Value =
        one(db, "SELECT quarry.redeem_code($1, $2, NULL, $3, $4, $5)", &[&code, &client, &REDIRECT, &VERIFIER, &RESOURCE]).await;
    let pending_code: String = one(db, authorize, &[&ada, &client, &REDIRECT, &RESOURCE, &CHALLENGE]).await;

    // A browser session, a failed sign-in (throttle state), an MCP session.
    let signed_in: Value = one(db, "SELECT quarry.sign_in('ada@upgrade.test', 'ada password 1234', '127.0.0.1', 'upgrade test')", &[]).await;
    assert_eq!(signed_in["ok"], true, "{signed_in}");
    let refused: Value = one(db, "SELECT quarry.sign_in('bob@upgrade.test', 'wrong password', '127.0.0.2', 'upgrade test')", &[]).await;
    assert_eq!(refused["ok"], false);
    db.execute("SELECT quarry.open_mcp_session($1, $2, $3)", &[&MCP_SESSION, &ada, &client]).await.unwrap();
    let initialize = json!({"protocolVersion": "2025-11-25", "clientInfo": {"name": "upgrade test", "version": "1"}});
    db.execute("SELECT quarry.store_mcp_session($1, $2)", &[&MCP_SESSION, &initialize]).await.unwrap();

    // A conversation with an answered question, pinned to a dashboard; an audit row.
    let conversation: i64 = one(db, "SELECT quarry.start_conversation($1, $2, 'Orders by region')", &[&ada, &dataset]).await;
    for (kind, content) in blocks() {
        db.execute("SELECT quarry.add_block($1, $2, $3, $4)", &[&ada, &conversation, &kind, &content]).await.unwrap();
    }
    let dashboard: i64 = one(db, "SELECT quarry.create_dashboard($1, $2, 'Weekly', 'ops', '#112233')", &[&ada, &team]).await;
    let pin: i64 = one(db, "SELECT quarry.pin_conversation($1, $2, $3)", &[&ada, &dashboard, &conversation]).await;
    db.execute("SELECT quarry.audit($1, $2, 'run_query', '{\"question\": \"Orders by region\"}', 'ok', 12.5)", &[&ada, &client])
        .await
        .unwrap();

    Before {
        ada,
        team,
        dataset,
        client,
        access: tokens["access_token"].as_str().expect("an access token").to_string(),
        refresh: tokens["refresh_token"].as_str().expect("a refresh token").to_string(),
        pending_code,
        browser_session: signed_in["session"].as_str().expect("a session").to_string(),
        conversation,
        dashboard,
        pin,
    }
}

fn blocks() -> Vec<(&'static str, Value)> {
    vec![
        ("question", json!({"text": "How many orders per region?"})),
        ("sql", json!({"sql": "SELECT c.region, count(*) FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id GROUP BY 1"})),
        ("result", json!({"columns": ["region", "count"], "rows": [["AMER", 1], ["EMEA", 1]]})),
        ("analysis", json!({"text": "One order in each region."})),
        ("chart", json!({"spec": {"mark": "bar"}})),
    ]
}

/// Everything an account, a client or a sidecar held before the upgrade still works after it.
async fn check_what_people_hold(db: &Client, before: &Before) {
    // The access token validates, for the same account, client and scopes.
    let token = db.query("SELECT account_id, client_id, scopes FROM quarry.check_token($1, $2)", &[&before.access, &RESOURCE]).await.unwrap();
    assert_eq!(token.len(), 1, "the access token no longer validates");
    assert_eq!(token[0].get::<_, i64>(0), before.ada);
    assert_eq!(token[0].get::<_, String>(1), before.client);
    assert_eq!(token[0].get::<_, Vec<String>>(2), ["read", "datasets"]);

    // The MCP session is still open for that token, with what the client sent when it opened it.
    let status: String =
        one(db, "SELECT session_status FROM quarry.check_mcp_request($1, $2, $3)", &[&before.access, &RESOURCE, &MCP_SESSION]).await;
    assert_eq!(status, "ok");
    let stored: Value = one(db, "SELECT quarry.load_mcp_session($1)", &[&MCP_SESSION]).await;
    assert_eq!(stored["clientInfo"]["name"], "upgrade test");

    // The browser session is still signed in.
    let session: Value = one(db, "SELECT quarry.session($1)", &[&before.browser_session]).await;
    assert_eq!(session["account_id"], before.ada, "{session}");

    // The conversation reads back block by block.
    let conversation: Value = one(db, "SELECT quarry.get_conversation($1, $2)", &[&before.ada, &before.conversation]).await;
    assert_eq!(conversation["title"], "Orders by region");
    let read: Vec<(String, Value)> = conversation["blocks"]
        .as_array()
        .expect("blocks")
        .iter()
        .map(|b| (b["kind"].as_str().unwrap().to_string(), b["content"].clone()))
        .collect();
    let written: Vec<(String, Value)> = blocks().into_iter().map(|(k, c)| (k.to_string(), c)).collect();
    assert_eq!(read, written);

    // The dashboard lists its pin, with the stored analysis shown to the account that pinned it
    // (0.2.0 shows it only under the role it was computed as: the upgrade recorded the creator's).
    let dashboards: Value = one(db, "SELECT quarry.list_dashboards($1, $2)", &[&before.ada, &before.team]).await;
    assert_eq!(dashboards["dashboards"][0]["id"], before.dashboard, "{dashboards}");
    let pins: Value = one(db, "SELECT quarry.dashboard_pins($1, $2)", &[&before.ada, &before.dashboard]).await;
    let pin = &pins["pins"][0];
    assert_eq!(pin["id"], before.pin, "{pins}");
    assert_eq!(pin["question"], "How many orders per region?");
    assert_eq!(pin["computed_for_you"], true, "{pin}");
    assert_eq!(pin["analysis"], "One order in each region.");
    assert_eq!(pin["chart"], json!({"mark": "bar"}));

    // Passwords still verify; signing in works for both accounts (one failure is not a lock).
    let verified: Option<i64> = one(db, "SELECT quarry.verify_password('ada@upgrade.test', 'ada password 1234')", &[]).await;
    assert_eq!(verified, Some(before.ada));
    for (email, password) in [("ada@upgrade.test", "ada password 1234"), ("bob@upgrade.test", "bob password 1234")] {
        let signed_in: Value =
            one(db, "SELECT quarry.sign_in($1, $2, '127.0.0.2', 'upgrade test')", &[&email, &password]).await;
        assert_eq!(signed_in["ok"], true, "{email}: {signed_in}");
    }

    // The refresh token rotates, and its successor's access token validates.
    let refreshed: Value =
        one(db, "SELECT quarry.refresh_tokens($1, $2, NULL, NULL, $3)", &[&before.refresh, &before.client, &RESOURCE]).await;
    let access = refreshed["access_token"].as_str().unwrap_or_else(|| panic!("the refresh token no longer refreshes: {refreshed}"));
    let rows = db.query("SELECT account_id FROM quarry.check_token($1, $2)", &[&access, &RESOURCE]).await.unwrap();
    assert_eq!(rows.len(), 1, "the refreshed access token does not validate");

    // A code issued before the upgrade is redeemed after it.
    let redeemed: Value = one(
        db,
        "SELECT quarry.redeem_code($1, $2, NULL, $3, $4, $5)",
        &[&before.pending_code, &before.client, &REDIRECT, &VERIFIER, &RESOURCE],
    )
    .await;
    assert!(redeemed["access_token"].is_string(), "the pending code was not redeemed: {redeemed}");

    // The service role got what 0.2.0 added to the service API.
    let granted: bool = one(
        db,
        "SELECT has_function_privilege($1, 'quarry.execute_for(bigint, bigint, text, integer, integer, integer)', 'EXECUTE')",
        &[&SERVICE],
    )
    .await;
    assert!(granted, "the service role was not granted the new service API");
}

/// Every row of every table of the extension's schema, as JSON objects, in a stable order.
async fn rows(db: &Client) -> BTreeMap<String, Vec<Value>> {
    let tables = db
        .query("SELECT c.relname::text FROM pg_class c WHERE c.relnamespace = 'quarry'::regnamespace AND c.relkind = 'r'", &[])
        .await
        .unwrap();
    let mut all = BTreeMap::new();
    for table in tables {
        let table: String = table.get(0);
        let json: Value =
            one(db, &format!("SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM quarry.{} t", quote_ident(&table)), &[]).await;
        let mut rows = json.as_array().cloned().unwrap_or_default();
        rows.sort_by_key(|row| row.to_string());
        all.insert(table, rows);
    }
    all
}

fn columns_of(rows: &[Value]) -> Vec<String> {
    rows.first().and_then(Value::as_object).map(|row| row.keys().cloned().collect()).unwrap_or_default()
}

/// A row with only the given columns (those the old version had).
fn only(row: &Value, columns: &[String]) -> Value {
    let object = row.as_object().expect("a row object");
    Value::Object(object.iter().filter(|(k, _)| columns.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// pg_dump leaves out the objects that belong to an extension (CREATE EXTENSION makes them), so
/// to dump the schema the objects are taken out of the extension first. The database is no use
/// as a Quarry database afterwards.
async fn detach(db: &Client) {
    db.batch_execute(
        "DO $$
         DECLARE
             v record;
         BEGIN
             FOR v IN SELECT i.type, i.identity
                        FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid,
                             pg_identify_object(d.classid, d.objid, d.objsubid) i
                       WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'quarry' LOOP
                 EXECUTE format('ALTER EXTENSION quarry DROP %s %s', v.type, v.identity);
             END LOOP;
         END $$;",
    )
    .await
    .unwrap();
}

/// `pg_dump --schema-only --schema=quarry` of a database, without the lines that differ from one
/// run to the next (psql's \restrict key).
fn schema_dump(database: &str) -> String {
    let pg_dump = required_env("QUARRY_E2E_PG_DUMP");
    let output = std::process::Command::new(&pg_dump)
        .args(["--schema-only", "--schema=quarry", "--dbname"])
        .arg(admin_conninfo_for(database))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {pg_dump}: {e}"));
    assert!(output.status.success(), "pg_dump {database}: {}", String::from_utf8_lossy(&output.stderr));
    let dump = String::from_utf8(output.stdout).expect("a UTF-8 dump");
    assert!(dump.contains("CREATE TABLE quarry.accounts"), "the dump of {database} has no tables:\n{dump}");
    dump.lines().filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict")).map(|l| format!("{l}\n")).collect()
}

/// A unified diff, from the diff program every Debian system has.
fn diff(a: &str, b: &str) -> String {
    let dir = std::env::temp_dir().join(format!("quarry-upgrade-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (fa, fb) = (dir.join("fresh.sql"), dir.join("upgraded.sql"));
    std::fs::write(&fa, a).unwrap();
    std::fs::write(&fb, b).unwrap();
    match std::process::Command::new("diff").arg("-u").arg(&fa).arg(&fb).output() {
        Ok(out) => format!("{}(both dumps are in {})", String::from_utf8_lossy(&out.stdout), dir.display()),
        Err(_) => format!("both dumps are in {}", dir.display()),
    }
}
