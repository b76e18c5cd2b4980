//! Reading Chinese and Korean questions as English ones: a phrase table of business vocabulary,
//! time words, question words and grammar (measure words, particles, endings), read longest
//! phrase first, plus Chinese numerals and Korean particles and suffixes. The model's own
//! synonyms in these languages (a DBA's) are added per dataset and win over the table.
//!
//! The table covers what questions about data are made of, not one dataset: what is specific to a
//! dataset (its product names, its cities) belongs in its semantic model as synonyms.

use std::collections::HashMap;

use super::text::{Kind, Token, is_hangul, stem};

/// How a foreign phrase reads.
#[derive(Debug, Clone)]
enum Reading {
    /// English words ("" for grammar that carries no meaning here).
    Words(&'static str),
    /// A model item (a DBA's synonym), with the words it stands for.
    Item(usize, String),
}

/// Chinese (simplified and traditional) phrases.
const ZH: &[(&str, &str)] = &[
    // Question words and requests
    ("多少", "how many"), ("几", "how many"), ("多少钱", "how much"), ("是多少", ""), ("是什么", "what"), ("什么", "what"),
    ("哪个", "which"), ("哪些", "which"), ("哪一个", "which"), ("哪", "which"), ("谁", "who"), ("有没有", ""), ("是否", "whether"),
    ("请", ""), ("帮我", ""), ("给我", ""), ("我想知道", ""), ("看看", "show"), ("看一下", "show"), ("列出", "list"), ("显示", "show"),
    ("统计", "count"), ("计算", ""), ("查询", "show"), ("分别", ""), ("分别是", ""), ("一共", "total"), ("总共", "total"), ("共", "total"),
    ("总", "total"), ("总计", "total"), ("合计", "total"), ("总额", "total"), ("总数", "total number"),
    // Aggregates and ranking
    ("平均", "average"), ("平均每", "average per"), ("均值", "average"), ("最高", "highest"), ("最大", "largest"), ("最多", "most"),
    ("最低", "lowest"), ("最小", "smallest"), ("最少", "fewest"), ("最贵", "most expensive"), ("最便宜", "cheapest"),
    ("最好", "best"), ("最差", "worst"), ("排名", "rank"), ("前", "top"), ("后", "bottom"), ("第", ""),
    ("占比", "share"), ("比例", "percentage"), ("比重", "share"), ("百分比", "percentage"), ("百分之多少", "what percentage"), ("百分之几", "what percentage"), ("百分之", "percent"),
    ("多大比例", "what percentage"), ("份额", "share"), ("不同", "distinct"), ("不重复", "distinct"), ("独立", "distinct"),
    ("种", "kinds"), ("增长", "growth"), ("增长率", "growth"), ("环比", "compared with previous period"),
    ("同比", "compared with same period last year"), ("相比", "compared with"), ("比较", "compare"), ("对比", "compare"),
    ("怎么样", ""), ("如何", ""), ("同期", "same period"), ("同月", "same month"), ("同季度", "same quarter"), ("超过", "over"), ("大于", "over"), ("高于", "over"), ("以上", "or more"),
    ("低于", "under"), ("小于", "under"), ("不到", "under"), ("以下", "or less"), ("之间", "between"), ("没有", "no"), ("从未", "never"),
    ("从来没有", "never"), ("从没", "never"), ("不是", "not"), ("不", "not"), ("未", "not"), ("除了", "except"), ("以外", ""),
    // Grouping
    ("按", "by"), ("按照", "by"), ("各", "each"), ("各个", "each"), ("每个", "each"), ("每", "each"), ("每位", "each"), ("每一", "each"),
    ("分", "by"), ("细分", "breakdown"), ("分组", "group"), ("拆分", "breakdown"), ("再", "also"), ("也", "also"), ("只看", "only"),
    ("只", "only"), ("仅", "only"), ("换成", "instead"), ("改成", "instead"), ("就行", ""), ("呢", "what about"),
    // Time
    ("今天", "today"), ("昨天", "yesterday"), ("本周", "this week"), ("这周", "this week"), ("这个星期", "this week"), ("上周", "last week"),
    ("上个星期", "last week"), ("本月", "this month"), ("这个月", "this month"), ("上个月", "last month"), ("上月", "last month"),
    ("上個月", "last month"), ("本季度", "this quarter"), ("这个季度", "this quarter"), ("上季度", "last quarter"), ("上个季度", "last quarter"),
    ("今年", "this year"), ("去年", "last year"), ("前年", "2 years ago"), ("明年", "next year"), ("下个月", "next month"), ("下月", "next month"),
    ("下季度", "next quarter"), ("最近", "last"), ("过去", "last"), ("近", "last"), ("到目前为止", "so far"), ("至今", "so far"),
    ("以来", "since"), ("自", "since"), ("从", "from"), ("到", "to"), ("至", "to"), ("天", "days"), ("日", "day"), ("周", "week"),
    ("星期", "week"), ("个月", "months"), ("月", "month"), ("季度", "quarter"), ("年", "year"), ("上半年", "first half"),
    ("下半年", "second half"), ("每天", "daily"), ("每日", "daily"), ("按天", "by day"), ("每周", "weekly"), ("按周", "by week"),
    ("每月", "monthly"), ("按月", "by month"), ("每季度", "quarterly"), ("按季度", "by quarter"), ("每年", "yearly"),
    ("按年", "by year"), ("星期几", "day of week"), ("周几", "day of week"), ("完整", "complete"), ("趋势", "trend"),
    ("一月", "january"), ("二月", "february"), ("三月", "march"), ("四月", "april"), ("五月", "may"), ("六月", "june"),
    ("七月", "july"), ("八月", "august"), ("九月", "september"), ("十月", "october"), ("十一月", "november"), ("十二月", "december"),
    // Business vocabulary
    ("订单", "orders"), ("订单数", "number of orders"), ("订单量", "number of orders"), ("单", "orders"), ("笔", ""),
    ("客户", "customers"), ("顾客", "customers"), ("用户", "customers"), ("买家", "buyers"), ("客", "customers"),
    ("商品", "products"), ("产品", "products"), ("货品", "products"), ("品类", "category"), ("类别", "category"),
    ("分类", "category"), ("类目", "category"), ("地区", "region"), ("区域", "region"), ("大区", "region"), ("城市", "city"),
    ("国家", "country"), ("渠道", "channel"), ("状态", "status"), ("类型", "type"), ("细分市场", "segment"), ("客户类型", "segment"),
    ("行业", "industry"), ("销售额", "sales"), ("营业额", "revenue"), ("销售收入", "revenue"), ("收入", "revenue"), ("营收", "revenue"),
    ("销售", "sales"), ("卖出", "sold"), ("售出", "sold"), ("卖", "sold"), ("销量", "units sold"), ("数量", "number"), ("件数", "units"),
    ("件", "units"), ("金额", "amount"), ("价格", "price"), ("单价", "unit price"), ("标价", "list price"), ("售价", "price"),
    ("成本", "cost"), ("利润", "profit"), ("毛利", "gross margin"), ("折扣", "discount"), ("打折", "discounted"),
    ("客单价", "average order value"), ("行", "lines"), ("商品行", "order lines"), ("订单行", "order lines"),
    ("取消", "cancelled"), ("已取消", "cancelled"), ("退货", "returned"), ("退款", "refunds"), ("发货", "shipped"),
    ("已发货", "shipped"), ("待发货", "waiting to be shipped"), ("送达", "delivered"), ("网上", "web"), ("线上", "online"),
    ("网店", "online"), ("门店", "store"), ("实体店", "store"), ("线下", "store"), ("电话", "phone"), ("下单", "ordered"),
    ("下过单", "ordered"), ("购买", "bought"), ("买", "bought"), ("注册", "signed up"), ("新客户", "new customers"),
    ("活跃", "active"), ("在售", "on sale"), ("下架", "delisted"), ("发票", "invoices"), ("订阅", "subscriptions"),
    ("套餐", "plan"), ("计划", "plan"), ("工单", "tickets"), ("退款额", "refunds"),
    ("订单数量", "number of orders"), ("数", "number"), ("量", "number"), ("已经", ""), ("钱", ""), ("占", ""), ("同", "same"),
    ("比", "compared with"), ("相比", "compared with"), ("跟", "with"), ("所在", ""), ("所", ""), ("下了", "ordered"), ("张", ""),
    ("开过", "issued"), ("开出", "issued"), ("开", "issued"), ("新开", "new"), ("新增", "new"), ("新注册", "new signed up"),
    ("新", "new"), ("用", ""), ("在用", ""), ("旧版", "legacy"), ("通过", ""), ("合作伙伴", "partner"), ("签下", ""), ("签下来", ""),
    ("团队", "team"), ("公司", "companies"), ("提交", "submitted"), ("提交过", "submitted"), ("分布", ""), ("作废", "void"),
    ("之", ""), ("最长", "longest"), ("率", "rate"), ("获客", "acquisition"), ("看", ""), ("上上个月", "2 months ago"),
    ("还", ""), ("有几个", "how many"), ("几个", "how many"), ("几位", "how many"), ("几家", "how many"), ("家", ""),
    ("平均每", "average per"), ("每位", "each"), ("付费", "paying"), ("紧急", "urgent"),
    // Grammar without meaning here
    ("的", ""), ("了", ""), ("吗", ""), ("吧", ""), ("啊", ""), ("是", ""), ("在", ""), ("有", ""), ("和", "and"), ("与", "and"),
    ("及", "and"), ("或", "or"), ("我们", ""), ("我", ""), ("你", ""), ("他们", ""), ("一下", ""), ("个", ""), ("位", ""), ("名", ""),
    ("家", ""), ("次", ""), ("里", ""), ("中", ""), ("上", ""), ("其中", ""), ("这些", "those"), ("那些", "those"), ("都", ""),
    ("还", ""), ("所有", "all"), ("全部", "all"), ("整体", ""), ("目前", "now"), ("现在", "now"), ("当前", "now"),
    ("来了", ""), ("来", ""), ("出", ""), ("过", ""), ("包含", "have"), ("买几件", "units"), ("几件", "units"), ("几单", "orders"),
    ("多少位", "how many"), ("多少个", "how many"), ("多少笔", "how many"), ("多少单", "how many orders"),
];

/// Korean phrases.
const KO: &[(&str, &str)] = &[
    // Question words and requests
    ("몇", "how many"), ("얼마", "how much"), ("얼마나", "how much"), ("무엇", "what"), ("뭐", "what"), ("어디", "which"),
    ("어느", "which"), ("어떤", "which"), ("누구", "who"), ("보여줘", ""), ("보여주세요", ""), ("알려줘", ""), ("알려주세요", ""),
    ("뽑아줘", ""), ("보여", ""), ("알려", ""), ("줘", ""), ("주세요", ""), ("해줘", ""), ("다시", "again"), ("비교해줘", "compare"),
    ("계산", ""), ("목록", "list"), ("리스트", "list"),
    // Aggregates and ranking
    ("평균", "average"), ("합계", "total"), ("총", "total"), ("총액", "total"), ("전체", "all"), ("모든", "all"), ("최고", "highest"),
    ("최대", "largest"), ("최저", "lowest"), ("최소", "smallest"), ("가장", "most"), ("제일", "most"), ("많은", "most"), ("많이", "most"),
    ("높은", "highest"), ("높았던", "highest"), ("낮은", "lowest"), ("적은", "fewest"), ("비싼", "expensive"), ("싼", "cheap"),
    ("상위", "top"), ("하위", "bottom"), ("순위", "rank"), ("위", "rank"), ("등", "rank"), ("비중", "share"), ("비율", "percentage"),
    ("퍼센트", "percent"), ("점유율", "share"), ("중복 없이", "distinct"), ("서로 다른", "distinct"), ("고유", "distinct"),
    ("증가", "growth"), ("증가율", "growth"), ("성장률", "growth"), ("늘었어", "growth"), ("늘었나요", "growth"), ("비교", "compare"),
    ("대비", "compared with"), ("보다", "than"), ("넘는", "over"), ("넘은", "over"), ("초과", "over"), ("이상", "or more"),
    ("미만", "under"), ("이하", "or less"), ("사이", "between"), ("없는", "no"), ("없이", "without"), ("한 번도", "never"),
    ("안", "not"), ("않은", "not"), ("아닌", "not"), ("제외", "except"), ("1인당", "per customer"), ("인당", "per customer"),
    ("한 명당", "per customer"), ("명당", "per customer"), ("하나씩", "each"),
    // Grouping
    ("별", "by"), ("별로", "by"), ("마다", "each"), ("각", "each"), ("당", "per"), ("기준", "by"), ("기준으로", "by"),
    ("나눠", "breakdown"), ("만", "only"), ("그럼", "what about"), ("는요", "what about"), ("은요", "what about"), ("바꿔줘", "instead"),
    // Time
    ("오늘", "today"), ("어제", "yesterday"), ("이번 주", "this week"), ("이번주", "this week"), ("지난주", "last week"),
    ("지난 주", "last week"), ("이번 달", "this month"), ("이번달", "this month"), ("지난달", "last month"), ("지난 달", "last month"),
    ("전달", "the month before"), ("그 전달", "the month before"), ("이번 분기", "this quarter"), ("지난 분기", "last quarter"),
    ("올해", "this year"), ("작년", "last year"), ("재작년", "2 years ago"), ("내년", "next year"), ("다음 달", "next month"),
    ("최근", "last"), ("지난", "last"), ("들어", "so far"), ("지금까지", "so far"), ("이후", "since"), ("부터", "from"),
    ("까지", "to"), ("일", "days"), ("일간", "days"), ("주", "weeks"), ("주간", "weeks"), ("개월", "months"), ("달", "month"),
    ("월", "month"), ("분기", "quarter"), ("년", "year"), ("상반기", "first half"), ("하반기", "second half"), ("일별", "daily"),
    ("주별", "weekly"), ("월별", "monthly"), ("분기별", "quarterly"), ("연도별", "yearly"), ("연별", "yearly"), ("요일", "day of week"),
    ("요일별", "by day of week"), ("추이", "trend"), ("같은 달", "same month"), ("같은 기간", "same period"), ("같은 분기", "same quarter"), ("같은 주", "same week"), ("같은", "same"), ("동기", "same period"),
    ("완전한", "complete"),
    // Business vocabulary
    ("주문", "orders"), ("주문 수", "number of orders"), ("주문수", "number of orders"), ("주문 건수", "number of orders"),
    ("건수", "number"), ("수", "number"), ("고객", "customers"), ("손님", "customers"), ("구매자", "buyers"), ("회원", "customers"),
    ("상품", "products"), ("제품", "products"), ("품목", "products"), ("카테고리", "category"), ("분류", "category"),
    ("지역", "region"), ("도시", "city"), ("나라", "country"), ("국가", "country"), ("채널", "channel"), ("상태", "status"),
    ("주문 상태", "status"), ("세그먼트", "segment"), ("고객 유형", "segment"), ("유형", "type"), ("산업", "industry"),
    ("업종", "industry"), ("매출", "revenue"), ("매출액", "revenue"), ("판매액", "sales"), ("수익", "revenue"), ("판매", "sales"),
    ("판매량", "units sold"), ("판매 수량", "units sold"), ("팔린", "sold"), ("수량", "quantity"), ("개수", "number"),
    ("금액", "amount"), ("주문 금액", "order amount"), ("가격", "price"), ("단가", "unit price"), ("정가", "list price"),
    ("원가", "unit cost"), ("비용", "cost"), ("이익", "profit"), ("이윤", "profit"), ("마진", "margin"), ("할인", "discount"),
    ("할인된", "discounted"), ("객단가", "average order value"), ("라인", "lines"), ("주문 라인", "order lines"), ("취소", "cancelled"),
    ("취소된", "cancelled"), ("반품", "returned"), ("반품된", "returned"), ("환불", "refunds"), ("배송", "shipped"),
    ("배송 대기", "waiting to be shipped"), ("배송 완료", "delivered"), ("웹", "web"), ("온라인", "online"), ("매장", "store"),
    ("오프라인", "store"), ("전화", "phone"), ("주문한", "ordered"), ("구매한", "bought"), ("구매", "purchases"), ("가입", "signed up"),
    ("가입한", "signed up"), ("신규 고객", "new customers"), ("활성", "active"), ("판매 중", "on sale"), ("판매 중인", "on sale"),
    ("판매중", "on sale"), ("송장", "invoices"), ("청구서", "invoices"), ("인보이스", "invoices"), ("구독", "subscriptions"),
    ("요금제", "plan"), ("플랜", "plan"), ("티켓", "tickets"), ("기업", "enterprise"), ("들어온", "came in"), ("들어왔어", "came in"),
    ("달러", "dollars"), ("원", "won"), ("인가요", ""), ("인", ""), ("가요", ""), ("곳", ""), ("곳씩", "each"), ("곳당", "per"),
    ("고객사", "customers"), ("받은", ""), ("올린", "submitted"), ("남았어", ""), ("남은", ""), ("점수", "score"), ("좀", ""),
    ("해지", "cancelled"), ("해지한", "cancelled"), ("헬스케어", "healthcare"), ("연간", "annual"), ("월간", "monthly"),
    ("결제", "paid"), ("결제된", "paid"), ("쓰는", ""), ("청구", "billed"), ("청구한", "billed"), ("청구 금액", "billings"),
    ("신규", "new"), ("전월", "previous month"), ("전", "before"), ("게", ""), ("것", ""), ("어땠어", ""), ("그중에", "of those"),
    ("그중", "of those"), ("그", ""), ("중인", ""), ("긴급", "urgent"), ("상태인", ""), ("컸던", "largest"), ("큰", "largest"),
    ("명이에요", ""), ("명이야", ""), ("몇 명", "how many"), ("몇 개", "how many"), ("몇 건", "how many"), ("몇 곳", "how many"),
    // Grammar without meaning here
    ("개", ""), ("명", ""), ("건", ""), ("번", ""), ("번째", ""), ("우리", ""), ("저희", ""), ("있는", ""), ("있어", ""), ("있나요", ""),
    ("인가요", ""), ("이에요", ""), ("예요", ""), ("이야", ""), ("이죠", ""), ("이었어", ""), ("였어", ""), ("됐어", ""), ("된", ""),
    ("했어", ""), ("해", ""), ("하는", ""), ("한", ""), ("중에", ""), ("중", ""), ("의", ""), ("그리고", "and"), ("또는", "or"),
    ("랑", "and"), ("이랑", "and"), ("과", "and"), ("와", "and"), ("하나", "1"), ("어떻게", ""), ("돼", ""), ("되나요", ""),
    ("나요", ""), ("인지", ""), ("정도", ""), ("쯤", ""), ("현재", "now"), ("지금", "now"), ("뭐야", "what"), ("몇이야", "how many"),
];

/// Korean particles and endings dropped after a phrase ("매출은", "고객이", "주문을").
const KO_PARTICLES: &[&str] = &[
    "에서는", "으로는", "에서", "으로", "에게", "한테", "까지", "부터", "보다", "처럼", "이랑", "하고", "이나", "이며", "이고", "이에요",
    "예요", "이야", "이죠", "인가요", "입니까", "이다", "은", "는", "이", "가", "을", "를", "의", "에", "로", "와", "과", "도", "만",
    "야", "요", "죠", "나", "랑", "께", "들",
];

/// Korean suffixes that mean "by" or "each" and come after what they qualify ("지역별" = "by region").
const KO_GROUPING_SUFFIX: &[(&str, &str)] = &[("별로", "by"), ("별", "by"), ("마다", "each"), ("당", "per")];

const ZH_DIGITS: &[(char, u32)] =
    &[('零', 0), ('〇', 0), ('一', 1), ('二', 2), ('两', 2), ('三', 3), ('四', 4), ('五', 5), ('六', 6), ('七', 7), ('八', 8), ('九', 9)];

/// The phrase table for one question: the built-in one, with the model's foreign synonyms.
pub struct Foreign {
    phrases: HashMap<String, Reading>,
    longest: usize,
}

impl Foreign {
    pub fn builtin() -> Foreign {
        let mut phrases = HashMap::new();
        for (phrase, words) in ZH.iter().chain(KO) {
            phrases.insert(phrase.replace(' ', ""), Reading::Words(words));
        }
        let longest = phrases.keys().map(|k| k.chars().count()).max().unwrap_or(1);
        Foreign { phrases, longest }
    }

