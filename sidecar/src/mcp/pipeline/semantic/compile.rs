//! SQL from a semantic query. The measure's table is the base; every other table the query needs
//! is joined along many-to-one relationships only, so no row of the base is counted twice. When a
//! group or filter lives on a table that refers to the base (orders by product category), the
//! query is based on that table instead and a count becomes a count of distinct keys; a sum or
//! average of the base's own columns cannot be split that way and is refused. Derived forms
//! (shares, percentages, changes, averages per entity, rankings within groups) are built around
//! the same measure. Each table is aliased by its logical name, as the model's expressions are
//! written.

use std::collections::BTreeSet;

use super::model::{Measure, Model, ident};
use super::query::{Aggregation, Condition, Direction, Form, Grain, MeasureRef, Period, Query};

/// A compiled query and what its columns are.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    pub sql: String,
    /// Column aliases, in order.
    pub columns: Vec<String>,
}

/// Why a query cannot be compiled.
pub type CompileError = String;

struct Resolved<'m> {
    table: usize,
    measure: &'m Measure,
    aggregation: Option<Aggregation>,
    /// Count distinct rows of this table.
    distinct: Option<usize>,
    /// Count distinct values of this dimension expression.
    distinct_values: Option<(usize, String)>,
}

fn split(reference: &str) -> Option<(&str, &str)> {
    reference.split_once('.')
}

fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn resolve<'m>(model: &'m Model, m: &MeasureRef) -> Result<Resolved<'m>, CompileError> {
    let (t, name) = split(&m.measure).ok_or_else(|| format!("measure {} is not table.measure", m.measure))?;
    let table = model.table(t).ok_or_else(|| format!("the model has no table {t}"))?;
    let measure = model.tables()[table]
        .measures
        .iter()
        .find(|x| x.name == name)
        .ok_or_else(|| format!("table {t} has no measure {name}"))?;
    let (mut distinct, mut distinct_values) = (None, None);
    match m.distinct.as_deref().map(|d| (d, split(d))) {
        Some((_, Some(_))) => {
            let g = group(model, m.distinct.as_deref().unwrap_or_default())?;
            distinct_values = Some((g.table, g.expr));
        }
        Some((d, None)) => distinct = Some(model.table(d).ok_or_else(|| format!("the model has no table {d}"))?),
        None => {}
    }
    Ok(Resolved { table, measure, aggregation: m.aggregation, distinct, distinct_values })
}

/// The aggregate expression of a measure (with its own filter left to the caller).
fn aggregate(model: &Model, r: &Resolved) -> Result<String, CompileError> {
    if let Some((_, expr)) = &r.distinct_values {
        return Ok(format!("count(DISTINCT {expr})"));
    }
    if let Some(d) = r.distinct {
        let key = model.key_expr(d).ok_or_else(|| format!("{} has no key to count distinct rows by", model.tables()[d].name))?;
        return Ok(format!("count(DISTINCT {key})"));
    }
    // "the average number of seats": a measure that is one sum, averaged row by row instead.
    if let (Some(agg), Some(inner)) = (r.aggregation, super::model::simple_sum(&r.measure.expr))
        && !r.measure.fact
        && agg != Aggregation::Sum
    {
        return Ok(format!("{}({inner})", agg.sql()));
    }
    if r.measure.fact {
        let agg = r.aggregation.unwrap_or(match r.measure.default_aggregation.as_deref() {
            Some("avg") => Aggregation::Avg,
            Some("min") => Aggregation::Min,
            Some("max") => Aggregation::Max,
            Some("count") => Aggregation::Count,
            _ => Aggregation::Sum,
        });
        return Ok(format!("{}({})", agg.sql(), r.measure.expr));
    }
    Ok(r.measure.expr.clone())
}

/// A column alias for a measure, in snake_case like the rest of a result's columns.
fn measure_alias(r: &Resolved) -> String {
    snake(&measure_label(r))
}

