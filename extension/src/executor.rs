//! The question executor: runs one read-only query as an account's database role and returns
//! its rows as JSON, within a row cap and a byte cap, and leaves the backend as it found it.
//!
//! A question runs inside a subtransaction that is always rolled back, made read-only for its
//! duration, with:
//! - the account's role as the current user *in a security-restricted operation* (the mechanism
//!   PostgreSQL uses to run index expressions as a table's owner), so privileges and row-level
//!   security are the role's and `SET ROLE`, `RESET ROLE` and `set_config('role', …)` are refused
//!   by PostgreSQL itself: nothing can climb back to the caller's role;
//! - the account's identity in `quarry.account_id` and `quarry.account_email`, settings only
//!   superusers may set, so row-level security policies can trust them;
//! - its limits pinned: a statement timer of its own, `lock_timeout`, `work_mem`,
//!   `hash_mem_multiplier` and `temp_file_limit` set for the subtransaction, which the query cannot
//!   change (`set_config` is not on the allow list);
//! - the guard (see [`crate::guard`]): the analysed query, and anything parsed while it runs, may
//!   only read and call allowed functions.
//!
//! The plan is PostgreSQL's ordinary plan for the whole result (parallel workers included, as in
//! psql), and the rows stream into a receiver that converts them one at a time and stops the
//! executor at the row cap or the byte cap; a value is measured before it is converted, so one
//! huge value is refused without being copied. Afterwards session advisory locks are released
//! and the random seed renewed: nothing a question did can be seen by the next one.

use std::ffi::{CStr, CString, c_int};

use pgrx::pg_sys::{self, Datum, Oid};
use pgrx::prelude::*;
use pgrx::{JsonB, PgTryBuilder};
use serde_json::{Number, Value, json};

use crate::errors::raise;
use crate::guard::{self, Policy};
use crate::rows_as::RoleSwitch;

static ACCOUNT_ID: pgrx::GucSetting<Option<CString>> = pgrx::GucSetting::<Option<CString>>::new(None);
static ACCOUNT_EMAIL: pgrx::GucSetting<Option<CString>> = pgrx::GucSetting::<Option<CString>>::new(None);

/// Registers `quarry.account_id` and `quarry.account_email` (superuser-only, read by anyone).
pub fn register_settings() {
    pgrx::GucRegistry::define_string_guc(
        c"quarry.account_id",
        c"The Quarry account a question runs for.",
        c"Set by quarry.execute_as for the duration of the question; row-level security policies may read it with current_setting('quarry.account_id', true).",
        &ACCOUNT_ID,
        pgrx::GucContext::Suset,
        pgrx::GucFlags::default(),
    );
    pgrx::GucRegistry::define_string_guc(
        c"quarry.account_email",
        c"The email of the Quarry account a question runs for.",
        c"Set by quarry.execute_as for the duration of the question.",
        &ACCOUNT_EMAIL,
        pgrx::GucContext::Suset,
        pgrx::GucFlags::default(),
    );
}

/// Everything a run needs to know about the asker and the dataset, as
/// `quarry._execution_settings` reads it.
struct Settings {
    account_id: i64,
    role: Oid,
    email: String,
    search_path: Option<String>,
    timeout_ms: i32,
    work_mem_kb: Option<i32>,
    temp_file_limit_kb: i32,
    policy: Policy,
    cost: crate::cost::Limits,
}

fn settings(account_id: i64, dataset_id: Option<i64>, search_path: Option<&str>, timeout_ms: Option<i32>) -> Settings {
    // A read-only SPI call: `Spi::get_one_with_args` would mark the transaction as writing and
    // take a transaction id, which a hot standby cannot give (questions may run on a replica).
    let row = Spi::connect(|client| {
        client
            .select("SELECT quarry._execution_settings($1, $2)", Some(1), &[account_id.into(), dataset_id.into()])?
            .first()
            .get_one::<JsonB>()
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, e.to_string(), None))
    .unwrap_or_else(|| raise(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, format!("account {account_id} does not exist"), None))
    .0;
    settings_of(account_id, &row, search_path, timeout_ms)
}

