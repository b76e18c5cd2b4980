//! Reading a question into a semantic query. The question's words are matched against the
//! vocabulary (the model's and the function words), its time words read separately, and the
//! query assembled from what was found:
//! - the measure: one the question names (with an aggregation for a fact), or the count of what
//!   "how many" asks about, or what a superlative implies ("priciest": the highest price);
//! - the groups: dimensions and tables after "by", "per", "each", "across", or what is ranked;
//! - the filters: values of dimensions (negated after "not", "excluding"), named filters,
//!   comparisons of numbers ("over $500"), "never" (rows without related rows);
//! - the period and the grain, from the time words;
//! - the form: a share of the total, a percentage of rows meeting a condition, a distinct
//!   count, an average per entity, a change between two periods, a ranking within groups.
//! Anything in the question that none of this explains means a refusal, never a guess.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::model::Model;
use super::query::{Aggregation, Comparison, Condition, Direction, Form, MeasureRef, Query};
use super::text::{Kind, Token, tokenize};
use super::time;
use super::vocab::{Func, Mention, Target, Vocabulary, is_filler};

/// Why a question was not answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Words nothing in the model explains.
    Unknown(Vec<String>),
    /// It asks to change data.
    Write,
    /// It asks about the future.
    Forecast,
    /// It names nothing to measure.
    NoMeasure,
    /// What it combines cannot be answered from the model (the reason says what).
    Cannot(String),
}

/// A question as read: the tokens, the time words, the phrases found.
pub struct Reading<'a> {
    pub model: &'a Model,
    pub question: String,
    pub tokens: Vec<Token>,
    pub time: time::Reading,
    pub mentions: Vec<Mention>,
}

impl Reading<'_> {
    fn funcs(&self) -> impl Iterator<Item = (usize, Func)> + '_ {
        self.mentions.iter().enumerate().filter_map(|(i, m)| m.func().filter(|_| m.model().next().is_none()).map(|f| (i, f)))
    }

    fn has(&self, f: Func) -> bool {
        self.funcs().any(|(_, g)| g == f)
    }

    fn position(&self, f: Func) -> Option<usize> {
        self.funcs().find(|(_, g)| *g == f).map(|(i, _)| i)
    }
}

/// Tokens, time words and phrases of a question.
pub fn scan<'a>(question: &str, model: &'a Model, vocabulary: &Vocabulary, today: NaiveDate) -> Reading<'a> {
    let tokens = tokenize(question, &vocabulary.foreign);
    let mut time = time::read(&tokens, today);
    // "monthly price", "daily active users": a phrase of the model wins over a grain word, and so
    // does a value ("monthly versus annual plans").
    if let Some((from, to)) = time.grain_tokens {
        let free = vec![false; tokens.len()];
        let mentions: Vec<Mention> = (0..tokens.len()).filter_map(|i| vocabulary.longest_at(&tokens, i, &free)).collect();
        let dimension_of = |m: &Mention| m.model().find_map(|t| if let Target::Value(t, d, _) = t { Some((*t, *d)) } else { None });
        let taken = mentions.iter().any(|m| {
            let covers = m.at < to && m.at + m.len > from;
            let phrase = m.len >= 2 && m.model().next().is_some();
            // A value, when another value of its dimension is named too ("monthly versus annual").
            let value = dimension_of(m).is_some_and(|d| mentions.iter().any(|o| o.at != m.at && dimension_of(o) == Some(d)));
            covers && (phrase || value)
        });
        if taken {
            for u in &mut time.used[from..to] {
                *u = false;
            }
            time.grain = None;
            time.grain_tokens = None;
        }
    }
    let mut used = time.used.clone();
    let mut mentions = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if used[i] {
            i += 1;
            continue;
        }
        if let Some(m) = vocabulary.longest_at(&tokens, i, &used) {
            for u in &mut used[i..i + m.len] {
                *u = true;
            }
            i += m.len;
            mentions.push(m);
        } else {
            i += 1;
        }
    }
    Reading { model, question: question.to_string(), tokens, time, mentions }
}

/// Words of the question that nothing explains.
pub fn unexplained(r: &Reading) -> Vec<String> {
    let mut covered = r.time.used.clone();
    for m in &r.mentions {
        for c in &mut covered[m.at..m.at + m.len] {
            *c = true;
        }
    }
    let mut out = Vec::new();
    for (i, t) in r.tokens.iter().enumerate() {
        if covered[i] || is_filler(t) {
            continue;
        }
        match t.kind {
            Kind::Number(_) | Kind::Symbol(_) => {}
            Kind::Word | Kind::Unknown => out.push(t.text.clone()),
        }
    }
    out
}

/// Which of several things a phrase may mean: a DBA's item before a derived one, a measure of
/// the model before a fact.
fn rank(model: &Model, target: &Target) -> i32 {
    let dba = |origin: &Option<String>| i32::from(origin.as_deref() == Some("dba")) * 10;
    let tables = model.tables();
    match target {
        Target::Measure(t, i) => {
            let m = &tables[*t].measures[*i];
            dba(&m.origin) + if m.fact { 3 } else { 4 }
        }
        Target::Dimension(t, i) => dba(&tables[*t].dimensions[*i].origin) + 3,
        Target::Value(t, i, _) => dba(&tables[*t].dimensions[*i].origin) + 3,
        Target::Filter(t, i) => dba(&tables[*t].filters[*i].origin) + 3,
        Target::TimeDimension(t, i) => dba(&tables[*t].time_dimensions[*i].origin) + 1,
        Target::Table(t) => dba(&tables[*t].origin) + 2,
        Target::Word(_) => 0,
    }
}

/// Words that name a measure only vaguely: when a question also names one specifically, that one
/// is meant ("the amount refunded": the refunded amount).
const GENERIC_MEASURE_WORDS: &[&str] = &["amount", "amounts", "value", "values", "total", "sum", "number", "figure", "money"];

/// Verbs that create a record ("orders placed last month"): also status values in many schemas,
/// but said of the event, not the state, unless the question says "status".
const CREATION_VERBS: &[&str] = &["placed", "made", "created", "submitted", "received", "opened", "issued", "registered", "booked", "logged", "raised"];

/// The best model target of a mention.
fn best(model: &Model, m: &Mention) -> Option<Target> {
    m.model().max_by_key(|t| rank(model, t)).cloned()
}

