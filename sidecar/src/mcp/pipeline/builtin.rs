//! The built-in planner at work: the dataset's semantic model and the values of its dimensions
//! (read under the asker's role, so they show only what the asker may see), a verified query when
//! the question is one of them, else a semantic query read from the question (continuing the
//! conversation's previous one) and compiled to SQL, with its interpretation in the asker's
//! language. What it cannot answer reliably it refuses, with the reason and suggestions.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;

use super::i18n::{Lang, t};
use super::semantic::explain::{self, Language};
use super::semantic::lexicon::Foreign;
use super::semantic::text::{Token, tokenize};
use super::semantic::vocab::is_filler;
use super::semantic::{self, Model, Query, Refusal, Values};
use super::PipelineError;
use crate::db::Db;
use crate::db::semantic::{DimensionValue, QuestionModel, VerifiedQuery};

/// The values of datasets' dimensions as accounts see them, kept for a while: reading them means
/// a DISTINCT over every listed column, which costs more than planning. Keyed by account and
/// dataset, because row-level security may depend on the account and not only its role. A
/// cache, not state: losing it costs time only.
#[derive(Default)]
pub struct ValuesCache {
    entries: std::sync::Mutex<std::collections::HashMap<(i64, i64), (std::time::Instant, Arc<Vec<DimensionValue>>)>>,
}

/// Entries the cache keeps at most; the oldest go first.
const CACHED_VALUE_SETS: usize = 1000;

impl ValuesCache {
    async fn get(&self, db: &Db, account_id: i64, dataset_id: i64, ttl: Duration) -> Result<Arc<Vec<DimensionValue>>, PipelineError> {
        let key = (account_id, dataset_id);
        if !ttl.is_zero()
            && let Some((at, rows)) = self.lock().get(&key)
            && at.elapsed() < ttl
        {
            return Ok(rows.clone());
        }
        // Without values a question can still be answered, only not filtered by a named value:
        // a read the guard refuses (a DBA's dimension calling a function the dataset does not
        // allow) or the role may not make must not stop every question.
        let rows = match db.dimension_values(account_id, dataset_id).await {
            Ok(rows) => Arc::new(rows),
            Err(e @ (crate::db::DbError::Refused(_) | crate::db::DbError::Forbidden { .. })) => {
                tracing::warn!(dataset_id, error = %e, "the dataset's dimension values could not be read; answering without them");
                return Ok(Arc::new(Vec::new()));
            }
            Err(e) => return Err(e.into()),
        };
        if !ttl.is_zero() {
            let mut entries = self.lock();
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= CACHED_VALUE_SETS
                && let Some(oldest) = entries.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| *k)
            {
                entries.remove(&oldest);
            }
            entries.insert(key, (std::time::Instant::now(), rows.clone()));
        }
        Ok(rows)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<(i64, i64), (std::time::Instant, Arc<Vec<DimensionValue>>)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A dataset's model, ready for questions.
pub struct Semantics {
    pub model: Model,
    pub values: Values,
    pub source: QuestionModel,
}

impl Semantics {
    /// Reads the model and the dimension values the asker may see (kept for `ttl` in `cache`).
    pub async fn load(db: &Db, cache: &ValuesCache, ttl: Duration, account_id: i64, dataset_id: i64) -> Result<Semantics, PipelineError> {
        let source = db.question_model(account_id, dataset_id).await?;
        let rows = cache.get(db, account_id, dataset_id, ttl).await?;
        Ok(Semantics::new(source, &rows))
    }