/// Settings from what `quarry._execution_settings` returned.
fn settings_of(account_id: i64, row: &Value, search_path: Option<&str>, timeout_ms: Option<i32>) -> Settings {
    let oids = |key: &str| -> Vec<Oid> {
        row[key].as_array().map(|a| a.iter().filter_map(|v| v.as_u64()).map(|v| Oid::from(v as u32)).collect()).unwrap_or_default()
    };
    Settings {
        account_id,
        role: row["role_oid"]
            .as_u64()
            .filter(|&oid| oid > 0)
            .map(|oid| Oid::from(oid as u32))
            .unwrap_or_else(|| raise(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, "the account's role does not exist", None)),
        email: row["email"].as_str().unwrap_or_default().to_string(),
        search_path: search_path.map(str::to_string).or_else(|| row["search_path"].as_str().map(str::to_string)),
        // The dataset's timeout, shortened (never lengthened) by the caller's.
        timeout_ms: match (timeout_ms, row["timeout_ms"].as_i64().map(|v| v as i32)) {
            (Some(asked), Some(dataset)) => asked.min(dataset),
            (asked, dataset) => asked.or(dataset).unwrap_or(15_000),
        },
        work_mem_kb: row["work_mem_kb"].as_i64().map(|v| v as i32),
        temp_file_limit_kb: row["temp_file_limit_kb"].as_i64().unwrap_or(262_144) as i32,
        policy: Policy { functions: oids("functions"), schemas: oids("schemas") },
        cost: crate::cost::Limits { max_cost: row["max_cost"].as_f64(), max_rows_scanned: row["max_rows_scanned"].as_f64() },
    }
}

/// The caps of one run.
#[derive(Clone, Copy)]
struct Caps {
    rows: usize,
    bytes: usize,
}

fn caps(max_rows: i32, max_bytes: i32) -> Caps {
    let Ok(rows @ 1..=100_000) = usize::try_from(max_rows) else {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "max_rows must be between 1 and 100000", None);
    };
    let Ok(bytes @ 1024..=67_108_864) = usize::try_from(max_bytes) else {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "max_bytes must be between 1 kB and 64 MB", None);
    };
    Caps { rows, bytes }
}

/// Runs `sql` for an account (in a dataset, whose limits, search path and allowed functions then
/// apply) and returns `{columns, rows, row_count, truncated, truncated_by}`, or the guard's
/// refusal when it refuses the query before it runs (its SQLSTATE, message and hint: the SQL
/// wrappers raise it, since a custom SQLSTATE cannot be raised from here). Errors of the query
/// itself (privileges, timeouts, division by zero …) are raised as PostgreSQL raised them.
#[pg_extern(name = "_execute", volatile)]
pub fn execute(
    account_id: i64,
    dataset_id: Option<i64>,
    sql: &str,
    max_rows: i32,
    max_bytes: i32,
    search_path: Option<&str>,
    timeout_ms: Option<i32>,
    cost_gate: default!(bool, true),
) -> TableIterator<
    'static,
    (
        name!(refused_code, Option<String>),
        name!(refused_message, Option<String>),
        name!(refused_hint, Option<String>),
        name!(result, Option<pgrx::Json>),
    ),
> {
    let read = || settings(account_id, dataset_id, search_path, timeout_ms);
    TableIterator::once(refusal_or_result(run_question(dataset_id, sql, caps(max_rows, max_bytes), cost_gate, read)))
}

