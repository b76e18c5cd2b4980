//! How the built-in planner reads a question over one of the demo models (the snapshots in
//! `src/semantic/testdata`): its words, the phrases it matched, the semantic query and the SQL.
//! A development aid: `cargo run -p quarry-sidecar --example plan -- retail "Revenue by region last month"`;
//! more questions after the first are follow-ups, each continuing the one before.

use chrono::Utc;
use quarry_sidecar::mcp::pipeline::semantic::{self, Model, Values, read, vocab};
use serde_json::Value;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(name), Some(first)) = (args.next(), args.next()) else {
        eprintln!("usage: plan retail|billing \"question\" [\"follow-up\" …]");
        std::process::exit(2);
    };
    let questions: Vec<String> = std::iter::once(first).chain(args).collect();
    let text = match name.as_str() {
        "retail" => include_str!("../src/mcp/pipeline/semantic/testdata/retail.json"),
        "billing" => include_str!("../src/mcp/pipeline/semantic/testdata/billing.json"),
        other => {
            eprintln!("no model named {other}");
            std::process::exit(2);
        }
    };
    let v: Value = serde_json::from_str(text).expect("a model snapshot");
    let model = Model::new(serde_json::from_value(v["model"].clone()).expect("a model document"));
    let mut values = Values::new();
    for row in v["values"].as_array().into_iter().flatten() {
        let (t, d, value) = (row[0].as_str().unwrap_or_default(), row[1].as_str().unwrap_or_default(), row[2].as_str().unwrap_or_default());
        if let Some(ti) = model.table(t)
            && let Some(di) = model.tables()[ti].dimensions.iter().position(|x| x.name == d)
        {
            values.entry((ti, di)).or_default().push(value.to_string());
        }
    }
    let today = Utc::now().date_naive();
    let vocabulary = vocab::Vocabulary::new(&model, &values);
    let mut previous = None;
    for question in &questions {
        println!("== {question}");
        let r = read::scan(question, &model, &vocabulary, today);
        println!("words: {:?}", r.tokens.iter().map(|t| t.text.as_str()).collect::<Vec<_>>());
        println!("time: {:?}, grain {:?}", r.time.period, r.time.grain);
        for m in &r.mentions {
            println!("  {}..{}: {:?}", m.at, m.at + m.len, m.targets);
        }
        match semantic::plan(question, &model, &vocabulary, previous.as_ref(), today) {
            Ok(plan) => {
                println!("{}\n\n{}", serde_json::to_string_pretty(&plan.query).unwrap_or_default(), plan.compiled.sql);
                previous = Some(plan.query);
            }
            Err(refusal) => {
                println!("refused: {refusal:?}");
                previous = None;
            }
        }
    }
}
