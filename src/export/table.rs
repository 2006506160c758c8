//! The tables of the review's exports, whatever the file: each table's columns (header and
//! width) and each row's cells, in Chinese or, for a language starting with `en`, English.
//! Names come from the definition (items, stages, grades, star bands, consequences) and from
//! the review itself (people and subdistricts), so that a frozen year reads as it was frozen.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::app::review::{ExplainedProject, ItemEntry, OrgFigures, ReviewRow, YearReview};
use crate::scoring::annual::Outcome;
use crate::scoring::figures::Figures;
use crate::workflow::model::AnnualReview;
use crate::workflow::Workflow;

/// One cell: text, a whole number, a figure (shown with two decimals), or nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Num(f64),
    Empty,
}

impl Cell {
    fn num(v: Option<f64>) -> Cell {
        v.map_or(Cell::Empty, Cell::Num)
    }

    fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// The cell as CSV text: figures with two decimals.
    pub fn to_text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Num(f) => format!("{f:.2}"),
            Cell::Empty => String::new(),
        }
    }
}

/// A column: its header and its width in characters (a CJK character counts two).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub header: String,
    pub width: f64,
}

fn col(header: impl Into<String>, width: f64) -> Column {
    let header = header.into();
    let shown = header
        .chars()
        .map(|c| if c.is_ascii() { 1.0 } else { 2.0 })
        .sum::<f64>()
        + 2.0;
    Column {
        width: width.max(shown),
        header,
    }
}

fn en(lang: &str) -> bool {
    lang.starts_with("en")
}

/// `zh` or `en`, as `lang` asks.
fn t<'a>(lang: &str, zh: &'a str, english: &'a str) -> &'a str {
    if en(lang) {
        english
    } else {
        zh
    }
}