/// The best model target of a mention in its place in the question: a creation verb is the event
/// (its time dimension, or nothing), not a status value.
fn best_in(r: &Reading, m: &Mention) -> Option<Target> {
    let token = &r.tokens[m.at];
    let after_status = m.at > 0 && matches!(r.tokens[m.at - 1].text.as_str(), "status" | "state" | "statuses");
    let creation = CREATION_VERBS.iter().any(|v| *v == token.text || super::text::stem(v) == token.stem);
    if m.len == 1 && creation && !after_status {
        return m.model().filter(|t| !matches!(t, Target::Value(..))).max_by_key(|t| rank(r.model, t)).cloned();
    }
    // "paid this year": a word that is both a status and the time of that event is the event
    // when the question has a period.
    if r.time.period.is_some() && !after_status && m.model().any(|t| matches!(t, Target::TimeDimension(..))) && m.model().any(|t| matches!(t, Target::Value(..))) {
        return m.model().find(|t| matches!(t, Target::TimeDimension(..))).cloned();
    }
    // "How many orders": counted, a word that names a table and a number column (a view's
    // `orders` column) is the table.
    if r.has(Func::Count) && m.model().any(|t| matches!(t, Target::Table(_))) && m.model().any(|t| matches!(t, Target::Measure(..))) {
        return m.model().find(|t| matches!(t, Target::Table(_))).cloned();
    }
    // A value several dimensions have: the one whose dimension is named beside it, else one of a
    // table the question names.
    let values: Vec<&Target> = m.model().filter(|t| matches!(t, Target::Value(..))).collect();
    if values.len() > 1 {
        let near = |t: usize, d: usize| {
            [m.at.wrapping_sub(1), m.at + m.len].iter().any(|j| {
                r.mentions.iter().any(|o| o.at == *j && o.model().any(|x| matches!(x, Target::Dimension(u, e) if *u == t && *e == d)))
            })
        };
        let named_tables: Vec<usize> = r.mentions.iter().flat_map(|o| o.model().filter_map(|x| if let Target::Table(t) = x { Some(*t) } else { None })).collect();
        if let Some(v) = values.iter().find(|v| matches!(v, Target::Value(t, d, _) if near(*t, *d))) {
            return Some((*v).clone());
        }
        if let Some(v) = values.iter().find(|v| matches!(v, Target::Value(t, _, _) if named_tables.contains(t))) {
            return Some((*v).clone());
        }
        if let Some(v) = values.iter().find(|v| matches!(v, Target::Value(t, _, _) if named_tables.iter().any(|n| r.model.path(*n, *t).is_some()))) {
            return Some((*v).clone());
        }
    }
    best(r.model, m)
}

fn name(model: &Model, t: usize) -> &str {
    &model.tables()[t].name
}

fn measure_ref(model: &Model, t: usize, i: usize) -> String {
    format!("{}.{}", name(model, t), model.tables()[t].measures[i].name)
}

fn dimension_ref(model: &Model, t: usize, i: usize) -> String {
    format!("{}.{}", name(model, t), model.tables()[t].dimensions[i].name)
}

/// The count measure of a table (derived as `count(*)` named after it).
fn count_measure(model: &Model, t: usize) -> Option<usize> {
    let table = &model.tables()[t];
    table.measures.iter().position(|m| m.expr.trim() == "count(*)" && m.name == table.name)
}

/// A money fact of a table, for "over $500": the fact whose name or unit says money.
fn money_fact(model: &Model, t: usize) -> Option<usize> {
    let table = &model.tables()[t];
    let words = ["amount", "total", "price", "value", "revenue", "cost", "mrr", "spend", "fee", "paid"];
    table
        .measures
        .iter()
        .enumerate()
        .filter(|(_, m)| m.fact)
        .find(|(_, m)| m.unit.as_deref().is_some_and(|u| u.eq_ignore_ascii_case("usd")) || words.iter().any(|w| m.name.contains(w)))
        .map(|(i, _)| i)
}

/// A fact (or measure) of the model whose name or synonyms say price, for "priciest".
fn price_fact(model: &Model, preferred: Option<usize>) -> Option<(usize, usize)> {
    // By its name first, then by a synonym that is "price" itself; the table the question names first.
    let score = |t: usize, m: &super::model::Measure| -> i32 {
        let named = if m.name.contains("price") { 4 } else if m.synonyms.iter().any(|s| s == "price" || s == "prices") { 2 } else { 0 };
        if named == 0 { 0 } else { named + i32::from(Some(t) == preferred) }
    };
    let mut found: Option<((usize, usize), i32)> = None;
    for (t, table) in model.tables().iter().enumerate() {
        for (i, m) in table.measures.iter().enumerate() {
            let s = score(t, m);
            if s > 0 && found.is_none_or(|(_, best)| s > best) {
                found = Some(((t, i), s));
            }
        }
    }
    found.map(|(r, _)| r)
}

/// A measure of the model found by a word of its name or synonyms ("units", "revenue").
fn measure_named(model: &Model, words: &[&str]) -> Option<(usize, usize)> {
    let mut best: Option<((usize, usize), i32)> = None;
    for (t, table) in model.tables().iter().enumerate() {
        for (i, m) in table.measures.iter().enumerate() {
            let hit = words.iter().any(|w| m.name == *w || m.synonyms.iter().any(|s| s == w));
            if hit {
                let score = rank(model, &Target::Measure(t, i));
                if best.is_none_or(|(_, s)| score > s) {
                    best = Some(((t, i), score));
                }
            }
        }
    }
    best.map(|(r, _)| r)
}

/// What a question asks, read from its mentions.
pub fn read(r: &Reading) -> Result<Query, Refusal> {
    read_with(r, None)
}

/// Whether the question names what to measure itself (a measure, a superlative, "how many X").
pub fn names_measure(r: &Reading) -> bool {
    r.mentions.iter().any(|m| m.model().any(|t| matches!(t, Target::Measure(..))))
        || r.has(Func::Count)
        || r.funcs().any(|(_, f)| matches!(f, Func::Pricey | Func::Cheap | Func::BestSelling | Func::Grossing))
}

