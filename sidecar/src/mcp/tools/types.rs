//! What tools return that the extension does not: confirmations the tools make themselves. (What
//! the extension returns is typed in [`crate::db`]; the tools pass those types on, so a tool's
//! structured content always has the shape of its declared output schema, generated from them.)

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Renamed {
    pub id: i64,
    pub title: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Deleted {
    /// The id of what was deleted.
    pub deleted: i64,
}
