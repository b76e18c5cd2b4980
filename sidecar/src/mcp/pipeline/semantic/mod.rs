//! The semantic layer's planner: a question becomes a semantic query over the dataset's model
//! (see the extension's `semantic.sql`), and SQL is compiled from it.
//!
//! - [`text`] and [`lexicon`]: words, numbers and stems; Chinese and Korean read as English;
//! - [`time`]: periods, comparisons and grains;
//! - [`vocab`]: the model's words and the function words of questions;
//! - [`read`]: what a question asks, or why it cannot be answered;
//! - [`compile`]: SQL from a semantic query;
//! - [`explain`]: the interpretation in plain words.
//!
//! A follow-up question changes the previous semantic query: a new measure, group, filter,
//! period or limit replaces or joins the old one.

pub mod compile;
pub mod explain;
pub mod lexicon;
pub mod model;
pub mod query;
pub mod read;
pub mod text;
pub mod time;
pub mod vocab;

use chrono::NaiveDate;

pub use self::compile::{Compiled, compile};
pub use self::model::{Document, Model};
pub use self::query::Query;
pub use self::read::{Refusal, Values};

use self::query::{Condition, Form};
pub use self::vocab::Vocabulary;
use self::vocab::Func;

/// A question planned: the semantic query and its SQL.
#[derive(Debug, Clone)]
pub struct Plan {
    pub query: Query,
    pub compiled: Compiled,
}

/// Plans a question over a model, read with the model's vocabulary (made with the values of its
/// dimensions, as the asker may see them), continuing `previous` when the question follows up on
/// it.
pub fn plan(question: &str, model: &Model, vocabulary: &Vocabulary, previous: Option<&Query>, today: NaiveDate) -> Result<Plan, Refusal> {
    let reading = read::scan(question, model, vocabulary, today);
    let query = match (read::read(&reading), previous) {
        (Ok(q), Some(prev)) if is_follow_up(&reading) => follow_up(prev, q, &reading)?,
        (Ok(q), _) => q,
        (Err(Refusal::NoMeasure | Refusal::Cannot(_)), Some(prev)) => {
            let partial = read::read_with(&reading, Some(prev))?;
            follow_up(prev, partial, &reading)?
        }
        (Err(e), _) => return Err(e),
    };
    let compiled = compile(model, &query).map_err(Refusal::Cannot)?;
    Ok(Plan { query, compiled })
}

/// Whether a question leans on an earlier one ("and by category?", "only web", "same for last
/// year"), which it cannot do when the earlier one was not answered.
pub fn follows_up(question: &str, model: &Model, vocabulary: &Vocabulary, today: NaiveDate) -> bool {
    is_follow_up(&read::scan(question, model, vocabulary, today))
}

/// Compiles a semantic query a model wrote (after checking it names only the model's items).
pub fn plan_query(model: &Model, query: Query) -> Result<Plan, Refusal> {
    let compiled = compile(model, &query).map_err(Refusal::Cannot)?;
    Ok(Plan { query, compiled })
}

/// Whether a question leans on the previous one ("what about …", "only web", "and by category",
/// "same for last year", "top 10 instead").
fn is_follow_up(r: &read::Reading) -> bool {
    let starts_with_and = r.tokens.first().is_some_and(|t| matches!(t.text.as_str(), "and" | "also" | "now" | "then" | "same" | "but"));
    let refers = r.tokens.iter().any(|t| matches!(t.text.as_str(), "it" | "that" | "those" | "them" | "these" | "same" | "instead" | "again"));
    starts_with_and
        || refers
        || r.mentions.iter().any(|m| matches!(m.func(), Some(Func::WhatAbout | Func::Only | Func::Instead | Func::Also)))
}

/// The previous query changed by what a follow-up says.
fn follow_up(prev: &Query, new: Query, r: &read::Reading) -> Result<Query, Refusal> {
    let mut q = prev.clone();
    let instead = r.mentions.iter().any(|m| m.func() == Some(Func::Instead));
    // "also the store", "the store too": both; "and the store?" alone asks about the store instead.
    let adding = r.mentions.iter().any(|m| matches!(m.func(), Some(Func::Also)));
    // "Compare it with consumers": both values, side by side.
    let comparing = r.mentions.iter().any(|m| m.func() == Some(Func::Compare));
    if !new.measures.is_empty() && new.measures != prev.measures && read::names_measure(r) {
        q.measures = new.measures.clone();
    }
    if new.period.is_some() {
        q.period = new.period.clone();
        if let Form::Change { .. } = q.form {
            q.form = Form::Value;
        }
    } else if let Some((unit, n)) = r.time.shift {
        // "What about the month before?": the previous period, moved.
        let moved = prev.period.as_ref().and_then(|p| time::shift_period(p, unit, n));
        q.period = Some(moved.ok_or_else(|| Refusal::Cannot("the previous question has no closed period to move".into()))?);
    }
    if new.time_grain.is_some() {
        q.time_grain = new.time_grain;
    }
    if !new.group_by.is_empty() {
        if instead {
            q.group_by = new.group_by.clone();
        } else {
            for g in &new.group_by {
                if !q.group_by.contains(g) {
                    q.group_by.push(g.clone());
                }
            }
        }
    }
    for c in &new.filters {
        match c {
            Condition::Values { dimension, values, negated } => {
                let same = q.filters.iter().position(|p| matches!(p, Condition::Values { dimension: d, .. } if d == dimension));
                match same {
                    Some(i) if comparing => {
                        if let Condition::Values { values: old, .. } = &mut q.filters[i] {
                            old.extend(values.iter().cloned());
                        }
                        if !q.group_by.contains(dimension) {
                            q.group_by.push(dimension.clone());
                        }
                    }
                    Some(i) if adding => {
                        if let Condition::Values { values: old, .. } = &mut q.filters[i] {
                            old.extend(values.iter().cloned());
                        }
                    }
                    Some(i) => q.filters[i] = c.clone(),
                    None => {
                        // A value of a dimension the answer is grouped by narrows the groups.
                        let _ = negated;
                        q.filters.push(c.clone());
                    }
                }
            }
            other => {
                if !q.filters.contains(other) {
                    q.filters.push(other.clone());
                }
            }
        }
    }
    if new.limit.is_some() {
        q.limit = new.limit;
        q.order = new.order.or(q.order);
    } else if q.limit.is_some() {
        // "Show me 10 instead", "make it 3": a number alone changes the limit.
        let number = r.tokens.iter().enumerate().find_map(|(i, t)| {
            let n = t.number_value()?;
            (!r.time.used[i] && n.fract() == 0.0 && (1.0..=1000.0).contains(&n)).then_some(n as u32)
        });
        if number.is_some() {
            q.limit = number;
        }
    }
    if !matches!(new.form, Form::Value) {
        q.form = new.form.clone();
    }
    Ok(q)
}

/// Questions the model can answer, to suggest when one cannot be.
pub fn suggestions(model: &Model) -> Vec<String> {
    explain::suggestions(model)
}

#[cfg(test)]
mod tests;
