//! The review as a workbook: the summary (述职评议汇总), the projects (项目明细), the item
//! entries (评议项) and the year in figures (年度数据), each with a bold, filled and bordered
//! header row frozen in place, an autofilter, set column widths, and figures as numbers with
//! two decimals. The tables' contents come from `table`.
//!
//! Each sheet is written in constant-memory mode: a row goes to a temporary file as soon as
//! the next one starts, so a year of a hundred thousand projects is not held again as cells.

use std::io::{Cursor, Write};

use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet};

use super::table::{self, Cell, Column, Names};
use super::{ExportError, Progress, Ticker};
use crate::app::review::{ExplainedProject, YearReview};
use crate::workflow::Workflow;

/// The whole workbook in memory (see [`write_review_workbook`]).
pub fn review_workbook(
    w: &Workflow,
    review: &YearReview,
    projects: &[ExplainedProject],
    lang: &str,
) -> Result<Vec<u8>, ExportError> {
    let mut out = Cursor::new(Vec::new());
    write_review_workbook(w, review, projects, lang, &mut out, None)?;
    Ok(out.into_inner())
}

struct Formats {
    title: Format,
    header: Format,
    number: Format,
}

impl Formats {
    fn new() -> Self {
        Formats {
            title: Format::new().set_bold().set_font_size(14),
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0xDDEBF7))
                .set_border(FormatBorder::Thin)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_text_wrap(),
            number: Format::new().set_num_format("0.00"),
        }
    }
}

/// Where a table is written: the sheet and the row of its header.
struct Table<'s> {
    sheet: &'s mut Worksheet,
    header_row: u32,
    columns: usize,
    next: u32,
}

impl<'s> Table<'s> {
    /// The header row at `header_row` with the columns' widths, frozen below it.
    fn start(
        sheet: &'s mut Worksheet,
        header_row: u32,
        columns: &[Column],
        f: &Formats,
    ) -> Result<Self, ExportError> {
        for (c, column) in (0u16..).zip(columns) {
            sheet.set_column_width(c, column.width)?;
            sheet.write_string_with_format(header_row, c, &column.header, &f.header)?;
        }
        sheet.set_freeze_panes(header_row + 1, 0)?;
        Ok(Table {
            sheet,
            header_row,
            columns: columns.len(),
            next: header_row + 1,
        })
    }

    fn row(&mut self, cells: &[Cell], f: &Formats) -> Result<(), ExportError> {
        let r = self.next;
        for (c, cell) in (0u16..).zip(cells) {
            match cell {
                Cell::Text(s) if !s.is_empty() => {
                    self.sheet.write_string(r, c, s)?;
                }
                Cell::Int(i) => {
                    self.sheet.write_number(r, c, *i as f64)?;
                }
                Cell::Num(n) => {
                    self.sheet.write_number_with_format(r, c, *n, &f.number)?;
                }
                Cell::Text(_) | Cell::Empty => {}
            }
        }
        self.next += 1;
        Ok(())
    }

    /// The autofilter over the header and the rows written.
    fn finish(self) -> Result<(), ExportError> {
        let last_col = u16::try_from(self.columns.saturating_sub(1)).unwrap_or(u16::MAX);
        let last_row = self.next.saturating_sub(1).max(self.header_row);
        self.sheet
            .autofilter(self.header_row, 0, last_row, last_col)?;
        Ok(())
    }
}

fn new_sheet<'b>(book: &'b mut Workbook, name: &str) -> Result<&'b mut Worksheet, ExportError> {
    let sheet = book.add_worksheet_with_constant_memory()?;
    sheet.set_name(name)?;
    Ok(sheet)
}

