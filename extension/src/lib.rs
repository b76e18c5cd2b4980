//! The `quarry` extension: every piece of Quarry's state, and the SQL API over it.
//!
//! The schema and most of the API are hand-written SQL in `sql/` (a DBA can read any function
//! with `\sf`); Rust supplies what SQL cannot do well: password hashing, strong random tokens,
//! counting rows as another role would see them, and parsing SQL with PostgreSQL's own parser.

use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

/// Runs when a backend loads the library: registers the settings row-level security policies
/// may read (`quarry.account_id`, `quarry.account_email`), installs the guard's analysis hook and
/// reserves the `quarry.` prefix.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    executor::register_settings();
    guard::install();
    #[cfg(not(any(feature = "pg13", feature = "pg14")))]
    // SAFETY: called once, at load, with a static NUL-terminated string.
    unsafe {
        pg_sys::MarkGUCPrefixReserved(c"quarry".as_ptr());
    }
}

mod cost;
mod errors;
mod executor;
mod guard;
mod oauth;
mod passwords;
mod queries;
mod random;
mod rows_as;

#[cfg(any(test, feature = "pg_test"))]
mod tests;

extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
extension_sql_file!("../sql/common.sql", name = "common", requires = ["schema"]);
extension_sql_file!(
    "../sql/accounts.sql",
    name = "accounts",
    requires = ["common", passwords::hash_password, passwords::verify_password]
);
extension_sql_file!("../sql/teams.sql", name = "teams", requires = ["accounts"]);
extension_sql_file!(
    "../sql/datasets.sql",
    name = "datasets",
    requires = ["teams", queries::check_query]
);
extension_sql_file!(
    "../sql/catalog.sql",
    name = "catalog",
    requires = ["datasets", rows_as::count_rows_as]
);
extension_sql_file!(
    "../sql/oauth.sql",
    name = "oauth",
    requires = [
        "accounts",
        random::random_token,
        random::random_bytes,
        oauth::redirect_uri_problem_sql,
        oauth::redirect_uri_matches,
        oauth::hmac_token
    ]
);
extension_sql_file!("../sql/sessions.sql", name = "sessions", requires = ["oauth"]);
extension_sql_file!("../sql/mcp.sql", name = "mcp", requires = ["oauth"]);
extension_sql_file!("../sql/conversations.sql", name = "conversations", requires = ["catalog"]);
extension_sql_file!("../sql/dashboards.sql", name = "dashboards", requires = ["conversations"]);
extension_sql_file!("../sql/models.sql", name = "models", requires = ["datasets"]);
extension_sql_file!("../sql/semantic.sql", name = "semantic", requires = ["catalog", queries::check_query]);
extension_sql_file!(
    "../sql/questions.sql",
    name = "questions",
    requires = ["catalog", "conversations", executor::execute]
);
extension_sql_file!("../sql/sources.sql", name = "sources", requires = ["semantic"]);
extension_sql_file!("../sql/audit.sql", name = "audit", requires = ["schema"]);
extension_sql_file!("../sql/sqlbot.sql", name = "sqlbot", requires = ["sessions", "questions", "models"]);
extension_sql_file!("../sql/privileges.sql", name = "privileges", finalize);

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
