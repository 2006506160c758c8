//! The annual review (述职评议) and the dashboard on the pages, over the demo district: the
//! admin finds the review from the navigation, checks the ranking against the use case,
//! enters a missing item (refused first without a comment, the typed score kept), downloads
//! the workbook and the CSV with the export buttons and reads them back, approves and freezes the year, and
//! reads the dashboard's charts and figures; a secretary sees the ranking and the dashboard
//! of their own subdistrict, without the entry, freeze or unfreeze forms.

use std::io::Cursor;

use calamine::{Reader, Xlsx};
use chrono::{Datelike, Utc};

use super::common::browser::Browser;
use super::common::env;
use super::common::http::start_at_own_url;
use super::{demo, demo_user, sign_in_on_page, DESKTOP, ONE_BROWSER};

const KEY: &str = "secretary_project";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_annual_review_and_the_dashboard_on_the_pages() {
    let _one = ONE_BROWSER.lock().await;
    let Some(browser) = Browser::start(DESKTOP) else {
        return;
    };
    let t = env().await;
    let app = &t.app;
    let d = demo(app).await;
    let (addr, server) = start_at_own_url(app, true).await;
    let base = format!("http://{addr}");
    let admin = demo_user(app, "admin").await;
    let year = Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).year();

    // --- The admin: the ranking as the use case computes it -----------------------------------
    sign_in_on_page(&browser, &base, "admin");
    let nav = browser.find("nav.site-nav a[href='/review']");
    browser.click(&nav);
    browser.wait_for("the review", "return location.pathname === '/review';");
    let r = app
        .annual_review(&admin, KEY, year, Utc::now())
        .await
        .unwrap();
    let rows = browser.find_all("#ranking tbody tr");
    assert_eq!(rows.len(), r.rows.len());
    let first = r
        .rows
        .iter()
        .find(|x| x.line.rank == Some(1))
        .expect("someone ranks first");
    let row = browser.find(&format!("#person-{}", first.person.user_id));
    let text = browser.text(&row);
    let total = format!("{}", first.line.total.unwrap());
    assert!(
        text.contains(&first.person.name) && text.contains(&total),
        "{text}"
    );
    assert!(text.contains('★'), "stars: {text}");
    browser.find("#freeze-form");
    browser.keep_screenshot("review-admin");

    // --- A missing item entered on the person's page ------------------------------------------
    let missing = r
        .rows
        .iter()
        .find(|x| {
            x.line
                .items
                .iter()
                .any(|i| i.item == "party_building_report" && i.score.is_none())
        })
        .expect("the demo leaves one secretary's item to enter");
    let uid = missing.person.user_id;
    browser.click(&browser.find(&format!("#person-{uid} a")));
    browser.wait_for(
        "the person",
        &format!("return location.pathname === '/review/{year}/people/{uid}';"),
    );
    browser.send_keys(&browser.find("#score-party_building_report"), "88");
    browser.click(&browser.find("#enter-party_building_report"));
    browser.find("#error-summary");
    assert_eq!(browser.status(), 422);
    assert_eq!(
        browser.prop(&browser.find("#score-party_building_report"), "value"),
        "88",
        "the typed score is kept"
    );
    browser.send_keys(
        &browser.find("#comment-party_building_report"),
        "述职扎实，成效明显",
    );
    browser.click(&browser.find("#enter-party_building_report"));
    browser.find("#notice");
    assert!(browser
        .text(&browser.find("#item-score-party_building_report"))
        .starts_with("88"));
    assert!(browser
        .text(&browser.find("#item-entry-party_building_report"))
        .contains("述职扎实"));
    assert!(browser
        .text(&browser.find("#review-history"))
        .contains("88"));
    let after = app
        .annual_review(&admin, KEY, year, Utc::now())
        .await
        .unwrap();
    let line = &after
        .rows
        .iter()
        .find(|x| x.person.user_id == uid)
        .unwrap()
        .line;
    assert_eq!(
        line.items
            .iter()
            .find(|i| i.item == "party_building_report")
            .unwrap()
            .score,
        Some(88.0)
    );
    browser.keep_screenshot("review-person");

    // --- The workbook and the CSV from the export buttons -------------------------------------
    browser.goto(&format!("{base}/review?year={year}"));
    browser.click(&browser.find("#export-xlsx"));
    let (name, bytes) = browser.downloaded("xlsx");
    assert_eq!(name, format!("{KEY}-{year}-annual-review.xlsx"));
    let mut book = Xlsx::new(Cursor::new(bytes)).expect("a workbook");
    let names = book.sheet_names().to_vec();
    assert!(names.len() >= 3, "{names:?}");
    let summary = book.worksheet_range(&names[0]).unwrap();
    let cells: Vec<String> = summary.cells().map(|(_, _, c)| c.to_string()).collect();
    assert!(
        cells.iter().any(|c| c == "排名") && cells.iter().any(|c| c == "总分"),
        "{cells:?}"
    );
    assert!(cells.iter().any(|c| c == &first.person.name));
    browser.click(&browser.find("#export-csv"));
    let (_, csv) = browser.downloaded("csv");
    assert_eq!(
        &csv[..3],
        b"\xEF\xBB\xBF",
        "the CSV starts with a byte-order mark"
    );
    let header = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert!(header.lines().next().unwrap().contains("排名"), "{header}");

    // --- Approve and freeze; the entry form is gone -------------------------------------------
    browser.send_keys(&browser.find("#freeze-comment"), "区委组织部审定");
    browser.click(&browser.find("#freeze"));
    browser.find("#frozen");
    assert!(browser
        .text(&browser.find("#frozen"))
        .contains("区委组织部审定"));
    assert!(browser.try_find("#freeze-form").is_none());
    // Unfreezing without a reason is refused, and the year stays frozen.
    browser.click(&browser.find("#unfreeze"));
    browser.find("#error-summary");
    assert_eq!(browser.status(), 422);
    browser.find("#frozen");
    browser.goto(&format!("{base}/review/{year}/people/{uid}"));
    assert!(browser.try_find("#enter-party_building_report").is_none());
    browser.goto(&format!("{base}/review/{year}/print"));
    assert!(browser
        .text(&browser.find("#doc-status"))
        .contains("区委组织部审定"));
    assert!(browser.print_pdf().starts_with(b"%PDF"));

    // --- The dashboard: charts as SVG with their text, the figures as the use case has them ---
    browser.goto(&format!("{base}/dashboard"));
    let charts = browser.find_all("svg.chart[role=img]");
    assert_eq!(charts.len(), 5);
    for c in &charts {
        let labelled = browser.attr(c, "aria-labelledby").unwrap_or_default();
        assert!(
            labelled.contains("-t") && labelled.contains("-d"),
            "{labelled}"
        );
    }
    let f = app
        .year_figures(&admin, KEY, year, Utc::now())
        .await
        .unwrap();
    let total_row = browser.text(&browser.find("#figures tr.total-row"));
    assert!(
        total_row.contains(&f.total.applied.to_string()),
        "{total_row}"
    );
    assert_eq!(
        browser.find_all("#figures tbody tr").len(),
        f.by_organisation.len() + 1
    );
    browser.keep_screenshot("dashboard-admin");

    // --- A secretary: the ranking, their subdistrict's figures, no forms -----------------------
    browser.delete_cookies();
    sign_in_on_page(&browser, &base, "secretary1");
    browser.goto(&format!("{base}/review"));
    assert_eq!(browser.find_all("#ranking tbody tr").len(), r.rows.len());
    assert!(browser.try_find("#freeze-form").is_none() && browser.try_find("#unfreeze").is_none());
    browser.find("#frozen");
    browser.goto(&format!("{base}/review/{year}/people/{}", d.secretary));
    assert_eq!(browser.status(), 200);
    assert!(browser.try_find("form.action-form").is_none());
    browser.goto(&format!("{base}/dashboard"));
    assert_eq!(
        browser.find_all("#figures tbody tr").len(),
        2,
        "their own subdistrict and the total"
    );
    browser.keep_screenshot("dashboard-secretary");

    drop(browser);
    server.stop().await;
}
