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
use super::semantic::{self, Document, Model, Query, Refusal, Values, Vocabulary};
use super::PipelineError;
use crate::db::Db;
use crate::db::semantic::{DimensionValue, QuestionModel, VerifiedQuery};

/// The values of datasets' dimensions as accounts see them, kept for a while: reading them means
/// a DISTINCT over every listed column, which costs more than planning. Keyed by account and
/// dataset, because row-level security may depend on the account and not only its role. Beside
/// them, the model made ready with those values (see [`Prepared`]), for as long as neither the
/// model nor the values change. A cache, not state: losing it costs time only.
#[derive(Default)]
pub struct ValuesCache {
    entries: std::sync::Mutex<std::collections::HashMap<(i64, i64), (std::time::Instant, Arc<Vec<DimensionValue>>)>>,
    prepared: std::sync::Mutex<std::collections::HashMap<(i64, i64), PreparedEntry>>,
}

/// A model made ready: a fingerprint of the document it was made from, and the values.
struct PreparedEntry {
    document: [u64; 2],
    rows: Arc<Vec<DimensionValue>>,
    prepared: Arc<Prepared>,
}

/// Entries the cache keeps at most; the oldest go first.
const CACHED_VALUE_SETS: usize = 1000;

/// Models made ready that the cache keeps at most (a vocabulary is far larger than its values);
/// when full, one goes to make room.
const CACHED_MODELS: usize = 64;

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

    /// The model made ready with these values: the one made for the same document and the same
    /// values (the same rows this cache handed out) when there is one, else a new one.
    fn prepared(&self, key: (i64, i64), document: &Document, rows: &Arc<Vec<DimensionValue>>) -> Arc<Prepared> {
        let fingerprint = fingerprint(document);
        let mut cached = self.prepared.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = cached.get(&key)
            && entry.document == fingerprint
            && Arc::ptr_eq(&entry.rows, rows)
        {
            return entry.prepared.clone();
        }
        // Made while holding the lock: about a millisecond, once per model and set of values.
        let prepared = Arc::new(Prepared::new(document.clone(), rows));
        if cached.len() >= CACHED_MODELS
            && !cached.contains_key(&key)
            && let Some(any) = cached.keys().next().copied()
        {
            cached.remove(&any);
        }
        cached.insert(key, PreparedEntry { document: fingerprint, rows: rows.clone(), prepared: prepared.clone() });
        prepared
    }
}

/// Two independent 64-bit hashes of a model document as JSON: a document that changes in any way
/// gets another fingerprint, so a model a DBA edits is made ready again on the next question.
fn fingerprint(document: &Document) -> [u64; 2] {
    use std::hash::{Hash, Hasher};
    let bytes = serde_json::to_vec(document).unwrap_or_default();
    let hash = |seed: u64| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        seed.hash(&mut h);
        bytes.hash(&mut h);
        h.finish()
    };
    [hash(1), hash(2)]
}

/// A model made ready for questions: indexed, and the vocabulary the planner reads questions with,
/// made with the values of its dimensions (building the vocabulary is most of planning's own time:
/// about 1.2 ms of 1.3 for the demo's retail model).
pub struct Prepared {
    pub model: Model,
    pub vocabulary: Vocabulary,
}

impl Prepared {
    fn new(document: Document, rows: &[DimensionValue]) -> Prepared {
        let model = Model::new(document);
        let vocabulary = Vocabulary::new(&model, &values_of(&model, rows));
        Prepared { model, vocabulary }
    }
}

/// A dataset's model, ready for questions: what was made of it (shared by the questions asked of
/// the same model with the same values) and the model as read for this question.
pub struct Semantics {
    prepared: Arc<Prepared>,
    pub source: QuestionModel,
}

impl std::ops::Deref for Semantics {
    type Target = Prepared;

    fn deref(&self) -> &Prepared {
        &self.prepared
    }
}

impl Semantics {
    /// Reads the model and the dimension values the asker may see (kept for `ttl` in `cache`,
    /// with the model made ready from them).
    pub async fn load(db: &Db, cache: &ValuesCache, ttl: Duration, account_id: i64, dataset_id: i64) -> Result<Semantics, PipelineError> {
        let source = db.question_model(account_id, dataset_id).await?;
        let rows = cache.get(db, account_id, dataset_id, ttl).await?;
        let prepared = cache.prepared((account_id, dataset_id), &source.model, &rows);
        Ok(Semantics { prepared, source })
    }

    pub fn new(source: QuestionModel, rows: &[DimensionValue]) -> Semantics {
        let prepared = Arc::new(Prepared::new(source.model.clone(), rows));
        Semantics { prepared, source }
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
    if matches!(earlier, Earlier::Unanswered) && semantic::follows_up(question, &s.model, &s.vocabulary, today) {
        let why = t(lang, "cannot", &[("reason", "it follows up on the previous question, which was not answered; ask it in full")]);
        let reason = t(lang, "not_confident", &[("dataset", &s.source.runtime.name), ("reason", &why)]);
        return Planned::Refused { reason, suggestions: semantic::suggestions(&s.model) };
    }
    if previous.is_none()
        && let Some(v) = verified(&s.source.model.verified_queries, question)
    {
        let interpretation = t(lang, "verified", &[("question", &v.question)]);
        let reading = semantic::plan(question, &s.model, &s.vocabulary, None, today).ok().map(|p| Box::new(p.query));
        return Planned::Verified { question: v.question.clone(), sql: v.sql.clone(), interpretation, reading };
    }
    match semantic::plan(question, &s.model, &s.vocabulary, previous, today) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn retail() -> Document {
        let v: serde_json::Value = serde_json::from_str(include_str!("semantic/testdata/retail.json")).unwrap();
        serde_json::from_value(v["model"].clone()).unwrap()
    }

    #[test]
    fn a_model_is_made_ready_again_only_when_it_or_its_values_change() {
        let cache = ValuesCache::default();
        let (document, rows) = (retail(), Arc::new(Vec::new()));
        let first = cache.prepared((1, 1), &document, &rows);
        assert!(Arc::ptr_eq(&first, &cache.prepared((1, 1), &document, &rows)), "the same model and values are made ready once");
        // Another account (row-level security may show it other values) gets its own.
        assert!(!Arc::ptr_eq(&first, &cache.prepared((2, 1), &document, &rows)));
        // Values read again (the cache's time ran out) make it again, even when they are equal.
        let reread = Arc::new(Vec::new());
        let second = cache.prepared((1, 1), &document, &reread);
        assert!(!Arc::ptr_eq(&first, &second));
        // A DBA's edit to the model, however small, makes it again.
        let mut edited = document.clone();
        edited.tables[0].synonyms.push("purchases".into());
        let third = cache.prepared((1, 1), &edited, &reread);
        assert!(!Arc::ptr_eq(&second, &third));
        assert!(third.model.tables()[0].synonyms.iter().any(|s| s == "purchases"), "made from the edited document");
    }

    #[test]
    fn the_cache_keeps_a_bounded_number_of_models() {
        let cache = ValuesCache::default();
        let (document, rows) = (retail(), Arc::new(Vec::new()));
        for account in 0..(CACHED_MODELS as i64 + 10) {
            cache.prepared((account, 1), &document, &rows);
        }
        assert_eq!(cache.prepared.lock().unwrap().len(), CACHED_MODELS);
    }
}