/// A weight in percent without needless decimals: 20, 12.5.
fn percent(w: f64) -> String {
    let s = format!("{w:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// A moment in the definition's time zone, to the minute.
pub fn local_time(w: &Workflow, at: DateTime<Utc>) -> String {
    at.with_timezone(&w.timezone)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Names of the people and subdistricts the review speaks of, by id.
pub struct Names<'a> {
    people: HashMap<i64, (&'a str, &'a str)>,
    orgs: HashMap<i64, &'a str>,
}

impl<'a> Names<'a> {
    pub fn of(review: &'a YearReview) -> Self {
        let mut orgs: HashMap<i64, &str> = review
            .figures
            .by_organisation
            .iter()
            .map(|o| (o.organisation_id, o.organisation.as_str()))
            .collect();
        let mut people = HashMap::new();
        for r in &review.rows {
            let p = &r.person;
            orgs.entry(p.organisation_id)
                .or_insert(p.organisation.as_str());
            people.insert(p.user_id, (p.name.as_str(), p.organisation.as_str()));
        }
        Names { people, orgs }
    }

    /// A person's name (their id when the review does not list them).
    pub fn person(&self, id: i64) -> String {
        self.people
            .get(&id)
            .map_or_else(|| format!("#{id}"), |(n, _)| n.to_string())
    }

    fn person_org(&self, id: i64) -> String {
        self.people
            .get(&id)
            .map(|(_, o)| o.to_string())
            .unwrap_or_default()
    }

    pub fn organisation(&self, id: i64) -> String {
        self.orgs
            .get(&id)
            .map_or_else(|| format!("#{id}"), |n| n.to_string())
    }
}

/// The sheets' names.
pub fn sheet_names(lang: &str) -> [&'static str; 4] {
    if en(lang) {
        ["Summary", "Projects", "Items", "Year in figures"]
    } else {
        ["述职评议汇总", "项目明细", "评议项", "年度数据"]
    }
}

/// The summary's title: the review's name and year, frozen (when, by whom) or not.
pub fn title(w: &Workflow, review: &YearReview, lang: &str) -> String {
    let name = w
        .annual_review()
        .map(|r| r.name.get(lang).to_string())
        .unwrap_or_else(|| t(lang, "述职评议", "Annual performance review").to_string());
    let year = review.year;
    match (&review.frozen, en(lang)) {
        (Some(f), false) => format!(
            "{name} {year}年度（已冻结：{}，{}）",
            local_time(w, f.frozen_at),
            f.frozen_by_name
        ),
        (Some(f), true) => format!(
            "{name} {year} (frozen {} by {})",
            local_time(w, f.frozen_at),
            f.frozen_by_name
        ),
        (None, false) => format!(
            "{name} {year}年度（未冻结，计算于 {}）",
            local_time(w, review.computed_at)
        ),
        (None, true) => format!(
            "{name} {year} (not frozen; computed {})",
            local_time(w, review.computed_at)
        ),
    }
}

fn stars_name(r: &AnnualReview, stars: u8, lang: &str) -> String {
    r.stars
        .iter()
        .find(|b| *b.stars.get() == stars)
        .map_or_else(|| stars.to_string(), |b| b.name.get(lang).to_string())
}

fn list_separator(lang: &str) -> &'static str {
    t(lang, "、", "; ")
}

/// The summary's columns: rank, subdistrict, name, the project part and its weighted
/// figure, each item (name and weight), total, stars, consequences and what is missing.
pub fn summary_columns(w: &Workflow, lang: &str) -> Vec<Column> {
    let mut cols = vec![
        col(t(lang, "排名", "Rank"), 6.0),
        col(t(lang, "街道", "Subdistrict"), 16.0),
        col(t(lang, "姓名", "Name"), 12.0),
        col(t(lang, "项目得分", "Project score"), 10.0),
    ];
    let Some(r) = w.annual_review() else {
        return cols;
    };
    let weight = percent(*r.project_weight.get());
    cols.push(col(
        if en(lang) {
            format!("Project score × weight ({weight})")
        } else {
            format!("项目得分×权重({weight})")
        },
        12.0,
    ));
    for i in &r.items {
        cols.push(col(
            format!("{}({})", i.name.get(lang), percent(*i.weight.get())),
            12.0,
        ));
    }
    cols.extend([
        col(t(lang, "总分", "Total"), 8.0),
        col(t(lang, "星级", "Stars"), 8.0),
        col(t(lang, "奖惩", "Consequences"), 20.0),
        col(t(lang, "缺项", "Missing"), 20.0),
    ]);
    cols
}

/// One person's line of the summary, in the columns of [`summary_columns`].
pub fn summary_row(w: &Workflow, row: &ReviewRow, lang: &str) -> Vec<Cell> {
    let l = &row.line;
    let mut cells = vec![
        l.rank.map_or(Cell::Empty, |r| Cell::Int(i64::from(r))),
        Cell::text(&row.person.organisation),
        Cell::text(&row.person.name),
        Cell::num(l.project_part),
    ];
    let Some(r) = w.annual_review() else {
        return cells;
    };
    cells.push(Cell::num(l.project_weighted));
    for i in &r.items {
        cells.push(Cell::num(
            l.items
                .iter()
                .find(|x| x.item == i.id.as_str())
                .and_then(|x| x.score),
        ));
    }
    let consequences: Vec<String> = l
        .consequences
        .iter()
        .map(|id| {
            r.consequences
                .iter()
                .find(|c| c.id.as_str() == id)
                .map_or_else(|| id.clone(), |c| c.name.get(lang).to_string())
        })
        .collect();
    let missing: Vec<String> = l
        .missing
        .iter()
        .map(|id| {
            if id == "projects" {
                t(lang, "项目得分", "Project score").to_string()
            } else {
                r.items
                    .iter()
                    .find(|i| i.id.as_str() == id)
                    .map_or_else(|| id.clone(), |i| i.name.get(lang).to_string())
            }
        })
        .collect();
    cells.extend([
        Cell::num(l.total),
        l.stars
            .map_or(Cell::Empty, |s| Cell::Text(stars_name(r, s, lang))),
        Cell::Text(consequences.join(list_separator(lang))),
        Cell::Text(missing.join(list_separator(lang))),
    ]);
    cells
}

/// What an outcome is called.
pub fn outcome_word(o: Outcome, lang: &str) -> &'static str {
    match o {
        Outcome::Closed(_) => t(lang, "已结题", "Closed"),
        Outcome::Running => t(lang, "进行中", "Running"),
        Outcome::Terminated => t(lang, "已终止", "Terminated"),
        Outcome::Rejected => t(lang, "已驳回", "Rejected"),
        Outcome::Withdrawn => t(lang, "已撤回", "Withdrawn"),
    }
}

