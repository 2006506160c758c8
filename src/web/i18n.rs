//! The interface's words in zh-CN and English (`templates/i18n.toml`), and the formats of dates
//! and numbers in each language.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};

use crate::http::error::Lang;

/// `key -> (zh, en)`, read once from the table built into the binary.
static MESSAGES: LazyLock<HashMap<String, (String, String)>> = LazyLock::new(|| {
    parse(include_str!("../../templates/i18n.toml")).unwrap_or_else(|e| {
        // The table is part of the binary and checked by a unit test below.
        tracing::error!(error = %e, "templates/i18n.toml does not parse");
        HashMap::new()
    })
});

#[derive(serde::Deserialize)]
struct Entry {
    zh: String,
    en: String,
}

fn parse(text: &str) -> Result<HashMap<String, (String, String)>, toml::de::Error> {
    let table: HashMap<String, Entry> = toml::from_str(text)?;
    Ok(table.into_iter().map(|(k, e)| (k, (e.zh, e.en))).collect())
}

/// The text of `key` in `lang`; the key itself when it is missing (a test keeps that from
/// happening in the shipped templates).
pub fn t(key: &str, lang: Lang) -> String {
    match MESSAGES.get(key) {
        Some((zh, en)) => lang.pick(zh, en).to_string(),
        None => key.to_string(),
    }
}

/// Whether the table has `key`.
pub fn has(key: &str) -> bool {
    MESSAGES.contains_key(key)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `2026年3月31日` or `31 Mar 2026`.
pub fn date(d: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        Lang::En => format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year()),
    }
}

/// A number as people write it: no trailing `.0`, at most two decimals.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let rounded = (x * 100.0).round() / 100.0;
    let s = format!("{rounded:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_every_entry_has_both_languages() {
        let table = parse(include_str!("../../templates/i18n.toml")).expect("parses");
        assert!(table.len() > 50, "{} entries", table.len());
        for (k, (zh, en)) in &table {
            assert!(!zh.trim().is_empty() && !en.trim().is_empty(), "{k}");
        }
    }

    #[test]
    fn every_key_a_template_uses_is_in_the_table() {
        let mut missing = Vec::new();
        for (name, text) in super::super::render::TEMPLATES {
            for key in keys_used(text) {
                if !has(&key) {
                    missing.push(format!("{name}: {key}"));
                }
            }
        }
        assert!(missing.is_empty(), "missing translations: {missing:#?}");
    }

    /// The literal keys of `{{t "key"}}` and `(t "key")` in a template.
    fn keys_used(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for start in ["{{t \"", "(t \""] {
            let mut rest = text;
            while let Some(i) = rest.find(start) {
                rest = &rest[i + start.len()..];
                if let Some(end) = rest.find('"') {
                    out.push(rest[..end].to_string());
                }
            }
        }
        out
    }

    #[test]
    fn dates_and_numbers() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        assert_eq!(date(d, Lang::Zh), "2026年3月31日");
        assert_eq!(date(d, Lang::En), "31 Mar 2026");
        assert_eq!(number(80.0), "80");
        assert_eq!(number(80.5), "80.5");
        assert_eq!(number(2.0 / 3.0), "0.67");
        assert_eq!(number(-0.001), "0");
    }
}
