//! The server-rendered pages in a real headless Chromium, driven over WebDriver: a resident's
//! phone opens the appraisal page from a code, rates and comments once and is refused the
//! second time, with an unknown code and with a code withdrawn while the form was open; the
//! page in English on request; a reviewer's printable sheet shows QR codes that really render
//! and decode to the codes' links, and prints to PDF; the score page of a closed project shows
//! the figure worked out by hand.
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them each test prints a loud
//! `SKIPPED` line, or fails when `SP_TEST_BROWSER=1` (CI).

mod common;

use chrono::Utc;
use common::browser::{base64_decode, no_sideways_scroll, Browser, El, Window, ELEMENT};
use common::http::{login, set_passwords, start_at_own_url};
use common::{day, env, world, World};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use secretary_projects::app::projects::{ActionInput, NewProject};
use secretary_projects::app::{App, Principal};
use secretary_projects::store::entity::appraisal;
use serde_json::{json, Map, Value};

#[path = "browser/journey.rs"]
mod journey;

#[path = "browser/review.rs"]
mod review;

/// One browser at a time: the machine has few cores, and three Chromiums side by side make
/// every wait slower without testing anything more.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const USERS: &[(&str, &str, usize)] = &[
    ("admin", "admin", 0),
    ("reviewer1", "reviewer", 0),
    ("reviewer2", "reviewer", 0),
    ("reviewer3", "reviewer", 0),
    ("secretary1", "secretary", 1),
    ("member1", "member", 1),
];

const PHONE: Window = Window::Phone {
    width: 390,
    height: 844,
};

const DESKTOP: Window = Window::Desktop {
    width: 1280,
    height: 1000,
    scale: 2.0,
};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn act(action: &str) -> ActionInput {
    ActionInput {
        action: action.into(),
        comment: None,
        expected_version: None,
    }
}

/// Points per criterion: the same share of every criterion's maximum.
fn sheet(app: &App, part: &str, share: f64) -> Map<String, Value> {
    let wf = app.registry.current("secretary_project").unwrap().workflow;
    wf.part(part)
        .unwrap()
        .criteria
        .iter()
        .map(|c| (c.id.to_string(), json!(*c.max.get() * share)))
        .collect()
}

/// A project of subdistrict 1 through application, approval and its three milestones (those
/// at the positions in `late` done after their due date) to a filed self-check scored 80,
/// then the upper review by reviewers 1-3 with the given shares, and the
/// resident appraisal opened. The same steps as tests/acceptance.rs.
async fn to_appraisal(app: &App, w: &World, title: &str, late: &[usize], shares: [f64; 3]) -> i64 {
    let sec = w.user("secretary1");
    let member = w.user("member1");
    let r1 = w.user("reviewer1");
    let owner = &member.login;
    let p = app
        .create_project(
            sec,
            NewProject {
                definition: "secretary_project".into(),
                title: title.into(),
                year: 2026,
                organisation_id: None,
                form: obj(json!({
                    "title": title,
                    "theme": "party_building_governance",
                    "problem": "老旧小区停车难，居民矛盾多。",
                    "feasibility": "有闲置地块。",
                    "goals": "新增车位，建立共享机制。",
                    "measures": "党建引领，多方协商。",
                    "schedule": "3月启动，10月完成。",
                    "team": [{"user": owner, "duty": "具体推进"}],
                    "milestones": [
                        {"title": "摸底调研", "goal": "摸清底数", "owner": owner, "due": "2026-05-31"},
                        {"title": "车位建设", "goal": "新增车位200个", "owner": owner, "due": "2026-08-31"},
                        {"title": "机制运行", "goal": "共享机制运行", "owner": owner, "due": "2026-10-31"}
                    ]
                })),
            },
            day(2, 10),
        )
        .await
        .unwrap();
    let id = p.id;
    app.take_action(sec, id, act("submit"), day(2, 20))
        .await
        .unwrap();
    app.take_action(r1, id, act("approve"), day(3, 1))
        .await
        .unwrap();
    for (k, m) in app.milestones(id).await.unwrap().iter().enumerate() {
        let shift = chrono::Duration::days(if late.contains(&k) { 5 } else { -5 });
        let when = m.due_date + shift;
        let at = day(chrono::Datelike::month(&when), chrono::Datelike::day(&when));
        app.report_progress(member, m.id, 100, "完成", at)
            .await
            .unwrap();
    }
    app.take_action(sec, id, act("start_self_check"), day(11, 1))
        .await
        .unwrap();
    let v = app.project(id).await.unwrap().version;
    app.edit_form(
        sec,
        id,
        v,
        obj(json!({
            "self_check_report": "逐项对照，目标基本完成。",
            "goal_review": [
                {"goal": "摸清底数", "result": "achieved", "evidence": "调研报告"},
                {"goal": "新增车位200个", "result": "achieved", "evidence": "验收单"},
                {"goal": "共享机制运行", "result": "partly", "evidence": "试运行记录"}
            ]
        })),
        day(11, 2),
    )
    .await
    .unwrap();
    app.submit_score(
        sec,
        id,
        "self_check",
        &sheet(app, "self_check", 0.8),
        None,
        day(11, 3),
    )
    .await
    .unwrap();
    app.take_action(sec, id, act("submit_self_check"), day(11, 4))
        .await
        .unwrap();
    // From here on the real clock: the appraisal codes are checked against it.
    let now = Utc::now();
    app.take_action(r1, id, act("start_upper_review"), now)
        .await
        .unwrap();
    let admin = w.user("admin");
    for login in ["reviewer1", "reviewer2", "reviewer3"] {
        app.assign_reviewer(admin, id, w.user(login).user_id, now)
            .await
            .unwrap();
    }
    let v = app.project(id).await.unwrap().version;
    app.edit_form(
        r1,
        id,
        v,
        obj(json!({"site_visit_date": "2026-11-06", "upper_review_opinion": "成效明显"})),
        now,
    )
    .await
    .unwrap();
    for (login, share) in ["reviewer1", "reviewer2", "reviewer3"].iter().zip(shares) {
        app.submit_score(
            w.user(login),
            id,
            "upper_review",
            &sheet(app, "upper_review", share),
            None,
            now,
        )
        .await
        .unwrap();
    }
    for action in ["finish_upper_review", "open_appraisal"] {
        app.take_action(r1, id, act(action), Utc::now())
            .await
            .unwrap();
    }
    id
}