pub fn project_columns(lang: &str) -> Vec<Column> {
    vec![
        col(t(lang, "编号", "No."), 8.0),
        col(t(lang, "项目名称", "Title"), 36.0),
        col(t(lang, "街道", "Subdistrict"), 16.0),
        col(t(lang, "负责人", "Lead"), 12.0),
        col(t(lang, "阶段", "Stage"), 14.0),
        col(t(lang, "结果", "Outcome"), 10.0),
        col(t(lang, "最终得分", "Final score"), 10.0),
        col(t(lang, "等级", "Grade"), 8.0),
        col(t(lang, "计入得分", "Counted"), 10.0),
        col(t(lang, "节点完成", "Milestones done"), 10.0),
        col(t(lang, "群众评价数", "Appraisals"), 10.0),
    ]
}

/// One project's row, in the columns of [`project_columns`].
pub fn project_row(w: &Workflow, names: &Names, p: &ExplainedProject, lang: &str) -> Vec<Cell> {
    let row = &p.project;
    let stage = w
        .stage(&row.stage)
        .map_or_else(|| row.stage.clone(), |s| s.name.get(lang).to_string());
    let grade = row.grade.as_ref().map_or(Cell::Empty, |g| {
        Cell::Text(
            w.definition
                .scoring
                .as_ref()
                .and_then(|s| s.grades.iter().find(|b| b.id.as_str() == g))
                .map_or_else(|| g.clone(), |b| b.name.get(lang).to_string()),
        )
    });
    vec![
        Cell::Int(row.id),
        Cell::text(&row.title),
        Cell::Text(names.organisation(row.organisation_id)),
        Cell::Text(names.person(row.lead_user_id)),
        Cell::Text(stage),
        Cell::text(outcome_word(p.outcome, lang)),
        Cell::num(row.final_score),
        grade,
        p.counted
            .map_or_else(|| Cell::text(t(lang, "不计入", "Not counted")), Cell::Num),
        Cell::Text(format!("{}/{}", row.milestones_done, row.milestones_total)),
        Cell::Int(i64::from(row.appraisals)),
    ]
}

pub fn item_columns(lang: &str) -> Vec<Column> {
    vec![
        col(t(lang, "姓名", "Name"), 12.0),
        col(t(lang, "街道", "Subdistrict"), 16.0),
        col(t(lang, "评议项", "Item"), 18.0),
        col(t(lang, "分数", "Score"), 8.0),
        col(t(lang, "意见", "Comment"), 40.0),
        col(t(lang, "录入人", "Entered by"), 12.0),
        col(t(lang, "录入时间", "Entered at"), 17.0),
    ]
}

/// One item entry's row, in the columns of [`item_columns`]; the time in the definition's
/// zone.
pub fn item_row(w: &Workflow, names: &Names, e: &ItemEntry, lang: &str) -> Vec<Cell> {
    let item = w
        .annual_review()
        .and_then(|r| r.items.iter().find(|i| i.id.as_str() == e.item))
        .map_or_else(|| e.item.clone(), |i| i.name.get(lang).to_string());
    vec![
        Cell::Text(names.person(e.user_id)),
        Cell::Text(names.person_org(e.user_id)),
        Cell::Text(item),
        Cell::Num(e.score),
        Cell::text(&e.comment),
        Cell::text(&e.entered_by_name),
        Cell::Text(local_time(w, e.entered_at)),
    ]
}

