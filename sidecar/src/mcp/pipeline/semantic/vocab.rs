//! The words a question may use: the model's (tables, measures, dimensions and their values,
//! filters, time dimensions, with synonyms) and the function words of questions about data
//! (how many, average, top, by, share, never …). Phrases are matched by their stems, longest
//! first.

use std::collections::HashMap;

use super::lexicon::Foreign;
use super::model::Model;
use super::text::{Kind, Token};

/// What a word or phrase of a question refers to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Table(usize),
    Measure(usize, usize),
    Dimension(usize, usize),
    /// A value of a dimension (as stored).
    Value(usize, usize, String),
    Filter(usize, usize),
    TimeDimension(usize, usize),
    Word(Func),
}

/// Function words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    /// Ranking from the top (top, best, most, highest …).
    Top,
    /// Ranking from the bottom (bottom, worst, least, fewest …).
    Bottom,
    /// "which", "what … most": a ranking with one winner unless a number says otherwise.
    Which,
    /// "including the ones that left", "legacy ones included": what follows (or precedes
    /// "included") is not a restriction.
    Including,
    By,
    Per,
    Each,
    Share,
    Percent,
    Distinct,
    Not,
    Never,
    Compare,
    Gt,
    Ge,
    Lt,
    Le,
    And,
    List,
    Only,
    Also,
    Instead,
    WhatAbout,
    /// "most expensive", "priciest": the highest price.
    Pricey,
    /// "cheapest", "least expensive".
    Cheap,
    /// "best-selling", "most popular": the most units sold.
    BestSelling,
    /// "highest-grossing", "biggest" (customers, buyers): the most revenue.
    Grossing,
    /// Changing data: refused.
    Write,
    /// Forecasting: refused.
    Forecast,
    /// "new" (customers): the period applies to when they appeared.
    New,
    Currency,
    /// Words that carry no meaning here.
    Filler,
}