/// A name as a column alias: words joined by underscores.
fn snake(name: &str) -> String {
    name.split(|c: char| c.is_whitespace() || c == '-').filter(|w| !w.is_empty()).collect::<Vec<_>>().join("_")
}

fn measure_label(r: &Resolved) -> String {
    if r.distinct.is_some() || r.distinct_values.is_some() {
        return "distinct_count".into();
    }
    if r.measure.fact {
        return match r.aggregation {
            Some(Aggregation::Avg) => format!("average_{}", r.measure.name),
            Some(Aggregation::Min) => format!("lowest_{}", r.measure.name),
            Some(Aggregation::Max) => format!("highest_{}", r.measure.name),
            Some(Aggregation::Count) => format!("count_{}", r.measure.name),
            _ if r.measure.default_aggregation.as_deref() == Some("avg") => format!("average_{}", r.measure.name),
            _ => format!("total_{}", r.measure.name),
        };
    }
    r.measure.name.clone()
}

/// A group of the query: its expression and alias (and, for a table's rows, its key, so that two
/// rows with the same name stay two).
struct Group {
    table: usize,
    expr: String,
    alias: String,
    key: Option<String>,
}

fn group(model: &Model, reference: &str) -> Result<Group, CompileError> {
    match split(reference) {
        Some((t, d)) => {
            let table = model.table(t).ok_or_else(|| format!("the model has no table {t}"))?;
            let dim = model.tables()[table].dimensions.iter().find(|x| x.name == d);
            let expr = match dim {
                Some(dim) => dim.expr.clone(),
                None if model.tables()[table].label.as_deref() == Some(d) => model.label_expr(table),
                None => return Err(format!("table {t} has no dimension {d}")),
            };
            let alias = if d == "name" || model.tables()[table].label.as_deref() == Some(d) { singular(t) } else { snake(d) };
            Ok(Group { table, expr, alias, key: None })
        }
        None => {
            let table = model.table(reference).ok_or_else(|| format!("the model has no table {reference}"))?;
            let key = model.key_expr(table).filter(|k| *k != model.label_expr(table));
            Ok(Group { table, expr: model.label_expr(table), alias: singular(reference), key })
        }
    }
}

fn singular(name: &str) -> String {
    let base = name.rsplit('_').next().unwrap_or(name);
    let s = if base.ends_with("ies") {
        format!("{}y", &base[..base.len() - 3])
    } else if base.ends_with('s') && !base.ends_with("ss") {
        base[..base.len() - 1].to_string()
    } else {
        base.to_string()
    };
    if name.contains('_') { format!("{}_{s}", &name[..name.len() - base.len() - 1]) } else { s }
}