pub fn figures_columns(lang: &str) -> Vec<Column> {
    vec![
        col(t(lang, "街道", "Subdistrict"), 16.0),
        col(t(lang, "申报", "Applied"), 8.0),
        col(t(lang, "立项", "Approved"), 8.0),
        col(t(lang, "结题", "Finished"), 8.0),
        col(t(lang, "结题率%", "Finish rate %"), 8.0),
        col(t(lang, "终止", "Terminated"), 8.0),
        col(t(lang, "节点按时率%", "Milestones on time %"), 8.0),
        col(t(lang, "平均得分", "Average score"), 8.0),
        col(t(lang, "满意率%", "Satisfaction %"), 8.0),
        col(t(lang, "群众评价数", "Appraisals"), 8.0),
        col(t(lang, "解决问题数", "Problems solved"), 8.0),
        col(t(lang, "较上年", "Finished vs last year"), 8.0),
    ]
}

fn figures_cells(name: String, f: &Figures, change: Option<i64>) -> Vec<Cell> {
    vec![
        Cell::Text(name),
        Cell::Int(f.applied),
        Cell::Int(f.approved),
        Cell::Int(f.finished),
        Cell::num(f.finish_rate),
        Cell::Int(f.terminated),
        Cell::num(f.on_time_rate),
        Cell::num(f.average_score),
        Cell::num(f.satisfaction_rate),
        Cell::Int(f.appraisals),
        Cell::Int(f.problems_solved),
        change.map_or(Cell::Empty, Cell::Int),
    ]
}

/// One subdistrict's year, in the columns of [`figures_columns`]; the change of its finished
/// projects from the previous year is empty when it had no project then.
pub fn figures_row(o: &OrgFigures) -> Vec<Cell> {
    figures_cells(
        o.organisation.clone(),
        &o.figures,
        o.previous.as_ref().map(|p| o.figures.finished - p.finished),
    )
}