/// Function words and phrases of English questions.
const FUNCTION_WORDS: &[(&str, Func)] = &[
    ("including", Func::Including), ("include", Func::Including), ("included", Func::Including), ("includes", Func::Including),
    ("how many", Func::Count), ("number of", Func::Count), ("count", Func::Count), ("count of", Func::Count),
    ("total number of", Func::Count), ("how much", Func::Sum), ("no of", Func::Count), ("amount of", Func::Sum),
    ("total", Func::Sum), ("sum", Func::Sum), ("sum of", Func::Sum), ("altogether", Func::Sum), ("in total", Func::Sum),
    ("overall", Func::Filler), ("combined", Func::Sum), ("cumulative", Func::Sum),
    ("average", Func::Avg), ("avg", Func::Avg), ("mean", Func::Avg), ("typical", Func::Avg), ("on average", Func::Avg),
    ("an average", Func::Avg), ("averages", Func::Avg),
    ("minimum", Func::Min), ("min", Func::Min), ("lowest", Func::Min), ("smallest", Func::Min), ("least", Func::Bottom),
    ("fewest", Func::Bottom), ("worst", Func::Bottom), ("bottom", Func::Bottom), ("poorest", Func::Bottom), ("weakest", Func::Bottom),
    ("maximum", Func::Max), ("max", Func::Max), ("highest", Func::Max), ("largest", Func::Max), ("biggest", Func::Max),
    ("greatest", Func::Max), ("most", Func::Top), ("top", Func::Top), ("best", Func::Top), ("strongest", Func::Top),
    ("leading", Func::Top), ("ranked", Func::Top), ("rank", Func::Top), ("ranking", Func::Top), ("first", Func::Top),
    ("which", Func::Which), ("who", Func::Which), ("whose", Func::Which),
    ("by", Func::By), ("broken down by", Func::By), ("break down by", Func::By), ("split by", Func::By), ("grouped by", Func::By),
    ("group by", Func::By), ("breakdown", Func::By), ("break down", Func::By), ("breakdown by", Func::By), ("split", Func::By),
    ("across", Func::By), ("for each", Func::Each), ("each", Func::Each), ("every", Func::Each), ("in each", Func::Each),
    ("within each", Func::Each), ("per each", Func::Each), ("of each", Func::Each), ("for every", Func::Each), ("in every", Func::Each),
    ("per", Func::Per), ("a", Func::Filler),
    ("share", Func::Share), ("share of", Func::Share), ("proportion", Func::Percent), ("percentage", Func::Percent),
    ("percent", Func::Percent), ("%", Func::Percent), ("fraction", Func::Percent), ("ratio", Func::Percent), ("in percent", Func::Share),
    ("contribute", Func::Share), ("contribution", Func::Share), ("split across", Func::Share), ("distribution", Func::Share),
    ("unique", Func::Distinct), ("distinct", Func::Distinct), ("different", Func::Distinct), ("separate", Func::Distinct),
    ("not", Func::Not), ("non", Func::Not), ("excluding", Func::Not), ("except", Func::Not), ("other than", Func::Not),
    ("without", Func::Never), ("never", Func::Never), ("no", Func::Never), ("nothing", Func::Never), ("any", Func::Filler),
    ("compare", Func::Compare), ("compared", Func::Compare), ("comparison", Func::Compare), ("versus", Func::Compare),
    ("vs", Func::Compare), ("against", Func::Compare), ("than", Func::Compare), ("growth", Func::Compare), ("grow", Func::Compare),
    ("increase", Func::Compare), ("change", Func::Compare), ("difference", Func::Compare), ("did more", Func::Compare),
    ("over", Func::Gt), ("above", Func::Gt), ("more than", Func::Gt), ("greater than", Func::Gt), ("exceeding", Func::Gt),
    ("higher than", Func::Gt), ("bigger than", Func::Gt), ("larger than", Func::Gt), ("at least", Func::Ge), ("or more", Func::Ge),
    ("under", Func::Lt), ("below", Func::Lt), ("less than", Func::Lt), ("lower than", Func::Lt), ("cheaper than", Func::Lt),
    ("smaller than", Func::Lt), ("at most", Func::Le), ("or less", Func::Le), ("up to", Func::Le),
    ("and", Func::And), ("as well", Func::Also), ("also", Func::Also), ("too", Func::Also), ("as well as", Func::And), ("plus", Func::And),
    ("list", Func::List), ("list of", Func::List), ("show", Func::Filler), ("only", Func::Only), ("just", Func::Only),
    ("instead", Func::Instead), ("rather", Func::Instead), ("what about", Func::WhatAbout), ("how about", Func::WhatAbout),
    ("and for", Func::WhatAbout),
    ("most expensive", Func::Pricey), ("priciest", Func::Pricey), ("expensive", Func::Pricey), ("pricey", Func::Pricey),
    ("costliest", Func::Pricey), ("cheapest", Func::Cheap), ("least expensive", Func::Cheap), ("cheap", Func::Cheap),
    ("inexpensive", Func::Cheap), ("best selling", Func::BestSelling), ("top selling", Func::BestSelling),
    ("bestselling", Func::BestSelling), ("bestseller", Func::BestSelling), ("bestsellers", Func::BestSelling),
    ("most popular", Func::BestSelling), ("popular", Func::BestSelling), ("worst selling", Func::Bottom),
    ("highest grossing", Func::Grossing), ("top grossing", Func::Grossing), ("grossing", Func::Grossing),
    ("biggest spender", Func::Grossing), ("biggest spenders", Func::Grossing),
    ("delete", Func::Write), ("remove", Func::Write), ("update", Func::Write), ("insert", Func::Write), ("drop", Func::Write),
    ("truncate", Func::Write), ("raise", Func::Write), ("lower", Func::Write), ("change the", Func::Write), ("set", Func::Write),
    ("modify", Func::Write), ("edit", Func::Write), ("rename", Func::Write), ("create", Func::Write), ("add a", Func::Write),
    ("predict", Func::Forecast), ("forecast", Func::Forecast), ("projection", Func::Forecast), ("project", Func::Forecast),
    ("will", Func::Forecast), ("going to", Func::Forecast), ("expected", Func::Forecast), ("estimate", Func::Forecast),
    ("new", Func::New),
    ("volume", Func::Count), ("portion", Func::Share), ("what portion", Func::Share), ("add up to", Func::Sum), ("adds up to", Func::Sum),
    ("$", Func::Currency), ("usd", Func::Currency), ("dollar", Func::Currency), ("dollars", Func::Currency), ("€", Func::Currency),
    ("eur", Func::Currency), ("euro", Func::Currency), ("euros", Func::Currency), ("£", Func::Currency), ("¥", Func::Currency),
    ("₩", Func::Currency), ("bucks", Func::Currency),
];