/// As [`read`], with the measure of an earlier question when this one names none, and its
/// groups when this one ranks without saying what (a follow-up: "make it top 10").
pub fn read_with(r: &Reading, earlier: Option<&Query>) -> Result<Query, Refusal> {
    let fallback = earlier.and_then(|e| e.measures.first());
    let model = r.model;
    if r.has(Func::Write) {
        return Err(Refusal::Write);
    }
    if r.has(Func::Forecast) || r.time.future {
        return Err(Refusal::Forecast);
    }
    let unknown = unexplained(r);
    if !unknown.is_empty() {
        return Err(Refusal::Unknown(unknown));
    }

    // "by type" where nothing is called type: the grouping is not understood.
    for (i, m) in r.mentions.iter().enumerate() {
        if matches!(m.func(), Some(Func::By | Func::Each)) && m.model().next().is_none() {
            // The next word that is not filler ("break down all orders by status").
            let mut next_index = i + 1;
            while r.mentions.get(next_index).is_some_and(|n| n.func() == Some(Func::Filler) && n.model().next().is_none()) {
                next_index += 1;
            }
            let next_at = r.mentions.get(next_index).map(|n| n.at).unwrap_or(m.at + m.len);
            let i = next_index - 1;
            let next_token_used_by_time = r.time.used.get(next_at).copied().unwrap_or(true);
            let next_mention = r.mentions.get(i + 1).filter(|n| n.at == next_at);
            let attaches = next_token_used_by_time
                || next_mention.is_some_and(|n| n.model().next().is_some() || matches!(n.func(), Some(Func::Each | Func::By | Func::Compare | Func::Avg | Func::Sum | Func::Count | Func::Top | Func::Bottom | Func::Pricey | Func::Cheap | Func::BestSelling | Func::Grossing | Func::Share | Func::Percent)))
                || next_at >= r.tokens.len();
            let korean_by = next_mention.is_some_and(|n| n.model().next().is_some()) || is_cjk_question(r);
            if !attaches && !korean_by {
                let word = r.tokens.get(next_at).map(|t| t.text.clone()).unwrap_or_default();
                return Err(Refusal::Unknown(vec![format!("{} {word}", r.tokens[m.at].text)]));
            }
        }
    }

    let mut q = Query::default();
    // Model mentions, in order, with the function word before each.
    let mut items: Vec<(usize, Target)> = r.mentions.iter().enumerate().filter_map(|(i, m)| best_in(r, m).map(|t| (i, t))).collect();
    // "plan tier", "order status", "customer segment": a table named right before one of its own
    // items only says whose item it is.
    let qualifies = |a: &Target, b: &Target| match (a, b) {
        (Target::Table(t), Target::Dimension(u, _) | Target::TimeDimension(u, _) | Target::Filter(u, _)) => t == u,
        (Target::Table(t), Target::Measure(u, i)) => t == u && model.tables()[*u].measures[*i].fact,
        // "product categories", "产品类别": the head noun is the second, reached from the first.
        (Target::Table(t), Target::Table(u)) => t != u && model.path(*t, *u).is_some(),
        // "segment enterprise", "status cancelled": the dimension of the value that follows.
        (Target::Dimension(t, d), Target::Value(u, e, _)) => t == u && d == e,
        _ => false,
    };
    // "including the ones that left": a restriction said to be included restricts nothing.
    for (at, f) in r.funcs().collect::<Vec<_>>() {
        if f != Func::Including {
            continue;
        }
        let after = r.tokens.get(r.mentions[at].at).is_some_and(|t| t.text != "included");
        let near = |i: usize| if after { i > at && i <= at + 5 } else { i < at && i + 4 >= at };
        items.retain(|(i, t)| !(near(*i) && matches!(t, Target::Filter(..) | Target::Value(..) | Target::Measure(..))));
    }
    // "enterprise-segment customers": the dimension of the value before it; "partner channel" (a
    // value, then a dimension called what the value's dimension is also called) too.
    let words_of_dimension = |t: usize, d: usize| -> Vec<String> {
        let dim = &model.tables()[t].dimensions[d];
        std::iter::once(&dim.name).chain(&dim.synonyms).flat_map(|s| s.split([' ', '_'])).filter(|w| w.is_ascii() && w.len() > 2).map(str::to_lowercase).collect()
    };
    let mut k = 0;
    while k + 1 < items.len() {
        let same = match (&items[k].1, &items[k + 1].1) {
            (Target::Value(t, d, _), Target::Dimension(u, e)) if t == u && d == e => true,
            (Target::Value(t, d, _), Target::Dimension(u, e)) => {
                let named = words_of_dimension(*t, *d);
                words_of_dimension(*u, *e).iter().any(|w| named.contains(w))
            }
            _ => false,
        };
        if items[k + 1].0 == items[k].0 + 1 && same {
            items.remove(k + 1);
        } else {
            k += 1;
        }
    }
    let mut k = 0;
    while k + 1 < items.len() {
        if items[k + 1].0 == items[k].0 + 1 && qualifies(&items[k].1, &items[k + 1].1) {
            items.remove(k);
        } else {
            k += 1;
        }
    }
    // A measure named by a generic word ("amount") gives way to one named specifically.
    let generic = |at: usize| GENERIC_MEASURE_WORDS.contains(&r.tokens[r.mentions[at].at].text.as_str()) && r.mentions[at].len == 1;
    let specific_measures = items.iter().filter(|(at, t)| matches!(t, Target::Measure(..)) && !generic(*at)).count();
    if specific_measures > 0 {
        items.retain(|(at, t)| !(matches!(t, Target::Measure(..)) && generic(*at)));
    }
    let func_before = |at: usize, within: usize| -> Vec<Func> {
        (at.saturating_sub(within)..at).filter_map(|j| r.mentions[j].func()).collect()
    };
    let grouping_before = |at: usize| -> bool {
        // "rated by the customer": "by the" before a table names who did it, not a grouping.
        if at > 0 && r.tokens[r.mentions[at].at.saturating_sub(1)].text == "the" && r.mentions[at - 1].func() != Some(Func::By) {
            let by_the = at >= 2 && r.mentions[at - 2].func() == Some(Func::By) && r.tokens[r.mentions[at - 1].at].text == "the";
            if by_the && matches!(best(model, &r.mentions[at]), Some(Target::Table(_))) {
                return false;
            }
        }
        // The grouping word right before, not one that belongs to an item in between ("各地区的
        // 订单": "each" groups the region, not the orders), nor "a split of" (of what is split).
        (at.saturating_sub(2)..at).rev().take_while(|j| r.mentions[*j].model().next().is_none()).any(|j| {
            let of_follows = r.tokens.get(r.mentions[j].at + r.mentions[j].len).is_some_and(|t| t.text == "of");
            match r.mentions[j].func() {
                Some(Func::By) => !of_follows,
                Some(Func::Each) => true,
                Some(Func::Per) => !r.has(Func::Avg),
                _ => false,
            }
        })
    };

    // Values, named filters, "never": conditions.
    let mut values: Vec<(usize, usize, Vec<String>, bool)> = Vec::new();
    for (at, target) in &items {
        let after = r.mentions.get(at + 1).and_then(Mention::func);
        let negated = func_before(*at, 2).iter().any(|f| matches!(f, Func::Not))
            || matches!(target, Target::Value(..) | Target::Filter(..)) && matches!(after, Some(Func::Not | Func::Never)) && is_cjk_question(r);
        match target {
            Target::Value(t, d, v) => match values.iter_mut().find(|(vt, vd, _, n)| vt == t && vd == d && *n == negated) {
                // "기업(enterprise)": one value named twice.
                Some(entry) if entry.2.contains(v) => {}
                Some(entry) => entry.2.push(v.clone()),
                None => values.push((*t, *d, vec![v.clone()], negated)),
            },
            Target::Filter(t, f) => q.filters.push(Condition::Named {
                filter: format!("{}.{}", name(model, *t), model.tables()[*t].filters[*f].name),
                negated,
            }),
            _ => {}
        }
    }
    for (t, d, vals, negated) in &values {
        q.filters.push(Condition::Values { dimension: dimension_ref(model, *t, *d), values: vals.clone(), negated: *negated });
    }

    // Tables mentioned, in order; measures mentioned; dimensions mentioned.
    let tables: Vec<(usize, usize)> = items.iter().filter_map(|(at, t)| if let Target::Table(x) = t { Some((*at, *x)) } else { None }).collect();
    let measures: Vec<(usize, usize, usize)> =
        items.iter().filter_map(|(at, t)| if let Target::Measure(x, i) = t { Some((*at, *x, *i)) } else { None }).collect();
    let dimensions: Vec<(usize, usize, usize)> =
        items.iter().filter_map(|(at, t)| if let Target::Dimension(x, i) = t { Some((*at, *x, *i)) } else { None }).collect();
    let time_dims: Vec<(usize, usize)> =
        items.iter().filter_map(|(_, t)| if let Target::TimeDimension(x, i) = t { Some((*x, *i)) } else { None }).collect();

    // Comparisons of numbers: "over $500", "under 20", "at least 3".
    let mut compared_tables = Vec::new();
    for (at, f) in r.funcs() {
        let op = match f {
            Func::Gt => Comparison::Gt,
            Func::Ge => Comparison::Ge,
            Func::Lt => Comparison::Lt,
            Func::Le => Comparison::Le,
            _ => continue,
        };
        let Some(value) = number_near(r, at) else {
            // "over" without a number is a preposition ("over the last month"), unless a currency
            // says a number was meant.
            if r.has(Func::Currency) {
                return Err(Refusal::Cannot("a comparison without a number".into()));
            }
            continue;
        };
        // The fact compared: one named just before, else the money fact of the table named before.
        let named = measures.iter().rev().find(|(m_at, t, i)| *m_at < at && model.tables()[*t].measures[*i].fact).map(|(_, t, i)| (*t, *i));
        let fact = named.or_else(|| {
            tables.iter().rev().find(|(t_at, _)| *t_at < at).or(tables.first()).and_then(|(_, t)| money_fact(model, *t).map(|i| (*t, i)))
        });
        let Some((t, i)) = fact else {
            return Err(Refusal::Cannot("a number is compared, but not clearly with what".into()));
        };
        compared_tables.push(t);
        q.filters.push(Condition::Compare { fact: measure_ref(model, t, i), op, value });
    }

    // "Never" and "without": rows of a table with no related rows of another.
    let mut never_related: Option<usize> = None;
    if let Some(at) = r.position(Func::Never) {
        let counted = tables.iter().find(|(t_at, _)| *t_at < at).or(tables.first()).map(|(_, t)| *t);
        let related = tables.iter().find(|(t_at, _)| *t_at > at).map(|(_, t)| *t).or_else(|| {
            // "never ordered": the verb names the related table.
            counted.and_then(|c| model.referencing(c).first().map(|(f, _)| *f))
        });
        if let (Some(c), Some(rel)) = (counted, related)
            && c != rel
            && model.referencing(c).iter().any(|(f, _)| *f == rel)
        {
            q.filters.push(Condition::Related { table: name(model, c).into(), related: name(model, rel).into(), none: true });
            never_related = Some(rel);
        }
    }

    let tables: Vec<(usize, usize)> = tables.into_iter().filter(|(_, t)| Some(*t) != never_related).collect();

    // The time words.
    if let Some(span) = &r.time.period {
        q.period = Some(span.to_period());
    }
    q.time_grain = r.time.grain;
    if let Some((t, i)) = time_dims.first()
        && (q.period.is_some() || q.time_grain.is_some())
    {
        q.time_dimension = Some(format!("{}.{}", name(model, *t), model.tables()[*t].time_dimensions[*i].name));
    }

    // The measure.
    let as_aggregation = |f: Func| match f {
        Func::Sum => Some(Aggregation::Sum),
        Func::Avg => Some(Aggregation::Avg),
        Func::Min => Some(Aggregation::Min),
        Func::Max => Some(Aggregation::Max),
        _ => None,
    };
    // Before the fact ("average list price"), right after it ("상품 원가 평균", "价格最高"), or
    // "on average" anywhere when nothing says per what.
    let has_per = r.has(Func::Per) || r.has(Func::Each);
    let agg_before = |at: usize| -> Option<Aggregation> {
        func_before(at, 3).into_iter().rev().find_map(as_aggregation).or_else(|| {
            r.mentions.iter().skip(at + 1).take(2).take_while(|m| m.model().next().is_none()).find_map(|m| m.func().and_then(as_aggregation))
        }).or_else(|| (r.has(Func::Avg) && !has_per && tables.len() <= 1).then_some(Aggregation::Avg))
    };
    let counting = r.has(Func::Count);
    let ranking_dir = ranking(r);
    let superlative = r.funcs().find_map(|(_, f)| matches!(f, Func::Pricey | Func::Cheap | Func::BestSelling | Func::Grossing).then_some(f));
    let mut measure: Option<MeasureRef> = None;
    let mut measure_table: Option<usize> = None;
    // A measure the question names (the first one not used in a comparison; a measure of the
    // model before a fact when both are named, as in "average order amount (AOV)"). "How many"
    // is not said of an amount of money.
    let mut ordered_measures = measures.clone();
    ordered_measures.sort_by_key(|(at, t, i)| (model.tables()[*t].measures[*i].fact, *at));
    // "每个付费客户平均有多少个席位": a measure right after per / each says per what, when another
    // measure is named.
    if ordered_measures.len() > 1 {
        let after_per = |at: usize| func_before(at, 1).iter().any(|f| matches!(f, Func::Per | Func::Each));
        let rest: Vec<_> = ordered_measures.iter().filter(|(at, _, _)| !after_per(*at)).cloned().collect();
        if !rest.is_empty() {
            ordered_measures = rest;
        }
    }
    for (at, t, i) in &ordered_measures {
        let m = &model.tables()[*t].measures[*i];
        let money = m.unit.as_deref().is_some_and(|u| u.eq_ignore_ascii_case("usd")) || m.name.contains("amount") || m.name.contains("price");
        if counting && m.fact && money && agg_before(*at).is_none() {
            continue;
        }
        let in_comparison = q.filters.iter().any(|c| matches!(c, Condition::Compare { fact, .. } if *fact == measure_ref(model, *t, *i)))
            && !r.funcs().any(|(_, f)| matches!(f, Func::Avg | Func::Sum | Func::Min | Func::Max | Func::Top | Func::Bottom));
        if in_comparison {
            continue;
        }
        let aggregation = if m.fact {
            agg_before(*at).or_else(|| {
                // "lowest list price": a ranking word before a fact is its min or max.
                let fs = func_before(*at, 3);
                if fs.contains(&Func::Bottom) && !r.has(Func::Which) && tables.iter().all(|(_, x)| *x == *t) {
                    Some(Aggregation::Min)
                } else if fs.contains(&Func::Top) && !r.has(Func::Which) && tables.iter().all(|(_, x)| *x == *t) {
                    Some(Aggregation::Max)
                } else {
                    None
                }
            })
        } else if super::model::simple_sum(&m.expr).is_some() {
            // "the average number of seats": a sum measure averaged row by row ("highest" and
            // "lowest" rank groups by the sum instead).
            agg_before(*at).filter(|a| *a == Aggregation::Avg)
        } else {
            None
        };
        measure = Some(MeasureRef { measure: measure_ref(model, *t, *i), aggregation, distinct: None });
        measure_table = Some(*t);
        break;
    }
    // A superlative: "priciest" (the price), "best-selling" (units), "highest-grossing" (revenue).
    if measure.is_none()
        && let Some(f) = superlative
    {
        let preferred = tables.first().map(|(_, t)| *t);
        let found = match f {
            Func::Pricey | Func::Cheap => price_fact(model, preferred),
            Func::BestSelling => measure_named(model, &["units sold", "units", "quantity sold", "units_sold"]),
            _ => measure_named(model, &["revenue", "sales", "net revenue", "net_revenue"]),
        };
        let Some((t, i)) = found else {
            return Err(Refusal::Cannot("the model has no measure for this superlative".into()));
        };
        let m = &model.tables()[t].measures[i];
        // A price of one row (a product): ranked rows, not an aggregate over groups.
        let aggregation = m.fact.then_some(if matches!(f, Func::Cheap) { Aggregation::Min } else { Aggregation::Max });
        measure = Some(MeasureRef { measure: measure_ref(model, t, i), aggregation, distinct: None });
        measure_table = Some(t);
    }
    // "What percentage of active subscriptions are billed annually": the percentage of rows of
    // the table named after it, whatever verbs follow.
    if let Some(p) = r.position(Func::Percent).or(r.position(Func::Share))
        && let Some((_, Target::Table(t))) = items.iter().find(|(at, _)| *at > p && *at <= p + 3)
        && groups_absent(r)
        && let Some(i) = count_measure(model, *t)
        && measures.iter().all(|(at, _, _)| *at > p + 3)
    {
        measure = Some(MeasureRef { measure: measure_ref(model, *t, i), aggregation: None, distinct: None });
        measure_table = Some(*t);
    }
    // "How many (different) cities": the count of a dimension's distinct values.
    let distinct = r.has(Func::Distinct);
    if measure.is_some() && counting {
        let at = r.position(Func::Count).unwrap_or(0);
        if let Some((_, Target::Dimension(..))) = items.iter().find(|(i, _)| *i > at) {
            return Err(Refusal::Cannot("it counts a dimension's values and names a measure too".into()));
        }
    }
    if measure.is_none() && counting {
        let at = r.position(Func::Count).unwrap_or(0);
        let next_item = items.iter().find(|(i, _)| *i > at);
        if let Some((_, Target::Dimension(t, d))) = next_item
            && !grouping_before(next_item.map(|(i, _)| *i).unwrap_or(0))
        {
            let context = tables.iter().find(|(_, x)| model.path(*x, *t).is_some()).map(|(_, x)| *x).unwrap_or(*t);
            if let Some(i) = count_measure(model, context) {
                measure = Some(MeasureRef { measure: measure_ref(model, context, i), aggregation: None, distinct: Some(dimension_ref(model, *t, *d)) });
                measure_table = Some(context);
            }
        }
    }
    // "How many X": the count of X (or of distinct X, in the context of another table).
    if measure.is_none() {
        // In a ranking, what is counted comes right after "most" / "fewest" ("which region has the
        // most customers"); what follows "which" is what is ranked.
        let ranking_word = r.funcs().filter(|(_, f)| matches!(f, Func::Top | Func::Bottom | Func::Max | Func::Min)).map(|(i, _)| i).last();
        let which_at = r.position(Func::Which);
        let after_ranking = ranking_word.and_then(|w| tables.iter().find(|(at, _)| *at > w && *at <= w + 2)).map(|(_, t)| *t);
        // A table named only through one of its items ("new customers", "active customers",
        // "sign-ups") counts as named.
        let item_table = |from: usize| {
            let of = |t: &Target| match t {
                Target::TimeDimension(x, _) | Target::Filter(x, _) => Some(*x),
                _ => None,
            };
            items.iter().filter(|(at, _)| *at >= from).find_map(|(_, t)| of(t)).or_else(|| items.iter().find_map(|(_, t)| of(t)))
        };
        let counted = if let Some(t) = after_ranking {
            Some(t)
        } else if counting || distinct {
            let at = r.position(Func::Count).or(r.position(Func::Distinct)).unwrap_or(0);
            // Korean names what is counted right before the count ("고객사는 몇 곳"); Chinese after
            // it, as English does ("多少客户").
            let korean = r.question.chars().any(super::text::is_hangul);
            let before = korean.then(|| tables.iter().rev().find(|(t_at, _)| *t_at < at).map(|(_, t)| *t)).flatten();
            // Not a table the count is grouped by ("active subscriptions per plan").
            before
                .or_else(|| tables.iter().find(|(t_at, _)| *t_at > at && !grouping_before(*t_at)).map(|(_, t)| *t))
                .or_else(|| item_table(at))
                .or_else(|| tables.iter().find(|(t_at, _)| *t_at > at).map(|(_, t)| *t))
                .or(tables.first().map(|(_, t)| *t))
        } else if tables.is_empty() {
            // "주문 상태별 비율" (the share by order status): the rows of the dimension's table.
            item_table(0).or_else(|| (r.has(Func::Share) || r.has(Func::Percent)).then(|| dimensions.first().map(|(_, t, _)| *t)).flatten())
        } else {
            // "Orders by channel", "customers per city": a table with a grouping counts its rows
            // (not the one "which" asks about, nor the one an average is per).
            let per_entity_at = |at: usize| r.has(Func::Avg) && func_before(at, 1).iter().any(|f| matches!(f, Func::Per | Func::Each));
            tables
                .iter()
                .find(|(at, _)| !grouping_before(*at) && which_at.is_none_or(|w| *at != w + 1) && !per_entity_at(*at))
                .or_else(|| tables.iter().find(|(at, _)| !grouping_before(*at) && !per_entity_at(*at)))
                // "各地区的订单占比", "percentage split of tickets by channel": the share of the one
                // table named, by the dimension named.
                .or_else(|| (tables.len() == 1 && !dimensions.is_empty() && (r.has(Func::Share) || r.has(Func::Percent))).then(|| &tables[0]))
                .map(|(_, t)| *t)
        };
        if let Some(t) = counted
            && let Some(i) = count_measure(model, t)
        {
            measure = Some(MeasureRef { measure: measure_ref(model, t, i), aggregation: None, distinct: None });
            measure_table = Some(t);
        }
    }
    if measure.is_none()
        && let Some(f) = fallback
        && let Some(t) = f.measure.split('.').next().and_then(|n| model.table(n))
    {
        measure = Some(f.clone());
        measure_table = Some(t);
    }
    // "List the products under $20": rows, not an aggregate.
    if r.has(Func::List) && !counting && !names_measure_item(r, &items) && !tables.is_empty() && fallback.is_none() {
        return list(r, q, &tables);
    }
    let Some(mut measure) = measure else {
        if !tables.is_empty() && !q.filters.is_empty() && fallback.is_none() {
            return list(r, q, &tables);
        }
        return Err(Refusal::NoMeasure);
    };
    let measure_table = measure_table.expect("set with the measure");

    // Groups: what follows by / per / each / across, and what a ranking ranks.
    let mut groups: Vec<(usize, String, usize)> = Vec::new();
    let counted_dimension = measure.distinct.clone().filter(|d| d.contains('.'));
    for (at, t, i) in &dimensions {
        if counted_dimension.as_deref() == Some(dimension_ref(model, *t, *i).as_str()) && !grouping_before(*at) {
            continue;
        }
        if grouping_before(*at) || ranking_dir.is_some() || r.has(Func::Share) || !has_value_of(&q, model, *t, *i) {
            // A word that names dimensions of several tables ("channel") means the one the
            // measure's rows reach.
            let (t, i) = if *t == measure_table || model.path(measure_table, *t).is_some() {
                (*t, *i)
            } else {
                r.mentions[*at]
                    .model()
                    .find_map(|x| match x {
                        Target::Dimension(u, e) if *u == measure_table || model.path(measure_table, *u).is_some() => Some((*u, *e)),
                        _ => None,
                    })
                    .unwrap_or((*t, *i))
            };
            groups.push((*at, dimension_ref(model, t, i), t));
        }
    }
    let which_at = r.position(Func::Which);
    for (at, t) in &tables {
        // "which product has the highest list price": ranked rows of the measure's own table.
        let asked_which = (which_at.is_some_and(|w| *at == w + 1) || tables.len() == 1 && rank_count(r).is_some()) && ranking_dir.is_some();
        if *t == measure_table && !grouping_before(*at) && !asked_which {
            continue;
        }
        // "Which industry has lost the most customers": the measure counts them already.
        let measure_counts_it = measure.measure.split_once('.').is_some_and(|(_, n)| {
            let table_word = name(model, *t).replace('_', " ");
            n.replace('_', " ").contains(&table_word) && *t != measure_table
        });
        if measure_counts_it && ranking_dir.is_some() && !grouping_before(*at) {
            continue;
        }
        let is_counted = matches!(&measure.measure, m if m == &measure_ref(model, *t, count_measure(model, *t).unwrap_or(usize::MAX)));
        if is_counted && !grouping_before(*at) {
            continue;
        }
        if grouping_before(*at) || ranking_dir.is_some() && !compared_tables.contains(t) && !related_in(&q, model, *t) {
            groups.push((*at, name(model, *t).to_string(), *t));
        }
    }
    groups.sort_by_key(|(at, _, _)| *at);
    groups.dedup_by(|a, b| a.1 == b.1);

    // Per entity: "average revenue per customer", "orders per customer on average", "how much
    // does each enterprise client spend, on average": the table (or a value's table) right after
    // per / each, when the question averages.
    // A fact ("refunded amount") averaged per entity needs an explicit "per": "average refund
    // per customer" is total refunds over customers, "average refund of each customer" is not.
    let measure_is_fact = measure.measure.split_once('.').and_then(|(t, n)| model.table(t).and_then(|t| model.tables()[t].measures.iter().find(|m| m.name == n))).is_some_and(|m| m.fact);
    let per_positions: Vec<usize> = r.funcs().filter(|(_, f)| matches!(f, Func::Per) || !measure_is_fact && matches!(f, Func::Each)).map(|(i, _)| i).collect();
    if r.has(Func::Avg) && (!measure_is_fact || r.has(Func::Per)) && measure.aggregation.is_none_or(|a| a == Aggregation::Avg) {
        let cjk = is_cjk_question(r);
        let entity_after = |p: usize| -> Option<usize> {
            let entity = |t: &Target| match t {
                Target::Table(x) if is_entity(model, *x, measure_table) => Some(*x),
                Target::Value(x, _, _) if is_entity(model, *x, measure_table) && *x != measure_table => Some(*x),
                _ => None,
            };
            items.iter().filter(|(at, _)| *at > p && *at <= p + 3).find_map(|(_, t)| entity(t)).or_else(|| {
                // "고객 한 곳당": the entity comes before "per" in Korean.
                cjk.then(|| items.iter().rev().filter(|(at, _)| *at < p && *at + 3 >= p).find_map(|(_, t)| entity(t))).flatten()
            })
        };
        if let Some(entity) = per_positions.iter().find_map(|p| entity_after(*p)) {
            let entity_name = model.tables()[entity].name.clone();
            groups.retain(|(_, g, _)| g != &entity_name);
            measure.aggregation = if measure_is_fact { Some(Aggregation::Sum) } else { None };
            q.form = Form::PerEntity { entity: entity_name };
        }
    }
    if matches!(q.form, Form::Value) && r.has(Func::Avg) && measure.aggregation.is_none() {
        // "How many orders does a customer place on average": the count per the other entity.
        if let Some((_, t)) = tables.iter().find(|(_, t)| *t != measure_table && is_entity(model, *t, measure_table)) {
            let entity = model.tables()[*t].name.clone();
            groups.retain(|(_, g, _)| g != &entity);
            q.form = Form::PerEntity { entity };
        } else if model.tables()[measure_table].measures.iter().any(|m| m.expr.trim() == "count(*)") && measure.measure.ends_with(&format!(".{}", name(model, measure_table))) {
            return Err(Refusal::Cannot("an average of a count needs what it is per".into()));
        }
    }

    // Distinct counts: "how many different customers ordered": count the customers' keys among
    // the rows of a table that refers to them.
    if distinct && measure.aggregation.is_none() && count_measure(model, measure_table).is_some_and(|i| measure.measure == measure_ref(model, measure_table, i)) {
        if let Some(context) = distinct_context(r, &q, model, measure_table, &tables) {
            measure = MeasureRef {
                measure: measure_ref(model, context, count_measure(model, context).unwrap_or(0)),
                aggregation: None,
                distinct: Some(name(model, measure_table).to_string()),
            };
        }
    } else if matches!(q.form, Form::Value) && count_measure(model, measure_table).is_some_and(|i| measure.measure == measure_ref(model, measure_table, i)) {
        // "How many customers ordered last month": the same, said with a verb of another table.
        if let Some(context) = distinct_context(r, &q, model, measure_table, &tables)
            && context != measure_table
        {
            measure = MeasureRef {
                measure: measure_ref(model, context, count_measure(model, context).unwrap_or(0)),
                aggregation: None,
                distinct: Some(name(model, measure_table).to_string()),
            };
        }
    }

    // Percentage of rows meeting a condition vs share of a total.
    // ("the growth in %" of a comparison of periods is the change, below.)
    let percent = (r.has(Func::Percent) || r.has(Func::Share)) && r.time.previous.is_none();
    if percent && groups.is_empty() {
        // "what portion is monthly versus annual": the share of each of the values named.
        if let Some(Condition::Values { dimension, negated: false, .. }) = q.filters.iter().find(|c| matches!(c, Condition::Values { values, negated: false, .. } if values.len() > 1)) {
            let t = dimension.split('.').next().and_then(|n| model.table(n)).unwrap_or(measure_table);
            groups.push((0, dimension.clone(), t));
        }
    }
    if percent {
        if groups.is_empty() && !q.filters.is_empty() {
            let condition = q.filters.pop().expect("not empty");
            q.form = Form::Percentage { condition };
        } else if !groups.is_empty() {
            q.form = Form::Share;
        } else {
            return Err(Refusal::Cannot("a percentage of what".into()));
        }
    }

    // A change between two periods.
    if let (Some(previous), Some(_)) = (&r.time.previous, &q.period)
        && matches!(q.form, Form::Value)
    {
        q.form = Form::Change { previous: previous.to_period(), growth: r.time.growth || r.has(Func::Percent) };
    }

    // Ranking: top / bottom N, "which … most".
    if let Some(dir) = ranking_dir {
        let n = rank_count(r);
        let within = r.position(Func::Each).or_else(|| r.position(Func::Per)).or_else(|| r.position(Func::By)).filter(|_| groups.len() >= 2);
        if let Some(each_at) = within {
            // "the top product in each category": rank within the group that follows each / per.
            let (g_at, within_group) = groups
                .iter()
                .find(|(at, _, _)| *at > each_at)
                .map(|(at, g, _)| (*at, g.clone()))
                .unwrap_or_else(|| (groups[0].0, groups[0].1.clone()));
            groups.retain(|(at, _, _)| *at != g_at);
            groups.insert(0, (g_at, within_group.clone(), 0));
            q.form = Form::RankWithin { within: within_group, n: n.unwrap_or(1) };
            q.order = Some(dir);
        } else if groups.is_empty() && measure.aggregation.is_some() && !r.has(Func::Which) {
            // "the lowest list price": one value, no ranking.
        } else if groups.is_empty() && !r.has(Func::Which) && rank_count(r).is_none() && is_fact(model, &measure) {
            // "the cheapest price across all plans", "the largest invoice amount": the extreme
            // value of the fact.
            measure.aggregation = Some(if dir == Direction::Desc { Aggregation::Max } else { Aggregation::Min });
        } else {
            let mut earlier_limit = None;
            if groups.is_empty()
                && let Some(e) = earlier
            {
                earlier_limit = e.limit;
                // "rank them by revenue instead": what the earlier question grouped by.
                for g in &e.group_by {
                    let table = g.split('.').next().and_then(|t| model.table(t)).unwrap_or(measure_table);
                    groups.push((usize::MAX, g.clone(), table));
                }
            }
            if groups.is_empty() && !matches!(q.form, Form::Change { .. }) {
                return Err(Refusal::Cannot("a ranking of what".into()));
            }
            q.order = Some(dir);
            q.limit = Some(n.or(earlier_limit).unwrap_or(if r.has(Func::Which) || is_singular_ranking(r) { 1 } else { 10 }));
            // A price of a product is its own; ranking products by price needs no aggregate.
            if let Some(agg) = measure.aggregation
                && matches!(agg, Aggregation::Max | Aggregation::Min)
                && groups.iter().all(|(_, g, t)| !g.contains('.') && *t == measure_table)
            {
                measure.aggregation = Some(Aggregation::Max);
            }
        }
    } else if let Some(n) = rank_count(r).filter(|_| groups.len() == 1 && r.mentions.iter().any(|m| m.func() == Some(Func::Top))) {
        q.order = Some(Direction::Desc);
        q.limit = Some(n);
    }

    q.group_by = groups.into_iter().map(|(_, g, _)| g).collect();
    q.measures = vec![measure.clone()];
    // "How many overdue invoices are there and how much do they add up to": the count and the
    // sum of the table's money, side by side.
    let count_at = r.position(Func::Count);
    let sum_after_count = r.funcs().any(|(i, f)| {
        f == Func::Sum && count_at.is_some_and(|c| i > c + 1) && (i.saturating_sub(3)..i).any(|j| r.mentions[j].func() == Some(Func::And))
    });
    if counting && sum_after_count && measure.aggregation.is_none() && measure.distinct.is_none() {
        match money_fact(model, measure_table) {
            Some(i) if matches!(q.form, Form::Value) => {
                q.measures.push(MeasureRef { measure: measure_ref(model, measure_table, i), aggregation: Some(Aggregation::Sum), distinct: None })
            }
            _ => return Err(Refusal::Cannot("it asks for two things at once".into())),
        }
    }
    if let Some(unused) = unused_item(model, &q, &items) {
        return Err(Refusal::Cannot(format!("the question names {unused}, which the answer would not reflect")));
    }
    Ok(q)
}