/// `count` fresh appraisal codes of project `id` issued by reviewer1: the batch and the codes.
async fn issue(app: &App, w: &World, id: i64, count: u32) -> (String, Vec<String>) {
    let b = app
        .issue_tokens(w.user("reviewer1"), id, count, Utc::now())
        .await
        .unwrap();
    (b.batch.clone(), b.codes.clone())
}

/// Sign `browser` in as `who` for the server at `base`: the session cookie the JSON login sets.
async fn sign_in(browser: &Browser, addr: std::net::SocketAddr, who: &str) {
    let token = login(addr, who).await;
    // A cookie can only be set for the origin of the page open.
    browser.goto(&format!("http://{addr}/healthz"));
    browser.add_cookie("sp_session", &token);
}

fn trimmed(s: String) -> String {
    s.trim().to_string()
}

async fn appraisals_of(app: &App, id: i64) -> Vec<appraisal::Model> {
    appraisal::Entity::find()
        .filter(appraisal::Column::ProjectId.eq(id))
        .all(&app.db.read)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_appraises_once_on_a_phone() {
    let _one = ONE_BROWSER.lock().await;
    let Some(browser) = Browser::start(PHONE) else {
        return;
    };
    let t = env().await;
    let app = &t.app;
    let w = world(app, 1, USERS).await;
    let id = to_appraisal(app, &w, "破解停车难", &[], [0.8, 0.9, 1.0]).await;
    let (_, codes) = issue(app, &w, id, 3).await;
    let (addr, server) = start_at_own_url(app, true).await;
    let base = format!("http://{addr}");

    // The page a Chinese phone gets from the printed link.
    browser.goto(&format!("{base}/a/{}", codes[0]));
    assert_eq!(browser.status(), 200);
    assert_eq!(
        browser.exec("return document.documentElement.lang;", vec![]),
        "zh"
    );
    assert_eq!(browser.text(&browser.find("#project-title")), "破解停车难");
    browser.keep_screenshot("appraisal-phone");
    let meta: Vec<String> = browser
        .find_all("p.meta")
        .iter()
        .map(|e| browser.text(e))
        .collect();
    assert!(
        meta.iter()
            .any(|m| m.contains("第1街道") && m.contains("2026")),
        "organisation and year: {meta:?}"
    );
    let radios = browser.find_all("input[type=radio][name=rating]");
    let values: Vec<String> = radios
        .iter()
        .map(|r| browser.attr(r, "value").unwrap_or_default())
        .collect();
    assert_eq!(
        values,
        ["satisfied", "basically_satisfied", "not_satisfied"],
        "one radio button per rating"
    );
    let labels = browser.find_all("label.rating");
    let names: Vec<String> = labels.iter().map(|l| trimmed(browser.text(l))).collect();
    assert_eq!(names, ["满意", "基本满意", "不满意"]);

    // Made for a phone: the viewport is the phone's, nothing scrolls sideways, the choices and
    // the button span the screen and are big enough to tap.
    let layout = browser.exec(
        "return {inner: window.innerWidth, scroll: document.documentElement.scrollWidth};",
        vec![],
    );
    assert_eq!(
        layout["inner"], 390,
        "the page sets a device-width viewport"
    );
    assert!(
        layout["scroll"].as_f64().unwrap() <= 390.0,
        "sideways scrolling on a phone: {layout}"
    );
    for el in labels.iter().chain([&browser.find("#submit")]) {
        let (x, _, width, height) = browser.rect(el);
        assert!(browser.displayed(el));
        assert!(
            x >= 0.0 && x + width <= 390.0 && width >= 300.0 && height >= 44.0,
            "a touch target of {width}x{height} at x={x}"
        );
    }

    // Submitting without a choice is stopped by the browser (the radios are required).
    let submit = browser.find("#submit");
    browser.click(&submit);
    assert_eq!(
        browser.exec(
            "return document.querySelector('form').checkValidity();",
            vec![]
        ),
        false
    );
    assert!(browser.try_find("#result").is_none());
    assert_eq!(browser.url(), format!("{base}/a/{}", codes[0]));
    assert_eq!(app.project(id).await.unwrap().appraisal_count, 0);

    // Tap "basically satisfied": its radio is checked and the choice is highlighted.
    let border = |el: &El| {
        browser.exec(
            "return getComputedStyle(arguments[0]).borderTopColor;",
            vec![el.arg()],
        )
    };
    let plain = border(&labels[1]);
    browser.click(&labels[1]);
    let checked: Vec<Value> = radios.iter().map(|r| browser.prop(r, "checked")).collect();
    assert_eq!(checked, [false, true, false]);
    assert_ne!(
        border(&labels[1]),
        plain,
        "the chosen rating is not highlighted"
    );
    assert_eq!(border(&labels[0]), plain);

    let comment = "停车位多了，晚上回家方便 (parking is easier)";
    let textarea = browser.find("textarea#comment");
    browser.send_keys(&textarea, comment);
    assert_eq!(browser.prop(&textarea, "value"), comment);
    browser.click(&browser.find("#submit"));

    // The thank-you page, and the appraisal counted with the rating and the comment typed.
    let result = browser.find("#result");
    assert!(
        browser.text(&result).contains("感谢"),
        "{}",
        browser.text(&result)
    );
    let main = browser.find("main");
    browser.keep_screenshot("appraisal-thanks-phone");
    assert_eq!(
        browser.attr(&main, "data-reason").as_deref(),
        Some("accepted")
    );
    assert_eq!(browser.attr(&main, "class").as_deref(), Some("ok"));
    assert_eq!(browser.status(), 201);
    assert_eq!(app.project(id).await.unwrap().appraisal_count, 1);
    let stored = appraisals_of(app, id).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].rating, "basically_satisfied");
    assert_eq!(stored[0].comment.as_deref(), Some(comment));

    // Going back: the browser shows the form again (from its cache) or asks the server,
    // which refuses; sending the form again is refused. Either way nothing counts twice.
    browser.cmd("POST", "/back", None);
    browser.wait_for(
        "the form or the refusal after going back",
        "return document.querySelector('#submit, main[data-reason]') !== null;",
    );
    if browser.try_find("#submit").is_some() {
        browser.click(&browser.find_all("label.rating")[0]);
        browser.click(&browser.find("#submit"));
    }
    let main = browser.find("main[data-reason]");
    assert_eq!(
        browser.attr(&main, "data-reason").as_deref(),
        Some("token_used")
    );
    assert_eq!(browser.status(), 409);
    assert_eq!(app.project(id).await.unwrap().appraisal_count, 1);

    // The same link opened again: the refusal page.
    browser.goto(&format!("{base}/a/{}", codes[0]));
    let main = browser.find("main[data-reason]");
    assert_eq!(
        browser.attr(&main, "data-reason").as_deref(),
        Some("token_used")
    );
    assert_eq!(browser.attr(&main, "class").as_deref(), Some("refused"));
    assert_eq!(browser.status(), 409);
    assert!(browser.try_find("form").is_none(), "no form on a used code");
    browser.keep_screenshot("appraisal-used-phone");
    assert!(browser.text(&browser.find("#message")).contains("已使用"));
    assert_eq!(app.project(id).await.unwrap().appraisal_count, 1);

    // An unknown code: the invalid-link page.
    browser.goto(&format!("{base}/a/NOSUCHCODE"));
    let main = browser.find("main[data-reason]");
    assert_eq!(
        browser.attr(&main, "data-reason").as_deref(),
        Some("token_unknown")
    );
    assert_eq!(browser.status(), 404);
    assert!(browser.text(&browser.find("#message")).contains("无效"));

    // In English on request, through to the English thank-you page.
    browser.goto(&format!("{base}/a/{}?lang=en", codes[1]));
    assert_eq!(
        browser.exec("return document.documentElement.lang;", vec![]),
        "en"
    );
    let names: Vec<String> = browser
        .find_all("label.rating")
        .iter()
        .map(|l| trimmed(browser.text(l)))
        .collect();
    assert_eq!(names, ["Satisfied", "Basically satisfied", "Not satisfied"]);
    assert_eq!(trimmed(browser.text(&browser.find("#submit"))), "Submit");
    browser.click(&browser.find_all("label.rating")[0]);
    browser.click(&browser.find("#submit"));
    let result = browser.find("#result");
    assert_eq!(browser.text(&result), "Thank you!");
    assert_eq!(browser.status(), 201);
    assert_eq!(app.project(id).await.unwrap().appraisal_count, 2);

    // A batch withdrawn while a resident has its form open: the answer is refused (410).
    let (withdrawn, late_codes) = issue(app, &w, id, 1).await;
    browser.goto(&format!("{base}/a/{}", late_codes[0]));
    browser.click(&browser.find_all("label.rating")[0]);
    app.revoke_batch(w.user("reviewer1"), id, &withdrawn, Utc::now())
        .await
        .unwrap();
    browser.click(&browser.find("#submit"));
    let main = browser.find("main[data-reason]");
    assert_eq!(
        browser.attr(&main, "data-reason").as_deref(),
        Some("token_revoked")
    );
    assert_eq!(browser.status(), 410);
    assert!(browser.text(&browser.find("#message")).contains("收回"));
    assert_eq!(app.project(id).await.unwrap().appraisal_count, 2);

    drop(browser);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_set_to_english() {
    let _one = ONE_BROWSER.lock().await;
    let Some(browser) = Browser::start_in(PHONE, "en-US,en") else {
        return;
    };
    let t = env().await;
    let app = &t.app;
    let w = world(app, 1, USERS).await;
    let id = to_appraisal(app, &w, "破解停车难", &[], [0.8, 0.9, 1.0]).await;
    let (_, codes) = issue(app, &w, id, 2).await;
    let (addr, server) = start_at_own_url(app, true).await;
    let base = format!("http://{addr}");

    // The printed link on an English phone: English from the form to the thank-you page.
    browser.goto(&format!("{base}/a/{}", codes[0]));
    assert_eq!(
        browser.exec("return document.documentElement.lang;", vec![]),
        "en"
    );
    assert_eq!(trimmed(browser.text(&browser.find("#submit"))), "Submit");
    browser.click(&browser.find_all("label.rating")[2]);
    browser.click(&browser.find("#submit"));
    assert_eq!(browser.text(&browser.find("#result")), "Thank you!");
    assert_eq!(browser.status(), 201);

    // `?lang=zh` chosen on that phone holds through the answer too.
    browser.goto(&format!("{base}/a/{}?lang=zh", codes[1]));
    assert_eq!(
        browser.exec("return document.documentElement.lang;", vec![]),
        "zh"
    );
    browser.click(&browser.find_all("label.rating")[0]);
    browser.click(&browser.find("#submit"));
    let result = browser.text(&browser.find("#result"));
    assert!(
        result.contains("感谢"),
        "the answer page in English: {result}"
    );
    assert_eq!(browser.status(), 201);

    let ratings: Vec<String> = appraisals_of(app, id)
        .await
        .into_iter()
        .map(|a| a.rating)
        .collect();
    assert_eq!(ratings, ["not_satisfied", "satisfied"]);
    drop(browser);
    server.stop().await;
}

