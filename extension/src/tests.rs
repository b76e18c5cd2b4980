//! Tests of the Rust pieces, run inside a real PostgreSQL by `cargo pgrx test` / `cargo test`.
//! The SQL API's behaviour is pinned by the regression suite in `tests/pg_regress`.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    use crate::{passwords, queries, random};

    #[pg_test]
    fn password_round_trip() {
        let stored = passwords::hash_password("correct horse battery staple");
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(passwords::verify_password(Some(&stored), "correct horse battery staple"));
        assert!(!passwords::verify_password(Some(&stored), "correct horse battery stapler"));
        // A missing hash never verifies, whatever the password.
        assert!(!passwords::verify_password(None, "quarry: no such account"));
        // Garbage in the column is a failed check, not an error.
        assert!(!passwords::verify_password(Some("not a hash"), "x"));
    }

    #[pg_test]
    fn salts_differ() {
        assert_ne!(passwords::hash_password("same"), passwords::hash_password("same"));
    }

    #[pg_test]
    fn tokens_are_random_base64url() {
        let a = random::random_token(32);
        let b = random::random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{a}");
    }

    #[pg_test(error = "a token has 16 to 64 random bytes, not 8")]
    fn short_tokens_are_refused() {
        random::random_token(8);
    }

    /// Fuzzing quarry.check_query: SQL-looking token soup and raw text, 1,500 cases. Each is
    /// accepted or refused with a reason (syntax errors included), and the backend survives.
    #[pg_test]
    fn check_query_answers_anything() {
        use proptest::prelude::*;
        let tokens = prop::sample::select(vec![
            "SELECT", "WITH", "VALUES", "INSERT", "DELETE", "UPDATE", "INTO", "FROM", "WHERE", "FOR", "UPDATE", "SHARE", "AS",
            "(", ")", ",", ";", "*", "1", "'x'", "$$", "--", "/*", "*/", "\\", "pg_class", "t", "x", "RETURNING", "COPY", "SET",
            "ROLE", "UNION", "ALL", "LOCK", "TABLE", "EXPLAIN", "ANALYZE", "DO", "BEGIN", "END", "NULL", "E'\\x00'", "\"q\"",
        ]);
        let soup = prop::collection::vec(tokens, 0..24).prop_map(|t| t.join(" "));
        let raw = "\\PC{0,200}";
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config { cases: 1500, ..Default::default() });
        runner
            .run(&prop_oneof![soup, raw.prop_map(|s| s)], |sql| {
                let reason = Spi::get_one_with_args::<String>("SELECT quarry.check_query($1)", &[sql.as_str().into()])
                    .map_err(|e| TestCaseError::fail(format!("{sql:?}: {e}")))?;
                if reason.is_none() {
                    prop_assert!(queries::shape_problem(&sql).is_none(), "{sql:?}");
                }
                Ok(())
            })
            .unwrap();
    }

    #[pg_test]
    fn plain_queries_pass_the_check() {
        queries::check_query("SELECT 1");
        queries::check_query("WITH t AS (SELECT 1 AS x) SELECT x FROM t UNION ALL SELECT 2");
        queries::check_query("VALUES (1), (2)");
    }

    #[pg_test(error = "a WITH clause of the query modifies data")]
    fn writable_ctes_are_refused() {
        queries::check_query("WITH d AS (DELETE FROM pg_class RETURNING *) SELECT * FROM d");
    }

    #[pg_test(error = "the query must be a single statement, not 2")]
    fn several_statements_are_refused() {
        queries::check_query("SELECT 1; SELECT 2");
    }

    #[pg_test(error = "the query must be a SELECT, VALUES or WITH … SELECT statement")]
    fn writes_are_refused() {
        queries::check_query("UPDATE t SET x = 1");
    }

    #[pg_test(error = "SELECT INTO creates a table; the query must only read")]
    fn select_into_is_refused() {
        queries::check_query("SELECT 1 INTO t");
    }

    #[pg_test(error = "syntax error at or near \"SELEC\"")]
    fn syntax_errors_are_syntax_errors() {
        queries::check_query("SELEC 1");
    }

    /// Exact counts see what the role sees: row-level security applies even though the caller is
    /// a superuser, and the switch back is complete afterwards.
    #[pg_test]
    fn counts_respect_row_level_security() {
        Spi::run(
            "CREATE ROLE quarry_test_reader NOLOGIN;
             CREATE TABLE public.rls_rows (region text);
             INSERT INTO public.rls_rows SELECT CASE WHEN g % 4 = 0 THEN 'north' ELSE 'south' END
               FROM generate_series(1, 100) g;
             ALTER TABLE public.rls_rows ENABLE ROW LEVEL SECURITY;
             CREATE POLICY north_only ON public.rls_rows TO quarry_test_reader USING (region = 'north');
             GRANT SELECT ON public.rls_rows TO quarry_test_reader;",
        )
        .unwrap();
        let as_reader = Spi::get_one::<i64>(
            "SELECT quarry._count_rows_as('public.rls_rows'::regclass, 'quarry_test_reader'::regrole)",
        )
        .unwrap();
        assert_eq!(as_reader, Some(25));
        let me = Spi::get_one::<bool>("SELECT current_user = session_user").unwrap();
        assert_eq!(me, Some(true));
        let as_owner = Spi::get_one::<i64>("SELECT count(*) FROM public.rls_rows").unwrap();
        assert_eq!(as_owner, Some(100));
    }

    #[pg_test(error = "permission denied for table rls_secret")]
    fn counts_need_the_roles_privilege() {
        Spi::run(
            "CREATE ROLE quarry_test_outsider NOLOGIN;
             CREATE TABLE public.rls_secret (x int);",
        )
        .unwrap();
        let _ = Spi::get_one::<i64>(
            "SELECT quarry._count_rows_as('public.rls_secret'::regclass, 'quarry_test_outsider'::regrole)",
        );
    }
}