/// `_execute` in a dataset, with the settings `quarry._execution_settings(account_id, dataset_id)`
/// returned earlier in the same statement: for `quarry.run_for`, which reads them once to check
/// the account and the dataset before the run, so that nothing is read and checked twice.
/// Internal, like every function with a leading underscore: it trusts `settings` (the role
/// above all), so no one but the extension's own functions (and superusers) may call it.
#[pg_extern(name = "_execute_settled", volatile)]
pub fn execute_settled(
    account_id: i64,
    dataset_id: i64,
    settings: JsonB,
    sql: &str,
    max_rows: i32,
    max_bytes: i32,
    timeout_ms: Option<i32>,
) -> TableIterator<
    'static,
    (
        name!(refused_code, Option<String>),
        name!(refused_message, Option<String>),
        name!(refused_hint, Option<String>),
        name!(result, Option<pgrx::Json>),
    ),
> {
    let given = || settings_of(account_id, &settings.0, None, timeout_ms);
    TableIterator::once(refusal_or_result(run_question(Some(dataset_id), sql, caps(max_rows, max_bytes), true, given)))
}

/// A run as `_execute`'s row: the result, or the guard's refusal.
fn refusal_or_result(outcome: Result<Value, guard::Refusal>) -> (Option<String>, Option<String>, Option<String>, Option<pgrx::Json>) {
    match outcome {
        Ok(result) => (None, None, None, Some(pgrx::Json(result))),
        Err(r) => (Some(r.code.to_string()), Some(r.message), Some(r.hint.to_string()), None),
    }
}

/// A question from start to end: the shape check, the settings, the guarded run in a rolled-back
/// subtransaction, and the reset of what could outlive it.
fn run_question(
    dataset_id: Option<i64>,
    sql: &str,
    caps: Caps,
    cost_gate: bool,
    settings: impl FnOnce() -> Settings,
) -> Result<Value, guard::Refusal> {
    if let Some(problem) = crate::queries::shape_problem(sql) {
        return Err(guard::Refusal { code: guard::NOT_A_QUERY, message: problem, hint: crate::queries::SHAPE_HINT });
    }
    let mut settings = settings();
    if !cost_gate {
        settings.cost = crate::cost::Limits::default();
    }
    // Reset whether the question ran, was refused or failed.
    let outcome = PgTryBuilder::new(|| in_rolled_back_subtransaction(|| run(sql, &settings, caps)))
        .catch_others(|error| name_the_source(error, dataset_id, sql))
        .finally(reset_session_state)
        .execute();
    outcome.map(Collected::into_json)
}