/// The greyscale pixels of a base64 PNG, decoded by the browser itself (no image crates).
fn greyscale(browser: &Browser, png_base64: &str) -> (usize, usize, Vec<u8>) {
    let v = browser.exec_async(
        "const [b64, done] = arguments;
         const img = new Image();
         img.onload = () => {
           const c = document.createElement('canvas');
           c.width = img.naturalWidth; c.height = img.naturalHeight;
           const g = c.getContext('2d');
           g.drawImage(img, 0, 0);
           const d = g.getImageData(0, 0, c.width, c.height).data;
           const grey = [];
           for (let i = 0; i < d.length; i += 4) grey.push((d[i] + d[i + 1] + d[i + 2]) / 3 | 0);
           done({width: c.width, height: c.height, grey: grey.join(',')});
         };
         img.onerror = () => done({error: 'the screenshot does not load as an image'});
         img.src = 'data:image/png;base64,' + b64;",
        vec![json!(png_base64)],
    );
    assert!(v["error"].is_null(), "{}", v["error"]);
    let (width, height) = (
        v["width"].as_u64().unwrap() as usize,
        v["height"].as_u64().unwrap() as usize,
    );
    let grey: Vec<u8> = v["grey"]
        .as_str()
        .unwrap()
        .split(',')
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(grey.len(), width * height);
    (width, height, grey)
}