    pub fn new(source: QuestionModel, rows: &[DimensionValue]) -> Semantics {
        let model = Model::new(source.model.clone());
        let values = values_of(&model, rows);
        Semantics { model, values, source }
    }
}

/// Values by (table, dimension) index; a dimension with more than 100 values is left out, as its
/// values are too many to be names a question would use.
pub fn values_of(model: &Model, rows: &[DimensionValue]) -> Values {
    let mut values = Values::new();
    for row in rows {
        if let Some(t) = model.table(&row.table)
            && let Some(d) = model.tables()[t].dimensions.iter().position(|x| x.name == row.dimension)
        {
            values.entry((t, d)).or_default().push(row.value.clone());
        }
    }
    values.retain(|_, v| v.len() <= 100);
    values
}

/// What the built-in planner made of a question.
pub enum Planned {
    /// A semantic query, its SQL and its interpretation.
    Query { query: Box<Query>, sql: String, interpretation: String },
    /// A verified query of the dataset asks the same thing; `reading` is the planner's own
    /// reading of the question, which a follow-up changes.
    Verified { question: String, sql: String, interpretation: String, reading: Option<Box<Query>> },
    /// Not answerable reliably: why, and questions that are.
    Refused { reason: String, suggestions: Vec<String> },
}

/// The language an interpretation is written in.
pub fn language(lang: Lang) -> Language {
    match lang {
        Lang::En => Language::En,
        Lang::ZhCn | Lang::ZhTw => Language::Zh,
        Lang::KoKr => Language::Ko,
    }
}

/// Where a question stands in its conversation.
#[derive(Debug, Clone, Copy)]
pub enum Earlier<'a> {
    /// A new conversation.
    None,
    /// The conversation's latest question was answered with this semantic query.
    Answered(&'a Query),
    /// The latest question was not answered from the semantic model (refused, or SQL).
    Unanswered,
}

/// Plans a question, continuing the conversation's latest query when the question follows up on it.
pub fn plan(s: &Semantics, question: &str, earlier: Earlier<'_>, lang: Lang, today: NaiveDate) -> Planned {
    let previous = match earlier {
        Earlier::Answered(q) => Some(q),
        _ => None,
    };
    // "Only enterprise again" after a question that got no answer: answering it alone would
    // answer something else than what was meant.
    if matches!(earlier, Earlier::Unanswered) && semantic::follows_up(question, &s.model, &s.values, today) {
        let why = t(lang, "cannot", &[("reason", "it follows up on the previous question, which was not answered; ask it in full")]);
        let reason = t(lang, "not_confident", &[("dataset", &s.source.runtime.name), ("reason", &why)]);
        return Planned::Refused { reason, suggestions: semantic::suggestions(&s.model) };
    }
    if previous.is_none()
        && let Some(v) = verified(&s.source.model.verified_queries, question)
    {
        let interpretation = t(lang, "verified", &[("question", &v.question)]);
        let reading = semantic::plan(question, &s.model, &s.values, None, today).ok().map(|p| Box::new(p.query));
        return Planned::Verified { question: v.question.clone(), sql: v.sql.clone(), interpretation, reading };
    }
    match semantic::plan(question, &s.model, &s.values, previous, today) {
        Ok(plan) => {
            let interpretation = explain::describe(&s.model, &plan.query, language(lang));
            Planned::Query { query: Box::new(plan.query), sql: plan.compiled.sql, interpretation }
        }
        Err(refusal) => {
            let why = reason(&refusal, lang);
            let reason = t(lang, "not_confident", &[("dataset", &s.source.runtime.name), ("reason", &why)]);
            Planned::Refused { reason, suggestions: semantic::suggestions(&s.model) }
        }
    }
}

/// Compiles a semantic query someone else wrote (a model), with its interpretation.
pub fn compile(s: &Semantics, query: Query, lang: Lang) -> Result<Planned, String> {
    let plan = semantic::plan_query(&s.model, query).map_err(|e| reason(&e, Lang::En))?;
    let interpretation = explain::describe(&s.model, &plan.query, language(lang));
    Ok(Planned::Query { query: Box::new(plan.query), sql: plan.compiled.sql, interpretation })
}

/// Why a question is refused, in the asker's language.
pub fn reason(refusal: &Refusal, lang: Lang) -> String {
    match refusal {
        Refusal::Unknown(words) => t(lang, "unknown_words", &[("words", &words.join(", "))]),
        Refusal::Write => t(lang, "refuse_write", &[]),
        Refusal::Forecast => t(lang, "refuse_forecast", &[]),
        Refusal::NoMeasure => t(lang, "no_table", &[]),
        Refusal::Cannot(why) => t(lang, "cannot", &[("reason", why)]),
    }
}

/// The words of a question that matter for telling two questions apart.
fn key(question: &str, foreign: &Foreign) -> Vec<String> {
    tokenize(question, foreign).iter().filter(|t: &&Token| !is_filler(t)).map(|t| t.stem.clone()).collect()
}

/// The verified query asking what the question asks: the same words, up to case, inflection,
/// punctuation and filler.
fn verified<'a>(verified: &'a [VerifiedQuery], question: &str) -> Option<&'a VerifiedQuery> {
    let foreign = Foreign::builtin();
    let wanted = key(question, &foreign);
    if wanted.is_empty() {
        return None;
    }
    verified.iter().find(|v| key(&v.question, &foreign) == wanted)
}

/// A question in English words (Chinese and Korean read through the phrase table), for matching
/// it against datasets' names and tables.
pub fn english_words(question: &str) -> Vec<String> {
    tokenize(question, &Foreign::builtin()).into_iter().map(|t| t.text).collect()
}
