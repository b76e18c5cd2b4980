//! A question as words: normalised (NFKC, lower case), split into words, numbers and symbols,
//! English words stemmed (Snowball) for matching, numbers written in words made numbers, and
//! Chinese and Korean read through a phrase table into the same English words (see
//! [`super::lexicon`]), so that every language reaches the same interpretation.

use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;

use super::lexicon::Foreign;

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Word,
    Number(f64),
    /// `$`, `%`, `€` …
    Symbol(char),
    /// Chinese or Korean text that no phrase explains.
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The word as written (lower case), or its English reading for Chinese and Korean.
    pub text: String,
    /// What matching compares: the Snowball stem of an English word.
    pub stem: String,
    pub kind: Kind,
    /// A model item this word stands for directly (a Chinese or Korean synonym a DBA gave).
    pub item: Option<usize>,
}

impl Token {
    pub fn word(text: &str) -> Token {
        Token { text: text.to_string(), stem: stem(text), kind: Kind::Word, item: None }
    }

    fn number(value: f64, text: &str) -> Token {
        Token { text: text.to_string(), stem: text.to_string(), kind: Kind::Number(value), item: None }
    }

    pub fn number_value(&self) -> Option<f64> {
        match self.kind {
            Kind::Number(n) => Some(n),
            _ => None,
        }
    }

    pub fn is(&self, word: &str) -> bool {
        self.kind == Kind::Word && (self.text == word || self.stem == word)
    }
}

fn stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// The matching key of an English word.
pub fn stem(word: &str) -> String {
    if word.chars().any(|c| !c.is_ascii()) {
        return word.to_string();
    }
    stemmer().stem(word).into_owned()
}

/// The words of a phrase (as a DBA or the lexicon wrote it), for matching.
pub fn phrase_tokens(phrase: &str) -> Vec<Token> {
    english_words(&normalize(phrase))
}

pub fn normalize(text: &str) -> String {
    text.nfkc().collect::<String>().to_lowercase()
}

const SMALL: [&str; 20] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen",
    "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
];
const TENS: [&str; 8] = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const ORDINALS: [&str; 12] =
    ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth"];

/// A number written as a word ("three", "twenty", "dozen"); ordinals are kept as words (they
/// also mean things: "first quarter", "second half").
fn number_word(word: &str) -> Option<f64> {
    if let Some(n) = SMALL.iter().position(|w| *w == word) {
        return Some(n as f64);
    }
    if let Some(n) = TENS.iter().position(|w| *w == word) {
        return Some((n as f64 + 2.0) * 10.0);
    }
    match word {
        "dozen" => Some(12.0),
        "hundred" => Some(100.0),
        "thousand" => Some(1000.0),
        _ => None,
    }
}

/// The number of an ordinal word ("third" → 3, "3rd" → 3).
pub fn ordinal(word: &str) -> Option<u32> {
    if let Some(n) = ORDINALS.iter().position(|w| *w == word) {
        return Some(n as u32 + 1);
    }
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &word[digits.len()..];
    (matches!(suffix, "st" | "nd" | "rd" | "th") && !digits.is_empty()).then(|| digits.parse().ok()).flatten()
}