/// The text of the one QR code in a greyscale image.
fn read_qr(width: usize, height: usize, grey: &[u8]) -> String {
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| grey[y * width + x]);
    let grids = img.detect_grids();
    assert_eq!(
        grids.len(),
        1,
        "one QR code in the {width}x{height} picture"
    );
    grids[0].decode().expect("a readable QR code").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_prints_the_sheet_of_qr_codes() {
    let _one = ONE_BROWSER.lock().await;
    let Some(browser) = Browser::start(DESKTOP) else {
        return;
    };
    let t = env().await;
    let app = &t.app;
    let w = world(app, 1, USERS).await;
    set_passwords(app).await;
    let id = to_appraisal(app, &w, "破解停车难", &[], [0.8, 0.9, 1.0]).await;
    let (batch, codes) = issue(app, &w, id, 5).await;
    // One code already used: the sheet carries only the four still usable.
    app.appraise(&codes[0], None, "satisfied", None, Utc::now())
        .await
        .unwrap();
    let (addr, server) = start_at_own_url(app, true).await;
    let base = format!("http://{addr}");
    let sheet_url = format!("{base}/print/projects/{id}/tokens/{batch}");

    // Not signed in: no codes.
    browser.goto(&sheet_url);
    assert_eq!(browser.status(), 401);
    assert!(browser.find_all(".card").is_empty());

    sign_in(&browser, addr, "reviewer1").await;
    browser.goto(&sheet_url);
    assert_eq!(browser.status(), 200);
    let cards = browser.find_all(".card");
    browser.keep_screenshot("token-sheet");
    let on_sheet: Vec<String> = cards
        .iter()
        .map(|c| browser.attr(c, "data-code").unwrap_or_default())
        .collect();
    assert_eq!(on_sheet, codes[1..], "one card per unused code, in order");
    let header = browser.text(&browser.find("header"));
    assert!(
        header.contains("破解停车难") && header.contains("第1街道") && header.contains(&batch),
        "{header}"
    );

    // Three cards to a row on the page (the grid), the fourth below the first.
    let rects: Vec<_> = cards.iter().map(|c| browser.rect(c)).collect();
    assert!(
        rects[0].1 == rects[1].1 && rects[1].1 == rects[2].1,
        "first row: {rects:?}"
    );
    assert!(rects[0].0 < rects[1].0 && rects[1].0 < rects[2].0);
    assert!(rects[3].1 > rects[0].1 && (rects[3].0 - rects[0].0).abs() < 1.0);

    // Each QR code is drawn at its print size (38 mm is about 144 CSS pixels), and what the
    // browser paints reads back as the card's link, which opens the appraisal page.
    let mut links = Vec::new();
    for (card, code) in cards.iter().zip(&codes[1..]) {
        let svg = browser.exec(
            "return arguments[0].querySelector('svg');",
            vec![card.arg()],
        );
        let svg = El(svg[ELEMENT]
            .as_str()
            .expect("an <svg> in the card")
            .to_string());
        let (_, _, width, height) = browser.rect(&svg);
        assert!(
            (width - 143.6).abs() < 2.0 && (height - 143.6).abs() < 2.0,
            "QR code of {width}x{height} CSS pixels"
        );
        assert!(browser.displayed(&svg));
        let png = browser.element_screenshot_base64(&svg);
        assert!(base64_decode(&png).starts_with(b"\x89PNG\r\n\x1a\n"));
        let (w, h, grey) = greyscale(&browser, &png);
        let dark = grey.iter().filter(|p| **p < 128).count() as f64 / grey.len() as f64;
        assert!(
            (0.2..0.7).contains(&dark),
            "{dark:.2} of the QR code is dark"
        );
        let text = read_qr(w, h, &grey);
        assert_eq!(text, format!("{base}/a/{code}"));
        let printed = browser.exec(
            "return arguments[0].querySelector('.link').textContent;",
            vec![card.arg()],
        );
        assert_eq!(printed, text.as_str(), "the printed link is the QR code's");
        links.push(text);
    }

    // Printed to PDF by the browser: a PDF comes back.
    let pdf = browser.print_pdf();
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    assert!(pdf.len() > 2_000, "a PDF of {} bytes", pdf.len());

    // A scanned code opens the appraisal page of this project.
    browser.goto(&links[0]);
    assert_eq!(browser.text(&browser.find("#project-title")), "破解停车难");

    // The subdistrict's secretary may not print its residents' ballots.
    sign_in(&browser, addr, "secretary1").await;
    browser.goto(&sheet_url);
    assert_eq!(browser.status(), 403);
    assert!(browser.find_all(".card").is_empty());

    drop(browser);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_score_page_of_a_closed_project() {
    let _one = ONE_BROWSER.lock().await;
    let Some(browser) = Browser::start(DESKTOP) else {
        return;
    };
    let t = env().await;
    let app = &t.app;
    let w = world(app, 1, USERS).await;
    set_passwords(app).await;
    // The second milestone is done late.
    let id = to_appraisal(app, &w, "小区微更新", &[1], [0.6, 0.8, 0.9]).await;
    // Ten appraisals (the least the definition takes): five satisfied, five basically.
    let (_, codes) = issue(app, &w, id, 10).await;
    for (k, code) in codes.iter().enumerate() {
        let rating = if k < 5 {
            "satisfied"
        } else {
            "basically_satisfied"
        };
        app.appraise(code, None, rating, None, Utc::now())
            .await
            .unwrap();
    }
    let (addr, server) = start_at_own_url(app, true).await;
    let page = format!("http://{addr}/projects/{id}/score");
    // Before closure the subdistrict waits for the final figure; the district sees the
    // provisional one.
    sign_in(&browser, addr, "secretary1").await;
    browser.goto(&page);
    assert_eq!(browser.status(), 403);
    sign_in(&browser, addr, "admin").await;
    browser.goto(&page);
    assert_eq!(browser.status(), 200);
    browser.find("#provisional");

    let r1 = w.user("reviewer1");
    let admin: &Principal = w.user("admin");
    app.take_action(r1, id, act("close_appraisal"), Utc::now())
        .await
        .unwrap();
    app.record_deduction(r1, id, "manual", "台账资料不全", Utc::now())
        .await
        .unwrap();
    let v = app.project(id).await.unwrap().version;
    app.edit_form(
        admin,
        id,
        v,
        obj(json!({"closure_opinion": "同意结题"})),
        Utc::now(),
    )
    .await
    .unwrap();
    app.take_action(admin, id, act("close_project"), Utc::now())
        .await
        .unwrap();

    // By hand: self-check 80 x 20% = 16; reviewers 60, 80, 90, the highest and lowest
    // dropped: 80 x 50% = 40; residents (5 x 100 + 5 x 70) / 10 = 85 x 30% = 25.5;
    // subtotal 81.5; one late milestone -2 and one manual deduction -1: 78.5, pass.
    sign_in(&browser, addr, "secretary1").await;
    browser.goto(&page);
    assert_eq!(browser.status(), 200);
    assert_eq!(browser.text(&browser.find("#final-score")), "78.5");
    browser.keep_screenshot("score");
    assert_eq!(browser.text(&browser.find("#grade")), "合格");
    assert!(browser.try_find("#provisional").is_none());
    let part = |p: &str| {
        let text = browser.text(&browser.find(&format!(".part-score[data-part={p}]")));
        text.parse::<f64>()
            .unwrap_or_else(|_| panic!("part score {p}: {text:?}"))
    };
    assert_eq!(part("self_check"), 80.0);
    assert_eq!(part("upper_review"), 80.0);
    assert_eq!(part("resident_appraisal"), 85.0);
    // The two dropped sheets are struck through.
    let dropped = browser.find_all("table.sheets tr.dropped");
    assert_eq!(dropped.len(), 2);
    for row in &dropped {
        let style = browser.exec(
            "return getComputedStyle(arguments[0].querySelector('td')).textDecorationLine;",
            vec![row.arg()],
        );
        assert_eq!(style, "line-through");
    }
    let deductions = browser.text(&browser.find("table.deductions"));
    assert!(
        deductions.contains("台账资料不全") && deductions.contains("车位建设"),
        "{deductions}"
    );
    assert_eq!(
        app.project(id).await.unwrap().final_score,
        Some(78.5),
        "the page shows the stored score"
    );

    drop(browser);
    server.stop().await;
}

/// Sign in through the sign-in form of the pages (no API call behind the test's back).
fn sign_in_on_page(browser: &Browser, base: &str, who: &str) {
    browser.goto(&format!("{base}/"));
    assert!(browser.url().contains("/login"), "{}", browser.url());
    browser.send_keys(&browser.find("#login"), who);
    browser.send_keys(&browser.find("#password"), common::http::PASSWORD);
    browser.click(&browser.find("#sign-in"));
    browser.wait_for("the home page", "return location.pathname === '/home';");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secretary_works_on_the_pages() {
    let _one = ONE_BROWSER.lock().await;
    let Some(browser) = Browser::start(DESKTOP) else {
        return;
    };
    let t = env().await;
    let app = &t.app;
    let mut users = USERS.to_vec();
    users.push(("secretary2", "secretary", 2));
    let w = world(app, 2, &users).await;
    set_passwords(app).await;
    let mine = app
        .create_project(
            w.user("secretary1"),
            NewProject {
                definition: "secretary_project".into(),
                title: "社区食堂".into(),
                year: 2026,
                organisation_id: None,
                form: obj(json!({"title": "社区食堂"})),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let theirs = app
        .create_project(
            w.user("secretary2"),
            NewProject {
                definition: "secretary_project".into(),
                title: "别家的项目".into(),
                year: 2026,
                organisation_id: None,
                form: obj(json!({"title": "别家的项目"})),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let (addr, server) = start_at_own_url(app, true).await;
    let base = format!("http://{addr}");

    sign_in_on_page(&browser, &base, "secretary1");
    assert_eq!(
        browser.exec("return document.documentElement.lang;", vec![]),
        "zh-CN"
    );
    assert!(browser
        .text(&browser.find("#who"))
        .contains("用户secretary1"));
    let waiting = browser.text(&browser.find("section[aria-labelledby=waiting-title]"));
    assert!(
        waiting.contains("社区食堂") && waiting.contains("撤回申请"),
        "{waiting}"
    );
    assert!(!browser.text(&browser.find("main")).contains("别家的项目"));
    browser.keep_screenshot("home-secretary-zh-desktop");

    // The project page: where it stands, what may be done, and why the rest may not.
    browser.click(&browser.find(&format!("a[href='/projects/{}']", mine.id)));
    assert_eq!(browser.text(&browser.find("#current-stage")), "立项申请");
    assert_eq!(
        browser.text(&browser.find(".stage-current .stage-name")),
        "立项申请"
    );
    let refused = browser.text(&browser.find("#refused-submit"));
    assert!(refused.contains("尚未填写"), "{refused}");
    browser.keep_screenshot("project-zh-desktop");

    // Withdraw needs a comment: the browser keeps the empty form from being sent.
    browser.send_keys(&browser.find("#comment-withdraw"), "时机不成熟，明年再报");
    browser.click(&browser.find("#action-withdraw"));
    browser.wait_for("the notice", "return !!document.querySelector('#notice');");
    assert_eq!(browser.text(&browser.find("#notice")), "已办理。");
    assert_eq!(browser.text(&browser.find("#current-stage")), "已撤回");
    assert!(browser
        .text(&browser.find("#history"))
        .contains("时机不成熟，明年再报"));
    let stored = app.project(mine.id).await.unwrap();
    assert_eq!(stored.stage, "withdrawn");

    // Another subdistrict's project is refused, not shown.
    browser.goto(&format!("{base}/projects/{}", theirs.id));
    assert_eq!(browser.status(), 403);
    assert!(!browser.text(&browser.find("main")).contains("别家的项目"));

    // English, remembered for the user.
    browser.goto(&format!("{base}/home"));
    browser.click(&browser.find("#language-switch"));
    browser.wait_for("English", "return document.documentElement.lang === 'en';");
    assert_eq!(browser.text(&browser.find("h1")), "My work");
    browser.keep_screenshot("home-secretary-en-desktop");
    let me =
        secretary_projects::store::entity::user::Entity::find_by_id(w.user("secretary1").user_id)
            .one(&app.db.read)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(me.language, "en");

    // Signing out ends the session: the home page sends to sign-in again.
    browser.click(&browser.find("#sign-out"));
    browser.wait_for("the sign-in page", "return location.pathname === '/login';");
    browser.goto(&format!("{base}/home"));
    assert!(
        browser.url().contains("/login?next=%2Fhome"),
        "{}",
        browser.url()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_fit_a_phone() {
    let _one = ONE_BROWSER.lock().await;
    let Some(browser) = Browser::start(Window::Phone {
        width: 375,
        height: 812,
    }) else {
        return;
    };
    let t = env().await;
    let app = &t.app;
    let w = world(app, 1, USERS).await;
    set_passwords(app).await;
    let id = to_appraisal(app, &w, "破解老旧小区停车难", &[1], [0.8, 0.9, 1.0]).await;
    let (addr, server) = start_at_own_url(app, true).await;
    let base = format!("http://{addr}");
    browser.goto(&format!("{base}/login"));
    no_sideways_scroll(&browser, "sign-in");
    browser.keep_screenshot("login-zh-phone");
    sign_in_on_page(&browser, &base, "secretary1");
    no_sideways_scroll(&browser, "home");
    browser.keep_screenshot("home-secretary-zh-phone");
    browser.goto(&format!("{base}/projects/{id}"));
    assert_eq!(browser.status(), 200);
    no_sideways_scroll(&browser, "project");
    browser.keep_screenshot("project-zh-phone");
    browser.goto(&format!("{base}/projects"));
    no_sideways_scroll(&browser, "projects");
    assert!(browser.text(&browser.find("#project-count")).contains('1'));
    browser.goto(&format!("{base}/projects/new"));
    assert_eq!(browser.status(), 200);
    no_sideways_scroll(&browser, "application-new");
    browser.keep_screenshot("application-new-zh-phone");
    server.stop().await;
}

/// A secretary works from the topic pool to a filed application using only the pages: a
/// topic recorded, discussed and promoted; then an application from the form generated from the
/// definition, a mistake shown in the error summary and beside its field, then saved and
/// submitted; the project is under review.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secretary_files_an_application_on_the_pages() {
    let _one = ONE_BROWSER.lock().await;
    let Some(browser) = Browser::start(DESKTOP) else {
        return;
    };
    let t = env().await;
    let app = &t.app;
    let _w = world(app, 1, USERS).await;
    set_passwords(app).await;
    let (addr, server) = start_at_own_url(app, true).await;
    let base = format!("http://{addr}");
    sign_in_on_page(&browser, &base, "secretary1");
    // The problem is first recorded in the topic pool, discussed, then promoted.
    browser.goto(&format!("{base}/topics"));
    browser.send_keys(&browser.find("#topic-title"), "背街小巷照明差");
    browser.exec(
        "document.querySelector('#topic-source').selectedIndex = 1;",
        vec![],
    );
    browser.send_keys(
        &browser.find("#topic-description"),
        "夜间无路灯，老人出行不便",
    );
    browser.click(&browser.find("#record-topic"));
    browser.wait_for(
        "the topic",
        "return !!document.querySelector('#promote-topic');",
    );
    browser.send_keys(&browser.find("#comment"), "可与供电所协调");
    browser.click(&browser.find("#add-comment"));
    browser.wait_for(
        "the comment",
        "return !!document.querySelector('#comments');",
    );
    browser.keep_screenshot("topic-zh-desktop");
    browser.exec(
        "document.querySelector('#promote-year').value = '2027';",
        vec![],
    );
    browser.click(&browser.find("#promote-topic"));
    browser.wait_for(
        "the application",
        "return !!document.querySelector('#f-problem');",
    );
    assert_eq!(
        browser.exec("return document.querySelector('#f-problem').value;", vec![]),
        json!("夜间无路灯，老人出行不便")
    );
    browser.goto(&format!("{base}/topics"));
    assert!(browser.text(&browser.find("#topics")).contains("已转项目"));
    browser.keep_screenshot("topics-zh-desktop");
    browser.goto(&format!("{base}/home"));
    browser.click(&browser.find("#new-application"));
    browser.wait_for("the form", "return !!document.querySelector('#f-title');");
    browser.keep_screenshot("application-new-zh-desktop");
    // Next year's application (this year's window has closed).
    browser.exec("document.querySelector('#year').value = '2027';", vec![]);
    browser.send_keys(&browser.find("#f-title"), "破解老旧小区停车难");
    browser.exec(
        "const s = document.querySelector('#f-theme'); s.selectedIndex = 1;",
        vec![],
    );
    for (id, text) in [
        ("#f-problem", "车位缺口约300个，居民反映集中"),
        ("#f-feasibility", "辖区单位可错时开放车位"),
        ("#f-goals", "新增共享车位200个"),
        ("#f-measures", "摸底、协商、建设、运行"),
        ("#f-schedule", "3月至10月"),
        ("#f-milestones-0-title", "摸底调研"),
        ("#f-team-0-duty", "牵头"),
    ] {
        browser.send_keys(&browser.find(id), text);
    }
    // A date input's typing depends on the browser's locale; its value is always ISO.
    browser.exec(
        "document.querySelector('#f-milestones-0-due').value = '2027-05-31';",
        vec![],
    );
    // A milestone without an owner: refused, summary and message beside the field.
    browser.click(&browser.find("#save-form"));
    browser.wait_for(
        "the error summary",
        "return !!document.querySelector('#error-summary');",
    );
    let summary = browser.text(&browser.find("#error-summary"));
    // Named by the field's label, not its id.
    assert!(summary.contains("“项目节点”第1项"), "{summary}");
    assert!(!summary.contains("“milestones”"), "{summary}");
    assert!(browser
        .text(&browser.find("#field-milestones .error-message"))
        .contains("第1项"));
    browser.keep_screenshot("application-errors-zh-desktop");
    // What was typed is still there.
    assert_eq!(
        browser.exec("return document.querySelector('#f-problem').value;", vec![]),
        json!("车位缺口约300个，居民反映集中")
    );
    browser.exec(
        "for (const id of ['#f-milestones-0-owner', '#f-team-0-user']) { \
           const s = document.querySelector(id); \
           s.value = [...s.options].find(o => o.value === (id.includes('team') ? 'secretary1' : 'member1')).value; }",
        vec![],
    );
    browser.click(&browser.find("#save-form"));
    browser.wait_for(
        "the project page",
        "return !!document.querySelector('#notice');",
    );
    assert_eq!(browser.text(&browser.find("#current-stage")), "立项申请");
    // Submitting goes through the answers to check first.
    browser.click(&browser.find("#check-submit"));
    browser.wait_for(
        "check your answers",
        "return !!document.querySelector('#check-title');",
    );
    assert!(browser
        .text(&browser.find("#answer-problem"))
        .contains("车位缺口约300个"));
    browser.keep_screenshot("check-answers-zh-desktop");
    browser.click(&browser.find("#action-submit"));
    browser.wait_for(
        "under review",
        // While the next page loads there may be no stage element yet: wait, do not fail.
        "const s = document.querySelector('#current-stage'); return !!s && s.textContent !== '立项申请';",
    );
    assert_eq!(browser.text(&browser.find("#current-stage")), "审核中");
    browser.keep_screenshot("application-submitted-zh-desktop");
    server.stop().await;
}

/// The demo district that `serve --demo` loads (six subdistricts, a user per role, projects in
/// every stage of the year), every password [`common::http::PASSWORD`], plus what the demo
/// leaves out: a topic in the pool and a batch of appraisal codes.
struct Demo {
    drafting: i64,
    /// A project of member1a's subdistrict past its application.
    members: i64,
    implementation: i64,
    upper_review: i64,
    appraisal: i64,
    closed: i64,
    topic: i64,
    /// secretary1's account (the admin's user page).
    secretary: i64,
    batch: String,
    code: String,
}

async fn demo_user(app: &App, login: &str) -> Principal {
    use secretary_projects::store::entity::user;
    let u = user::Entity::find()
        .filter(user::Column::Login.eq(login))
        .one(&app.db.read)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no demo login {login}"));
    Principal::from(&u)
}

async fn demo(app: &App) -> Demo {
    use secretary_projects::store::entity::project;
    let wf = app.registry.current("secretary_project").unwrap().workflow;
    let summary = secretary_projects::demo::load_with_password(
        app,
        &wf,
        Utc::now(),
        Some(common::http::PASSWORD),
    )
    .await
    .unwrap();
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
    let secretary = demo_user(app, "secretary1").await;
    let member = demo_user(app, "member1a").await;
    let projects = project::Entity::find().all(&app.db.read).await.unwrap();
    let find = |what: &str, ok: &dyn Fn(&project::Model) -> bool| {
        projects
            .iter()
            .find(|p| ok(p))
            .unwrap_or_else(|| panic!("no demo project {what}"))
            .id
    };
    let in_stage = |s: &'static str| move |p: &project::Model| p.stage == s;
    let appraisal = find("in resident_appraisal", &in_stage("resident_appraisal"));
    let batch = app
        .issue_tokens(&demo_user(app, "reviewer1").await, appraisal, 3, Utc::now())
        .await
        .unwrap();
    let topic = app
        .create_topic(
            &secretary,
            "secretary_project",
            secretary_projects::app::topics::TopicInput {
                title: Some("背街小巷照明差".into()),
                source: Some("field_visit".into()),
                area: None,
                description: Some("夜间无路灯，老人出行不便".into()),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    app.comment_topic(&secretary, topic.id, "可与供电所协调", Utc::now())
        .await
        .unwrap();
    Demo {
        drafting: find("of secretary1 in drafting", &|p| {
            p.stage == "drafting" && p.organisation_id == secretary.organisation_id
        }),
        members: find("of member1a past drafting", &|p| {
            p.stage != "drafting" && p.organisation_id == member.organisation_id
        }),
        implementation: find("in implementation", &in_stage("implementation")),
        upper_review: find("in upper_review", &in_stage("upper_review")),
        appraisal,
        closed: find("closed", &in_stage("closed")),
        topic: topic.id,
        secretary: secretary.user_id,
        batch: batch.batch.clone(),
        code: batch.codes[0].clone(),
    }
}

/// The narrow phone every main page must fit.
const PHONE_WIDTH: u32 = 375;

/// A main page as a person opens it: who (a demo login, or nobody signed in) and where.
struct MainPage {
    name: &'static str,
    who: Option<&'static str>,
    path: String,
}

/// Every main page of the product, grouped by who opens it. A page added here is checked by
/// `every_main_page_passes_axe` (axe-core, requests to other origins, width on a phone).
fn main_pages(d: &Demo) -> Vec<MainPage> {
    let page = |name, who, path: String| MainPage { name, who, path };
    let sec = Some("secretary1");
    let member = Some("member1a");
    let reviewer = Some("reviewer1");
    let admin = Some("admin");
    vec![
        page("login", None, "/login".into()),
        page("appraisal", None, format!("/a/{}", d.code)),
        page("home-secretary", sec, "/home".into()),
        page("projects-secretary", sec, "/projects".into()),
        page("project-drafting", sec, format!("/projects/{}", d.drafting)),
        page(
            "application-new",
            sec,
            "/projects/new?definition=secretary_project".into(),
        ),
        page(
            "form-drafting",
            sec,
            format!("/projects/{}/form", d.drafting),
        ),
        page(
            "check-drafting",
            sec,
            format!("/projects/{}/check", d.drafting),
        ),
        page(
            "charter",
            sec,
            format!("/projects/{}/print/drafting", d.drafting),
        ),
        page("topics", sec, "/topics".into()),
        page("topic", sec, format!("/topics/{}", d.topic)),
        page("home-member", member, "/home".into()),
        page("project-member", member, format!("/projects/{}", d.members)),
        page("home-reviewer", reviewer, "/home".into()),
        page(
            "project-implementation",
            reviewer,
            format!("/projects/{}", d.implementation),
        ),
        page(
            "project-appraisal",
            reviewer,
            format!("/projects/{}", d.appraisal),
        ),
        page(
            "score-provisional",
            reviewer,
            format!("/projects/{}/score", d.appraisal),
        ),
        page(
            "token-sheet",
            reviewer,
            format!("/print/projects/{}/tokens/{}", d.appraisal, d.batch),
        ),
        page("dispatch", reviewer, "/dispatch".into()),
        page("notifications", reviewer, "/notifications".into()),
        page("home-admin", admin, "/home".into()),
        page("admin-users", admin, "/admin/users".into()),
        page("admin-user", admin, format!("/admin/users/{}", d.secretary)),
        page("admin-organisations", admin, "/admin/organisations".into()),
        page("admin-mail", admin, "/admin/mail".into()),
        page("projects-admin", admin, "/projects".into()),
        page(
            "project-upper-review",
            admin,
            format!("/projects/{}", d.upper_review),
        ),
        page("project-closed", admin, format!("/projects/{}", d.closed)),
        page(
            "self-check-report",
            admin,
            format!("/projects/{}/print/self_check", d.closed),
        ),
        page(
            "score-closed",
            admin,
            format!("/projects/{}/score", d.closed),
        ),
        page("review-admin", admin, "/review".into()),
        page(
            "review-person",
            admin,
            format!("/review/{}/people/{}", this_year(), d.secretary),
        ),
        page(
            "review-print",
            admin,
            format!("/review/{}/print", this_year()),
        ),
        page("dashboard-admin", admin, "/dashboard".into()),
        page("review-secretary", sec, "/review".into()),
        page("dashboard-secretary", sec, "/dashboard".into()),
    ]
}

/// This year in Beijing (the demo's and the pages' default year).
fn this_year() -> i32 {
    chrono::Datelike::year(&Utc::now().with_timezone(&chrono_tz::Asia::Shanghai))
}

/// Open `path` in language `want` (`zh` or `en`): by the page's language button where it has
/// one (as a person switches), else by `?lang=` (the resident's and the printed pages, whose
/// language comes with the link).
fn open_in(browser: &Browser, base: &str, path: &str, want: &str) {
    browser.goto(&format!("{base}{path}"));
    if browser.lang().starts_with(want) {
        return;
    }
    if let Some(switch) = browser.try_find("#language-switch") {
        browser.click(&switch);
        browser.wait_for(
            &format!("the page in {want}"),
            &format!("return document.documentElement.lang.startsWith('{want}');"),
        );
    } else {
        let join = if path.contains('?') { '&' } else { '?' };
        browser.goto(&format!("{base}{path}{join}lang={want}"));
    }
}

/// Walk every main page in both languages in one window; every problem found, as text.
async fn walk_main_pages(
    browser: &Browser,
    addr: std::net::SocketAddr,
    pages: &[MainPage],
    window: &str,
    phone: bool,
) -> Vec<String> {
    let base = format!("http://{addr}");
    let mut problems = Vec::new();
    for want in ["zh", "en"] {
        let mut signed_in: Option<Option<&str>> = None;
        for page in pages {
            if signed_in != Some(page.who) {
                match page.who {
                    Some(who) => sign_in(browser, addr, who).await,
                    None => {
                        browser.goto(&format!("{base}/healthz"));
                        browser.delete_cookies();
                    }
                }
                signed_in = Some(page.who);
            }
            open_in(browser, &base, &page.path, want);
            let at = format!("{} ({}, {want}, {window})", page.name, page.path);
            browser.keep_screenshot(&format!("axe-{}-{want}-{window}", page.name));
            let status = browser.status();
            if status != 200 {
                problems.push(format!("{at}: HTTP status {status}"));
            }
            let lang = browser.lang();
            if !lang.starts_with(want) {
                problems.push(format!("{at}: the page is in {lang:?}"));
            }
            for v in browser.axe_violations() {
                if v.impact == "serious" || v.impact == "critical" {
                    problems.push(format!(
                        "{at}: axe {} {} ({}): {}",
                        v.impact,
                        v.id,
                        v.help,
                        v.targets.join(", ")
                    ));
                }
            }
            for url in browser.requested_urls() {
                let ours = url == base || url.starts_with(&format!("{base}/"));
                let local = ["data:", "blob:", "about:"]
                    .iter()
                    .any(|s| url.starts_with(s));
                if !(ours || local) {
                    problems.push(format!("{at}: a request to another origin: {url}"));
                }
            }
            if phone {
                // A page wider than the phone can also widen the viewport (the phone zooms
                // out to show it all): the viewport must stay the phone's width too.
                if !browser.fits_width() {
                    // The outermost elements reaching past the phone's edge, to say where.
                    let wide = browser.exec(
                        "const w = screen.width, out = [];
                         // Clipped by a scrolling box it is laid out in (an absolutely
                         // placed element only by one at or inside its containing block).
                         const placed = p => p === 'absolute' || p === 'fixed';
                         const clipped = e => {
                           let free = placed(getComputedStyle(e).position);
                           for (let a = e.parentElement; a; a = a.parentElement) {
                             const cs = getComputedStyle(a);
                             if (free && cs.position === 'static') continue;
                             if (cs.overflowX !== 'visible') return true;
                             free = placed(cs.position);
                           }
                           return false;
                         };
                         const wide = e => e.getBoundingClientRect().right > w + 0.5 && !clipped(e);
                         for (const e of document.body.querySelectorAll('*')) {
                           if (wide(e) && !(e.parentElement && wide(e.parentElement))) {
                             out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                               + (e.className && typeof e.className === 'string'
                                  ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
                               + ' (' + Math.round(e.getBoundingClientRect().right) + ' px)');
                           }
                         }
                         return [window.innerWidth, document.documentElement.scrollWidth,
                                 out.slice(0, 6).join(', ')];",
                        vec![],
                    );
                    problems.push(format!(
                        "{at}: scrolls sideways (viewport, page width, what is too wide: {wide})"
                    ));
                }
            }
        }
    }
    problems
}

/// Every main page, signed in as each role, in Chinese and English, on a 1366 px desktop and
/// a 375 px phone: no axe-core violation of impact serious or critical, no request the
/// browser made to another origin, and on the phone nothing scrolls sideways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_main_page_passes_axe() {
    let _one = ONE_BROWSER.lock().await;
    let t = env().await;
    let app = &t.app;
    let d = demo(app).await;
    let pages = main_pages(&d);
    let (addr, server) = start_at_own_url(app, true).await;
    let mut problems = Vec::new();
    for (name, window, phone) in [
        (
            "desktop",
            Window::Desktop {
                width: 1366,
                height: 768,
                scale: 1.0,
            },
            false,
        ),
        (
            "phone",
            Window::Phone {
                width: PHONE_WIDTH,
                height: 812,
            },
            true,
        ),
    ] {
        let Some(browser) = Browser::start(window) else {
            return;
        };
        // Away from the browser's own start page, whose requests (chrome://...) are in the
        // log before the first page of ours.
        browser.goto(&format!("http://{addr}/login"));
        browser.requested_urls();
        if phone {
            assert_eq!(
                browser.exec("return window.innerWidth;", vec![]),
                PHONE_WIDTH
            );
        }
        problems.extend(walk_main_pages(&browser, addr, &pages, name, phone).await);
    }
    server.stop().await;
    assert!(
        problems.is_empty(),
        "{} problems on the main pages:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The whole year of a project on the pages alone, in Chinese (tests/browser/journey.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_year_on_the_pages_in_chinese() {
    journey::journey("zh", true, "zh").await;
}

/// The same year for English users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_year_on_the_pages_in_english() {
    journey::journey("en", true, "en").await;
}

/// The same year with JavaScript off in every browser: every form works without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_year_on_the_pages_without_javascript() {
    journey::journey("zh", false, "zh-nojs").await;
}
