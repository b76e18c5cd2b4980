//! Reading an operation's arguments (a JSON body, or an MCP tool call's arguments) the way SQLBot
//! (FastAPI and pydantic) reads them: unknown fields are ignored, numbers may come as strings of
//! digits, and what cannot be read is reported field by field in FastAPI's 422 shape
//! (`{"detail": [{"type", "loc": ["body", field], "msg"}]}`), all problems at once.

use serde_json::{Map, Value, json};

use super::error::Failure;
use crate::mcp::pipeline::i18n::Lang;

/// Longest text of any field but the question and the assistant's secret.
pub const MAX_TEXT: usize = 2048;

/// The fields of one request, and the problems found so far.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    problems: Vec<Value>,
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Fields<'a> {
        Fields { map, problems: Vec::new() }
    }

    fn problem(&mut self, kind: &str, field: &str, msg: &str) {
        self.problems.push(json!({ "type": kind, "loc": ["body", field], "msg": msg }));
    }

    /// A field's value; JSON null counts as absent, as pydantic reads an optional field.
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// Whether the request has the field at all.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A required string of 1 to `max` characters.
    pub fn text(&mut self, name: &str, max: usize) -> Option<String> {
        if self.get(name).is_none() {
            self.problem("missing", name, "Field required");
            return None;
        }
        self.opt_text(name, max)
    }

    /// An optional string of at most `max` characters (absent, or empty after trimming: `None`).
    pub fn opt_text(&mut self, name: &str, max: usize) -> Option<String> {
        match self.get(name) {
            None => None,
            Some(Value::String(s)) if s.chars().count() > max => {
                self.problem("string_too_long", name, &format!("String should have at most {max} characters"));
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Some(_) => {
                self.problem("string_type", name, "Input should be a valid string");
                None
            }
        }
    }

    /// An optional identifier: an integer, or a string of digits (SQLBot's `oid` is a string,
    /// its `chat_id` an integer; clients send either). An empty string is absent.
    pub fn opt_id(&mut self, name: &str) -> Option<i64> {
        match self.get(name).map(id_of) {
            None | Some(Ok(None)) => None,
            Some(Ok(Some(id))) => Some(id),
            Some(Err(())) => {
                self.problem("int_parsing", name, "Input should be a valid integer");
                None
            }
        }
    }

    /// A required identifier (see [`Fields::opt_id`]).
    pub fn id(&mut self, name: &str) -> Option<i64> {
        match self.get(name).map(id_of) {
            None | Some(Ok(None)) => {
                self.problem("missing", name, "Field required");
                None
            }
            Some(Ok(Some(id))) => Some(id),
            Some(Err(())) => {
                self.problem("int_parsing", name, "Input should be a valid integer");
                None
            }
        }
    }

    /// An optional boolean, `default` when absent: true or false, or as pydantic also reads them,
    /// 1/0 and the strings true/false, yes/no, on/off, 1/0.
    pub fn flag(&mut self, name: &str, default: bool) -> bool {
        let read = match self.get(name) {
            None => return default,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(1) => Some(true),
                Some(0) => Some(false),
                _ => None,
            },
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" | "t" | "y" => Some(true),
                "false" | "no" | "off" | "0" | "f" | "n" => Some(false),
                _ => None,
            },
            Some(_) => None,
        };
        read.unwrap_or_else(|| {
            self.problem("bool_parsing", name, "Input should be a valid boolean");
            default
        })
    }

    /// The answer language: zh-CN (SQLBot's default), zh-TW, en or ko-KR, and the usual other
    /// spellings of those (zh, zh_CN, en-US, ko…).
    pub fn lang(&mut self, name: &str, default: Lang) -> Lang {
        match self.opt_text(name, 20) {
            // Absent or empty (or not a string, reported already).
            None => default,
            Some(text) => lang_of(&text).unwrap_or_else(|| {
                self.problem("enum", name, "Input should be 'zh-CN', 'zh-TW', 'en' or 'ko-KR'");
                default
            }),
        }
    }

    /// The problems found, as FastAPI's 422 answer, or nothing.
    pub fn finish(self) -> Result<(), Failure> {
        if self.problems.is_empty() { Ok(()) } else { Err(Failure::Validation(self.problems)) }
    }
}

/// An identifier from an integer or a string of digits; `Ok(None)` for an empty string.
fn id_of(value: &Value) -> Result<Option<i64>, ()> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64)).map(Some).ok_or(()),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s.trim().parse::<i64>().map(Some).map_err(|_| ()),
        _ => Err(()),
    }
}

/// A language as SQLBot names it, or as clients often spell it.
pub fn lang_of(text: &str) -> Option<Lang> {
    let t = text.trim().replace('_', "-").to_ascii_lowercase();
    Some(match t.as_str() {
        "zh-cn" | "zh" | "zh-hans" | "zh-hans-cn" | "zh-sg" => Lang::ZhCn,
        "zh-tw" | "zh-hant" | "zh-hant-tw" | "zh-hk" | "zh-mo" => Lang::ZhTw,
        "en" | "en-us" | "en-gb" => Lang::En,
        "ko-kr" | "ko" => Lang::KoKr,
        _ => return None,
    })
}