/// Splits English (and any Latin-script) text into tokens.
fn english_words(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // An ISO date stays one word ("2026-07-01").
        if c.is_ascii_digit() && i + 10 <= chars.len() {
            let candidate: String = chars[i..i + 10].iter().collect();
            let b = candidate.as_bytes();
            if b[4] == b'-' && b[7] == b'-' && candidate.chars().filter(char::is_ascii_digit).count() == 8
                && chars.get(i + 10).is_none_or(|c| !c.is_ascii_digit())
            {
                out.push(Token::word(&candidate));
                i += 10;
                continue;
            }
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            // A number: digits with thousands separators and a decimal part; "1st", "2nd" and
            // "q2" style words are read below as words.
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || ((chars[i] == ',' || chars[i] == '.') && chars.get(i + 1).is_some_and(char::is_ascii_digit))) {
                i += 1;
            }
            let mut end = i;
            // A suffix glued to the number: "1st", "10k", "5m", "2026-03-01" is left to the time parser.
            while end < chars.len() && chars[end].is_ascii_alphabetic() {
                end += 1;
            }
            let digits: String = chars[start..i].iter().filter(|c| **c != ',').collect();
            let suffix: String = chars[i..end].iter().collect();
            match (digits.parse::<f64>(), suffix.as_str()) {
                (Ok(n), "") => out.push(Token::number(n, &digits)),
                (Ok(n), "k") => out.push(Token::number(n * 1000.0, &format!("{digits}k"))),
                (Ok(n), "m" | "mm") => out.push(Token::number(n * 1_000_000.0, &format!("{digits}m"))),
                (_, s) if matches!(s, "st" | "nd" | "rd" | "th") => out.push(Token::word(&format!("{digits}{s}"))),
                (Ok(n), _) => {
                    out.push(Token::number(n, &digits));
                    out.push(Token::word(&suffix));
                }
                _ => out.push(Token::word(&format!("{digits}{suffix}"))),
            }
            i = end;
            continue;
        }
        if c.is_alphanumeric() {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || (chars[i] == '\'' && chars.get(i + 1).is_some_and(|n| n.is_alphabetic()))) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // Possessives and contractions: "month's" → "month", "what's" → "what", "didn't" → "did not".
            let word = if let Some(base) = word.strip_suffix("n't") {
                out.push(Token::word(if base == "ca" { "can" } else if base == "wo" { "will" } else { base }));
                "not".to_string()
            } else {
                word.split('\'').next().unwrap_or_default().to_string()
            };
            if word.is_empty() {
                continue;
            }
            match number_word(&word) {
                Some(n) => out.push(Token::number(n, &word)),
                None => out.push(Token::word(&word)),
            }
            continue;
        }
        if matches!(c, '$' | '%' | '€' | '£' | '¥' | '₩' | '>' | '<' | '=') {
            out.push(Token { text: c.to_string(), stem: c.to_string(), kind: Kind::Symbol(c), item: None });
        }
        i += 1;
    }
    merge_compound_numbers(out)
}

/// "twenty five" → 25, "two hundred" → 200, "3 thousand" → 3000.
fn merge_compound_numbers(tokens: Vec<Token>) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    for token in tokens {
        if let (Some(prev), Some(n)) = (out.last_mut(), token.number_value()) {
            if let Some(p) = prev.number_value() {
                let merged = if (n == 100.0 || n == 1000.0) && p < n {
                    Some(p * n)
                } else if p >= 20.0 && p % 10.0 == 0.0 && p < 100.0 && n < 10.0 && token.text.chars().all(char::is_alphabetic) {
                    Some(p + n)
                } else {
                    None
                };
                if let Some(m) = merged {
                    prev.kind = Kind::Number(m);
                    prev.text = format!("{m}");
                    prev.stem = prev.text.clone();
                    continue;
                }
            }
        }
        out.push(token);
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff | 0xac00..=0xd7af | 0x1100..=0x11ff | 0x3130..=0x318f)
}

pub fn is_hangul(c: char) -> bool {
    matches!(c as u32, 0xac00..=0xd7af | 0x1100..=0x11ff | 0x3130..=0x318f)
}

/// Whether a question is written (mostly) in Chinese or Korean.
pub fn has_cjk(text: &str) -> bool {
    text.chars().any(is_cjk)
}

/// The question as tokens. Latin text is split and stemmed; Chinese and Korean runs are read
/// phrase by phrase through `foreign` (longest match first), Korean particles after a phrase
/// are dropped, and what no phrase explains becomes an Unknown token.
pub fn tokenize(question: &str, foreign: &Foreign) -> Vec<Token> {
    let text = normalize(question);
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut latin = String::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_cjk(chars[i]) {
            latin.push(chars[i]);
            i += 1;
            continue;
        }
        if !latin.is_empty() {
            out.extend(english_words(&std::mem::take(&mut latin)));
        }
        i = foreign.read(&chars, i, &mut out);
    }
    if !latin.is_empty() {
        out.extend(english_words(&latin));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(q: &str) -> Vec<String> {
        tokenize(q, &Foreign::builtin()).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn english() {
        assert_eq!(texts("What's last month's revenue?"), ["what", "last", "month", "revenue"]);
        assert_eq!(texts("orders over $1,500.50"), ["orders", "over", "$", "1500.50"]);
        assert_eq!(texts("top twenty five products"), ["top", "25", "products"]);
        assert_eq!(texts("best-selling 3rd"), ["best", "selling", "3rd"]);
        assert_eq!(texts("didn't ship"), ["did", "not", "ship"]);
        assert_eq!(stem("customers"), stem("customer"));
        assert_eq!(ordinal("third"), Some(3));
        assert_eq!(ordinal("2nd"), Some(2));
    }
}