/// The district's total.
pub fn figures_total_row(review: &YearReview, lang: &str) -> Vec<Cell> {
    let f = &review.figures;
    figures_cells(
        t(lang, "合计", "Total").to_string(),
        &f.total,
        Some(f.total.finished - f.previous_total.finished),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::app::review::{Freeze, Reviewed, YearFigures};
    use crate::scoring::annual::{ItemLine, Line, Tally};
    use crate::store::review_sql::ProjectRow;
    use chrono::TimeZone;

    fn figures(applied: i64, approved: i64, finished: i64, rate: Option<f64>) -> Figures {
        Figures {
            applied,
            approved,
            finished,
            finish_rate: rate,
            ..Figures::default()
        }
    }

    pub(crate) fn sample_review() -> YearReview {
        let person = |id: i64, name: &str, org: i64, org_name: &str| Reviewed {
            user_id: id,
            login: format!("u{id}"),
            name: name.into(),
            organisation_id: org,
            organisation: org_name.into(),
        };
        let line = |id: i64, part: Option<f64>, party: Option<f64>, sat: Option<f64>| {
            let items = vec![
                ItemLine {
                    item: "party_building_report".into(),
                    weight: 20.0,
                    score: party,
                    weighted: party.map(|s| s * 0.2),
                },
                ItemLine {
                    item: "resident_satisfaction".into(),
                    weight: 20.0,
                    score: sat,
                    weighted: sat.map(|s| s * 0.2),
                },
            ];
            let mut missing = Vec::new();
            if part.is_none() {
                missing.push("projects".to_string());
            }
            if party.is_none() {
                missing.push("party_building_report".to_string());
            }
            let total = (missing.is_empty()).then(|| {
                part.unwrap_or(0.0) * 0.6 + party.unwrap_or(0.0) * 0.2 + sat.unwrap_or(0.0) * 0.2
            });
            Line {
                user_id: id,
                projects: Tally::default(),
                project_part: part,
                project_weight: 60.0,
                project_weighted: part.map(|p| p * 0.6),
                items,
                total,
                missing,
                rank: None,
                stars: None,
                consequences: Vec::new(),
            }
        };
        let mut a = line(1, Some(93.0), Some(90.0), Some(100.0));
        a.rank = Some(1);
        a.stars = Some(5);
        a.consequences = vec!["commendation".into()];
        let b = line(2, None, None, Some(65.0));
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 2, 30, 0).unwrap();
        YearReview {
            definition: "secretary_project".into(),
            year: 2026,
            computed_at: at,
            frozen: None,
            rows: vec![
                ReviewRow {
                    person: person(1, "张三", 10, "第1街道"),
                    line: a,
                },
                ReviewRow {
                    person: person(2, "李四", 11, "第2街道"),
                    line: b,
                },
            ],
            entries: vec![ItemEntry {
                user_id: 1,
                item: "party_building_report".into(),
                score: 90.0,
                comment: "述职扎实".into(),
                entered_by: 9,
                entered_by_name: "王五".into(),
                entered_at: at,
            }],
            figures: YearFigures {
                year: 2026,
                by_organisation: vec![OrgFigures {
                    organisation_id: 10,
                    organisation: "第1街道".into(),
                    figures: figures(3, 2, 2, Some(100.0)),
                    previous: Some(figures(3, 3, 3, None)),
                }],
                total: figures(0, 0, 2, None),
                previous_total: Figures::default(),
                by_stage: Default::default(),
            },
        }
    }

    pub(crate) fn sample_projects() -> Vec<ExplainedProject> {
        let row = |id: i64, stage: &str, score: Option<f64>, grade: Option<&str>| ProjectRow {
            id,
            title: format!("项目{id}"),
            organisation_id: 10,
            lead_user_id: 1,
            stage: stage.into(),
            final_score: score,
            grade: grade.map(str::to_string),
            milestones_total: 3,
            milestones_done: 2,
            appraisals: 12,
        };
        vec![
            ExplainedProject {
                project: row(7, "closed", Some(93.0), Some("excellent")),
                outcome: Outcome::Closed(93.0),
                counted: Some(93.0),
            },
            ExplainedProject {
                project: row(8, "implementation", None, None),
                outcome: Outcome::Running,
                counted: None,
            },
        ]
    }

    #[test]
    fn the_summary_has_a_column_per_item_and_names_everything() {
        let w = crate::workflow::default_workflow();
        let cols = summary_columns(&w, "zh");
        let headers: Vec<&str> = cols.iter().map(|c| c.header.as_str()).collect();
        assert_eq!(
            headers,
            [
                "排名",
                "街道",
                "姓名",
                "项目得分",
                "项目得分×权重(60%)",
                "党建工作述职(20%)",
                "群众满意度(20%)",
                "总分",
                "星级",
                "奖惩",
                "缺项"
            ]
        );
        let review = sample_review();
        let first = summary_row(&w, &review.rows[0], "zh");
        assert_eq!(first.len(), cols.len());
        assert_eq!(first[0], Cell::Int(1));
        assert_eq!(first[2], Cell::text("张三"));
        assert_eq!(first[4], Cell::Num(93.0 * 0.6));
        assert_eq!(first[8], Cell::text("五星"));
        assert_eq!(first[9], Cell::text("推荐评先评优"));
        let second = summary_row(&w, &review.rows[1], "zh");
        assert_eq!(second[0], Cell::Empty);
        assert_eq!(second[7], Cell::Empty, "no total while a part is missing");
        assert_eq!(second[10], Cell::text("项目得分、党建工作述职"));
        let english = summary_row(&w, &review.rows[1], "en");
        assert_eq!(
            english[10],
            Cell::text("Project score; Party-building work report")
        );
        assert_eq!(summary_columns(&w, "en")[0].header, "Rank");
        // A CJK header is wider than the same number of Latin letters.
        assert!(cols[4].width >= 2.0 * "项目得分×权重".chars().count() as f64);
    }

    #[test]
    fn the_title_says_whether_the_year_is_frozen() {
        let w = crate::workflow::default_workflow();
        let mut review = sample_review();
        assert_eq!(
            title(&w, &review, "zh"),
            "述职评议 2026年度（未冻结，计算于 2026-12-05 10:30）"
        );
        review.frozen = Some(Freeze {
            frozen_at: Utc.with_ymd_and_hms(2026, 12, 20, 1, 0, 0).unwrap(),
            frozen_by: 9,
            frozen_by_name: "王五".into(),
            comment: String::new(),
        });
        assert_eq!(
            title(&w, &review, "zh"),
            "述职评议 2026年度（已冻结：2026-12-20 09:00，王五）"
        );
        assert_eq!(
            title(&w, &review, "en"),
            "Annual performance review 2026 (frozen 2026-12-20 09:00 by 王五)"
        );
    }

    #[test]
    fn project_rows_name_the_stage_outcome_grade_and_what_counts() {
        let w = crate::workflow::default_workflow();
        let review = sample_review();
        let names = Names::of(&review);
        let ps = sample_projects();
        let closed = project_row(&w, &names, &ps[0], "zh");
        assert_eq!(closed.len(), project_columns("zh").len());
        assert_eq!(closed[0], Cell::Int(7));
        assert_eq!(closed[2], Cell::text("第1街道"));
        assert_eq!(closed[3], Cell::text("张三"));
        assert_eq!(closed[5], Cell::text("已结题"));
        assert_eq!(closed[6], Cell::Num(93.0));
        assert_eq!(closed[7], Cell::text("优秀"));
        assert_eq!(closed[8], Cell::Num(93.0));
        assert_eq!(closed[9], Cell::text("2/3"));
        assert_eq!(closed[10], Cell::Int(12));
        let running = project_row(&w, &names, &ps[1], "zh");
        assert_eq!(running[5], Cell::text("进行中"));
        assert_eq!(running[6], Cell::Empty);
        assert_eq!(running[8], Cell::text("不计入"));
        let stage = w
            .stage("implementation")
            .unwrap()
            .name
            .get("zh")
            .to_string();
        assert_eq!(running[4], Cell::Text(stage));
        assert_eq!(
            project_row(&w, &names, &ps[1], "en")[5],
            Cell::text("Running")
        );
        for (o, zh) in [
            (Outcome::Terminated, "已终止"),
            (Outcome::Rejected, "已驳回"),
            (Outcome::Withdrawn, "已撤回"),
        ] {
            assert_eq!(outcome_word(o, "zh"), zh);
        }
    }

    #[test]
    fn item_rows_are_in_the_definitions_time_zone() {
        let w = crate::workflow::default_workflow();
        let review = sample_review();
        let names = Names::of(&review);
        let row = item_row(&w, &names, &review.entries[0], "zh");
        assert_eq!(
            row,
            vec![
                Cell::text("张三"),
                Cell::text("第1街道"),
                Cell::text("党建工作述职"),
                Cell::Num(90.0),
                Cell::text("述职扎实"),
                Cell::text("王五"),
                Cell::text("2026-12-05 10:30"),
            ]
        );
        assert_eq!(row.len(), item_columns("zh").len());
    }

    #[test]
    fn figure_rows_compare_with_the_previous_year() {
        let review = sample_review();
        let row = figures_row(&review.figures.by_organisation[0]);
        assert_eq!(row.len(), figures_columns("zh").len());
        assert_eq!(row[3], Cell::Int(2));
        assert_eq!(row[4], Cell::Num(100.0));
        assert_eq!(row[6], Cell::Empty);
        assert_eq!(row[11], Cell::Int(-1));
        let mut o = review.figures.by_organisation[0].clone();
        o.previous = None;
        assert_eq!(figures_row(&o)[11], Cell::Empty);
        let total = figures_total_row(&review, "zh");
        assert_eq!(
            (total[0].clone(), total[11].clone()),
            (Cell::text("合计"), Cell::Int(2))
        );
    }

    #[test]
    fn cells_as_text_have_two_decimals() {
        assert_eq!(Cell::Num(68.75).to_text(), "68.75");
        assert_eq!(Cell::Num(93.0).to_text(), "93.00");
        assert_eq!(Cell::Int(3).to_text(), "3");
        assert_eq!(Cell::Empty.to_text(), "");
        assert_eq!(percent(12.5), "12.5%");
        assert_eq!(percent(60.0), "60%");
    }
}
