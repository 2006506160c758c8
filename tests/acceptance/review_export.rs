//! The annual review's exports on a real year: two subdistricts, projects closed through the
//! whole acceptance phase, an item entered; the workbook and the CSV read back and compared
//! with the review and with figures worked out by hand; and the command line writing the
//! workbook from the database, refusing a bad format without leaving a file.

use std::io::Cursor;
use std::process::Command;

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use secretary_projects::app::review::{ExplainedProject, YearReview};
use secretary_projects::export;

use super::common::{day, env, repo, world, TestEnv, World};
use super::{file_self_check, review_appraise_close, to_self_check, USERS};

const KEY: &str = "secretary_project";

const HEADERS: [&str; 11] = [
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
    "缺项",
];

struct Year {
    review: YearReview,
    projects: Vec<ExplainedProject>,
    closed_a: i64,
}

/// Subdistrict 1: project A closed at 93 (10 residents satisfied); subdistrict 2: project B
/// closed at 68.75 (5 satisfied, 4 basically, 3 not) and one still under review. Party
/// building reports entered: 90 for secretary1, 80 for secretary2.
async fn a_year(t: &TestEnv) -> (World, Year) {
    let app = &t.app;
    let w = world(app, 2, USERS).await;
    let a = to_self_check(app, &w, 1, "项目甲", &[]).await;
    file_self_check(app, w.user("secretary1"), a, 0.9).await;
    let pa = review_appraise_close(
        app,
        &w,
        a,
        &[("reviewer1", 0.8), ("reviewer2", 0.9), ("reviewer3", 1.0)],
        [10, 0, 0],
        &[],
    )
    .await;
    assert_eq!(pa.final_score, Some(93.0));
    let b = to_self_check(app, &w, 2, "项目乙", &[1]).await;
    file_self_check(app, w.user("secretary2"), b, 0.8).await;
    let pb = review_appraise_close(
        app,
        &w,
        b,
        &[
            ("reviewer1", 0.6),
            ("reviewer2", 0.7),
            ("reviewer3", 0.75),
            ("reviewer4", 0.95),
        ],
        [5, 4, 3],
        &["台账资料不全"],
    )
    .await;
    assert_eq!(pb.final_score, Some(68.75));
    let running = app
        .create_project(
            w.user("secretary2"),
            secretary_projects::app::projects::NewProject {
                definition: KEY.into(),
                title: "项目丙".into(),
                year: 2026,
                organisation_id: None,
                form: super::application("member2"),
            },
            day(3, 10),
        )
        .await
        .unwrap();
    app.take_action(
        w.user("secretary2"),
        running.id,
        super::act("submit", None),
        day(3, 11),
    )
    .await
    .unwrap();
    let admin = w.user("admin");
    for (login, score, comment) in [
        ("secretary1", 90.0, "述职扎实"),
        ("secretary2", 80.0, "基本到位"),
    ] {
        app.enter_review_item(
            admin,
            KEY,
            2026,
            w.user(login).user_id,
            "party_building_report",
            score,
            comment,
            day(12, 1),
        )
        .await
        .unwrap();
    }
    let review = app
        .annual_review(admin, KEY, 2026, day(12, 2))
        .await
        .unwrap();
    let projects = app.review_projects(admin, KEY, 2026, None).await.unwrap();
    (
        w,
        Year {
            review,
            projects,
            closed_a: a,
        },
    )
}

fn open(bytes: Vec<u8>) -> Xlsx<Cursor<Vec<u8>>> {
    open_workbook_from_rs(Cursor::new(bytes)).expect("a readable workbook")
}

fn text(d: Option<&Data>) -> String {
    match d {
        Some(Data::String(s)) => s.clone(),
        other => panic!("expected text, got {other:?}"),
    }
}

fn float(d: Option<&Data>) -> Option<f64> {
    match d {
        Some(Data::Float(f)) => Some(*f),
        Some(Data::Int(i)) => Some(*i as f64),
        Some(Data::Empty) | None => None,
        other => panic!("expected a number, got {other:?}"),
    }
}