/// The tables a condition needs, and its SQL.
fn condition(model: &Model, c: &Condition) -> Result<(Vec<usize>, String), CompileError> {
    match c {
        Condition::Values { dimension, values, negated } => {
            let g = group(model, dimension)?;
            let data_type = split(dimension)
                .and_then(|(t, d)| model.table(t).and_then(|t| model.tables()[t].dimensions.iter().find(|x| x.name == d)))
                .and_then(|d| d.data_type.clone())
                .unwrap_or_default();
            let list = values
                .iter()
                .map(|v| if data_type == "boolean" { v.clone() } else { literal(v) })
                .collect::<Vec<_>>()
                .join(", ");
            let op = if *negated { "NOT IN" } else { "IN" };
            Ok((vec![g.table], format!("{} {op} ({list})", g.expr)))
        }
        Condition::Named { filter, negated } => {
            let (t, f) = split(filter).ok_or_else(|| format!("filter {filter} is not table.filter"))?;
            let table = model.table(t).ok_or_else(|| format!("the model has no table {t}"))?;
            let expr = &model.tables()[table].filters.iter().find(|x| x.name == f).ok_or_else(|| format!("table {t} has no filter {f}"))?.expr;
            let mut tables = vec![table];
            tables.extend(model.referenced_tables(expr));
            Ok((tables, if *negated { format!("NOT ({expr})") } else { format!("({expr})") }))
        }
        Condition::Compare { fact, op, value } => {
            let (t, f) = split(fact).ok_or_else(|| format!("fact {fact} is not table.fact"))?;
            let table = model.table(t).ok_or_else(|| format!("the model has no table {t}"))?;
            let m = model.tables()[table].measures.iter().find(|x| x.name == f).ok_or_else(|| format!("table {t} has no fact {f}"))?;
            if !m.fact {
                return Err(format!("{fact} is an aggregate; only a column can be compared row by row"));
            }
            Ok((vec![table], format!("{} {} {value}", m.expr, op.sql())))
        }
        Condition::Related { table, related, none } => {
            let t = model.table(table).ok_or_else(|| format!("the model has no table {table}"))?;
            let r = model.table(related).ok_or_else(|| format!("the model has no table {related}"))?;
            let rel = model.edge(r, t).ok_or_else(|| format!("{related} does not refer to {table}"))?;
            let on = rel
                .columns
                .iter()
                .map(|(fc, tc)| format!("r.{} = {}.{}", ident(fc), ident(table), ident(tc)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let sub = format!("EXISTS (SELECT 1 FROM {} AS r WHERE {on})", model.tables()[r].base_table);
            Ok((vec![t], if *none { format!("NOT {sub}") } else { sub }))
        }
    }
}

/// The time dimension the period and grain apply to: (table, expression, is a date).
fn time_dimension(model: &Model, q: &Query, base: usize) -> Result<Option<(usize, String, bool)>, CompileError> {
    if q.period.is_none() && q.time_grain.is_none() && !matches!(q.form, Form::Change { .. }) {
        return Ok(None);
    }
    let found = match &q.time_dimension {
        Some(reference) => {
            let (t, d) = split(reference).ok_or_else(|| format!("time dimension {reference} is not table.dimension"))?;
            let table = model.table(t).ok_or_else(|| format!("the model has no table {t}"))?;
            let i = model.tables()[table].time_dimensions.iter().position(|x| x.name == d).ok_or_else(|| format!("table {t} has no time dimension {d}"))?;
            Some((table, i))
        }
        None => model.default_time(base),
    };
    let Some((t, i)) = found else {
        return Err(format!("{} has no date or time to apply a period to", model.tables()[base].name));
    };
    let d = &model.tables()[t].time_dimensions[i];
    Ok(Some((t, d.expr.clone(), d.data_type.as_deref() == Some("date"))))
}

fn period_sql(expr: &str, is_date: bool, p: &Period) -> Result<String, CompileError> {
    if let Some(last) = &p.last {
        let (n, unit) = last.split_once(' ').ok_or_else(|| format!("period {last} is not 'N unit'"))?;
        let n: u32 = n.parse().map_err(|_| format!("period {last} is not 'N unit'"))?;
        let unit = unit.trim_end_matches('s');
        if !matches!(unit, "hour" | "day" | "week" | "month" | "quarter" | "year") {
            return Err(format!("period {last}: unknown unit"));
        }
        return Ok(if is_date {
            match unit {
                "day" => format!("{expr} > current_date - {n}"),
                "week" => format!("{expr} > current_date - {}", n * 7),
                _ => format!("{expr} > (current_date - interval '{n} {unit}')::date"),
            }
        } else {
            format!("{expr} >= now() - interval '{n} {unit}'")
        });
    }
    let bound = |s: &str| -> Result<String, CompileError> {
        if s.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | ':' | ' ' | 'T' | '.')) && s.len() >= 10 {
            Ok(literal(s))
        } else {
            Err(format!("{s} is not a date"))
        }
    };
    let mut parts = Vec::new();
    if let Some(s) = &p.start {
        parts.push(format!("{expr} >= {}", bound(s)?));
    }
    if let Some(e) = &p.end {
        parts.push(format!("{expr} < {}", bound(e)?));
    }
    if parts.is_empty() {
        return Err("a period needs a start, an end or a rolling window".into());
    }
    Ok(parts.join(" AND "))
}

