//! The guard: what a question's SQL may call, decided from PostgreSQL's own analysis of it.
//!
//! While a question runs (see [`crate::executor`]), every query PostgreSQL analyses in this
//! backend passes through [`post_parse_analyze`]: the question itself, and anything it reaches
//! that parses SQL at run time (`query_to_xml`, a PL/pgSQL function a DBA allowed, an SQL
//! function's body). Each must be a plain SELECT, and every function it calls — directly, through
//! an operator, a cast, an aggregate, a set-returning function in FROM, or inside a view it reads —
//! must be on the allow list:
//! - PostgreSQL's own immutable and stable functions (those created by initdb), except the few
//!   that write (assigning a transaction id writes WAL);
//! - a handful of volatile built-ins that change nothing (random, clock_timestamp …);
//! - what the dataset's DBA added (`quarry.allow_function`).
//! So `set_config`, `setseed`, advisory locks, `pg_logical_emit_message`, large objects, sequences,
//! `pg_notify`, `dblink` and any volatile function with side effects are refused as one class,
//! including ones PostgreSQL or an extension adds later. The refusal names the function.
//!
//! Row-level security policies are the DBA's and are not checked: the rewriter adds them after
//! analysis, and the asker cannot write them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, c_void};

use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;

use crate::errors::raise;

/// SQLSTATE of a query refused because it calls a function that is not allowed.
pub const FUNCTION_NOT_ALLOWED: &str = "QG001";
/// SQLSTATE of a query refused because it is not one plain SELECT.
pub const NOT_A_QUERY: &str = "QG002";

/// Volatile built-ins a question may call: they read a clock or a random source and change
/// nothing that outlives the question (the random seed is renewed after each question).
const HARMLESS_VOLATILE: &[&str] = &["random", "clock_timestamp", "timeofday", "gen_random_uuid"];

/// Stable built-ins that do write: each assigns a transaction id, which writes WAL.
const WRITING_STABLE: &[&str] = &["txid_current", "pg_current_xact_id"];

/// What a question may call beyond the built-in allow list: functions and whole schemas a DBA
/// allowed for the dataset.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub functions: Vec<Oid>,
    pub schemas: Vec<Oid>,
}

thread_local! {
    /// The policy of the question running in this backend, if one is.
    static ACTIVE: RefCell<Option<Policy>> = const { RefCell::new(None) };
    /// Whether each built-in function is allowed (built-ins never change while a server runs).
    static BUILTIN: RefCell<HashMap<Oid, bool>> = RefCell::new(HashMap::new());
}

static mut PREVIOUS_HOOK: pg_sys::post_parse_analyze_hook_type = None;

/// Installs the analysis hook (once per backend, when the library loads).
pub fn install() {
    // SAFETY: _PG_init runs once per backend, before any query of ours; chaining keeps other
    // extensions' hooks working.
    unsafe {
        PREVIOUS_HOOK = pg_sys::post_parse_analyze_hook;
        pg_sys::post_parse_analyze_hook = Some(post_parse_analyze);
    }
}

/// Enforces `policy` on everything analysed until the returned value is dropped.
pub struct Active(());