/// An error from a foreign data wrapper (the remote side down, refusing, or missing a table) is
/// raised again with the names of the sources the question read, so the asker knows which
/// database failed; other errors pass unchanged.
fn name_the_source(error: pg_sys::panic::CaughtError, dataset_id: Option<i64>, sql: &str) -> ! {
    let pg_sys::panic::CaughtError::PostgresError(report) = &error else { error.rethrow() };
    let code = report.sql_error_code() as i32;
    // SQLSTATE classes 08 (connection) and HV (foreign data wrapper), or raised by a wrapper's code.
    let sqlstate: String = (0..5).map(|i| char::from(b'0' + ((code >> (6 * i)) & 0x3F) as u8)).collect();
    let file = report.file().rsplit('/').next().unwrap_or_default();
    let from_wrapper = sqlstate.starts_with("08")
        || sqlstate.starts_with("HV")
        || matches!(file, "connection.c" | "postgres_fdw.c" | "mysql_fdw.c" | "deparse.c" | "mysql_query.c");
    if !from_wrapper || report.message().starts_with("source '") {
        error.rethrow()
    }
    let installed = Spi::get_one::<bool>("SELECT pg_catalog.to_regclass('quarry.sources') IS NOT NULL").ok().flatten() == Some(true);
    let names = if installed {
        Spi::get_one_with_args::<String>(
            "SELECT string_agg(quote_literal(s.name), ', ' ORDER BY s.name) FROM quarry.sources s
              WHERE strpos(lower($2), lower(s.local_schema::text) || '.') > 0
                 OR (NOT EXISTS (SELECT 1 FROM quarry.sources x WHERE strpos(lower($2), lower(x.local_schema::text) || '.') > 0)
                     AND EXISTS (SELECT 1 FROM quarry.dataset_sources d WHERE d.dataset_id = $1 AND d.schema_name = s.local_schema))",
            &[dataset_id.into(), sql.into()],
        )
        .ok()
        .flatten()
    } else {
        None
    };
    let Some(names) = names else { error.rethrow() };
    let mut named = pgrx::pg_sys::panic::ErrorReport::new(report.sql_error_code(), format!("source {names}: {}", report.message()), "quarry");
    if let Some(detail) = report.detail() {
        named = named.set_detail(detail);
    }
    named = named.set_hint(report.hint().unwrap_or("The remote database of that source failed or refused the query; see quarry.sources()."));
    named.report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// The 0.1.0 entry point's symbol, kept so that a database still on 0.1.0 works with this
/// library until it is updated; 0.2.0 defines `quarry.execute_as` in SQL over `_execute`.
#[pg_extern(sql = false)]
pub fn execute_as(account_id: i64, sql: &str, max_rows: i32, max_bytes: i32, search_path: default!(Option<&str>, "NULL")) -> JsonB {
    // SAFETY: reading a backend global.
    if !unsafe { pg_sys::XactReadOnly } {
        raise(
            PgSqlErrorCode::ERRCODE_READ_ONLY_SQL_TRANSACTION,
            "quarry.execute_as must run inside a read-only transaction",
            Some("BEGIN READ ONLY; SELECT quarry.execute_as(…); ROLLBACK;"),
        );
    }
    match run_question(None, sql, caps(max_rows, max_bytes), true, || settings(account_id, None, search_path, None)) {
        Ok(result) => JsonB(result),
        Err(refusal) => raise(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, refusal.message, Some(refusal.hint)),
    }
}

/// Runs `work` in a subtransaction and always rolls it back, so that nothing it did stays: not
/// its settings, not its locks, not its role. Errors are raised again after the rollback.
fn in_rolled_back_subtransaction<T>(work: impl FnOnce() -> T) -> T {
    // SAFETY: the same steps PL/pgSQL takes around an exception block: remember the memory
    // context and resource owner, start a subtransaction, and restore both after ending it.
    unsafe {
        let context = pg_sys::CurrentMemoryContext;
        let owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(context);
        let end = move || {
            pg_sys::MemoryContextSwitchTo(context);
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
            pg_sys::MemoryContextSwitchTo(context);
            pg_sys::CurrentResourceOwner = owner;
        };
        let result = PgTryBuilder::new(std::panic::AssertUnwindSafe(work))
            .catch_others(move |error| {
                end();
                error.rethrow()
            })
            .execute();
        end();
        result
    }
}

/// One question, inside the subtransaction: pin the settings, switch to the role, analyse and
/// check, plan, run.
fn run(sql: &str, settings: &Settings, caps: Caps) -> Result<Collected, guard::Refusal> {
    pin_settings(settings);
    let _as_role = RoleSwitch::to(settings.role);
    let text = CString::new(sql).expect("checked for NUL by shape_problem");
    // SAFETY: parsing and analysing a string that is one SELECT (checked above); the parser
    // allocates in the current memory context, which lives until the subtransaction ends.
    let query = unsafe { analyse(&text) };
    // SAFETY: `query` is the valid analysed tree just made.
    if let Some(refusal) = unsafe { guard::check(query, &settings.policy) } {
        return Err(refusal);
    }
    let _guard = guard::Active::start(settings.policy.clone());
    let _timer = StatementTimer::start(settings.timeout_ms);
    // SAFETY: rewriting, planning and executing the checked query, as PostgreSQL's own simple
    // query path does, with our receiver as the destination.
    unsafe { plan_and_run(query, &text, caps, settings.cost) }
}

/// Sets what a question may not change, for the subtransaction only.
fn pin_settings(settings: &Settings) {
    let reset = |name: &CStr| -> String {
        // SAFETY: reading a built-in setting's configured value.
        unsafe { CStr::from_ptr(pg_sys::GetConfigOptionResetString(name.as_ptr())) }.to_string_lossy().into_owned()
    };
    let work_mem = settings.work_mem_kb.map(|kb| format!("{kb}kB")).unwrap_or_else(|| reset(c"work_mem"));
    let lock_timeout = settings.timeout_ms.clamp(1, 2000).to_string();
    let mut pinned = vec![
        (c"transaction_read_only", "on".to_string()),
        (c"quarry.account_id", settings.account_id.to_string()),
        (c"quarry.account_email", settings.email.clone()),
        (c"work_mem", work_mem),
        (c"hash_mem_multiplier", reset(c"hash_mem_multiplier")),
        (c"temp_file_limit", format!("{}kB", settings.temp_file_limit_kb)),
        (c"lock_timeout", lock_timeout),
    ];
    if let Some(path) = &settings.search_path {
        pinned.push((c"search_path", path.clone()));
    }
    for (name, value) in pinned {
        let value = CString::new(value)
            .unwrap_or_else(|_| raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "a setting contains a NUL character", None));
        // SAFETY: setting a known parameter for the current (sub)transaction, as SET LOCAL does,
        // with the extension owner's rights; errors raise normally.
        unsafe {
            pg_sys::set_config_option(
                name.as_ptr(),
                value.as_ptr(),
                pg_sys::GucContext::PGC_SUSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_LOCAL,
                true,
                PgLogLevel::ERROR as c_int,
                false,
            );
        }
    }
}