/// FROM and JOINs: the base table and the tables needed, joined along many-to-one paths.
fn from_clause(model: &Model, base: usize, needed: &BTreeSet<usize>) -> Result<String, CompileError> {
    let tables = model.tables();
    let mut sql = format!("{} AS {}", tables[base].base_table, ident(&tables[base].name));
    let mut joined: BTreeSet<usize> = BTreeSet::from([base]);
    for &t in needed {
        if joined.contains(&t) {
            continue;
        }
        let path = model.path(base, t).ok_or_else(|| format!("{} cannot be reached from {}", tables[t].name, tables[base].name))?;
        let mut at = base;
        for rel in path {
            let r = &model.doc.relationships[rel];
            let (from, to) = (model.table(&r.from).expect("related tables exist"), model.table(&r.to).expect("related tables exist"));
            debug_assert_eq!(from, at);
            if !joined.contains(&to) {
                let on = r
                    .columns
                    .iter()
                    .map(|(fc, tc)| format!("{}.{} = {}.{}", ident(&r.to), ident(tc), ident(&r.from), ident(fc)))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                sql.push_str(&format!("\n  JOIN {} AS {} ON {on}", tables[to].base_table, ident(&r.to)));
                joined.insert(to);
            }
            at = to;
        }
    }
    Ok(sql)
}

/// The table to base the query on: the measure's, or (when something needed lies on a table that
/// refers to it) the table that reaches everything along many-to-one paths.
fn choose_base(model: &Model, measure_table: usize, needed: &BTreeSet<usize>) -> Option<usize> {
    if needed.iter().all(|t| model.path(measure_table, *t).is_some()) {
        return Some(measure_table);
    }
    (0..model.tables().len())
        .filter(|b| model.path(*b, measure_table).is_some() && needed.iter().all(|t| model.path(*b, *t).is_some()))
        .min_by_key(|b| needed.iter().map(|t| model.path(*b, *t).map_or(99, |p| p.len())).sum::<usize>())
}

/// Rows of a table (their names and the facts a question compared), not an aggregate.
fn list(model: &Model, q: &Query) -> Result<Compiled, CompileError> {
    let reference = q.group_by.first().ok_or("a listing needs a table")?;
    let g = group(model, reference)?;
    let base = g.table;
    let mut needed: BTreeSet<usize> = BTreeSet::from([base]);
    let mut wheres = Vec::new();
    for c in &q.filters {
        let (tables, sql) = condition(model, c)?;
        needed.extend(tables);
        wheres.push(sql);
    }
    let mut select = vec![format!("{} AS {}", g.expr, ident(&g.alias))];
    let mut columns = vec![g.alias.clone()];
    for m in &q.measures {
        let r = resolve(model, m)?;
        if r.measure.fact {
            needed.extend(model.referenced_tables(&r.measure.expr));
            select.push(format!("{} AS {}", r.measure.expr, ident(&r.measure.name.replace(' ', "_"))));
            columns.push(r.measure.name.clone());
        }
    }
    if let Some(p) = &q.period {
        let (t, i) = match &q.time_dimension {
            Some(reference) => {
                let (t, d) = split(reference).ok_or("a time dimension is table.dimension")?;
                let t = model.table(t).ok_or_else(|| format!("the model has no table {t}"))?;
                (t, model.tables()[t].time_dimensions.iter().position(|x| x.name == d).ok_or("no such time dimension")?)
            }
            None => model.default_time(base).ok_or_else(|| format!("{} has no date to apply a period to", model.tables()[base].name))?,
        };
        let d = &model.tables()[t].time_dimensions[i];
        needed.insert(t);
        wheres.push(period_sql(&d.expr, d.data_type.as_deref() == Some("date"), p)?);
    }
    let from = from_clause(model, base, &needed)?;
    let where_sql = if wheres.is_empty() { String::new() } else { format!("\n WHERE {}", wheres.join("\n   AND ")) };
    let sql = format!("SELECT {}\n  FROM {from}{where_sql}\n ORDER BY 1\n LIMIT 1000", select.join(", "));
    Ok(Compiled { sql, columns })
}