/// The summary sheet says what the review says, person by person.
fn check_summary(book: &mut Xlsx<Cursor<Vec<u8>>>, review: &YearReview) {
    let summary = book.worksheet_range("述职评议汇总").unwrap();
    assert!(text(summary.get_value((0, 0))).starts_with("述职评议 2026年度（未冻结"));
    let headers: Vec<String> = (0..HEADERS.len() as u32)
        .map(|c| text(summary.get_value((1, c))))
        .collect();
    assert_eq!(headers, HEADERS);
    assert_eq!(summary.height(), 2 + review.rows.len());
    for (k, row) in review.rows.iter().enumerate() {
        let r = 2 + k as u32;
        assert_eq!(text(summary.get_value((r, 2))), row.person.name);
        assert_eq!(text(summary.get_value((r, 1))), row.person.organisation);
        assert_eq!(
            float(summary.get_value((r, 0))),
            row.line.rank.map(f64::from)
        );
        assert_eq!(float(summary.get_value((r, 7))), row.line.total);
        let stars = ["一星", "二星", "三星", "四星", "五星"];
        assert_eq!(
            text(summary.get_value((r, 8))),
            stars[usize::from(row.line.stars.unwrap()) - 1]
        );
    }
}

#[tokio::test]
async fn the_years_review_exports_to_a_workbook_and_csv_that_read_back() {
    let t = env().await;
    let (w, year) = a_year(&t).await;
    let wf = t.app.registry.current(KEY).unwrap().workflow;
    let review = &year.review;

    // By hand: secretary1 93 × 60% + 90 × 20% + residents 100 × 20% = 55.8 + 18 + 20 = 93.8,
    // five stars, first; secretary2 68.75 × 60% + 80 × 20% + 65 × 20% (the running project
    // left out) = 41.25 + 16 + 13 = 70.25, three stars, second. Both in the top 3.
    let line = |login: &str| {
        &review
            .rows
            .iter()
            .find(|r| r.person.user_id == w.user(login).user_id)
            .unwrap()
            .line
    };
    assert_eq!(review.rows.len(), 2);
    assert_eq!(
        (line("secretary1").total, line("secretary1").rank),
        (Some(93.8), Some(1))
    );
    assert_eq!(line("secretary1").stars, Some(5));
    assert_eq!(
        (line("secretary2").total, line("secretary2").rank),
        (Some(70.25), Some(2))
    );
    assert_eq!(line("secretary2").stars, Some(3));
    assert_eq!(year.projects.len(), 3);

    let bytes = export::review_workbook(&wf, review, &year.projects, "zh").unwrap();
    let mut book = open(bytes);
    assert_eq!(
        book.sheet_names(),
        vec!["述职评议汇总", "项目明细", "评议项", "年度数据"]
    );
    check_summary(&mut book, review);
    let summary = book.worksheet_range("述职评议汇总").unwrap();
    assert_eq!(float(summary.get_value((2, 3))), Some(93.0));
    assert_eq!(float(summary.get_value((2, 4))), Some(55.8));
    assert_eq!(float(summary.get_value((2, 5))), Some(90.0));
    assert_eq!(float(summary.get_value((2, 6))), Some(100.0));
    assert_eq!(text(summary.get_value((2, 9))), "推荐评先评优");
    assert_eq!(float(summary.get_value((3, 6))), Some(65.0));

    let projects = book.worksheet_range("项目明细").unwrap();
    assert_eq!(projects.height(), 1 + year.projects.len());
    assert_eq!(text(projects.get_value((0, 6))), "最终得分");
    let a_row = (1..projects.height() as u32)
        .find(|r| float(projects.get_value((*r, 0))) == Some(year.closed_a as f64))
        .expect("project A has a row");
    assert_eq!(text(projects.get_value((a_row, 1))), "项目甲");
    assert_eq!(text(projects.get_value((a_row, 2))), "第1街道");
    assert_eq!(text(projects.get_value((a_row, 5))), "已结题");
    assert_eq!(float(projects.get_value((a_row, 6))), Some(93.0));
    assert_eq!(text(projects.get_value((a_row, 7))), "优秀");
    assert_eq!(text(projects.get_value((a_row, 9))), "3/3");
    assert_eq!(float(projects.get_value((a_row, 10))), Some(10.0));
    let running: Vec<String> = (1..projects.height() as u32)
        .map(|r| text(projects.get_value((r, 5))))
        .filter(|o| o == "进行中")
        .collect();
    assert_eq!(running.len(), 1);

    let items = book.worksheet_range("评议项").unwrap();
    assert_eq!(items.height(), 3, "a header and the two entries");
    assert_eq!(text(items.get_value((0, 6))), "录入时间");
    assert_eq!(text(items.get_value((1, 4))), "述职扎实");
    assert_eq!(text(items.get_value((1, 5))), "用户admin");
    assert_eq!(text(items.get_value((1, 6))), "2026-12-01 09:00");

    let figures = book.worksheet_range("年度数据").unwrap();
    assert_eq!(text(figures.get_value((0, 3))), "结题");
    let last = figures.height() as u32 - 1;
    assert_eq!(text(figures.get_value((last, 0))), "合计");
    assert_eq!(float(figures.get_value((last, 1))), Some(3.0), "applied");
    assert_eq!(float(figures.get_value((last, 3))), Some(2.0), "finished");
    assert_eq!(
        float(figures.get_value((last, 9))),
        Some(22.0),
        "appraisals"
    );

    // CSV: the byte order mark, then the same headers.
    let csv = export::review_csv(&wf, review, "zh");
    assert_eq!(&csv[..3], b"\xEF\xBB\xBF");
    let mut reader = csv::Reader::from_reader(&csv[3..]);
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(headers, HEADERS);
    let first = reader.records().next().unwrap().unwrap();
    assert_eq!(&first[7], "93.80");
    let detail = export::projects_csv(&wf, review, &year.projects, "zh");
    assert_eq!(&detail[..3], b"\xEF\xBB\xBF");
    assert_eq!(
        csv::Reader::from_reader(&detail[3..]).records().count(),
        year.projects.len()
    );
}

