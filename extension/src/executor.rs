//! The question executor: runs one read-only query as an account's database role and returns
//! its rows as JSON, within a row cap and a byte cap.
//!
//! The query runs with the account's role as the current user *in a security-restricted
//! operation*, the mechanism PostgreSQL uses to run index expressions as a table's owner. So:
//! - privileges and row-level security are the role's, and `current_user` is the role;
//! - the query cannot change role: `SET ROLE`, `RESET ROLE` and `set_config('role', …)` are
//!   refused by PostgreSQL itself, so nothing can climb back to the sidecar's login role;
//! - the account's identity is in two settings that only superusers may set,
//!   `quarry.account_id` and `quarry.account_email`, so row-level security policies can trust
//!   them: the query cannot forge them;
//! - it must run inside a read-only transaction, which the caller then rolls back.
//! The SQL must also pass the parser check (one plain query); the rest is the database's job.

use std::ffi::{CStr, CString};

use pgrx::prelude::*;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting, JsonB};
use serde_json::{Map, Number, Value};

use crate::errors::raise;
use crate::rows_as::RoleSwitch;

static ACCOUNT_ID: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static ACCOUNT_EMAIL: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// Registers `quarry.account_id` and `quarry.account_email` (superuser-only, read by anyone).
pub fn register_settings() {
    GucRegistry::define_string_guc(
        c"quarry.account_id",
        c"The Quarry account a question runs for.",
        c"Set by quarry.execute_as for the duration of the transaction; row-level security policies may read it with current_setting('quarry.account_id', true).",
        &ACCOUNT_ID,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"quarry.account_email",
        c"The email of the Quarry account a question runs for.",
        c"Set by quarry.execute_as for the duration of the transaction.",
        &ACCOUNT_EMAIL,
        GucContext::Suset,
        GucFlags::default(),
    );
}

/// Runs `sql` for an account, as its role, and returns
/// `{columns: [{name, type}], rows: [[…]], row_count, truncated, truncated_by}` with at most
/// `max_rows` rows and about `max_bytes` bytes of values. Raises the query's own error when it
/// fails (syntax, privileges, timeout …), so that the caller can show it or hand it to a model.
#[pg_extern(name = "execute_as", volatile)]
pub fn execute_as(
    account_id: i64,
    sql: &str,
    max_rows: i32,
    max_bytes: i32,
    search_path: default!(Option<&str>, "NULL"),
) -> JsonB {
    // SAFETY: reading a backend global.
    if !unsafe { pg_sys::XactReadOnly } {
        raise(
            PgSqlErrorCode::ERRCODE_READ_ONLY_SQL_TRANSACTION,
            "quarry.execute_as must run inside a read-only transaction",
            Some("BEGIN READ ONLY; SELECT quarry.execute_as(…); ROLLBACK;"),
        );
    }
    let Ok(max_rows @ 1..=100_000) = usize::try_from(max_rows) else {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "max_rows must be between 1 and 100000", None);
    };
    let Ok(max_bytes @ 1024..=67_108_864) = usize::try_from(max_bytes) else {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "max_bytes must be between 1 kB and 64 MB", None);
    };
    crate::queries::check_query(sql);

    // The role is checked again now (quarry.account_role raises for a disabled or unmapped account
    // and for a role that became unsafe), and the identity settings are set while we still run as
    // the extension's owner.
    let (role, email): (Option<String>, Option<String>) = Spi::get_two_with_args(
        "SELECT quarry.account_role($1)::text, (SELECT a.email FROM quarry.accounts a WHERE a.id = $1)",
        &[account_id.into()],
    )
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, e.to_string(), None));
    let (Some(role), Some(email)) = (role, email) else {
        raise(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, format!("account {account_id} does not exist"), None);
    };
    Spi::run_with_args(
        "SELECT pg_catalog.set_config('quarry.account_id', $1, true), pg_catalog.set_config('quarry.account_email', $2, true)",
        &[account_id.to_string().into(), email.into()],
    )
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, e.to_string(), None));
    let role_oid: pg_sys::Oid = Spi::get_one_with_args("SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1", &[role.into()])
        .ok()
        .flatten()
        .unwrap_or_else(|| raise(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, "the account's role does not exist", None));
    // Unqualified names in the query resolve in the dataset's schemas (the function's own
    // search_path is restored when it returns).
    if let Some(path) = search_path {
        Spi::run_with_args("SELECT pg_catalog.set_config('search_path', $1, true)", &[path.into()])
            .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, e.to_string(), None));
    }

    let _as_role = RoleSwitch::to(role_oid);
    let result = Spi::connect(|client| {
        let mut cursor = client.try_open_cursor(sql, &[])?;
        let mut columns: Vec<(String, pg_sys::Oid)> = Vec::new();
        let mut rows: Vec<Value> = Vec::new();
        let mut bytes = 0usize;
        let mut truncated_by = None;
        'fetching: loop {
            let batch = cursor.fetch((max_rows - rows.len() + 1).min(500) as libc::c_long)?;
            if columns.is_empty() {
                columns = (1..=batch.columns()?)
                    .map(|i| Ok((batch.column_name(i)?, batch.column_type_oid(i)?.value())))
                    .collect::<Result<_, pgrx::spi::SpiError>>()?;
            }
            if batch.is_empty() {
                break;
            }
            for row in batch {
                if rows.len() == max_rows {
                    truncated_by = Some("rows");
                    break 'fetching;
                }
                let mut values = Vec::with_capacity(columns.len());
                for (i, (_, type_oid)) in columns.iter().enumerate() {
                    let datum = row.get_datum_by_ordinal(i + 1)?.value::<pgrx::AnyElement>()?.map(|a| a.datum());
                    let (value, size) = to_json(datum, *type_oid);
                    bytes += size;
                    values.push(value);
                }
                if bytes > max_bytes {
                    truncated_by = Some("bytes");
                    break 'fetching;
                }
                rows.push(Value::Array(values));
            }
        }
        Ok::<_, pgrx::spi::SpiError>((columns, rows, truncated_by))
    });
    let (columns, rows, truncated_by) =
        result.unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, e.to_string(), None));

    let columns: Vec<Value> = columns
        .into_iter()
        .map(|(name, type_oid)| {
            let mut column = Map::new();
            column.insert("name".into(), Value::String(name));
            column.insert("type".into(), Value::String(type_name(type_oid)));
            Value::Object(column)
        })
        .collect();
    JsonB(serde_json::json!({
        "columns": columns,
        "row_count": rows.len(),
        "rows": rows,
        "truncated": truncated_by.is_some(),
        "truncated_by": truncated_by,
    }))
}

