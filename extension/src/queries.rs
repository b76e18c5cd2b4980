//! Checking SQL with PostgreSQL's own parser: an example query must be exactly one plain query.
//! (Questions are guarded at run time by a read-only transaction; this catches mistakes early.)

use std::ffi::CString;

use pgrx::prelude::*;
use pgrx::PgList;

use crate::errors::raise;

fn refuse(message: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        message,
        Some("Write a single SELECT (optionally with WITH … SELECT) that only reads."),
    )
}

/// Raises unless `sql` parses as exactly one SELECT / VALUES / WITH … SELECT statement with no
/// data-modifying CTE, no SELECT INTO and no row locks. Syntax errors come back as 42601.
#[pg_extern(name = "_check_query", immutable, parallel_safe)]
pub fn check_query(sql: &str) {
    let Ok(text) = CString::new(sql) else { refuse("the query contains a NUL character") };
    // SAFETY: raw_parser reads the NUL-terminated string and allocates its result in the current
    // memory context; a syntax error raises a normal ERROR.
    let statements = unsafe {
        PgList::<pg_sys::RawStmt>::from_pg(pg_sys::raw_parser(text.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT))
    };
    match statements.len() {
        0 => refuse("the query is empty"),
        1 => {}
        n => refuse(&format!("the query must be a single statement, not {n}")),
    }
    // SAFETY: the list has one element, a valid RawStmt produced by the parser.
    unsafe {
        let raw = statements.get_ptr(0).expect("one statement");
        let node = (*raw).stmt;
        if !pgrx::is_a(node, pg_sys::NodeTag::T_SelectStmt) {
            refuse("the query must be a SELECT, VALUES or WITH … SELECT statement");
        }
        let select = node.cast::<pg_sys::SelectStmt>();
        if !(*select).intoClause.is_null() {
            refuse("SELECT INTO creates a table; the query must only read");
        }
        if !(*select).lockingClause.is_null() {
            refuse("the query must not lock rows (FOR UPDATE / FOR SHARE)");
        }
        let with = (*select).withClause;
        if !with.is_null() {
            let ctes = PgList::<pg_sys::CommonTableExpr>::from_pg((*with).ctes);
            for cte in ctes.iter_ptr() {
                if !pgrx::is_a((*cte).ctequery, pg_sys::NodeTag::T_SelectStmt) {
                    refuse("a WITH clause of the query modifies data");
                }
            }
        }
    }
}
