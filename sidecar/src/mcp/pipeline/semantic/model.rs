//! The semantic model of a dataset, as `quarry.export_semantic_model` writes it (tables with
//! their dimensions, time dimensions, measures and filters; relationships; verified queries), and
//! what the planner derives from it once: every item under one index, expressions qualified with
//! their table, and the join graph.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

pub use crate::db::semantic::{Dimension, Document, Filter, Measure, Relationship, Table, TimeDimension, VerifiedQuery};

/// Where an item lives: its table and its place in that table's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ItemRef {
    Table(usize),
    Dimension(usize, usize),
    TimeDimension(usize, usize),
    Measure(usize, usize),
    Filter(usize, usize),
}

impl ItemRef {
    pub fn table(self) -> usize {
        match self {
            ItemRef::Table(t)
            | ItemRef::Dimension(t, _)
            | ItemRef::TimeDimension(t, _)
            | ItemRef::Measure(t, _)
            | ItemRef::Filter(t, _) => t,
        }
    }
}

/// A model ready for planning.
#[derive(Debug, Clone)]
pub struct Model {
    pub doc: Document,
    /// Tables by logical name.
    by_name: HashMap<String, usize>,
    /// Many-to-one edges: from table → [(to table, relationship index)].
    edges: Vec<Vec<(usize, usize)>>,
}

impl Model {
    pub fn new(mut doc: Document) -> Model {
        let by_name: HashMap<String, usize> = doc.tables.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
        let names: Vec<String> = doc.tables.iter().map(|t| t.name.clone()).collect();
        for table in &mut doc.tables {
            let (own, columns) = (table.name.clone(), table.columns.clone());
            let q = |e: &str| qualify(e, &own, &columns, &names);
            for d in &mut table.dimensions {
                d.expr = q(&d.expr);
            }
            for d in &mut table.time_dimensions {
                d.expr = q(&d.expr);
            }
            for m in &mut table.measures {
                m.expr = q(&m.expr);
                m.filter = m.filter.as_deref().map(q);
                if !m.fact && !is_aggregate(&m.expr) {
                    m.fact = true;
                }
            }
            for f in &mut table.filters {
                f.expr = q(&f.expr);
            }
        }
        let mut edges = vec![Vec::new(); doc.tables.len()];
        for (i, r) in doc.relationships.iter().enumerate() {
            if let (Some(&from), Some(&to)) = (by_name.get(&r.from), by_name.get(&r.to)) {
                edges[from].push((to, i));
            }
        }
        Model { doc, by_name, edges }
    }