/// Parses and analyses one statement.
///
/// # Safety
/// Must run inside a transaction with an active snapshot (any SQL function call has one).
unsafe fn analyse(text: &CStr) -> *mut pg_sys::Query {
    // SAFETY: see the function's contract.
    unsafe {
        let raw = pgrx::PgList::<pg_sys::RawStmt>::from_pg(pg_sys::raw_parser(text.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT));
        let statement = raw.get_ptr(0).expect("one statement");
        pg_sys::parse_analyze_fixedparams(statement, text.as_ptr(), std::ptr::null(), 0, std::ptr::null_mut())
    }
}

/// Rewrites (views, rules, row-level security), plans for the whole result, weighs the plan
/// against the dataset's cost limits and runs `query`, streaming its rows into a [`Collected`].
///
/// # Safety
/// `query` must be a valid analysed SELECT of `text`.
unsafe fn plan_and_run(query: *mut pg_sys::Query, text: &CStr, caps: Caps, limits: crate::cost::Limits) -> Result<Collected, guard::Refusal> {
    // SAFETY: see the function's contract; the receiver outlives the executor run that uses it.
    unsafe {
        let rewritten = pgrx::PgList::<pg_sys::Query>::from_pg(pg_sys::pg_rewrite_query(query));
        if rewritten.len() != 1 {
            raise(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, "the query was rewritten into several statements", None);
        }
        let plan = pg_sys::pg_plan_query(
            rewritten.get_ptr(0).expect("one query"),
            text.as_ptr(),
            pg_sys::CURSOR_OPT_PARALLEL_OK as c_int,
            std::ptr::null_mut(),
        );
        // The cost gate: refused before anything is read.
        crate::cost::check(plan, limits)?;
        let mut collected = Collected::new(caps);
        let mut receiver = Receiver::new(&mut collected);
        pg_sys::PushCopiedSnapshot(pg_sys::GetActiveSnapshot());
        let description = pg_sys::CreateQueryDesc(
            plan,
            text.as_ptr(),
            pg_sys::GetActiveSnapshot(),
            std::ptr::null_mut(),
            (&raw mut receiver).cast(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
        pg_sys::ExecutorStart(description, 0);
        // No row count: PostgreSQL runs a plan without its parallel workers when asked for a
        // number of rows (the Gather then reads every row itself). The receiver stops the run
        // instead, at the row after the cap or at the byte cap.
        pg_sys::ExecutorRun(description, pg_sys::ScanDirection::ForwardScanDirection, 0, true);
        pg_sys::ExecutorFinish(description);
        pg_sys::ExecutorEnd(description);
        pg_sys::FreeQueryDesc(description);
        pg_sys::PopActiveSnapshot();
        Ok(collected)
    }
}

/// What nothing inside the subtransaction may leave behind but could: session-level advisory
/// locks survive a rollback, and so does the random seed. Both are cleared for whoever comes next.
fn reset_session_state() {
    // SAFETY: releasing this backend's own session-level advisory locks (what
    // pg_advisory_unlock_all does), then seeding random() from a strong random source.
    unsafe {
        pg_sys::LockReleaseSession(pg_sys::USER_LOCKMETHOD as pg_sys::LOCKMETHODID);
        let mut bytes = [0u8; 8];
        if !pg_sys::pg_strong_random(bytes.as_mut_ptr().cast(), bytes.len()) {
            raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, "no strong random source to renew the random seed", None);
        }
        let seed = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
        pgrx::direct_function_call::<()>(pg_sys::setseed, &[seed.into_datum()]);
    }
}

// The statement timer (utils/timeout.h is not in pgrx's bindings). None of these raise errors.
unsafe extern "C-unwind" {
    fn enable_timeout_after(id: c_int, delay_ms: c_int);
    fn enable_timeout_at(id: c_int, fin_time: pg_sys::TimestampTz);
    fn disable_timeout(id: c_int, keep_indicator: bool);
    fn get_timeout_active(id: c_int) -> bool;
    fn get_timeout_finish_time(id: c_int) -> pg_sys::TimestampTz;
}
/// `STATEMENT_TIMEOUT` in PostgreSQL's `TimeoutId` (the same in every supported major version):
/// its expiry cancels the query with "canceling statement due to statement timeout".
const STATEMENT_TIMEOUT: c_int = 3;

/// The question's own statement timer, whatever the session's `statement_timeout`. A timer the
/// caller's statement had is put back (never extended) when the question ends.
struct StatementTimer {
    outer: Option<pg_sys::TimestampTz>,
}

impl StatementTimer {
    fn start(timeout_ms: i32) -> StatementTimer {
        // SAFETY: reading and arming this backend's statement timer.
        unsafe {
            let outer = get_timeout_active(STATEMENT_TIMEOUT).then(|| get_timeout_finish_time(STATEMENT_TIMEOUT));
            let mut delay = timeout_ms.max(1);
            if let Some(finish) = outer {
                let left_ms = (finish - pg_sys::GetCurrentTimestamp()) / 1000;
                delay = delay.min(left_ms.clamp(1, i64::from(i32::MAX)) as i32);
            }
            enable_timeout_after(STATEMENT_TIMEOUT, delay);
            StatementTimer { outer }
        }
    }
}

impl Drop for StatementTimer {
    fn drop(&mut self) {
        // SAFETY: restoring the timer as it was before the question.
        unsafe {
            match self.outer {
                Some(finish) => enable_timeout_at(STATEMENT_TIMEOUT, finish),
                None => disable_timeout(STATEMENT_TIMEOUT, false),
            }
        }
    }
}

/// How a column's values become JSON.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Json,
    Text,
}

