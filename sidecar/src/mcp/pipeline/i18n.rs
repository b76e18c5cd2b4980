//! The built-in planner's words in English, Simplified and Traditional Chinese and Korean: its
//! messages, labels, analyses and progress steps. Placeholders are `{name}`.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub enum Lang {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "zh-TW")]
    ZhTw,
    #[serde(rename = "ko-KR")]
    KoKr,
}

impl Lang {
    /// The language's name, for telling a model which language to answer in.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::ZhCn => "Simplified Chinese",
            Lang::ZhTw => "Traditional Chinese",
            Lang::KoKr => "Korean",
        }
    }
}

impl Lang {
    /// The language a text is written in, as far as its script tells: Korean for Hangul,
    /// Simplified Chinese for Han characters, else English.
    pub fn of_text(text: &str) -> Lang {
        if text.chars().any(|c| matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}')) {
            Lang::KoKr
        } else if text.chars().any(|c| matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')) {
            Lang::ZhCn
        } else {
            Lang::En
        }
    }
}

/// A message in a language, with `{name}` placeholders filled.
pub fn t(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let template = text(lang, key);
    args.iter().fold(template.to_string(), |s, (k, v)| s.replace(&format!("{{{k}}}"), v))
}

fn text(lang: Lang, key: &str) -> &'static str {
    use Lang::*;
    match (key, lang) {
        ("not_confident", En) => "I can't answer that reliably from the {dataset} dataset: {reason}",
        ("not_confident", ZhCn) => "我无法根据数据集 {dataset} 可靠地回答这个问题：{reason}",
        ("not_confident", ZhTw) => "我無法根據資料集 {dataset} 可靠地回答這個問題：{reason}",
        ("not_confident", KoKr) => "{dataset} 데이터셋으로는 이 질문에 정확히 답할 수 없습니다: {reason}",
        ("try_these", En) => "Questions I can answer include:",
        ("try_these", ZhCn) => "我可以回答这样的问题：",
        ("try_these", ZhTw) => "我可以回答這樣的問題：",
        ("try_these", KoKr) => "이런 질문에는 답할 수 있습니다:",
        ("no_table", En) => "it names no table or measure I recognise.",
        ("no_table", ZhCn) => "问题中没有我能识别的表或度量。",
        ("no_table", ZhTw) => "問題中沒有我能識別的表或度量。",
        ("no_table", KoKr) => "질문에서 알아볼 수 있는 테이블이나 측정값이 없습니다.",
        ("no_measure", En) => "I found no number column for \"{words}\".",
        ("no_measure", ZhCn) => "找不到与“{words}”对应的数值列。",
        ("no_measure", ZhTw) => "找不到與「{words}」對應的數值欄位。",
        ("no_measure", KoKr) => "\"{words}\"에 해당하는 숫자 열을 찾지 못했습니다.",
        ("no_group", En) => "I can't group by \"{words}\": no such column or table is connected.",
        ("no_group", ZhCn) => "无法按“{words}”分组：没有相连的此类列或表。",
        ("no_group", ZhTw) => "無法按「{words}」分組：沒有相連的此類欄位或表。",
        ("no_group", KoKr) => "\"{words}\" 기준으로 묶을 수 없습니다: 연결된 열이나 테이블이 없습니다.",
        ("no_time", En) => "{table} has no date or time column for that period.",
        ("no_time", ZhCn) => "{table} 没有可用于该时间段的日期或时间列。",
        ("no_time", ZhTw) => "{table} 沒有可用於該時間段的日期或時間欄位。",
        ("no_time", KoKr) => "{table}에는 그 기간에 쓸 날짜/시간 열이 없습니다.",
        ("unknown_words", En) => "I don't know what \"{words}\" refers to in this dataset.",
        ("unknown_words", ZhCn) => "我不知道“{words}”在这个数据集中指什么。",
        ("unknown_words", ZhTw) => "我不知道「{words}」在這個資料集中指什麼。",
        ("unknown_words", KoKr) => "이 데이터셋에서 \"{words}\"이(가) 무엇을 가리키는지 모르겠습니다.",
        ("how_many", En) => "How many {table} are there?",
        ("how_many", ZhCn) => "{table} 有多少个？",
        ("how_many", ZhTw) => "{table} 有多少個？",
        ("how_many", KoKr) => "{table}은(는) 몇 개입니까?",
        ("total_by", En) => "Total {measure} by {group}",
        ("total_by", ZhCn) => "按 {group} 的 {measure} 总计",
        ("total_by", ZhTw) => "按 {group} 的 {measure} 總計",
        ("total_by", KoKr) => "{group}별 {measure} 합계",
        ("per_month", En) => "{table} per month",
        ("per_month", ZhCn) => "每月的 {table}",
        ("per_month", ZhTw) => "每月的 {table}",
        ("per_month", KoKr) => "월별 {table}",
        ("no_rows", En) => "The query returned no rows.",
        ("no_rows", ZhCn) => "查询没有返回任何行。",
        ("no_rows", ZhTw) => "查詢沒有傳回任何列。",
        ("no_rows", KoKr) => "쿼리 결과가 없습니다.",
        ("single", En) => "{label}: {value}.",
        ("single", ZhCn) => "{label}：{value}。",
        ("single", ZhTw) => "{label}：{value}。",
        ("single", KoKr) => "{label}: {value}.",
        ("groups", En) => "{n} groups by {group}. Largest: {top} ({top_value}); smallest: {bottom} ({bottom_value}).",
        ("groups", ZhCn) => "按 {group} 共 {n} 组。最大：{top}（{top_value}）；最小：{bottom}（{bottom_value}）。",
        ("groups", ZhTw) => "按 {group} 共 {n} 組。最大：{top}（{top_value}）；最小：{bottom}（{bottom_value}）。",
        ("groups", KoKr) => "{group}별 {n}개 그룹. 최대: {top} ({top_value}), 최소: {bottom} ({bottom_value}).",
        ("share", En) => "{top} accounts for {share}% of the total {total}.",
        ("share", ZhCn) => "{top} 占总数 {total} 的 {share}%。",
        ("share", ZhTw) => "{top} 佔總數 {total} 的 {share}%。",
        ("share", KoKr) => "{top}이(가) 전체 {total}의 {share}%를 차지합니다.",
        ("trend", En) => "From {first} ({first_value}) to {last} ({last_value}): {change}. Peak: {peak} ({peak_value}).",
        ("trend", ZhCn) => "从 {first}（{first_value}）到 {last}（{last_value}）：{change}。峰值：{peak}（{peak_value}）。",
        ("trend", ZhTw) => "從 {first}（{first_value}）到 {last}（{last_value}）：{change}。峰值：{peak}（{peak_value}）。",
        ("trend", KoKr) => "{first}({first_value})부터 {last}({last_value})까지: {change}. 최고: {peak} ({peak_value}).",
        ("up", En) => "up {pct}%",
        ("up", ZhCn) => "增长 {pct}%",
        ("up", ZhTw) => "成長 {pct}%",
        ("up", KoKr) => "{pct}% 증가",
        ("down", En) => "down {pct}%",
        ("down", ZhCn) => "下降 {pct}%",
        ("down", ZhTw) => "下降 {pct}%",
        ("down", KoKr) => "{pct}% 감소",
        ("rows", En) => "{n} rows.",
        ("rows", ZhCn) => "共 {n} 行。",
        ("rows", ZhTw) => "共 {n} 列。",
        ("rows", KoKr) => "{n}개 행.",
        ("truncated", En) => "Only the first {n} rows are shown; there are more.",
        ("truncated", ZhCn) => "只显示前 {n} 行，还有更多。",
        ("truncated", ZhTw) => "只顯示前 {n} 列，還有更多。",
        ("truncated", KoKr) => "처음 {n}개 행만 표시합니다. 더 있습니다.",
        ("dataset_given", En) => "the dataset you named",
        ("dataset_given", ZhCn) => "你指定的数据集",
        ("dataset_given", ZhTw) => "你指定的資料集",
        ("dataset_given", KoKr) => "지정한 데이터셋",
        ("dataset_only", En) => "your only dataset",
        ("dataset_only", ZhCn) => "你唯一的数据集",
        ("dataset_only", ZhTw) => "你唯一的資料集",
        ("dataset_only", KoKr) => "유일한 데이터셋",
        ("dataset_matched", En) => "the dataset that best matches the question",
        ("dataset_matched", ZhCn) => "与问题最匹配的数据集",
        ("dataset_matched", ZhTw) => "與問題最相符的資料集",
        ("dataset_matched", KoKr) => "질문과 가장 잘 맞는 데이터셋",
        ("refuse_write", En) => "it asks to change data, and questions only read.",
        ("refuse_write", ZhCn) => "它要求修改数据，而提问只能读取数据。",
        ("refuse_write", ZhTw) => "它要求修改資料，而提問只能讀取資料。",
        ("refuse_write", KoKr) => "데이터를 바꾸라는 요청입니다. 질문은 데이터를 읽기만 합니다.",
        ("refuse_forecast", En) => "it asks about the future, and the data only records the past.",
        ("refuse_forecast", ZhCn) => "它询问的是未来，而数据只记录过去。",
        ("refuse_forecast", ZhTw) => "它詢問的是未來，而資料只記錄過去。",
        ("refuse_forecast", KoKr) => "미래에 대한 질문입니다. 데이터는 과거만 기록합니다.",
        ("cannot", En) => "{reason}.",
        ("cannot", ZhCn) => "无法从语义模型回答（{reason}）。",
        ("cannot", ZhTw) => "無法從語意模型回答（{reason}）。",
        ("cannot", KoKr) => "시맨틱 모델로 답할 수 없습니다 ({reason}).",
        ("verified", En) => "Answered with the dataset's verified query for \"{question}\".",
        ("verified", ZhCn) => "使用数据集中已验证的查询回答：“{question}”。",
        ("verified", ZhTw) => "使用資料集中已驗證的查詢回答：「{question}」。",
        ("verified", KoKr) => "데이터셋의 검증된 쿼리로 답했습니다: \"{question}\".",
        ("interpretation", En) => "Interpretation",
        ("interpretation", ZhCn) => "理解",
        ("interpretation", ZhTw) => "理解",
        ("interpretation", KoKr) => "해석",
        ("step_dataset", En) => "Choosing the dataset",
        ("step_schema", En) => "Reading the schema",
        ("step_sql", En) => "Writing SQL",
        ("step_run", En) => "Running the query",
        ("step_chart", En) => "Drawing the chart",
        ("step_analysis", En) => "Writing the analysis",
        ("step_dataset", ZhCn) => "选择数据集",
        ("step_schema", ZhCn) => "读取结构",
        ("step_sql", ZhCn) => "编写 SQL",
        ("step_run", ZhCn) => "运行查询",
        ("step_chart", ZhCn) => "绘制图表",
        ("step_analysis", ZhCn) => "撰写分析",
        ("step_dataset", ZhTw) => "選擇資料集",
        ("step_schema", ZhTw) => "讀取結構",
        ("step_sql", ZhTw) => "撰寫 SQL",
        ("step_run", ZhTw) => "執行查詢",
        ("step_chart", ZhTw) => "繪製圖表",
        ("step_analysis", ZhTw) => "撰寫分析",
        ("step_dataset", KoKr) => "데이터셋 선택",
        ("step_schema", KoKr) => "스키마 읽기",
        ("step_sql", KoKr) => "SQL 작성",
        ("step_run", KoKr) => "쿼리 실행",
        ("step_chart", KoKr) => "차트 그리기",
        ("step_analysis", KoKr) => "분석 작성",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_exists_in_every_language() {
        let keys = ["not_confident", "try_these", "no_table", "no_measure", "no_group", "no_time", "how_many", "total_by",
                    "per_month", "no_rows", "single", "groups", "share", "trend", "up", "down", "rows", "truncated",
                    "dataset_given", "dataset_only", "unknown_words", "dataset_matched", "step_dataset", "step_schema", "step_sql",
                    "step_run", "step_chart", "step_analysis", "refuse_write", "refuse_forecast", "cannot", "verified", "interpretation"];
        for lang in [Lang::En, Lang::ZhCn, Lang::ZhTw, Lang::KoKr] {
            for key in keys {
                assert!(!text(lang, key).is_empty(), "{key} in {lang:?}");
            }
        }
        assert_eq!(t(Lang::En, "single", &[("label", "orders"), ("value", "7")]), "orders: 7.");
        assert_eq!(Lang::of_text("지난달 매출은?"), Lang::KoKr);
        assert_eq!(Lang::of_text("上个月的收入是多少？"), Lang::ZhCn);
        assert_eq!(Lang::of_text("Revenue last month"), Lang::En);
    }
}
