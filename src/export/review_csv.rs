//! The review as CSV: UTF-8 with a byte order mark (so that Excel opens the Chinese text as
//! UTF-8), a header line and one line per person (the summary) or per project (the detail),
//! in the columns of the workbook's sheets (`table`); figures with two decimals.

use std::io::Write;

use super::table::{self, Cell, Column, Names};
use super::{ExportError, Progress, Ticker};
use crate::app::review::{ExplainedProject, YearReview};
use crate::workflow::Workflow;

/// The byte order mark of UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

fn write_table<W: Write>(
    out: W,
    columns: &[Column],
    rows: impl ExactSizeIterator<Item = Vec<Cell>>,
    progress: Progress,
) -> Result<(), ExportError> {
    let mut out = out;
    out.write_all(BOM)?;
    let mut ticker = Ticker::new(progress, rows.len() as u64);
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(columns.iter().map(|c| c.header.as_str()))?;
    for row in rows {
        csv.write_record(row.iter().map(Cell::to_text))?;
        ticker.tick();
    }
    csv.flush()?;
    Ok(())
}

/// Write the summary (one line per person of `review`) to `out`.
pub fn write_review_csv<W: Write>(
    w: &Workflow,
    review: &YearReview,
    lang: &str,
    out: W,
    progress: Progress,
) -> Result<(), ExportError> {
    write_table(
        out,
        &table::summary_columns(w, lang),
        review.rows.iter().map(|r| table::summary_row(w, r, lang)),
        progress,
    )
}

/// Write the project detail (one line per project of `projects`) to `out`.
pub fn write_projects_csv<W: Write>(
    w: &Workflow,
    review: &YearReview,
    projects: &[ExplainedProject],
    lang: &str,
    out: W,
    progress: Progress,
) -> Result<(), ExportError> {
    let names = Names::of(review);
    write_table(
        out,
        &table::project_columns(lang),
        projects
            .iter()
            .map(|p| table::project_row(w, &names, p, lang)),
        progress,
    )
}

/// Writing to memory fails only where the rows do not fit the header, which `table` rules out.
fn in_memory(write: impl FnOnce(&mut Vec<u8>) -> Result<(), ExportError>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Err(e) = write(&mut out) {
        unreachable!("a CSV written to memory cannot fail: {e}");
    }
    out
}

/// The summary as CSV in memory.
pub fn review_csv(w: &Workflow, review: &YearReview, lang: &str) -> Vec<u8> {
    in_memory(|out| write_review_csv(w, review, lang, out, None))
}

/// The project detail as CSV in memory.
pub fn projects_csv(
    w: &Workflow,
    review: &YearReview,
    projects: &[ExplainedProject],
    lang: &str,
) -> Vec<u8> {
    in_memory(|out| write_projects_csv(w, review, projects, lang, out, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::table::tests::{sample_projects, sample_review};

    fn records(bytes: &[u8]) -> Vec<Vec<String>> {
        assert_eq!(&bytes[..3], BOM);
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&bytes[3..])
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn the_summary_csv_has_the_bom_the_headers_and_a_line_per_person() {
        let w = crate::workflow::default_workflow();
        let review = sample_review();
        let lines = records(&review_csv(&w, &review, "zh"));
        assert_eq!(lines.len(), 3);
        let headers: Vec<String> = table::summary_columns(&w, "zh")
            .into_iter()
            .map(|c| c.header)
            .collect();
        assert_eq!(lines[0], headers);
        assert_eq!(lines[1][0], "1");
        assert_eq!(lines[1][2], "张三");
        assert_eq!(lines[1][3], "93.00");
        assert_eq!(lines[2][10], "项目得分、党建工作述职");
    }

    #[test]
    fn the_project_csv_quotes_what_needs_quoting() {
        let w = crate::workflow::default_workflow();
        let review = sample_review();
        let mut projects = sample_projects();
        projects[0].project.title = "停车, \"共享\"".into();
        let bytes = projects_csv(&w, &review, &projects, "en");
        let lines = records(&bytes);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0][0], "No.");
        assert_eq!(lines[1][1], "停车, \"共享\"");
        assert_eq!(lines[2][8], "Not counted");
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert!(text.contains("\"停车, \"\"共享\"\"\""), "{text}");
    }

    #[test]
    fn progress_reaches_the_last_line() {
        let w = crate::workflow::default_workflow();
        let review = sample_review();
        let mut heard = Vec::new();
        let mut out = Vec::new();
        {
            let mut f = |d: u64, t: u64| heard.push((d, t));
            write_projects_csv(
                &w,
                &review,
                &sample_projects(),
                "zh",
                &mut out,
                Some(&mut f),
            )
            .unwrap();
        }
        assert_eq!(heard, vec![(0, 2), (2, 2)]);
    }
}