/// Words that say nothing the answer must reflect.
const FILLER: &[&str] = &[
    "the", "an", "of", "for", "in", "on", "at", "to", "from", "with", "is", "are", "was", "were", "be", "been", "being", "do", "does",
    "did", "done", "doing", "we", "i", "me", "my", "our", "us", "you", "your", "they", "them", "their", "it", "its", "this", "that",
    "these", "those", "there", "here", "have", "has", "had", "having", "get", "got", "gets", "give", "gives", "show", "shows",
    "tell", "find", "display", "see", "look", "let", "know", "please", "can", "could", "would", "should", "shall", "may", "might",
    "must", "need", "want", "like", "kindly", "so", "far", "now", "currently", "right", "ever", "all", "whole", "entire", "far",
    "as", "into", "out", "up", "down", "about", "over", "within", "during", "since", "how", "when", "where", "why", "whom",
    "if", "then", "than", "or", "both", "either", "just", "some", "any", "every", "own", "same", "such", "via", "through",
    "recorded", "record", "records", "data", "database", "figure", "figures", "number", "numbers", "value", "values", "amount",
    "level", "stats", "statistic", "statistics", "metric", "metrics", "report", "summary", "overview", "details", "detail", "info",
    "information", "breakdown", "view", "much", "many", "ones", "one", "thing", "things", "stuff", "something", "anything",
    "everything", "happen", "happened", "come", "came", "comes", "coming", "go", "goes", "went", "gone", "make", "makes", "made",
    "making", "take", "takes", "took", "taken", "put", "brought", "bring", "brings", "generate", "generated", "generates",
    "earn", "earned", "earns", "place", "placed", "places", "placing", "receive", "received", "receives", "sell", "sold", "sells",
    "selling", "buy", "bought", "buys", "buying", "purchase", "purchased", "purchases", "purchasing", "spend", "spent", "spends",
    "ship", "shipped", "ordered", "pay", "paid", "live", "lives", "living", "based", "located", "operate", "operating",
    "signed", "sign", "signup", "signups", "joined", "join", "registered", "register", "belong", "belongs", "in",
    "each", "altogether", "currently", "today",
    "ago", "far", "yet", "still", "already", "again", "instead", "else", "other", "others", "another", "them", "those", "it",
    "per", "individual", "single", "some", "kind", "kinds", "type", "types", "sort", "sorted",
    "descending", "ascending", "highest first", "in order", "along", "alongside", "together", "plus", "respectively", "split", "spread", "distributed", "look like", "looks", "trend", "trends", "going",
    "what's", "whats", "whose", "which", "what", "who", "a", "please", "thanks", "thank", "hey", "hi", "quick", "quickly",
    "exactly", "roughly", "approximately", "about", "around", "currently", "actually", "really", "also", "too", "well", "across all",
    "across the", "in all", "for all", "of all", "all of", "catalog", "catalogue", "system", "on record", "on file", "in the system",
    "current", "right now", "at the moment", "sit", "sits", "given out", "given", "ever", "end up", "ends up", "using", "use", "uses",
    "compare", "pull", "fetch", "bring up", "run", "give me", "show me", "tell me", "i need", "i want", "let me know",
];

/// One phrase of the vocabulary: its words and their stems.
struct Entry {
    stems: Vec<String>,
    words: Vec<String>,
    targets: Vec<Target>,
}

/// Whether two words with the same stem are inflections of one word ("order", "orders",
/// "ordered"; "city", "cities"), not derivations that mean something else ("rate", "rating";
/// "bill", "billings").
fn inflections(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let prefix = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let (ra, rb): (String, String) = (a.chars().skip(prefix).collect(), b.chars().skip(prefix).collect());
    const ENDINGS: &[&str] = &["", "s", "es", "ed", "d", "ing", "er", "ers"];
    let plain = ENDINGS.contains(&ra.as_str()) && ENDINGS.contains(&rb.as_str());
    let y = |x: &str, z: &str| x == "y" && matches!(z, "ies" | "ied");
    plain || y(&ra, &rb) || y(&rb, &ra)
}

