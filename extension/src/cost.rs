//! The cost gate: before a question runs, its plan (PostgreSQL's own, made as the asker's role)
//! is weighed against the dataset's limits on the planner's estimated cost and on the rows its
//! scans are estimated to read. A plan over a limit is refused before it reads anything, with the
//! part that costs the most named, so the asker knows what to narrow.

use std::ffi::CStr;

use pgrx::pg_sys;

use crate::guard::Refusal;

/// SQLSTATE of a query refused because its plan is over the dataset's cost limits.
pub const TOO_EXPENSIVE: &str = "QG003";

const HINT: &str = "Narrow the question: a shorter period, a filter on an indexed column, fewer groups. A DBA can change the limits with quarry.update_dataset(dataset_id, max_cost => …, max_rows_scanned => …).";

/// A dataset's limits; `None`: no limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub max_cost: Option<f64>,
    pub max_rows_scanned: Option<f64>,
}

/// What a plan is estimated to take: its total cost, the rows its scans read, and the costliest
/// scan (its relation and its own estimate).
#[derive(Debug, Default)]
struct Weight {
    cost: f64,
    rows_scanned: f64,
    costliest: Option<(String, f64, f64)>,
}

/// Refuses a planned statement over the limits.
///
/// # Safety
/// `plan` must be a valid planned statement of the current transaction.
pub unsafe fn check(plan: *mut pg_sys::PlannedStmt, limits: Limits) -> Result<(), Refusal> {
    if limits.max_cost.is_none() && limits.max_rows_scanned.is_none() {
        return Ok(());
    }
    let mut weight = Weight::default();
    // SAFETY: see the function's contract.
    unsafe {
        weight.cost = (*(*plan).planTree).total_cost;
        walk(plan, (*plan).planTree, &mut weight);
        let subplans = pgrx::PgList::<pg_sys::Plan>::from_pg((*plan).subplans);
        for sub in subplans.iter_ptr() {
            walk(plan, sub, &mut weight);
        }
    }
    let over_cost = limits.max_cost.filter(|max| weight.cost > *max);
    let over_rows = limits.max_rows_scanned.filter(|max| weight.rows_scanned > *max);
    if over_cost.is_none() && over_rows.is_none() {
        return Ok(());
    }
    let mut message = match (over_cost, over_rows) {
        (Some(max), _) => format!("the query is estimated to cost {:.0}, over this dataset's limit of {max:.0}", weight.cost),
        (None, Some(max)) => format!(
            "the query is estimated to read {:.0} rows, over this dataset's limit of {max:.0}",
            weight.rows_scanned
        ),
        (None, None) => unreachable!(),
    };
    if let Some((relation, cost, rows)) = &weight.costliest {
        message.push_str(&format!("; most of it is reading {relation} (about {rows:.0} rows, cost {cost:.0})"));
    }
    Err(Refusal { code: TOO_EXPENSIVE, message, hint: HINT })
}

/// Adds up a plan tree's scans.
///
/// # Safety
/// `node` must be null or a node of `stmt`'s plan.
unsafe fn walk(stmt: *mut pg_sys::PlannedStmt, node: *mut pg_sys::Plan, weight: &mut Weight) {
    if node.is_null() {
        return;
    }
    // SAFETY: see the function's contract; node tags tell which struct a node is.
    unsafe {
        let tag = (*node).type_;
        use pg_sys::NodeTag::*;
        if matches!(tag, T_SeqScan | T_IndexScan | T_IndexOnlyScan | T_BitmapHeapScan | T_TidScan | T_TidRangeScan | T_SampleScan | T_ForeignScan) {
            let scan = node.cast::<pg_sys::Scan>();
            let rows = (*node).plan_rows;
            weight.rows_scanned += rows;
            let cost = (*node).total_cost;
            if weight.costliest.as_ref().is_none_or(|(_, c, _)| cost > *c) {
                weight.costliest = Some((relation_name(stmt, (*scan).scanrelid), cost, rows));
            }
        }
        match tag {
            T_Append => children(stmt, (*node.cast::<pg_sys::Append>()).appendplans, weight),
            T_MergeAppend => children(stmt, (*node.cast::<pg_sys::MergeAppend>()).mergeplans, weight),
            T_SubqueryScan => walk(stmt, (*node.cast::<pg_sys::SubqueryScan>()).subplan, weight),
            _ => {}
        }
        walk(stmt, (*node).lefttree, weight);
        walk(stmt, (*node).righttree, weight);
    }
}

/// # Safety
/// `list` must be a list of plan nodes of `stmt`.
unsafe fn children(stmt: *mut pg_sys::PlannedStmt, list: *mut pg_sys::List, weight: &mut Weight) {
    // SAFETY: see the function's contract.
    unsafe {
        for child in pgrx::PgList::<pg_sys::Plan>::from_pg(list).iter_ptr() {
            walk(stmt, child, weight);
        }
    }
}

/// `schema.relation` of a range table entry of the statement (or "a subquery").
///
/// # Safety
/// `index` must be 0 or a range table index of `stmt`.
unsafe fn relation_name(stmt: *mut pg_sys::PlannedStmt, index: pg_sys::Index) -> String {
    // SAFETY: see the function's contract; catalog lookups of an OID the plan holds a lock on.
    unsafe {
        let rtable = pgrx::PgList::<pg_sys::RangeTblEntry>::from_pg((*stmt).rtable);
        let Some(entry) = index.checked_sub(1).and_then(|i| rtable.get_ptr(i as usize)) else {
            return "a subquery".into();
        };
        let relid = (*entry).relid;
        if relid == pg_sys::InvalidOid {
            return "a subquery".into();
        }
        let name = pg_sys::get_rel_name(relid);
        let schema = pg_sys::get_namespace_name(pg_sys::get_rel_namespace(relid));
        if name.is_null() || schema.is_null() {
            return "a table".into();
        }
        format!("{}.{}", CStr::from_ptr(schema).to_string_lossy(), CStr::from_ptr(name).to_string_lossy())
    }
}