    /// Adds a model item's synonym written in Chinese or Korean; `words` is how it reads.
    pub fn add_item(&mut self, phrase: &str, item: usize, words: &str) {
        let phrase = super::text::normalize(phrase).replace(' ', "");
        if phrase.is_empty() {
            return;
        }
        self.longest = self.longest.max(phrase.chars().count());
        self.phrases.insert(phrase, Reading::Item(item, words.to_string()));
    }

    fn emit(&self, reading: &Reading, out: &mut Vec<Token>) {
        match reading {
            Reading::Words(words) => {
                for w in words.split_whitespace() {
                    match w.parse::<f64>() {
                        Ok(n) => out.push(Token { text: w.to_string(), stem: w.to_string(), kind: Kind::Number(n), item: None }),
                        Err(_) => out.push(Token::word(w)),
                    }
                }
            }
            Reading::Item(item, words) => {
                out.push(Token { text: words.clone(), stem: stem(words), kind: Kind::Word, item: Some(*item) })
            }
        }
    }

    /// The longest phrase starting at `i` (spaces inside Korean phrases may be left out).
    fn longest_at(&self, chars: &[char], i: usize) -> Option<(usize, &Reading)> {
        let mut best = None;
        let mut phrase = String::new();
        let mut j = i;
        while j < chars.len() && phrase.chars().count() < self.longest {
            if chars[j] != ' ' {
                phrase.push(chars[j]);
                if let Some(reading) = self.phrases.get(&phrase) {
                    best = Some((j + 1, reading));
                }
            } else if !is_hangul(chars[i]) {
                break;
            }
            j += 1;
        }
        best
    }