struct Column {
    name: String,
    type_name: String,
    kind: Kind,
    /// -1 for varlena types, -2 for C strings, else the fixed size.
    typlen: i16,
    output: pg_sys::FmgrInfo,
}

/// The rows of a result as they arrive, within the caps.
struct Collected {
    caps: Caps,
    columns: Vec<Column>,
    rows: Vec<Value>,
    bytes: usize,
    truncated_by: Option<&'static str>,
    /// Where output functions allocate; reset after every row.
    row_context: pg_sys::MemoryContext,
}

impl Collected {
    fn new(caps: Caps) -> Collected {
        Collected { caps, columns: Vec::new(), rows: Vec::new(), bytes: 0, truncated_by: None, row_context: std::ptr::null_mut() }
    }

    /// # Safety
    /// `descriptor` must be the result's valid tuple descriptor.
    unsafe fn start(&mut self, descriptor: pg_sys::TupleDesc) {
        // SAFETY: see the function's contract; the row context is a child of the executor's
        // per-query context and goes with it.
        unsafe {
            self.row_context = pg_sys::AllocSetContextCreateExtended(
                pg_sys::CurrentMemoryContext,
                c"quarry question row".as_ptr(),
                pg_sys::ALLOCSET_DEFAULT_MINSIZE as usize,
                pg_sys::ALLOCSET_DEFAULT_INITSIZE as usize,
                pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
            );
            let descriptor = pgrx::PgTupleDesc::from_pg_unchecked(descriptor);
            for attribute in descriptor.iter() {
                let type_oid = attribute.atttypid;
                let mut output_oid = pg_sys::InvalidOid;
                let mut is_varlena = false;
                pg_sys::getTypeOutputInfo(type_oid, &mut output_oid, &mut is_varlena);
                let mut output = pg_sys::FmgrInfo::default();
                pg_sys::fmgr_info(output_oid, &mut output);
                self.columns.push(Column {
                    name: attribute.name().to_string(),
                    type_name: CStr::from_ptr(pg_sys::format_type_be(type_oid)).to_string_lossy().into_owned(),
                    kind: kind_of(type_oid),
                    typlen: attribute.attlen,
                    output,
                });
            }
        }
    }