/// Compiles a semantic query to SQL.
pub fn compile(model: &Model, q: &Query) -> Result<Compiled, CompileError> {
    if matches!(q.form, Form::List) {
        return list(model, q);
    }
    let first = q.measures.first().ok_or("a query needs a measure")?;
    let mut measure = resolve(model, first)?;
    let measure_table = measure.table;

    // What the query needs besides the measure's table.
    let mut needed: BTreeSet<usize> = model.referenced_tables(&measure.measure.expr).into_iter().collect();
    if let Some(f) = &measure.measure.filter {
        needed.extend(model.referenced_tables(f));
    }
    if let Some(d) = measure.distinct {
        needed.insert(d);
    }
    if let Some((t, expr)) = &measure.distinct_values {
        needed.insert(*t);
        needed.extend(model.referenced_tables(expr));
    }
    let mut groups = Vec::new();
    for g in &q.group_by {
        let g = group(model, g)?;
        needed.insert(g.table);
        needed.extend(model.referenced_tables(&g.expr));
        groups.push(g);
    }
    let mut conditions = Vec::new();
    let mut percentage_condition = None;
    for c in &q.filters {
        let (tables, sql) = condition(model, c)?;
        needed.extend(tables);
        conditions.push(sql);
    }
    if let Form::Percentage { condition: c } = &q.form {
        let (tables, sql) = condition(model, c)?;
        needed.extend(tables);
        percentage_condition = Some(sql);
    }
    let per_entity = match &q.form {
        Form::PerEntity { entity } => Some(model.table(entity).ok_or_else(|| format!("the model has no table {entity}"))?),
        _ => None,
    };
    if let Some(e) = per_entity {
        needed.insert(e);
    }
    let mut q = q.clone();
    let over_time = q.period.is_some() || q.time_grain.is_some() || matches!(q.form, Form::Change { .. });
    if measure.measure.time_dimension.as_deref() == Some("now") && over_time {
        return Err(format!("{} is a figure of today: it has no value for a past period or per period", measure.measure.name));
    }
    if q.time_dimension.is_none() && (q.period.is_some() || q.time_grain.is_some()) {
        q.time_dimension = measure.measure.time_dimension.clone();
    }
    let q = &q;
    let time_table = match (&q.time_dimension, over_time) {
        (_, false) => None,
        (Some(reference), true) => split(reference).and_then(|(t, _)| model.table(t)),
        (None, true) => model.default_time(measure_table).map(|(t, _)| t),
    };
    if let Some(t) = time_table {
        needed.insert(t);
    }
    needed.remove(&measure_table);

    let base = choose_base(model, measure_table, &needed).ok_or_else(|| {
        let names: Vec<&str> = needed.iter().map(|t| model.tables()[*t].name.as_str()).collect();
        format!("{} cannot be combined with {}", model.tables()[measure_table].name, names.join(", "))
    })?;
    if base != measure_table {
        // Rows of the measure's table repeat on the new base: only a count survives, as a count
        // of distinct keys.
        let counts_distinct = measure.distinct.is_some() || measure.distinct_values.is_some();
        let is_count = !counts_distinct && !measure.measure.fact && measure.measure.expr.trim() == "count(*)";
        if is_count {
            measure.distinct = Some(measure_table);
        } else if !counts_distinct {
            return Err(format!(
                "{} is measured per row of {}, which repeats when split by {}",
                measure.measure.name,
                model.tables()[measure_table].name,
                needed.iter().filter(|t| model.path(measure_table, **t).is_none()).map(|t| model.tables()[*t].name.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    needed.insert(base);
    // On another base, the measure's own table is reached by a join like the rest.
    needed.insert(measure_table);
    let from = from_clause(model, base, &needed)?;
    let mut value = aggregate(model, &measure)?;
    if let Some(e) = per_entity {
        let key = model.key_expr(e).ok_or_else(|| format!("{} has no key to count by", model.tables()[e].name))?;
        value = format!("({value})::numeric / nullif(count(DISTINCT {key}), 0)");
    }
    let alias = match per_entity {
        Some(e) => format!("{}_per_{}", measure_alias(&measure), singular(&model.tables()[e].name)),
        None => measure_alias(&measure),
    };
    // More measures, side by side: of the same rows (no filter of their own, or the same one).
    let mut extra = Vec::new();
    for m in q.measures.iter().skip(1) {
        let r = resolve(model, m)?;
        if r.measure.filter.is_some() && r.measure.filter != measure.measure.filter || !matches!(q.form, Form::Value) {
            return Err("several measures are answered together only when they measure the same rows".into());
        }
        if model.path(base, r.table).is_none() {
            return Err(format!("{} cannot be measured beside {}", r.measure.name, measure.measure.name));
        }
        extra.push((aggregate(model, &r)?, measure_alias(&r)));
    }
    let mut wheres = Vec::new();
    if let Some(f) = &measure.measure.filter {
        wheres.push(format!("({f})"));
    }
    wheres.extend(conditions);
    let time = time_dimension(model, q, measure_table)?;
    let period_where = match (&q.period, &time) {
        (Some(p), Some((_, expr, is_date))) => Some(period_sql(expr, *is_date, p)?),
        _ => None,
    };

    // A percentage or a change of periods is one figure here: asked by groups or over time, it
    // is refused rather than answered without them.
    if matches!(q.form, Form::Percentage { .. } | Form::Change { .. }) && (!groups.is_empty() || q.time_grain.is_some()) {
        return Err("a percentage or a change between periods is answered for the whole, not by groups or over time".into());
    }
    match &q.form {
        Form::Percentage { .. } => {
            let condition = percentage_condition.expect("set for a percentage");
            let mut all = wheres.clone();
            all.extend(period_where.clone());
            let scope = |extra: Option<&str>| {
                let mut w = all.clone();
                w.extend(extra.map(str::to_string));
                if w.is_empty() { String::new() } else { format!("\n WHERE {}", w.join("\n   AND ")) }
            };
            let sql = format!(
                "SELECT (SELECT {value} FROM {from}{}) * 100.0\n       / nullif((SELECT {value} FROM {from}{}), 0) AS percentage",
                scope(Some(&condition)),
                scope(None)
            );
            Ok(Compiled { sql, columns: vec!["percentage".into()] })
        }
        Form::Change { previous, growth } => {
            let (_, expr, is_date) = time.clone().ok_or("a comparison of periods needs a date or time")?;
            let current = q.period.as_ref().ok_or("a comparison needs a period")?;
            let scoped = |p: &Period| -> Result<String, CompileError> {
                let mut w = wheres.clone();
                w.push(period_sql(&expr, is_date, p)?);
                Ok(format!("(SELECT {value} FROM {from}\n WHERE {})", w.join("\n   AND ")))
            };
            let (now, before) = (scoped(current)?, scoped(previous)?);
            let mut sql = format!("SELECT {now} AS current,\n       {before} AS previous");
            let mut columns = vec!["current".to_string(), "previous".to_string()];
            if *growth {
                sql = format!("SELECT current, previous, (current - previous) * 100.0 / nullif(previous, 0) AS growth_percent\n  FROM ({sql}) c");
                columns.push("growth_percent".into());
            }
            Ok(Compiled { sql, columns })
        }
        _ => {
            wheres.extend(period_where);
            plain(q, &groups, &time, (value, alias), &extra, from, wheres)
        }
    }
}

/// Measures by groups (and time buckets), with shares or rankings within groups.
fn plain(
    q: &Query,
    groups: &[Group],
    time: &Option<(usize, String, bool)>,
    (value, alias): (String, String),
    extra: &[(String, String)],
    from: String,
    wheres: Vec<String>,
) -> Result<Compiled, CompileError> {
    let mut select = Vec::new();
    let mut columns = Vec::new();
    let mut group_by = Vec::new();
    let mut order = Vec::new();
    if let (Some(grain), Some((_, expr, _))) = (q.time_grain, time) {
        match grain {
            Grain::DayOfWeek => {
                select.push(format!("trim(to_char({expr}, 'Day')) AS day_of_week"));
                order.push(format!("min(extract(isodow FROM {expr}))"));
                columns.push("day_of_week".to_string());
            }
            g => {
                select.push(format!("date_trunc('{}', {expr})::date AS {}", g.sql(), g.sql()));
                order.push(format!("{}", columns.len() + 1));
                columns.push(g.sql().to_string());
            }
        }
        group_by.push(format!("{}", columns.len()));
    }
    for g in groups {
        select.push(format!("{} AS {}", g.expr, ident(&g.alias)));
        columns.push(g.alias.clone());
        group_by.push(format!("{}", columns.len()));
        if let Some(key) = &g.key {
            group_by.push(key.clone());
        }
    }
    // A share is of the rows that have a group: a row without one (no cancel reason, because
    // it was never cancelled) is not a category of the whole.
    let mut wheres = wheres;
    if matches!(q.form, Form::Share) {
        wheres.extend(groups.iter().map(|g| format!("{} IS NOT NULL", g.expr)));
    }
    let where_sql = if wheres.is_empty() { String::new() } else { format!("\n WHERE {}", wheres.join("\n   AND ")) };
    // With no groups, no rows means zero for a sum or a count (not "no value").
    let value = if group_by.is_empty() && (value.starts_with("sum(") || value.starts_with("count(")) && !value.contains("::numeric /") {
        format!("coalesce({value}, 0)")
    } else {
        value
    };
    if matches!(q.form, Form::Share) {
        select.push(format!("{value} AS {}", ident(&alias)));
        columns.push(alias.clone());
        select.push(format!("{value} * 100.0 / nullif(sum({value}) OVER (), 0) AS share_percent"));
        columns.push("share_percent".into());
    } else {
        select.push(format!("{value} AS {}", ident(&alias)));
        columns.push(alias.clone());
    }
    for (v, a) in extra {
        let v = if group_by.is_empty() && (v.starts_with("sum(") || v.starts_with("count(")) { format!("coalesce({v}, 0)") } else { v.clone() };
        select.push(format!("{v} AS {}", ident(a)));
        columns.push(a.clone());
    }
    let group_sql = if group_by.is_empty() { String::new() } else { format!("\n GROUP BY {}", group_by.join(", ")) };
    let direction = |d: Direction| if d == Direction::Desc { "DESC" } else { "ASC" };

    if let Form::RankWithin { n, .. } = &q.form {
        // Rank within the first group, by the measure.
        let dir = direction(q.order.unwrap_or(Direction::Desc));
        let inner = format!("SELECT {},\n       rank() OVER (PARTITION BY 1 ORDER BY 1) AS _rank\n  FROM {from}{where_sql}{group_sql}", select.join(",\n       "));
        let partition = ident(&columns[0]);
        let inner = inner.replace(
            "rank() OVER (PARTITION BY 1 ORDER BY 1)",
            &format!("rank() OVER (PARTITION BY {} ORDER BY {value} {dir})", groups.first().map(|g| g.expr.clone()).unwrap_or(partition.clone())),
        );
        let outer_columns = columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT {outer_columns}\n  FROM ({inner}) ranked\n WHERE _rank <= {n}\n ORDER BY {partition}, {} {dir}", ident(&alias));
        return Ok(Compiled { sql, columns });
    }

    let order_sql = match q.order {
        Some(d) => format!("\n ORDER BY {} {} NULLS LAST", ident(&alias), direction(d)),
        None if !order.is_empty() => format!("\n ORDER BY {}", order.join(", ")),
        None if !groups.is_empty() => format!("\n ORDER BY {} DESC NULLS LAST", ident(&alias)),
        None => String::new(),
    };
    let limit_sql = q.limit.map(|n| format!("\n LIMIT {n}")).unwrap_or_default();
    let sql = format!("SELECT {}\n  FROM {from}{where_sql}{group_sql}{order_sql}{limit_sql}", select.join(",\n       "));
    Ok(Compiled { sql, columns })
}
