//! Which dataset a question is about: the one given, else the conversation's, else the caller's
//! only one, else the one whose name, description and collections best match the question. When
//! nothing matches, the caller is asked to choose rather than given a guess.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::context::{relevance, stem, words};
use crate::db::datasets::{DatasetListing, Detail};
use super::PipelineError;
use crate::db::Db;

/// How the dataset was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// The caller named it.
    Given,
    /// The conversation being continued is about it.
    Conversation,
    /// It is the only dataset the caller can ask about.
    Only,
    /// It matched the question best.
    Matched,
}

impl Choice {
    /// A choice as `quarry.question_start` names it.
    pub fn from_name(name: &str) -> Option<Choice> {
        match name {
            "given" => Some(Choice::Given),
            "conversation" => Some(Choice::Conversation),
            "only" => Some(Choice::Only),
            "matched" => Some(Choice::Matched),
            _ => None,
        }
    }
}

/// The dataset whose name, description and collections best match a question (or SQL, whose
/// table names then do the matching), among the account's several (or, with `team`, among that
/// team's); when nothing matches, the caller is asked to choose. Says `Only` when there was just
/// one to choose from.
pub async fn matched(db: &Db, account_id: i64, text: &str, team: Option<i64>) -> Result<(i64, Choice), PipelineError> {
    let list = db.list_datasets(account_id, Detail::Summary, None, 1000, 0).await?;
    let usable: Vec<_> =
        list.datasets.iter().filter(|d| d.unavailable.is_none() && team.is_none_or(|t| d.team.id == t)).collect();
    match usable.as_slice() {
        [] if team.is_some() => Err(PipelineError::Forbidden(
            "This team has no dataset you can ask about: ask your administrator for one, or choose another team.".into(),
        )),
        [] => Err(PipelineError::Forbidden(
            "You have no dataset you can ask about: ask your administrator to add you to a team with one and to map your account to a database role.".into(),
        )),
        [only] => Ok((only.id, Choice::Only)),
        several => {
            // Chinese and Korean are read into English words first, as the planner reads them.
            let question: HashSet<String> =
                words(text).into_iter().chain(super::builtin::english_words(text)).map(|w| stem(&w)).collect();
            let scored = several.iter().map(|d| {
                let own: f64 = words(&format!("{} {}", d.name, d.description))
                    .iter()
                    .map(|w| stem(w))
                    .filter(|w| w.len() > 2 && question.contains(w))
                    .count() as f64;
                let mut tables: Vec<f64> = d.collections.iter().map(|c| relevance(&question, c, &[], &[])).collect();
                tables.sort_by(|a, b| b.total_cmp(a));
                (own * 2.0 + tables.iter().take(3).sum::<f64>(), d)
            });
            let best = scored.fold(None::<(f64, &&DatasetListing)>, |best, (s, d)| match best {
                Some((b, _)) if b >= s => best,
                _ => Some((s, d)),
            });
            match best {
                Some((score, d)) if score > 0.0 => Ok((d.id, Choice::Matched)),
                _ => {
                    let names: Vec<String> = several.iter().map(|d| format!("{} (dataset_id {})", d.name, d.id)).collect();
                    Err(PipelineError::Invalid(format!(
                        "Nothing in the question says which dataset it is about; pass dataset_id, one of: {}.",
                        names.join(", ")
                    )))
                }
            }
        }
    }
}