    pub fn table(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub fn tables(&self) -> &[Table] {
        &self.doc.tables
    }

    /// Tables an expression names (as `table.column`), besides its own.
    pub fn referenced_tables(&self, expr: &str) -> Vec<usize> {
        let mut out = Vec::new();
        for token in sql_tokens(expr) {
            if let SqlToken::Qualified(t, _) = token
                && let Some(i) = self.table(&t.to_lowercase())
                && !out.contains(&i)
            {
                out.push(i);
            }
        }
        out
    }

    /// The many-to-one path from one table to another (the relationships to join, in order),
    /// shortest first; `None` when the second cannot be reached along many-to-one joins.
    pub fn path(&self, from: usize, to: usize) -> Option<Vec<usize>> {
        if from == to {
            return Some(Vec::new());
        }
        let mut previous: HashMap<usize, (usize, usize)> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        while let Some(at) = queue.pop_front() {
            for &(next, rel) in &self.edges[at] {
                if next == from || previous.contains_key(&next) {
                    continue;
                }
                previous.insert(next, (at, rel));
                if next == to {
                    let mut path = vec![rel];
                    let mut cursor = at;
                    while cursor != from {
                        let (p, r) = previous[&cursor];
                        path.push(r);
                        cursor = p;
                    }
                    path.reverse();
                    return Some(path);
                }
                queue.push_back(next);
            }
        }
        None
    }

    /// The relationship of a many-to-one edge from one table to another, if there is one.
    pub fn edge(&self, from: usize, to: usize) -> Option<&Relationship> {
        self.edges[from].iter().find(|(t, _)| *t == to).map(|(_, r)| &self.doc.relationships[*r])
    }

    /// Tables that reference `table` directly (one-to-many from it): (referencing table, relationship).
    pub fn referencing(&self, table: usize) -> Vec<(usize, &Relationship)> {
        let mut out = Vec::new();
        for (from, edges) in self.edges.iter().enumerate() {
            for &(to, rel) in edges {
                if to == table {
                    out.push((from, &self.doc.relationships[rel]));
                }
            }
        }
        out
    }

    /// The time dimension a table's period applies to: its own default, else its first, else one
    /// reached along a many-to-one path (an order line's period is its order's).
    pub fn default_time(&self, table: usize) -> Option<(usize, usize)> {
        let own = &self.doc.tables[table];
        if let Some(name) = &own.time_dimension
            && let Some(i) = own.time_dimensions.iter().position(|d| &d.name == name)
        {
            return Some((table, i));
        }
        if !own.time_dimensions.is_empty() {
            return Some((table, 0));
        }
        let mut best: Option<(usize, usize, usize)> = None;
        for other in 0..self.doc.tables.len() {
            if other == table {
                continue;
            }
            if let Some(path) = self.path(table, other)
                && let Some((t, d)) = self.own_time(other)
                && best.is_none_or(|(_, _, len)| path.len() < len)
            {
                best = Some((t, d, path.len()));
            }
        }
        best.map(|(t, d, _)| (t, d))
    }

    fn own_time(&self, table: usize) -> Option<(usize, usize)> {
        let own = &self.doc.tables[table];
        own.time_dimension
            .as_ref()
            .and_then(|name| own.time_dimensions.iter().position(|d| &d.name == name))
            .or_else(|| (!own.time_dimensions.is_empty()).then_some(0))
            .map(|i| (table, i))
    }

    /// The expression that names a row of a table for people (its label, else its key).
    pub fn label_expr(&self, table: usize) -> String {
        let t = &self.doc.tables[table];
        let column = t.label.clone().or_else(|| t.primary_key.first().cloned()).unwrap_or_else(|| "ctid".into());
        format!("{}.{}", ident(&t.name), ident(&column))
    }

    /// The key expression of a table (for counting distinct rows), if it has one.
    pub fn key_expr(&self, table: usize) -> Option<String> {
        let t = &self.doc.tables[table];
        match t.primary_key.as_slice() {
            [] => None,
            [one] => Some(format!("{}.{}", ident(&t.name), ident(one))),
            many => Some(format!("({})", many.iter().map(|c| format!("{}.{}", ident(&t.name), ident(c))).collect::<Vec<_>>().join(", "))),
        }
    }
}

/// Whether an expression calls an aggregate function (else it is a row-level fact).
pub fn is_aggregate(expr: &str) -> bool {
    const AGGREGATES: &[&str] = &[
        "sum", "avg", "count", "min", "max", "string_agg", "array_agg", "bool_and", "bool_or", "every", "stddev", "variance",
        "percentile_cont", "percentile_disc", "mode",
    ];
    let tokens = sql_tokens(expr);
    tokens.iter().enumerate().any(|(i, t)| {
        matches!(t, SqlToken::Name(n) if AGGREGATES.contains(&n.to_lowercase().as_str()))
            && matches!(tokens.get(i + 1), Some(SqlToken::Other(o)) if o.trim_start().starts_with('('))
    })
}

/// The argument of a measure that is exactly one sum (`sum(x)` → `x`), so that a question asking
/// for an average, a minimum or a maximum can aggregate the same rows another way.
pub fn simple_sum(expr: &str) -> Option<&str> {
    let e = expr.trim();
    let inner = e.strip_prefix("sum(").or_else(|| e.strip_prefix("SUM("))?.strip_suffix(')')?;
    let mut depth = 0;
    for c in inner.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return None,
            ')' => depth -= 1,
            _ => {}
        }
    }
    (depth == 0 && !inner.to_lowercase().contains("distinct")).then_some(inner)
}