    /// Reads Chinese or Korean text from `i`; returns where reading stopped.
    pub fn read(&self, chars: &[char], i: usize, out: &mut Vec<Token>) -> usize {
        let phrase = self.longest_at(chars, i);
        // A numeral, unless a longer phrase starts with it ("一共", "一下").
        let mut numeral = Vec::new();
        if let Some(end) = self.numeral(chars, i, &mut numeral)
            && phrase.is_none_or(|(p, _)| end >= p)
        {
            out.extend(numeral);
            return end;
        }
        let Some((end, reading)) = phrase else {
            // Nothing explains this character: part of an unknown word.
            let c = chars[i];
            match out.last_mut() {
                Some(last) if last.kind == Kind::Unknown && !(i > 0 && chars[i - 1] == ' ') => last.text.push(c),
                _ => out.push(Token { text: c.to_string(), stem: c.to_string(), kind: Kind::Unknown, item: None }),
            }
            return i + 1;
        };
        let before = out.len();
        self.emit(reading, out);
        if is_hangul(chars[i]) {
            return self.korean_suffixes(chars, end, before, out);
        }
        end
    }

    /// After a Korean phrase: a grouping suffix ("별") goes before the phrase's words, then
    /// particles and endings up to the end of the word are dropped.
    fn korean_suffixes(&self, chars: &[char], mut end: usize, before: usize, out: &mut Vec<Token>) -> usize {
        let rest: String = chars[end..].iter().take_while(|c| is_hangul(**c)).collect();
        for (suffix, marker) in KO_GROUPING_SUFFIX {
            if rest.starts_with(suffix) && self.longest_at(chars, end).is_none_or(|(e, _)| e - end <= suffix.chars().count()) {
                out.insert(before, Token::word(marker));
                end += suffix.chars().count();
                break;
            }
        }
        let rest: String = chars[end..].iter().take_while(|c| is_hangul(**c)).collect();
        if rest.is_empty() {
            return end;
        }
        // A particle only if it ends the word (or another phrase follows it); "만" (only) and
        // "도" (also) say something a follow-up needs.
        for particle in KO_PARTICLES {
            if let Some(after) = rest.strip_prefix(particle) {
                let next = end + particle.chars().count();
                if after.is_empty() || self.longest_at(chars, next).is_some() {
                    match *particle {
                        "만" => out.push(Token::word("only")),
                        "도" => out.push(Token::word("also")),
                        _ => {}
                    }
                    return next;
                }
            }
        }
        end
    }