    /// Takes one row; false stops the executor (a cap was reached).
    ///
    /// # Safety
    /// `slot` must hold a row of the descriptor given to `start`.
    unsafe fn take(&mut self, slot: *mut pg_sys::TupleTableSlot) -> bool {
        if self.rows.len() == self.caps.rows {
            self.truncated_by = Some("rows");
            return false;
        }
        // SAFETY: see the function's contract.
        unsafe {
            pg_sys::slot_getallattrs(slot);
            let values = std::slice::from_raw_parts((*slot).tts_values, self.columns.len());
            let nulls = std::slice::from_raw_parts((*slot).tts_isnull, self.columns.len());
            let previous = pg_sys::MemoryContextSwitchTo(self.row_context);
            let mut row = Vec::with_capacity(self.columns.len());
            let mut over = false;
            for (i, column) in self.columns.iter_mut().enumerate() {
                let left = self.caps.bytes.saturating_sub(self.bytes);
                match convert(column, values[i], nulls[i], left) {
                    Some((value, size)) => {
                        self.bytes += size;
                        row.push(value);
                    }
                    None => {
                        over = true;
                        break;
                    }
                }
            }
            pg_sys::MemoryContextSwitchTo(previous);
            pg_sys::MemoryContextReset(self.row_context);
            if over || self.bytes > self.caps.bytes {
                self.truncated_by = Some("bytes");
                return false;
            }
            self.rows.push(Value::Array(row));
            true
        }
    }

    fn into_json(self) -> Value {
        let columns: Vec<Value> = self.columns.iter().map(|c| json!({ "name": c.name, "type": c.type_name })).collect();
        json!({
            "columns": columns,
            "row_count": self.rows.len(),
            "rows": self.rows,
            "truncated": self.truncated_by.is_some(),
            "truncated_by": self.truncated_by,
        })
    }
}

fn kind_of(type_oid: Oid) -> Kind {
    match type_oid {
        pg_sys::BOOLOID => Kind::Bool,
        pg_sys::INT2OID => Kind::Int2,
        pg_sys::INT4OID => Kind::Int4,
        pg_sys::INT8OID => Kind::Int8,
        pg_sys::FLOAT4OID => Kind::Float4,
        pg_sys::FLOAT8OID => Kind::Float8,
        pg_sys::NUMERICOID => Kind::Numeric,
        pg_sys::JSONOID | pg_sys::JSONBOID => Kind::Json,
        _ => Kind::Text,
    }
}

