//! The built-in planner at work: the dataset's semantic model and the values of its dimensions
//! (read under the asker's role, so they show only what the asker may see), a verified query when
//! the question is one of them, else a semantic query read from the question (continuing the
//! conversation's previous one) and compiled to SQL, with its interpretation in the asker's
//! language. What it cannot answer reliably it refuses, with the reason and suggestions.

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

/// A dataset's model, ready for questions.
pub struct Semantics {
    pub model: Model,
    pub values: Values,
    pub source: QuestionModel,
}

impl Semantics {
    /// Reads the model and the dimension values the asker may see.
    pub async fn load(db: &Db, account_id: i64, dataset_id: i64) -> Result<Semantics, PipelineError> {
        let source = db.question_model(account_id, dataset_id).await?;
        let rows = db.dimension_values(account_id, dataset_id).await?;
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
    /// A verified query of the dataset asks the same thing.
    Verified { question: String, sql: String, interpretation: String },
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

/// Plans a question, continuing `previous` when the question follows up on it.
pub fn plan(s: &Semantics, question: &str, previous: Option<&Query>, lang: Lang, today: NaiveDate) -> Planned {
    if previous.is_none()
        && let Some(v) = verified(&s.source.model.verified_queries, question)
    {
        let interpretation = t(lang, "verified", &[("question", &v.question)]);
        return Planned::Verified { question: v.question.clone(), sql: v.sql.clone(), interpretation };
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