fn binary(t: &TestEnv, dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_secretary-projects"));
    c.current_dir(dir)
        .env("DATABASE_URL", &t.url)
        .env("SP_WORKFLOWS", repo("workflows"))
        .env_remove("SP_CONFIG")
        .stdin(std::process::Stdio::null());
    c
}

#[tokio::test]
async fn the_command_line_writes_the_workbook_and_refuses_a_bad_format_leaving_no_file() {
    let t = env().await;
    let (_w, year) = a_year(&t).await;
    let dir = tempfile::tempdir().unwrap();

    let out = dir.path().join("评议.xlsx");
    let run = binary(&t, dir.path())
        .args([
            "review", "export", "--year", "2026", "--format", "xlsx", "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("2 people, 3 projects") && stdout.contains("评议.xlsx"),
        "{stdout}"
    );
    let mut book = open(std::fs::read(&out).unwrap());
    assert_eq!(book.sheet_names().len(), 4);
    check_summary(&mut book, &year.review);
    let projects = book.worksheet_range("项目明细").unwrap();
    assert_eq!(projects.height(), 1 + year.projects.len());

    let bad = dir.path().join("评议.pdf");
    let run = binary(&t, dir.path())
        .args([
            "review", "export", "--year", "2026", "--format", "pdf", "--out",
        ])
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("xlsx") && stderr.contains("csv") && stderr.contains("pdf"),
        "{stderr}"
    );
    assert!(!bad.exists());

    let bad_year = binary(&t, dir.path())
        .args([
            "review", "export", "--year", "1999", "--format", "csv", "--out",
        ])
        .arg(dir.path().join("old.csv"))
        .output()
        .unwrap();
    assert!(!bad_year.status.success());
    assert!(String::from_utf8_lossy(&bad_year.stderr).contains("2000"));

    // Only the workbook is left in the folder: no temporary parts.
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, vec!["评议.xlsx".to_string()]);
}