fn type_name(type_oid: pg_sys::Oid) -> String {
    // SAFETY: format_type_be returns a palloc'd C string for any type OID.
    unsafe { CStr::from_ptr(pg_sys::format_type_be(type_oid)).to_string_lossy().into_owned() }
}

/// A value as JSON (numbers as numbers where JSON can hold them exactly, JSON as JSON, the rest
/// as its text form) and the size it counts against the byte cap.
fn to_json(datum: Option<pg_sys::Datum>, type_oid: pg_sys::Oid) -> (Value, usize) {
    let Some(datum) = datum else { return (Value::Null, 4) };
    let text = unsafe {
        // SAFETY: the datum is a live value of `type_oid` in the current tuple; the output
        // function returns a palloc'd C string.
        let mut output = pg_sys::InvalidOid;
        let mut is_varlena = false;
        pg_sys::getTypeOutputInfo(type_oid, &mut output, &mut is_varlena);
        CStr::from_ptr(pg_sys::OidOutputFunctionCall(output, datum)).to_string_lossy().into_owned()
    };
    let size = text.len() + 2;
    let value = match type_oid {
        pg_sys::BOOLOID => Value::Bool(text == "t"),
        pg_sys::INT2OID | pg_sys::INT4OID | pg_sys::INT8OID | pg_sys::OIDOID => {
            text.parse::<i64>().map(Value::from).unwrap_or(Value::String(text))
        }
        pg_sys::FLOAT4OID | pg_sys::FLOAT8OID => {
            text.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number).unwrap_or(Value::String(text))
        }
        pg_sys::NUMERICOID => numeric(text),
        pg_sys::JSONOID | pg_sys::JSONBOID => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        _ => Value::String(text),
    };
    (value, size)
}

/// A numeric as a JSON number when a double holds it exactly enough (at most 15 significant
/// digits), otherwise as a string so that no digit is lost.
fn numeric(text: String) -> Value {
    let digits = text.chars().filter(char::is_ascii_digit).collect::<String>();
    let significant = digits.trim_start_matches('0').len();
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    if significant <= 15 {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text)
}
