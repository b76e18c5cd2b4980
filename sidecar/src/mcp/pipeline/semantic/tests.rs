//! The planner over snapshots of the demo models (`testdata/`, exported from the demo database
//! with the values the analyst role sees): what each kind of question becomes.

use chrono::NaiveDate;
use serde_json::Value;

use super::*;

pub(crate) fn fixture(name: &str) -> (Model, Values) {
    let text = match name {
        "retail" => include_str!("testdata/retail.json"),
        _ => include_str!("testdata/billing.json"),
    };
    let v: Value = serde_json::from_str(text).unwrap();
    let model = Model::new(serde_json::from_value(v["model"].clone()).unwrap());
    let mut values = Values::new();
    for row in v["values"].as_array().unwrap() {
        let (t, d, value) = (row[0].as_str().unwrap(), row[1].as_str().unwrap(), row[2].as_str().unwrap());
        let ti = model.table(t).unwrap();
        let di = model.tables()[ti].dimensions.iter().position(|x| x.name == d).unwrap();
        values.entry((ti, di)).or_default().push(value.to_string());
    }
    (model, values)
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

fn sql(q: &str) -> String {
    let (model, values) = fixture("retail");
    match plan(q, &model, &Vocabulary::new(&model, &values), None, today()) {
        Ok(p) => p.compiled.sql,
        Err(e) => panic!("{q}: {e:?}"),
    }
}

#[test]
fn counts_and_groups() {
    let s = sql("How many orders were placed last month?");
    assert!(s.contains("count(*)") && s.contains("'2026-11-01'") && !s.contains("status"), "{s}");
    let s = sql("Orders by channel");
    assert!(s.contains("orders.channel") && s.contains("GROUP BY"), "{s}");
    let s = sql("Revenue by region last month");
    assert!(s.contains("regions.name") && s.contains("NOT IN ('cancelled', 'returned')"), "{s}");
}

#[test]
fn refusals() {
    let (model, values) = fixture("retail");
    for q in ["Delete all cancelled orders.", "What will revenue be next quarter?", "what's our NPS this quarter", "tell me a joke"] {
        assert!(plan(q, &model, &Vocabulary::new(&model, &values), None, today()).is_err(), "{q} should be refused");
    }
}