/// A value as JSON and the size it counts against the byte cap, or `None` when the value alone
/// is larger than the `left` bytes of the cap (measured before it is converted).
///
/// # Safety
/// `datum` must be a live value of the column's type (unless `null`).
unsafe fn convert(column: &mut Column, datum: Datum, null: bool, left: usize) -> Option<(Value, usize)> {
    if null {
        return Some((Value::Null, 4));
    }
    // SAFETY: see the function's contract; by-value types are read from the datum itself.
    unsafe {
        match column.kind {
            Kind::Bool => return Some((Value::Bool(datum.value() != 0), 5)),
            Kind::Int2 => return Some((Value::from(datum.value() as i16), 6)),
            Kind::Int4 => return Some((Value::from(datum.value() as i32), 11)),
            Kind::Int8 => return Some((Value::from(datum.value() as i64), 20)),
            Kind::Float8 => return Some((float(f64::from_bits(datum.value() as u64)), 24)),
            Kind::Float4 => return Some((float(f64::from(f32::from_bits(datum.value() as u32))), 16)),
            _ => {}
        }
        let stored = match column.typlen {
            -1 => pg_sys::toast_raw_datum_size(datum),
            -2 => CStr::from_ptr(datum.cast_mut_ptr()).to_bytes().len(),
            n => n.max(0) as usize,
        };
        if stored > left {
            return None;
        }
        let text = CStr::from_ptr(pg_sys::OutputFunctionCall(&mut column.output, datum)).to_string_lossy().into_owned();
        let size = text.len() + 2;
        let value = match column.kind {
            Kind::Numeric => numeric(text),
            Kind::Json => serde_json::from_str(&text).unwrap_or(Value::String(text)),
            _ => Value::String(text),
        };
        Some((value, size))
    }
}

/// A float as a JSON number, or its text when JSON cannot hold it (NaN, infinity).
fn float(f: f64) -> Value {
    Number::from_f64(f).map(Value::Number).unwrap_or_else(|| Value::String(f.to_string()))
}

/// A numeric as a JSON number when a double holds it exactly enough (at most 15 significant
/// digits), otherwise as a string so that no digit is lost.
fn numeric(text: String) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    let significant = text.chars().filter(char::is_ascii_digit).collect::<String>().trim_start_matches('0').len();
    if significant <= 15
        && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(text)
}

/// The executor's destination: a `DestReceiver` whose callbacks feed a [`Collected`].
#[repr(C)]
struct Receiver {
    base: pg_sys::DestReceiver,
    collected: *mut Collected,
}

impl Receiver {
    fn new(collected: &mut Collected) -> Receiver {
        Receiver {
            base: pg_sys::DestReceiver {
                receiveSlot: Some(receive_slot),
                rStartup: Some(receiver_startup),
                rShutdown: Some(receiver_nothing),
                rDestroy: Some(receiver_nothing),
                mydest: pg_sys::CommandDest::DestNone,
            },
            collected,
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn receive_slot(slot: *mut pg_sys::TupleTableSlot, receiver: *mut pg_sys::DestReceiver) -> bool {
    // SAFETY: the executor calls us with our own Receiver and a row of the started descriptor.
    unsafe { (*(*receiver.cast::<Receiver>()).collected).take(slot) }
}

#[pg_guard]
unsafe extern "C-unwind" fn receiver_startup(receiver: *mut pg_sys::DestReceiver, _operation: c_int, descriptor: pg_sys::TupleDesc) {
    // SAFETY: the executor calls us with our own Receiver and the result's descriptor.
    unsafe { (*(*receiver.cast::<Receiver>()).collected).start(descriptor) }
}

#[pg_guard]
unsafe extern "C-unwind" fn receiver_nothing(_receiver: *mut pg_sys::DestReceiver) {}
