//! A semantic query: what a question asks, in the model's terms. The planner reads one from a
//! question, a model may write one (this type's JSON schema is what it is given), a follow-up
//! changes the previous one, and SQL is compiled from it. Items are named `table.item`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    Sum,
    Avg,
    Min,
    Max,
    Count,
}

impl Aggregation {
    pub fn sql(self) -> &'static str {
        match self {
            Aggregation::Sum => "sum",
            Aggregation::Avg => "avg",
            Aggregation::Min => "min",
            Aggregation::Max => "max",
            Aggregation::Count => "count",
        }
    }
}

/// What is measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MeasureRef {
    /// `table.measure`: a measure of the model, or a fact (a number column) to aggregate.
    pub measure: String,
    /// For a fact: how to aggregate it (sum by default, or the fact's own default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<Aggregation>,
    /// Count distinct rows of this table instead (a table name): "how many different customers ordered".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "=")]
    Eq,
}

impl Comparison {
    pub fn sql(self) -> &'static str {
        match self {
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Eq => "=",
        }
    }
}

/// A condition on the rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Condition {
    /// A dimension equal to one of some values (or to none of them, negated).
    Values {
        /// `table.dimension`.
        dimension: String,
        values: Vec<String>,
        #[serde(default, skip_serializing_if = "is_false")]
        negated: bool,
    },
    /// A named filter of the model (or its opposite).
    Named {
        /// `table.filter`.
        filter: String,
        #[serde(default, skip_serializing_if = "is_false")]
        negated: bool,
    },
    /// A number column compared with a value, row by row ("orders over $500").
    Compare {
        /// `table.fact`.
        fact: String,
        op: Comparison,
        value: f64,
    },
    /// Rows of a table with no (or, negated, some) related row in another ("customers who never
    /// ordered"): `table` is what is counted, `related` the table that references it.
    Related {
        table: String,
        related: String,
        #[serde(default, skip_serializing_if = "is_false")]
        none: bool,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Grain {
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    /// Monday … Sunday.
    DayOfWeek,
}

impl Grain {
    pub fn sql(self) -> &'static str {
        match self {
            Grain::Hour => "hour",
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
            Grain::Quarter => "quarter",
            Grain::Year => "year",
            Grain::DayOfWeek => "day_of_week",
        }
    }
}

/// A period: from `start` (inclusive) to `end` (exclusive), as dates or timestamps
/// (`YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS`, UTC), or a rolling window ending now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Period {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// A rolling window: the last `n` days ("30 days"), as an interval; then start and end are unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    /// How the question said it ("last month").
    #[serde(default)]
    pub label: String,
}

/// What the answer is made of, beyond measures by groups.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Form {
    /// The measures, by the groups.
    #[default]
    Value,
    /// Each group's share of the total, in percent.
    Share,
    /// The percentage of rows that meet `condition`.
    Percentage { condition: Condition },
    /// The measure divided by the number of distinct rows of a table ("per customer").
    PerEntity { entity: String },
    /// The measure in `period` and in `previous`, and the change in percent when asked.
    Change { previous: Period, growth: bool },
    /// The top (or bottom) `n` of `item` within each group of `within`.
    RankWithin { within: String, n: u32 },
    /// Rows of a table (its name and the facts that matter), not an aggregate.
    List,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Desc,
    Asc,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Query {
    /// What is measured (one measure, or more).
    pub measures: Vec<MeasureRef>,
    /// Group by these: `table.dimension`, or a table name (its rows, by their name).
    #[serde(default)]
    pub group_by: Vec<String>,
    /// Group by a time bucket of the period's time dimension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_grain: Option<Grain>,
    /// The time dimension the period and the grain apply to (`table.time_dimension`); the
    /// measure's table's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_dimension: Option<String>,
    #[serde(default)]
    pub filters: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    #[serde(default)]
    pub form: Form,
    /// Order by the first measure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Direction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}