/// Write the review's workbook to `out`: the summary of `review`, one row per project of
/// `projects`, the item entries and the figures, in `lang` (`zh`, or `en...` for English).
/// `progress` hears how many rows of all the sheets are written.
pub fn write_review_workbook<W: Write + Send>(
    w: &Workflow,
    review: &YearReview,
    projects: &[ExplainedProject],
    lang: &str,
    out: W,
    progress: Progress,
) -> Result<(), ExportError> {
    let f = Formats::new();
    let names = Names::of(review);
    let [summary, project_sheet, item_sheet, figures_sheet] = table::sheet_names(lang);
    let total = review.rows.len()
        + projects.len()
        + review.entries.len()
        + review.figures.by_organisation.len()
        + 1;
    let mut ticker = Ticker::new(progress, total as u64);
    let mut book = Workbook::new();

    let sheet = new_sheet(&mut book, summary)?;
    sheet.write_string_with_format(0, 0, table::title(w, review, lang), &f.title)?;
    let mut t = Table::start(sheet, 1, &table::summary_columns(w, lang), &f)?;
    for row in &review.rows {
        t.row(&table::summary_row(w, row, lang), &f)?;
        ticker.tick();
    }
    t.finish()?;

    let sheet = new_sheet(&mut book, project_sheet)?;
    let mut t = Table::start(sheet, 0, &table::project_columns(lang), &f)?;
    for p in projects {
        t.row(&table::project_row(w, &names, p, lang), &f)?;
        ticker.tick();
    }
    t.finish()?;

    let sheet = new_sheet(&mut book, item_sheet)?;
    let mut t = Table::start(sheet, 0, &table::item_columns(lang), &f)?;
    for e in &review.entries {
        t.row(&table::item_row(w, &names, e, lang), &f)?;
        ticker.tick();
    }
    t.finish()?;

    let sheet = new_sheet(&mut book, figures_sheet)?;
    let mut t = Table::start(sheet, 0, &table::figures_columns(lang), &f)?;
    for o in &review.figures.by_organisation {
        t.row(&table::figures_row(o), &f)?;
        ticker.tick();
    }
    t.row(&table::figures_total_row(review, lang), &f)?;
    ticker.tick();
    t.finish()?;

    book.save_to_writer(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::table::tests::{sample_projects, sample_review};
    use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};

    fn read(bytes: Vec<u8>) -> Xlsx<Cursor<Vec<u8>>> {
        open_workbook_from_rs(Cursor::new(bytes)).unwrap()
    }

    #[test]
    fn the_workbook_reads_back_with_its_sheets_headers_and_numbers() {
        let w = crate::workflow::default_workflow();
        let review = sample_review();
        let bytes = review_workbook(&w, &review, &sample_projects(), "zh").unwrap();
        assert_eq!(&bytes[..2], b"PK", "an xlsx is a zip file");
        let mut book = read(bytes);
        assert_eq!(
            book.sheet_names(),
            vec!["述职评议汇总", "项目明细", "评议项", "年度数据"]
        );
        let summary = book.worksheet_range("述职评议汇总").unwrap();
        assert!(summary
            .get_value((0, 0))
            .unwrap()
            .to_string()
            .starts_with("述职评议 2026年度"));
        assert_eq!(
            summary.get_value((1, 0)),
            Some(&Data::String("排名".into()))
        );
        assert_eq!(summary.get_value((2, 0)), Some(&Data::Float(1.0)));
        assert_eq!(
            summary.get_value((2, 2)),
            Some(&Data::String("张三".into()))
        );
        assert_eq!(summary.get_value((2, 3)), Some(&Data::Float(93.0)));
        assert_eq!(summary.get_value((3, 0)), Some(&Data::Empty));
        let projects = book.worksheet_range("项目明细").unwrap();
        assert_eq!(projects.height(), 3, "a header and two projects");
        assert_eq!(projects.get_value((1, 6)), Some(&Data::Float(93.0)));
        let items = book.worksheet_range("评议项").unwrap();
        assert_eq!(
            items.get_value((1, 6)),
            Some(&Data::String("2026-12-05 10:30".into()))
        );
        let figures = book.worksheet_range("年度数据").unwrap();
        assert_eq!(
            figures.height(),
            3,
            "a header, one subdistrict and the total"
        );
        assert_eq!(
            figures.get_value((2, 0)),
            Some(&Data::String("合计".into()))
        );
    }

    #[test]
    fn english_sheets_and_progress_to_the_last_row() {
        let w = crate::workflow::default_workflow();
        let review = sample_review();
        let mut heard = Vec::new();
        let mut out = Cursor::new(Vec::new());
        {
            let mut f = |d: u64, t: u64| heard.push((d, t));
            write_review_workbook(
                &w,
                &review,
                &sample_projects(),
                "en",
                &mut out,
                Some(&mut f),
            )
            .unwrap();
        }
        // 2 people + 2 projects + 1 entry + 1 subdistrict + the total.
        assert_eq!(heard.first(), Some(&(0, 7)));
        assert_eq!(heard.last(), Some(&(7, 7)));
        let mut book = read(out.into_inner());
        assert_eq!(
            book.sheet_names(),
            vec!["Summary", "Projects", "Items", "Year in figures"]
        );
        let summary = book.worksheet_range("Summary").unwrap();
        assert_eq!(
            summary.get_value((1, 1)),
            Some(&Data::String("Subdistrict".into()))
        );
    }

    #[test]
    fn the_header_is_bold_filled_and_bordered_the_figures_have_two_decimals_and_a_filter() {
        let w = crate::workflow::default_workflow();
        let bytes = review_workbook(&w, &sample_review(), &sample_projects(), "zh").unwrap();
        let mut book = read(bytes);
        let styles = book.worksheet_style("述职评议汇总").unwrap();
        let header = styles.get((1, 0)).unwrap();
        assert!(header.font.as_ref().unwrap().is_bold());
        assert!(header.fill.as_ref().unwrap().is_visible());
        assert_eq!(
            header
                .fill
                .as_ref()
                .unwrap()
                .get_color()
                .map(|c| c.to_argb() & 0xFF_FFFF),
            Some(0xDDEBF7)
        );
        assert!(header.borders.as_ref().unwrap().has_visible_borders());
        let score = styles.get((2, 3)).unwrap();
        assert_eq!(score.number_format.as_ref().unwrap().format_code, "0.00");
        // An autofilter is the hidden name `_FilterDatabase` over the header and the rows.
        let filters: Vec<&(String, String)> = book
            .defined_names()
            .iter()
            .filter(|(n, _)| n.contains("FilterDatabase"))
            .collect();
        assert_eq!(filters.len(), 4, "{filters:?}");
        assert!(
            filters.iter().any(|(_, r)| r.ends_with("$A$2:$K$4")),
            "{filters:?}"
        );
    }
}
