//! Exports of the annual review (述职评议): a workbook (`review_xlsx`) and CSV files
//! (`review_csv`), both laid out by `table` (the columns and each row's cells, in Chinese or
//! English). Pure apart from the bytes they write: the caller reads the review and its
//! projects (`App::annual_review`, `App::review_projects`) and decides where the bytes go.
//!
//! Rows are written one at a time as they are laid out, so that a year of a hundred thousand
//! projects is never held twice; an optional [`Progress`] callback hears how far it got.

pub mod review_csv;
pub mod review_xlsx;
pub mod table;

use std::fmt;

pub use review_csv::{projects_csv, review_csv, write_projects_csv, write_review_csv};
pub use review_xlsx::{review_workbook, write_review_workbook};

/// Told (rows written, rows in all) as an export goes; called every few hundred rows and once
/// at the end.
pub type Progress<'a> = Option<&'a mut dyn FnMut(u64, u64)>;

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("unknown export format “{0}”; accepted: xlsx, csv")]
    UnknownFormat(String),
    #[error("the definition has no annual review")]
    NoAnnualReview,
    #[error("cannot write the workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("cannot write the CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
}

/// The file formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
}

impl Format {
    /// `xlsx` or `csv` (any case, surrounding spaces ignored).
    pub fn parse(s: &str) -> Result<Format, ExportError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "xlsx" => Ok(Format::Xlsx),
            "csv" => Ok(Format::Csv),
            _ => Err(ExportError::UnknownFormat(s.to_string())),
        }
    }

    /// The media type to serve it as.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// The file name of the review of definition `key`'s `year`, e.g.
/// `secretary_project-2026-annual-review.xlsx`. Characters other than ASCII letters, digits,
/// `_` and `-` in the key become `_`, so that the name is safe in a path and a header.
pub fn file_name(key: &str, year: i32, format: Format) -> String {
    let key: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{key}-{year}-annual-review.{}", format.extension())
}

/// Calls `progress` every `EVERY` rows and at the last one.
pub(crate) struct Ticker<'a> {
    progress: Progress<'a>,
    done: u64,
    total: u64,
}

impl<'a> Ticker<'a> {
    const EVERY: u64 = 500;

    pub(crate) fn new(progress: Progress<'a>, total: u64) -> Self {
        let mut t = Ticker {
            progress,
            done: 0,
            total,
        };
        t.tell();
        t
    }

    fn tell(&mut self) {
        if let Some(p) = self.progress.as_mut() {
            p(self.done, self.total);
        }
    }

    /// One more row written.
    pub(crate) fn tick(&mut self) {
        self.done += 1;
        if self.done.is_multiple_of(Self::EVERY) || self.done == self.total {
            self.tell();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_name_their_files() {
        assert_eq!(Format::parse("xlsx").unwrap(), Format::Xlsx);
        assert_eq!(Format::parse(" CSV ").unwrap(), Format::Csv);
        let e = Format::parse("pdf").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("pdf") && text.contains("xlsx") && text.contains("csv"));
        assert_eq!(Format::Csv.extension(), "csv");
        assert!(Format::Csv.content_type().starts_with("text/csv"));
        assert!(Format::Xlsx.content_type().contains("spreadsheetml"));
        assert_eq!(
            file_name("secretary_project", 2026, Format::Xlsx),
            "secretary_project-2026-annual-review.xlsx"
        );
        assert_eq!(
            file_name("a/../b c", 2025, Format::Csv),
            "a____b_c-2025-annual-review.csv"
        );
    }

    #[test]
    fn the_ticker_tells_every_few_hundred_rows_and_at_the_end() {
        let mut heard = Vec::new();
        {
            let mut f = |d: u64, t: u64| heard.push((d, t));
            let mut t = Ticker::new(Some(&mut f), 1200);
            for _ in 0..1200 {
                t.tick();
            }
        }
        assert_eq!(
            heard,
            vec![(0, 1200), (500, 1200), (1000, 1200), (1200, 1200)]
        );
    }
}
