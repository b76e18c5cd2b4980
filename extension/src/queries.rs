//! The first look at SQL, with PostgreSQL's own parser: a question (and an example query or a
//! pin) must be exactly one plain query. What the query may call is decided later, from its
//! analysis (see [`crate::guard`]).

use std::ffi::CString;

use pgrx::PgList;
use pgrx::prelude::*;

use crate::errors::raise;

/// What to write instead, for every refusal of a query's shape.
pub const SHAPE_HINT: &str = "Write a single SELECT (optionally with WITH … SELECT) that only reads.";

/// Why `sql` is not exactly one SELECT / VALUES / WITH … SELECT statement with no data-modifying
/// CTE, no SELECT INTO and no row locks, or `None` when it is one. Syntax errors raise (42601).
pub fn shape_problem(sql: &str) -> Option<String> {
    let Ok(text) = CString::new(sql) else { return Some("the query contains a NUL character".into()) };
    // SAFETY: raw_parser reads the NUL-terminated string and allocates its result in the current
    // memory context; a syntax error raises a normal ERROR.
    let statements = unsafe {
        PgList::<pg_sys::RawStmt>::from_pg(pg_sys::raw_parser(text.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT))
    };
    match statements.len() {
        0 => return Some("the query is empty".into()),
        1 => {}
        n => return Some(format!("the query must be a single statement, not {n}")),
    }
    // SAFETY: the list has one element, a valid RawStmt produced by the parser.
    unsafe {
        let raw = statements.get_ptr(0).expect("one statement");
        let node = (*raw).stmt;
        if !pgrx::is_a(node, pg_sys::NodeTag::T_SelectStmt) {
            return Some("the query must be a SELECT, VALUES or WITH … SELECT statement".into());
        }
        let select = node.cast::<pg_sys::SelectStmt>();
        if !(*select).intoClause.is_null() {
            return Some("SELECT INTO creates a table; the query must only read".into());
        }
        if !(*select).lockingClause.is_null() {
            return Some("the query must not lock rows (FOR UPDATE / FOR SHARE)".into());
        }
        let with = (*select).withClause;
        if !with.is_null() {
            let ctes = PgList::<pg_sys::CommonTableExpr>::from_pg((*with).ctes);
            for cte in ctes.iter_ptr() {
                if !pgrx::is_a((*cte).ctequery, pg_sys::NodeTag::T_SelectStmt) {
                    return Some("a WITH clause of the query modifies data".into());
                }
            }
        }
    }
    None
}

/// Raises unless `sql` is one plain query (see [`shape_problem`]).
#[pg_extern(name = "_check_query", immutable, parallel_safe)]
pub fn check_query(sql: &str) {
    if let Some(problem) = shape_problem(sql) {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, problem, Some(SHAPE_HINT));
    }
}