/// The vocabulary of one question's dataset.
pub struct Vocabulary {
    /// Phrases by first stem.
    entries: HashMap<String, Vec<Entry>>,
    /// What Chinese and Korean words read as (built in, with the model's foreign synonyms).
    pub foreign: Foreign,
}

/// A matched phrase: the tokens it spans and what it may mean.
#[derive(Debug, Clone)]
pub struct Mention {
    pub at: usize,
    pub len: usize,
    pub targets: Vec<Target>,
}

impl Mention {
    pub fn func(&self) -> Option<Func> {
        self.targets.iter().find_map(|t| if let Target::Word(f) = t { Some(*f) } else { None })
    }

    pub fn model(&self) -> impl Iterator<Item = &Target> {
        self.targets.iter().filter(|t| !matches!(t, Target::Word(_)))
    }
}

fn words_of(name: &str) -> String {
    name.replace(['_', '-'], " ")
}

fn is_foreign(phrase: &str) -> bool {
    phrase.chars().any(|c| !c.is_ascii())
}

/// The column an expression is, when it is one column of its table (`orders.total_amount`).
fn plain_column<'a>(expr: &'a str, table: &str) -> Option<&'a str> {
    let column = expr.trim().strip_prefix(table)?.strip_prefix('.')?;
    column.chars().all(|c| c.is_ascii_alphanumeric() || c == '_').then_some(column)
}

impl Vocabulary {
    /// The vocabulary of a model, with the values of its dimensions as the asker may see them.
    pub fn new(model: &Model, values: &HashMap<(usize, usize), Vec<String>>) -> Vocabulary {
        let mut v = Vocabulary { entries: HashMap::new(), foreign: Foreign::builtin() };
        for (phrase, func) in FUNCTION_WORDS {
            v.add(phrase, Target::Word(*func));
        }
        for phrase in FILLER {
            v.add(phrase, Target::Word(Func::Filler));
        }
        for (t, table) in model.tables().iter().enumerate() {
            v.add(&words_of(&table.name), Target::Table(t));
            for s in &table.synonyms {
                v.add_any(s, Target::Table(t));
            }
            for (i, m) in table.measures.iter().enumerate() {
                // A derived count is the table itself ("how many orders").
                let is_table_count = m.expr.trim() == "count(*)" && m.name == table.name;
                if !is_table_count {
                    v.add(&words_of(&m.name), Target::Measure(t, i));
                }
                for s in &m.synonyms {
                    v.add_any(s, Target::Measure(t, i));
                }
                // A fact a DBA renamed is still called by its column's name ("total amount"),
                // unless that name is one generic word ("amount"), which many tables share.
                if m.fact
                    && let Some(column) = plain_column(&m.expr, &table.name).filter(|c| c.contains('_'))
                {
                    v.add(&words_of(column), Target::Measure(t, i));
                }
            }
            for (i, d) in table.dimensions.iter().enumerate() {
                // The column that names a row is the table itself ("by product").
                if table.label.as_deref() != Some(d.name.as_str()) {
                    v.add(&words_of(&d.name), Target::Dimension(t, i));
                }
                for s in &d.synonyms {
                    v.add_any(s, Target::Dimension(t, i));
                }
                if table.label.as_deref() != Some(d.name.as_str())
                    && let Some(column) = plain_column(&d.expr, &table.name)
                {
                    v.add(&words_of(column), Target::Dimension(t, i));
                }
                for (value, synonyms) in &d.value_synonyms {
                    for s in synonyms {
                        v.add_any(s, Target::Value(t, i, value.clone()));
                    }
                }
                if let Some(list) = values.get(&(t, i)) {
                    for value in list {
                        if !value.trim().is_empty() && value.len() <= 100 {
                            v.add_any(value, Target::Value(t, i, value.clone()));
                        }
                    }
                }
            }
            for (i, f) in table.filters.iter().enumerate() {
                v.add(&words_of(&f.name), Target::Filter(t, i));
                for s in &f.synonyms {
                    v.add_any(s, Target::Filter(t, i));
                }
            }
            for (i, d) in table.time_dimensions.iter().enumerate() {
                let words = words_of(&d.name);
                v.add(&words, Target::TimeDimension(t, i));
                // "signed up on" is also said "signed up"; "ordered at", "ordered".
                for suffix in [" at", " on", " date", " time", " day"] {
                    if let Some(short) = words.strip_suffix(suffix) {
                        v.add(short, Target::TimeDimension(t, i));
                    }
                }
                for s in &d.synonyms {
                    v.add_any(s, Target::TimeDimension(t, i));
                }
            }
        }
        v
    }