/// The datasource of `mcp_question`, read as SQLBot reads it: an integer, or a string of digits;
/// absent, 0 and "" mean none. Anything else is SQLBot's 400 "Invalid datasource ID".
pub fn datasource_id(map: &Map<String, Value>) -> Result<Option<i64>, Failure> {
    let invalid = || Failure::detail(axum::http::StatusCode::BAD_REQUEST, "Invalid datasource ID");
    match map.get("datasource_id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(0) => Ok(None),
            Some(id) => Ok(Some(id)),
            None => Err(invalid()),
        },
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| invalid()),
        Some(_) => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn problems(f: Fields<'_>) -> Vec<Value> {
        match f.finish() {
            Err(Failure::Validation(p)) => p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fields_are_read_as_pydantic_reads_them() {
        let m = map(json!({"chat_id": "7356228649239973888", "oid": 1, "stream": "false", "return_img": 0, "question": " Hi ", "extra": [1]}));
        let mut f = Fields::new(&m);
        assert_eq!(f.id("chat_id"), Some(7_356_228_649_239_973_888));
        assert_eq!(f.opt_id("oid"), Some(1));
        assert!(!f.flag("stream", true));
        assert!(!f.flag("return_img", true));
        assert!(f.flag("missing", true));
        assert_eq!(f.text("question", 2000).as_deref(), Some("Hi"));
        assert!(f.finish().is_ok(), "unknown fields are ignored");
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let m = map(json!({"chat_id": "seven", "stream": "maybe", "token": 5, "lang": "fr"}));
        let mut f = Fields::new(&m);
        f.id("chat_id");
        f.flag("stream", true);
        f.text("token", 512);
        f.text("question", 2000);
        f.lang("lang", Lang::ZhCn);
        let p = problems(f);
        let fields: Vec<&str> = p.iter().map(|p| p["loc"][1].as_str().unwrap()).collect();
        assert_eq!(fields, ["chat_id", "stream", "token", "question", "lang"]);
        assert_eq!(p[3]["type"], "missing");
        assert_eq!(p[3]["msg"], "Field required");
        assert_eq!(p[0]["loc"][0], "body");
    }

    #[test]
    fn languages() {
        assert_eq!(lang_of("zh-CN"), Some(Lang::ZhCn));
        assert_eq!(lang_of("zh_TW"), Some(Lang::ZhTw));
        assert_eq!(lang_of("en-US"), Some(Lang::En));
        assert_eq!(lang_of("ko"), Some(Lang::KoKr));
        assert_eq!(lang_of("fr"), None);
        let m = map(json!({}));
        let mut f = Fields::new(&m);
        assert_eq!(f.lang("lang", Lang::ZhCn), Lang::ZhCn, "zh-CN unless told otherwise, as SQLBot");
    }

    #[test]
    fn datasource_ids_as_sqlbot_reads_them() {
        assert_eq!(datasource_id(&map(json!({"datasource_id": 3}))).unwrap(), Some(3));
        assert_eq!(datasource_id(&map(json!({"datasource_id": " 3 "}))).unwrap(), Some(3));
        assert_eq!(datasource_id(&map(json!({"datasource_id": ""}))).unwrap(), None);
        assert_eq!(datasource_id(&map(json!({"datasource_id": 0}))).unwrap(), None);
        assert_eq!(datasource_id(&map(json!({}))).unwrap(), None);
        for bad in [json!("three"), json!(1.5), json!([3]), json!(true)] {
            let e = datasource_id(&map(json!({ "datasource_id": bad }))).unwrap_err();
            assert!(matches!(&e, Failure::Detail(_, m) if m == "Invalid datasource ID"), "{e:?}");
        }
    }

    // Fuzzing: any arguments are read or reported, never a panic.
    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 500, ..Default::default() })]

        #[test]
        fn any_arguments_are_read_or_reported(text in ".{0,40}", n in proptest::num::i64::ANY, f in proptest::num::f64::ANY, b in proptest::bool::ANY) {
            for value in [json!(text), json!(n), json!(f), json!(b), json!([text]), json!({"x": n}), Value::Null] {
                let m = map(json!({ "chat_id": value, "oid": value, "stream": value, "question": value, "lang": value, "datasource_id": value }));
                let mut fields = Fields::new(&m);
                fields.id("chat_id");
                fields.opt_id("oid");
                fields.flag("stream", true);
                fields.text("question", 2000);
                fields.lang("lang", Lang::ZhCn);
                let _ = fields.finish();
                let _ = datasource_id(&m);
            }
        }
    }
}
