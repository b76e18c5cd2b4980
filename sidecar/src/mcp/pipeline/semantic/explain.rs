//! The interpretation of a semantic query in plain words, stated before the numbers: the
//! measure and its definition, the filters, the exact period, the grouping, the order and the
//! limit. In English, Chinese or Korean (the model's own names stay as the DBA wrote them).

use super::model::Model;
use super::query::{Aggregation, Comparison, Condition, Direction, Form, Grain, Period, Query};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    En,
    Zh,
    Ko,
}

struct Words {
    measure: &'static str,
    defined_as: &'static str,
    filtered: &'static str,
    period: &'static str,
    grouped: &'static str,
    top: &'static str,
    bottom: &'static str,
    share: &'static str,
    percentage_of_rows: &'static str,
    per: &'static str,
    compared_with: &'static str,
    growth: &'static str,
    within: &'static str,
    not: &'static str,
    without: &'static str,
    to: &'static str,
    until_now: &'static str,
    rows_of: &'static str,
    distinct: &'static str,
}

const EN: Words = Words {
    measure: "Measure",
    defined_as: "defined as",
    filtered: "Filters",
    period: "Period",
    grouped: "Grouped by",
    top: "top",
    bottom: "bottom",
    share: "each group's share of the total, in percent (of the rows that have a group)",
    percentage_of_rows: "the percentage where",
    per: "per",
    compared_with: "compared with",
    growth: "with the change in percent",
    within: "within each",
    not: "not",
    without: "without any",
    to: "to",
    until_now: "until now",
    rows_of: "rows of",
    distinct: "distinct",
};

const ZH: Words = Words {
    measure: "指标",
    defined_as: "定义为",
    filtered: "筛选",
    period: "时间",
    grouped: "分组",
    top: "前",
    bottom: "后",
    share: "各组占总数的百分比（仅计有分组值的行）",
    percentage_of_rows: "满足条件的百分比：",
    per: "每",
    compared_with: "对比",
    growth: "并计算变化百分比",
    within: "在每个分组内",
    not: "不是",
    without: "没有任何",
    to: "至",
    until_now: "至今",
    rows_of: "列出",
    distinct: "不同的",
};

const KO: Words = Words {
    measure: "지표",
    defined_as: "정의",
    filtered: "필터",
    period: "기간",
    grouped: "그룹",
    top: "상위",
    bottom: "하위",
    share: "전체 대비 각 그룹의 비중(%, 그룹 값이 있는 행 기준)",
    percentage_of_rows: "조건을 만족하는 비율:",
    per: "당",
    compared_with: "비교 대상",
    growth: "변화율(%) 포함",
    within: "각 그룹 안에서",
    not: "제외",
    without: "관련 행이 없는",
    to: "~",
    until_now: "현재까지",
    rows_of: "목록",
    distinct: "고유",
};

fn words(lang: Language) -> &'static Words {
    match lang {
        Language::En => &EN,
        Language::Zh => &ZH,
        Language::Ko => &KO,
    }
}

fn human(name: &str) -> String {
    name.rsplit('.').next().unwrap_or(name).replace('_', " ")
}

/// A period with its exact dates ("last month: 2026-11-01 to 2026-11-30").
pub fn period(p: &Period, lang: Language) -> String {
    let w = words(lang);
    if let Some(last) = &p.last {
        return format!("{} ({last})", if p.label.is_empty() { "rolling" } else { &p.label });
    }
    let end = p.end.as_deref().and_then(|e| chrono::NaiveDate::parse_from_str(e, "%Y-%m-%d").ok()).map(|d| d.pred_opt().unwrap_or(d).to_string());
    let range = match (&p.start, end) {
        (Some(s), Some(e)) if *s == e => s.clone(),
        (Some(s), Some(e)) => format!("{s} {} {e}", w.to),
        (Some(s), None) => format!("{s} {} {}", w.to, w.until_now),
        (None, Some(e)) => format!("{} {e}", w.to),
        (None, None) => String::new(),
    };
    if p.label.is_empty() { range } else { format!("{}: {range}", p.label) }
}

fn condition(model: &Model, c: &Condition, lang: Language) -> String {
    let w = words(lang);
    match c {
        Condition::Values { dimension, values, negated } => {
            let v = values.join(" / ");
            if *negated { format!("{} {} {v}", human(dimension), w.not) } else { format!("{} = {v}", human(dimension)) }
        }
        Condition::Named { filter, negated } => {
            let name = human(filter);
            let expr = filter
                .split_once('.')
                .and_then(|(t, f)| model.table(t).and_then(|t| model.tables()[t].filters.iter().find(|x| x.name == f)))
                .map(|f| f.expr.clone());
            let shown = match expr {
                Some(e) if e.len() <= 120 => format!("{name} ({e})"),
                _ => name,
            };
            if *negated { format!("{} {shown}", w.not) } else { shown }
        }
        Condition::Compare { fact, op, value } => {
            let op = match op {
                Comparison::Gt => ">",
                Comparison::Ge => "≥",
                Comparison::Lt => "<",
                Comparison::Le => "≤",
                Comparison::Eq => "=",
            };
            format!("{} {op} {value}", human(fact))
        }
        Condition::Related { table, related, none } => {
            if *none { format!("{table} {} {related}", w.without) } else { format!("{table} with {related}") }
        }
    }
}