    /// Chinese numerals ("三", "十二", "二十五", "一百") and a rank or "top" before them.
    fn numeral(&self, chars: &[char], i: usize, out: &mut Vec<Token>) -> Option<usize> {
        let digit = |c: char| ZH_DIGITS.iter().find(|(d, _)| *d == c).map(|(_, v)| *v);
        let mut j = i;
        let mut total = 0u32;
        let mut current = 0u32;
        let mut any = false;
        while j < chars.len() {
            let c = chars[j];
            if let Some(d) = digit(c) {
                current = d;
                any = true;
            } else if c == '十' {
                total += current.max(1) * 10;
                current = 0;
                any = true;
            } else if c == '百' {
                total += current.max(1) * 100;
                current = 0;
                any = true;
            } else {
                break;
            }
            j += 1;
        }
        if !any {
            return None;
        }
        // "十一月", "三月": a month name, not a number.
        if j < chars.len() && chars[j] == '月' && !(j + 1 < chars.len() && chars[j + 1] == '份') {
            let phrase: String = chars[i..=j].iter().collect();
            if let Some(reading) = self.phrases.get(&phrase) {
                self.emit(reading, out);
                return Some(j + 1);
            }
        }
        let n = total + current;
        out.push(Token { text: n.to_string(), stem: n.to_string(), kind: Kind::Number(f64::from(n)), item: None });
        Some(j)
    }
}

#[cfg(test)]
mod tests {
    use super::super::text::tokenize;
    use super::*;

    fn read(q: &str) -> String {
        tokenize(q, &Foreign::builtin()).into_iter().map(|t| t.text).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn chinese() {
        assert_eq!(read("上个月各地区的销售额"), "last month each region sales");
        assert_eq!(read("销售额最高的前三个产品"), "sales highest top 3 products");
        assert_eq!(read("过去7天一共有多少订单"), "last 7 days total how many orders");
        assert_eq!(read("二十五"), "25");
    }

    #[test]
    fn korean() {
        assert_eq!(read("지역별 고객 수 보여줘"), "by region customers number");
        assert_eq!(read("작년 매출 총액은?"), "last year revenue total");
        assert_eq!(read("지난달 카테고리별 매출"), "last month by category revenue");
    }
}