    /// A phrase in English, or in Chinese or Korean (read through the phrase table).
    fn add_any(&mut self, phrase: &str, target: Target) {
        if is_foreign(phrase) {
            // The foreign reading stands for this target directly; the English words it is
            // given are the target's own.
            let index = self.targets_len();
            self.foreign.add_item(phrase, index, &format!("@{index}"));
            self.add(&format!("@{index}"), target);
        } else {
            self.add(phrase, target);
        }
    }

    fn targets_len(&self) -> usize {
        self.entries.values().map(Vec::len).sum()
    }

    fn add(&mut self, phrase: &str, target: Target) {
        let (stems, words) = if phrase.starts_with('@') {
            (vec![phrase.to_string()], vec![phrase.to_string()])
        } else {
            let tokens = super::text::phrase_tokens(phrase);
            (tokens.iter().map(|t| t.stem.clone()).collect::<Vec<_>>(), tokens.iter().map(|t| t.text.clone()).collect())
        };
        if stems.is_empty() {
            return;
        }
        let list = self.entries.entry(stems[0].clone()).or_default();
        match list.iter_mut().find(|e| e.words == words) {
            Some(entry) if !entry.targets.contains(&target) => entry.targets.push(target),
            Some(_) => {}
            None => list.push(Entry { stems, words, targets: vec![target] }),
        }
    }

    /// The longest phrase at token i (skipping tokens already used).
    pub fn longest_at(&self, tokens: &[Token], i: usize, used: &[bool]) -> Option<Mention> {
        let key = match tokens[i].item {
            Some(item) => format!("@{item}"),
            None => tokens[i].stem.clone(),
        };
        let candidates = self.entries.get(&key)?;
        // Every entry with the longest match, merged (an English word may be several things).
        let mut best: Option<(usize, Vec<Target>)> = None;
        let mut best_exact = false;
        // A measure named by a word that also starts a function phrase ("amount" in "amount of")
        // is the measure: the model's own names come before the general phrase.
        let mut measure: Option<(usize, Vec<Target>)> = None;
        for entry in candidates {
            let n = entry.stems.len();
            if i + n > tokens.len() || used[i..i + n].iter().any(|u| *u) {
                continue;
            }
            let matches = entry.stems.iter().zip(&entry.words).enumerate().all(|(k, (s, w))| {
                let t = &tokens[i + k];
                match t.item {
                    Some(item) => &format!("@{item}") == s,
                    None if t.kind != Kind::Word => &t.text == s,
                    None => &t.stem == s && inflections(&t.text, w),
                }
            });
            if !matches {
                continue;
            }
            if entry.targets.iter().any(|t| matches!(t, Target::Measure(..))) && measure.as_ref().is_none_or(|(len, _)| *len < n) {
                measure = Some((n, entry.targets.clone()));
            }
            // Words as written beat inflected ones ("invoice amount" is the measure of that name
            // before the one also called "invoiced amount").
            let exact = (0..n).all(|k| tokens[i + k].item.is_some() || tokens[i + k].text == entry.words[k]);
            match &mut best {
                Some((len, targets)) if *len == n && exact == best_exact => {
                    for t in &entry.targets {
                        if !targets.contains(t) {
                            targets.push(t.clone());
                        }
                    }
                }
                Some((len, _)) if *len > n || *len == n && best_exact => {}
                _ => {
                    best = Some((n, entry.targets.clone()));
                    best_exact = exact;
                }
            }
        }
        if let (Some((_, targets)), Some(m)) = (&best, &measure)
            && targets.iter().all(|t| matches!(t, Target::Word(_)))
        {
            best = Some(m.clone());
        }
        best.map(|(len, targets)| Mention { at: i, len, targets })
    }
}

/// Whether a word is one the question may leave unexplained.
pub fn is_filler(token: &Token) -> bool {
    token.kind == Kind::Word && FILLER.contains(&token.text.as_str())
}