/// Quotes an identifier when it must be.
pub fn ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&name);
    if plain { name.to_string() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

const RESERVED: &[&str] = &[
    "all", "and", "any", "array", "as", "asc", "case", "cast", "check", "collate", "column", "constraint", "create", "current_date",
    "current_time", "current_timestamp", "current_user", "default", "desc", "distinct", "do", "else", "end", "except", "false",
    "fetch", "for", "foreign", "from", "grant", "group", "having", "in", "initially", "intersect", "into", "leading", "limit",
    "localtime", "not", "null", "offset", "on", "only", "or", "order", "placing", "primary", "references", "returning", "select",
    "session_user", "some", "symmetric", "table", "then", "to", "trailing", "true", "union", "unique", "user", "using", "when",
    "where", "window", "with",
];

/// A piece of an SQL expression, enough to find and qualify column names.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlToken {
    /// `table.column`.
    Qualified(String, String),
    /// A bare identifier (a column, a keyword or a function name).
    Name(String),
    /// Anything else, as written: strings, numbers, operators, quoted text.
    Other(String),
}

/// Splits an SQL expression into identifiers and the rest (strings and quoted identifiers kept whole).
pub fn sql_tokens(expr: &str) -> Vec<SqlToken> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let read_ident = |i: &mut usize| -> String {
        if chars[*i] == '"' {
            let mut s = String::new();
            *i += 1;
            while *i < chars.len() {
                if chars[*i] == '"' {
                    if chars.get(*i + 1) == Some(&'"') {
                        s.push('"');
                        *i += 2;
                        continue;
                    }
                    *i += 1;
                    break;
                }
                s.push(chars[*i]);
                *i += 1;
            }
            s
        } else {
            let start = *i;
            while *i < chars.len() && (chars[*i].is_alphanumeric() || chars[*i] == '_' || chars[*i] == '$') {
                *i += 1;
            }
            chars[start..*i].iter().collect::<String>()
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let start = i;
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            out.push(SqlToken::Other(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' || c == '"' {
            let first = read_ident(&mut i);
            if i < chars.len() && chars[i] == '.' && i + 1 < chars.len() && (chars[i + 1].is_alphabetic() || chars[i + 1] == '_' || chars[i + 1] == '"') {
                i += 1;
                let second = read_ident(&mut i);
                out.push(SqlToken::Qualified(first, second));
            } else {
                out.push(SqlToken::Name(first));
            }
        } else {
            let start = i;
            i += 1;
            while i < chars.len() && !(chars[i].is_alphabetic() || chars[i] == '_' || chars[i] == '"' || chars[i] == '\'') {
                i += 1;
            }
            out.push(SqlToken::Other(chars[start..i].iter().collect()));
        }
    }
    out
}

/// An expression with its bare column names qualified by its own table (a name counts as a
/// column when the table has such a column and it is not a function call or a type name).
pub fn qualify(expr: &str, table: &str, columns: &[String], tables: &[String]) -> String {
    let tokens = sql_tokens(expr);
    let mut out = String::new();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            SqlToken::Qualified(t, c) if tables.contains(t) => out.push_str(&format!("{}.{}", ident(t), ident(c))),
            SqlToken::Qualified(t, c) => out.push_str(&format!("{}.{}", ident(t), ident(c))),
            SqlToken::Name(n) => {
                let next = tokens.get(i + 1);
                let is_call = matches!(next, Some(SqlToken::Other(o)) if o.trim_start().starts_with('('));
                let after_cast = i > 0 && matches!(&tokens[i - 1], SqlToken::Other(o) if o.trim_end().ends_with("::"));
                let column = n.to_lowercase();
                if columns.contains(&column) && !is_call && !after_cast {
                    out.push_str(&format!("{}.{}", ident(table), ident(&column)));
                } else {
                    out.push_str(n);
                }
            }
            SqlToken::Other(o) => out.push_str(o),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_get_qualified() {
        let columns = vec!["status".to_string(), "total_amount".to_string()];
        let tables = vec!["orders".to_string(), "customers".to_string()];
        assert_eq!(
            qualify("sum(total_amount) FILTER (WHERE status <> 'x total_amount')", "orders", &columns, &tables),
            "sum(orders.total_amount) FILTER (WHERE orders.status <> 'x total_amount')"
        );
        assert_eq!(qualify("customers.id::text", "orders", &columns, &tables), "customers.id::text");
        assert_eq!(qualify("status::text", "orders", &columns, &tables), "orders.status::text");
    }
}