impl Active {
    pub fn start(policy: Policy) -> Active {
        ACTIVE.with(|a| *a.borrow_mut() = Some(policy));
        Active(())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE.with(|a| *a.borrow_mut() = None);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn post_parse_analyze(pstate: *mut pg_sys::ParseState, query: *mut pg_sys::Query, jstate: *mut pg_sys::JumbleState) {
    // SAFETY: chaining to whatever hook was installed before ours, with the same arguments.
    unsafe {
        if let Some(previous) = PREVIOUS_HOOK {
            previous(pstate, query, jstate);
        }
    }
    let policy = ACTIVE.with(|a| a.borrow().clone());
    if let Some(policy) = policy {
        // SAFETY: the parser hands us a valid, fully analysed Query.
        if let Some(refusal) = unsafe { check(query, &policy) } {
            raise(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, refusal.message, Some(refusal.hint));
        }
    }
}

/// Why a query may not run: a SQLSTATE of class QG, a message naming what was refused, and what
/// to do instead.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
    pub hint: &'static str,
}

/// The hint of every refusal of a function.
const FUNCTION_HINT: &str = "Questions may call PostgreSQL's built-in immutable and stable functions and random(), clock_timestamp(), timeofday() and gen_random_uuid(); a DBA can allow more for a dataset with quarry.allow_function.";

enum Found {
    NotASelect(&'static str),
    Function(Oid),
}

struct Walk<'a> {
    policy: &'a Policy,
    found: Option<Found>,
    /// Views being expanded, so that a view is read once per path (views cannot recurse, but
    /// nothing is lost by being careful).
    views: Vec<Oid>,
}

/// Why `query` may not run, or `None` when it is a plain SELECT calling only allowed functions.
///
/// # Safety
/// `query` must be a valid analysed Query.
pub unsafe fn check(query: *mut pg_sys::Query, policy: &Policy) -> Option<Refusal> {
    let mut walk = Walk { policy, found: None, views: Vec::new() };
    // SAFETY: walking a valid Query with our own context.
    unsafe { walker(query.cast(), (&raw mut walk).cast()) };
    match walk.found? {
        Found::NotASelect(what) => Some(Refusal {
            code: NOT_A_QUERY,
            message: format!("a question may only read: {what}"),
            hint: crate::queries::SHAPE_HINT,
        }),
        Found::Function(oid) => {
            // SAFETY: both return a palloc'd string for any OID. Built-ins are named as people
            // write them; anything else with its schema.
            let name = unsafe {
                let formatted = if u32::from(oid) < pg_sys::FirstNormalObjectId {
                    pg_sys::format_procedure(oid)
                } else {
                    pg_sys::format_procedure_qualified(oid)
                };
                CStr::from_ptr(formatted)
            }
            .to_string_lossy()
            .into_owned();
            Some(Refusal {
                code: FUNCTION_NOT_ALLOWED,
                message: format!("function {name} is not allowed in questions"),
                hint: FUNCTION_HINT,
            })
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn walker(node: *mut pg_sys::Node, context: *mut c_void) -> bool {
    if node.is_null() {
        return false;
    }
    // SAFETY: `context` is the Walk `enforce` passed; `node` is a valid node of the tree.
    unsafe {
        let walk = &mut *context.cast::<Walk>();
        if pgrx::is_a(node, pg_sys::NodeTag::T_Query) {
            let query = node.cast::<pg_sys::Query>();
            if let Some(problem) = shape_problem(query) {
                walk.found = Some(Found::NotASelect(problem));
                return true;
            }
            return pg_sys::query_tree_walker(query, Some(walker), context, pg_sys::QTW_EXAMINE_RTES_BEFORE as i32);
        }
        if pgrx::is_a(node, pg_sys::NodeTag::T_RangeTblEntry) {
            return expand_view(node.cast(), walk, context);
        }
        if pgrx::is_a(node, pg_sys::NodeTag::T_NextValueExpr) {
            walk.found = Some(Found::NotASelect("it reads a sequence"));
            return true;
        }
        if pg_sys::check_functions_in_node(node, Some(not_allowed), context) {
            return true;
        }
        pg_sys::expression_tree_walker(node, Some(walker), context)
    }
}

/// Why a (sub)query is not a plain read, if it is not.
///
/// # Safety
/// `query` must be a valid Query.
unsafe fn shape_problem(query: *mut pg_sys::Query) -> Option<&'static str> {
    // SAFETY: reading fields of a valid Query.
    unsafe {
        if (*query).commandType != pg_sys::CmdType::CMD_SELECT || !(*query).utilityStmt.is_null() {
            Some("it is not a SELECT")
        } else if (*query).hasModifyingCTE {
            Some("a WITH clause modifies data")
        } else if !(*query).rowMarks.is_null() || (*query).hasForUpdate {
            Some("it locks rows (FOR UPDATE / FOR SHARE)")
        } else {
            None
        }
    }
}

/// A view is read as what it is defined as: its query is walked too.
///
/// # Safety
/// `rte` must be a valid range table entry; `context` the Walk.
unsafe fn expand_view(rte: *mut pg_sys::RangeTblEntry, walk: &mut Walk, context: *mut c_void) -> bool {
    // SAFETY: reading a valid RTE; the parser already holds a lock on every relation it names,
    // and the view's query is copied before walking (walking may fill in operator function ids).
    unsafe {
        if (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION || (*rte).relkind as u8 != pg_sys::RELKIND_VIEW {
            return false;
        }
        let relid = (*rte).relid;
        if walk.views.contains(&relid) {
            return false;
        }
        let relation = pg_sys::relation_open(relid, pg_sys::NoLock as i32);
        let definition = pg_sys::copyObjectImpl(pg_sys::get_view_query(relation).cast()).cast::<pg_sys::Query>();
        pg_sys::relation_close(relation, pg_sys::NoLock as i32);
        walk.views.push(relid);
        let stop = walker(definition.cast(), context);
        walk.views.pop();
        stop
    }
}

/// `check_functions_in_node`'s callback: true (and the function noted) when it is not allowed.
#[pg_guard]
unsafe extern "C-unwind" fn not_allowed(function: Oid, context: *mut c_void) -> bool {
    // SAFETY: `context` is the Walk `enforce` passed.
    let walk = unsafe { &mut *context.cast::<Walk>() };
    if allowed(function, walk.policy) {
        return false;
    }
    walk.found = Some(Found::Function(function));
    true
}

/// Whether a question may call `function`.
pub fn allowed(function: Oid, policy: &Policy) -> bool {
    if policy.functions.contains(&function) {
        return true;
    }
    if u32::from(function) < pg_sys::FirstNormalObjectId {
        return BUILTIN.with(|cache| *cache.borrow_mut().entry(function).or_insert_with(|| builtin_allowed(function)));
    }
    // SAFETY: a syscache lookup; an unknown function has no namespace and is not allowed.
    let namespace = unsafe { pg_sys::get_func_namespace(function) };
    namespace != pg_sys::InvalidOid && policy.schemas.contains(&namespace)
}

fn builtin_allowed(function: Oid) -> bool {
    // SAFETY: syscache lookups of a function that exists (the parser resolved it).
    let (volatility, name) = unsafe {
        let name = pg_sys::get_func_name(function);
        if name.is_null() {
            return false;
        }
        (pg_sys::func_volatile(function) as u8, CStr::from_ptr(name).to_string_lossy().into_owned())
    };
    match volatility {
        pg_sys::PROVOLATILE_IMMUTABLE | pg_sys::PROVOLATILE_STABLE => !WRITING_STABLE.contains(&name.as_str()),
        _ => HARMLESS_VOLATILE.contains(&name.as_str()),
    }
}