/// A value, filter, dimension or time dimension the question names that the query does not use:
/// an answer without it would answer another question.
fn unused_item(model: &Model, q: &Query, items: &[(usize, Target)]) -> Option<String> {
    let conditions: Vec<&Condition> = q.filters.iter().chain(match &q.form {
        Form::Percentage { condition } => Some(condition),
        _ => None,
    }).collect();
    let tables_used: Vec<String> = std::iter::empty()
        .chain(q.measures.iter().map(|m| m.measure.clone()))
        .chain(q.measures.iter().filter_map(|m| m.distinct.clone()))
        .chain(q.group_by.iter().cloned())
        .chain(conditions.iter().flat_map(|c| match c {
            Condition::Values { dimension, .. } => vec![dimension.clone()],
            Condition::Named { filter, .. } => vec![filter.clone()],
            Condition::Compare { fact, .. } => vec![fact.clone()],
            Condition::Related { table, related, .. } => vec![table.clone(), related.clone()],
        }))
        .map(|r| r.split('.').next().unwrap_or_default().to_string())
        .collect();
    for (_, target) in items {
        match target {
            Target::Value(t, d, v) => {
                let reference = dimension_ref(model, *t, *d);
                let used = conditions.iter().any(|c| matches!(c, Condition::Values { dimension, values, .. } if *dimension == reference && values.contains(v)));
                if !used {
                    return Some(format!("\"{v}\""));
                }
            }
            Target::Filter(t, f) => {
                let reference = format!("{}.{}", name(model, *t), model.tables()[*t].filters[*f].name);
                if !conditions.iter().any(|c| matches!(c, Condition::Named { filter, .. } if *filter == reference)) {
                    return Some(format!("\"{}\"", model.tables()[*t].filters[*f].name));
                }
            }
            Target::Dimension(t, d) => {
                let reference = dimension_ref(model, *t, *d);
                let used = q.group_by.contains(&reference)
                    || conditions.iter().any(|c| matches!(c, Condition::Values { dimension, .. } if *dimension == reference))
                    || q.measures.iter().any(|m| m.distinct.as_deref() == Some(reference.as_str()))
                    || matches!(&q.form, Form::RankWithin { within, .. } if *within == reference);
                if !used {
                    return Some(format!("\"{}\"", model.tables()[*t].dimensions[*d].name.replace('_', " ")));
                }
            }
            Target::TimeDimension(t, d) => {
                let reference = format!("{}.{}", name(model, *t), model.tables()[*t].time_dimensions[*d].name);
                let over_time = q.period.is_some() || q.time_grain.is_some();
                let used = q.time_dimension.as_deref() == Some(reference.as_str())
                    || (!over_time || q.time_dimension.is_none()) && tables_used.iter().any(|x| x == name(model, *t));
                if !used {
                    return Some(format!("\"{}\"", model.tables()[*t].time_dimensions[*d].name.replace('_', " ")));
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether the question groups by anything (by, per, each, across).
fn groups_absent(r: &Reading) -> bool {
    !r.funcs().any(|(_, f)| matches!(f, Func::By | Func::Each))
}

fn is_cjk_question(r: &Reading) -> bool {
    r.tokens.iter().any(|t| t.kind == Kind::Unknown) || super::text::has_cjk(&r.question)
}

/// Whether the question names a measure of the model.
fn names_measure_item(r: &Reading, items: &[(usize, Target)]) -> bool {
    items.iter().any(|(_, t)| matches!(t, Target::Measure(..)))
        || r.funcs().any(|(_, f)| matches!(f, Func::Pricey | Func::Cheap | Func::BestSelling | Func::Grossing))
}

/// Whether a filter of the query is a value of this dimension.
fn has_value_of(q: &Query, model: &Model, t: usize, i: usize) -> bool {
    let reference = dimension_ref(model, t, i);
    q.filters.iter().any(|c| matches!(c, Condition::Values { dimension, .. } if *dimension == reference))
}

/// Whether a table takes part in a "never" condition.
fn related_in(q: &Query, model: &Model, t: usize) -> bool {
    let n = name(model, t);
    q.filters.iter().any(|c| matches!(c, Condition::Related { table, related, .. } if table == n || related == n))
}

/// Whether a table is an entity the measure's rows refer to (an order's customer), so that "per"
/// it means an average over its rows rather than groups.
fn is_entity(model: &Model, entity: usize, measure_table: usize) -> bool {
    entity == measure_table || model.path(measure_table, entity).is_some() && !model.tables()[entity].primary_key.is_empty()
}

/// The table whose rows a distinct count of `counted` runs over: the one the question also
/// names (by a verb like "ordered", a value, a period) that refers to `counted`.
fn distinct_context(r: &Reading, q: &Query, model: &Model, counted: usize, tables: &[(usize, usize)]) -> Option<usize> {
    let refers = |t: usize| t != counted && model.path(t, counted).is_some();
    // A table named besides the counted one (also by a word that names something else too:
    // "got a refund").
    if let Some((_, t)) = tables.iter().find(|(_, t)| refers(*t)) {
        return Some(*t);
    }
    let also_tables = r.mentions.iter().flat_map(|m| m.model().filter_map(|x| if let Target::Table(t) = x { Some(*t) } else { None }));
    if let Some(t) = also_tables.into_iter().find(|t| refers(*t) && !related_in(q, model, *t)) {
        return Some(t);
    }
    // A table whose values or comparisons the question filters on.
    for c in &q.filters {
        let table_of = |reference: &str| reference.split('.').next().and_then(|n| model.table(n));
        let t = match c {
            Condition::Values { dimension, .. } => table_of(dimension),
            Condition::Compare { fact, .. } => table_of(fact),
            _ => None,
        };
        if let Some(t) = t
            && refers(t)
        {
            return Some(t);
        }
        // A value reached through another table (a category of the products a customer bought).
        if let Some(t) = t
            && t != counted
            && model.path(counted, t).is_none()
        {
            // The table that reaches both.
            for (i, _) in model.tables().iter().enumerate() {
                if refers(i) && model.path(i, t).is_some() {
                    return Some(i);
                }
            }
        }
    }
    // A period on the counted table's own time dimension is about the counted rows; a period
    // with a distinct count is about the rows that refer to them.
    if r.has(Func::Distinct) && (q.period.is_some() || q.time_grain.is_some()) {
        let own = model.default_time(counted).is_some_and(|(t, _)| t == counted);
        let candidates: Vec<usize> = model.referencing(counted).iter().map(|(f, _)| *f).collect();
        if !own || r.has(Func::Distinct) {
            return candidates.into_iter().find(|t| model.default_time(*t).is_some());
        }
    }
    None
}

/// Direction of a ranking the question asks for, if any: the last ranking word decides ("the
/// most expensive", "가장 낮은": the intensifier comes first).
fn ranking(r: &Reading) -> Option<Direction> {
    let mut direction = None;
    for (_, f) in r.funcs() {
        match f {
            Func::Top | Func::Max | Func::Pricey | Func::BestSelling | Func::Grossing => direction = Some(Direction::Desc),
            Func::Bottom | Func::Min | Func::Cheap => direction = Some(Direction::Asc),
            _ => {}
        }
    }
    direction
}

/// "the 3 products …", "top five", "which three": the number a ranking keeps.
fn rank_count(r: &Reading) -> Option<u32> {
    for (i, t) in r.tokens.iter().enumerate() {
        if r.time.used.get(i).copied().unwrap_or(false) {
            continue;
        }
        if let Some(n) = t.number_value() {
            let before = if i > 0 { r.tokens[i - 1].text.as_str() } else { "" };
            let after = r.tokens.get(i + 1).map(|t| t.text.as_str()).unwrap_or("");
            if n.fract() == 0.0 && (1.0..=1000.0).contains(&n) && !matches!(before, "$" | "over" | "under" | "above" | "below" | "than" | "least" | "most")
                && !matches!(after, "%" | "$" | "dollars" | "usd")
            {
                return Some(n as u32);
            }
        }
    }
    None
}

/// "Which region has the most customers", "what channel had the fewest orders", "the
/// best-selling category": one winner.
fn is_singular_ranking(r: &Reading) -> bool {
    let first_words: Vec<&str> = r.tokens.iter().filter(|t| t.kind == Kind::Word).take(3).map(|t| t.text.as_str()).collect();
    let what_thing = r.tokens.first().is_some_and(|t| t.text == "what")
        && r.mentions.iter().find(|m| m.at == 1).is_some_and(|m| m.model().any(|t| matches!(t, Target::Table(_) | Target::Dimension(..))));
    // "the best-selling category", "the most expensive product": "the" right before the ranking word.
    let the_superlative = r.mentions.iter().any(|m| {
        matches!(m.func(), Some(Func::Top | Func::Max | Func::Bottom | Func::Min | Func::Pricey | Func::Cheap | Func::BestSelling | Func::Grossing))
            && m.at > 0
            && r.tokens[m.at - 1].text == "the"
    });
    r.tokens.iter().any(|t| t.text == "the") && r.mentions.iter().any(|m| m.func() == Some(Func::Which))
        || first_words.contains(&"which")
        || what_thing
        || the_superlative
}

/// A number after a comparison word ("over $500", "more than 3", "above 100 dollars").
fn number_near(r: &Reading, mention: usize) -> Option<f64> {
    let m = &r.mentions[mention];
    let start = m.at + m.len;
    for (i, t) in r.tokens.iter().enumerate().skip(start).take(3) {
        if r.time.used.get(i).copied().unwrap_or(false) {
            break;
        }
        if let Some(n) = t.number_value() {
            return Some(n);
        }
    }
    // Chinese and Korean say the number first ("500달러 넘는", "超过" comes either way).
    if is_cjk_question(r) {
        for i in (m.at.saturating_sub(3)..m.at).rev() {
            if r.time.used.get(i).copied().unwrap_or(false) {
                break;
            }
            if let Some(n) = r.tokens[i].number_value() {
                return Some(n);
            }
        }
    }
    None
}

/// Rows of a table rather than an aggregate ("list the products under $20").
fn list(r: &Reading, mut q: Query, tables: &[(usize, usize)]) -> Result<Query, Refusal> {
    let model = r.model;
    let (_, t) = tables[0];
    let name = name(model, t).to_string();
    q.form = Form::List;
    q.group_by = vec![name];
    // The facts compared come along.
    q.measures = q
        .filters
        .iter()
        .filter_map(|c| if let Condition::Compare { fact, .. } = c { Some(MeasureRef { measure: fact.clone(), aggregation: None, distinct: None }) } else { None })
        .collect();
    Ok(q)
}

/// The values of the model's dimensions, for the vocabulary.
pub type Values = HashMap<(usize, usize), Vec<String>>;

/// Whether a measure reference names a fact (a row-level number to aggregate).
fn is_fact(model: &Model, m: &MeasureRef) -> bool {
    m.measure
        .split_once('.')
        .and_then(|(t, n)| model.table(t).and_then(|t| model.tables()[t].measures.iter().find(|x| x.name == n)))
        .is_some_and(|x| x.fact)
}