/// The interpretation of a query, one line per part.
pub fn describe(model: &Model, q: &Query, lang: Language) -> String {
    let w = words(lang);
    let mut lines = Vec::new();
    if let Some(m) = q.measures.first() {
        let found = m.measure.split_once('.').and_then(|(t, n)| model.table(t).and_then(|t| model.tables()[t].measures.iter().find(|x| x.name == n)));
        let mut text = human(&m.measure);
        if let Some(agg) = m.aggregation {
            let a = match agg {
                Aggregation::Sum => "total",
                Aggregation::Avg => "average",
                Aggregation::Min => "lowest",
                Aggregation::Max => "highest",
                Aggregation::Count => "count of",
            };
            text = format!("{a} {text}");
        }
        if let Some(d) = &m.distinct {
            text = format!("{} {d}", w.distinct);
        }
        if let Some(found) = found {
            let mut definition = found.description.clone().unwrap_or_else(|| found.expr.clone());
            if let Some(f) = &found.filter {
                definition.push_str(&format!(" [{f}]"));
            }
            text = format!("{text} ({} {definition})", w.defined_as);
        }
        match &q.form {
            Form::PerEntity { entity } => text = format!("{text} {} {}", w.per, human(entity)),
            Form::Share => text = format!("{text}; {}", w.share),
            Form::Percentage { condition: c } => text = format!("{} {} ({text})", w.percentage_of_rows, condition(model, c, lang)),
            Form::List => text = format!("{} {}", w.rows_of, q.group_by.first().map(|g| human(g)).unwrap_or_default()),
            _ => {}
        }
        lines.push(format!("{}: {text}", w.measure));
    }
    if !q.filters.is_empty() {
        lines.push(format!("{}: {}", w.filtered, q.filters.iter().map(|c| condition(model, c, lang)).collect::<Vec<_>>().join("; ")));
    }
    if let Some(p) = &q.period {
        let mut text = period(p, lang);
        if let Form::Change { previous, growth } = &q.form {
            text = format!("{text}; {} {}", w.compared_with, period(previous, lang));
            if *growth {
                text = format!("{text}, {}", w.growth);
            }
        }
        lines.push(format!("{}: {text}", w.period));
    }
    let mut groups: Vec<String> = Vec::new();
    if let Some(g) = q.time_grain {
        groups.push(match g {
            Grain::DayOfWeek => "day of the week".into(),
            other => other.sql().to_string(),
        });
    }
    groups.extend(q.group_by.iter().filter(|_| !matches!(q.form, Form::List)).map(|g| human(g)));
    if !groups.is_empty() {
        let mut text = groups.join(", ");
        if let Form::RankWithin { within, n } = &q.form {
            text = format!("{text}; {} {} {}, {} {n}", w.within, human(within), "", if q.order == Some(Direction::Asc) { w.bottom } else { w.top });
        }
        lines.push(format!("{}: {text}", w.grouped));
    }
    if let (Some(n), Some(d)) = (q.limit, q.order) {
        lines.push(format!("{} {n}", if d == Direction::Desc { w.top } else { w.bottom }));
    }
    lines.join("\n")
}

/// Questions a model answers, to suggest when one is not understood: its DBA's measures first.
pub fn suggestions(model: &Model) -> Vec<String> {
    let mut out = Vec::new();
    let mut measures: Vec<(bool, String, usize)> = Vec::new();
    for (t, table) in model.tables().iter().enumerate() {
        for m in &table.measures {
            if !m.fact && m.origin.as_deref() == Some("dba") {
                measures.push((true, m.name.replace('_', " "), t));
            }
        }
    }
    for table in model.tables() {
        if table.measures.iter().any(|m| m.expr.trim() == "count(*)") {
            out.push(format!("How many {} are there?", table.name.replace('_', " ")));
        }
    }
    for (_, name, t) in measures.iter().take(3) {
        let table = &model.tables()[*t];
        if let Some(d) = table.dimensions.iter().find(|d| d.values) {
            out.insert(0, format!("{} by {} last month", capitalize(name), d.name.replace('_', " ")));
        } else {
            out.insert(0, format!("{} last month", capitalize(name)));
        }
    }
    out.truncate(5);
    out
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
