//! The whole year of one project in a browser, using only the pages: a secretary records a
//! topic and promotes it, fills the application, checks the answers and submits; a reviewer
//! returns it with a comment; the secretary fixes and resubmits; the reviewer approves; a
//! member reports progress with an evidence file; the district writes guidance and the
//! secretary answers; the mid-term passes; the secretary files the self-check and its score;
//! three reviewers are assigned, one visits with a photo, each scores; the appraisal codes are
//! printed and ten residents appraise on a phone; the project closes and its score page shows
//! the figure worked out by hand. Run in Chinese, in English, and with JavaScript off.
//!
//! Every step checks what the page shows, and a screenshot of each main page is kept (see
//! [`Browser::keep_screenshot`]).

use std::sync::Arc;

use super::common::browser::{Browser, El, Window};
use super::common::http::{set_passwords, start_at_own_url};
use super::common::{env, world};
use secretary_projects::workflow::Workflow;
use serde_json::{json, Value};

use super::{ONE_BROWSER, USERS};

/// The office screen the issue names.
const OFFICE: Window = Window::Desktop {
    width: 1366,
    height: 768,
    scale: 1.0,
};

/// The reviewers' shares of each criterion's maximum, and the self-check's.
const REVIEWER_SHARES: [(&str, f64); 3] =
    [("reviewer1", 0.6), ("reviewer2", 0.8), ("reviewer3", 0.9)];
const SELF_CHECK_SHARE: f64 = 0.8;

struct Journey<'a> {
    browser: &'a Browser,
    base: String,
    lang: &'static str,
    js: bool,
    tag: &'static str,
    w: Arc<Workflow>,
}

impl Journey<'_> {
    fn shot(&self, name: &str) {
        self.browser
            .keep_screenshot(&format!("journey-{name}-{}", self.tag));
    }

    fn find(&self, css: &str) -> El {
        self.browser.find(css)
    }

    fn text(&self, css: &str) -> String {
        self.browser.text(&self.find(css))
    }

    /// Open a page of the product; it must answer 200.
    fn open(&self, path: &str) {
        self.browser.goto(&format!("{}{path}", self.base));
        assert_eq!(self.browser.status(), 200, "{path}");
    }

    /// Click what submits a form or follows a link, and wait for the next page to load.
    fn click_through(&self, css: &str) {
        let el = self.find(css);
        self.browser
            .exec("window.__spOldPage = true; return true;", vec![]);
        self.browser.click(&el);
        self.browser.wait_for(
            &format!("the page after {css}"),
            "return !window.__spOldPage && document.readyState === 'complete';",
        );
    }

    fn set_value(&self, css: &str, value: &str) {
        self.browser.exec(
            "const e = document.querySelector(arguments[0]); e.value = arguments[1]; return e.value;",
            vec![json!(css), json!(value)],
        );
    }

    /// Replace what an input holds by typing.
    fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.browser
            .cmd("POST", &format!("/element/{}/clear", el.0), Some(json!({})));
        self.browser.send_keys(&el, text);
    }

    /// Choose the option of a select whose text contains `text` (a person by login).
    fn choose(&self, css: &str, text: &str) {
        let chosen = self.browser.exec(
            "const s = document.querySelector(arguments[0]);
             const o = [...s.options].find(o => o.textContent.includes(arguments[1]));
             if (!o) return null; s.value = o.value; return o.value;",
            vec![json!(css), json!(text)],
        );
        assert!(!chosen.is_null(), "no option {text:?} in {css}");
    }

    /// Open the `<details>` that holds `css`, by clicking its summary as a person does.
    fn reveal(&self, css: &str) {
        let summary = self.browser.exec(
            "const d = document.querySelector(arguments[0]).closest('details');
             return d && !d.open ? d.querySelector('summary') : null;",
            vec![json!(css)],
        );
        if let Some(id) = summary.get(super::ELEMENT).and_then(Value::as_str) {
            self.browser.click(&El(id.to_string()));
        }
    }

    /// Sign out whoever is signed in, sign `who` in through the sign-in form, and switch the
    /// pages to the journey's language (remembered for the account).
    fn as_user(&self, who: &str) {
        // From a page with the header (a printed page has none).
        self.browser.goto(&format!("{}/home", self.base));
        if self.browser.try_find("#sign-out").is_some() {
            self.click_through("#sign-out");
        }
        self.open("/login");
        self.type_into("#login", who);
        self.type_into("#password", super::common::http::PASSWORD);
        self.click_through("#sign-in");
        assert!(
            self.browser.url().ends_with("/home"),
            "{}",
            self.browser.url()
        );
        if !self.browser.lang().starts_with(self.lang) {
            self.click_through("#language-switch");
        }
        assert!(self.browser.lang().starts_with(self.lang));
    }

    fn stage_name(&self, id: &str) -> String {
        self.w.stage(id).unwrap().name.get(self.lang).to_string()
    }

    fn expect_stage(&self, id: &str) {
        assert_eq!(
            self.text("#current-stage"),
            self.stage_name(id),
            "{}",
            self.browser.url()
        );
    }

    /// Take an action offered on the project page now open, with a comment.
    fn act(&self, action: &str, comment: Option<&str>) {
        if let Some(c) = comment {
            self.type_into(&format!("#comment-{action}"), c);
        }
        self.click_through(&format!("#action-{action}"));
    }

    /// An action that submits the stage's form: through the answers to check first.
    fn check_and_act(&self, action: &str, shot: &str) {
        self.click_through(&format!("#check-{action}"));
        self.find("#check-title");
        self.shot(shot);
        self.act(action, None);
    }

    /// The project page's message (the notice after a post).
    fn notice(&self) -> String {
        self.text("#notice")
    }

    /// Each criterion of a scoring part's sheet given `share` of its maximum; the points.
    fn fill_sheet(&self, part: &str, share: f64) -> f64 {
        let criteria = &self.w.part(part).unwrap().criteria;
        let mut total = 0.0;
        for c in criteria {
            let points = *c.max.get() * share;
            total += points;
            self.type_into(
                &format!("#sheet-{part}-{}", c.id.as_str()),
                &points.to_string(),
            );
        }
        // The running total as the reviewer types where scripts run; a hint where they don't.
        let shown = self.text(&format!("#sheet-{part}-total"));
        let hint = self.browser.exec(
            "const h = document.querySelector(arguments[0] + ' .js-only-hint');
             return !!h && getComputedStyle(h).display !== 'none' && !h.hidden;",
            vec![json!(format!("#sheet-{part}"))],
        );
        if self.js {
            assert_eq!(shown.parse::<f64>().ok(), Some(total), "the running total");
            assert_eq!(hint, false);
        } else {
            assert_eq!(shown, "—", "no total without scripts");
            assert_eq!(hint, true, "the hint that the total comes on submit");
        }
        total
    }
}

/// A small file to upload, as a person picks one from their disk.
fn evidence_file(dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// A 1x1 PNG (a site visit's photo).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0d, 0x49, 0x44, 0x41, 0x54,
    0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0, 0x05, 0, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d,
    0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

pub async fn journey(lang: &'static str, js: bool, tag: &'static str) {
    let _one = ONE_BROWSER.lock().await;
    let languages = if lang == "en" { "en-US,en" } else { "zh-CN,zh" };
    let Some(browser) = Browser::start_with(OFFICE, languages, js) else {
        return;
    };
    let t = env().await;
    let app = &t.app;
    let _world = world(app, 1, USERS).await;
    set_passwords(app).await;
    let (addr, server) = start_at_own_url(app, true).await;
    let files = tempfile::tempdir().unwrap();
    let j = Journey {
        browser: &browser,
        base: format!("http://{addr}"),
        lang,
        js,
        tag,
        w: app.registry.current("secretary_project").unwrap().workflow,
    };

    // --- The secretary: a topic recorded, discussed and promoted.
    j.as_user("secretary1");
    j.shot("home-secretary");
    j.open("/topics");
    j.type_into("#topic-title", "背街小巷照明差");
    browser.exec(
        "document.querySelector('#topic-source').selectedIndex = 1;",
        vec![],
    );
    j.type_into("#topic-description", "夜间无路灯，老人出行不便");
    j.click_through("#record-topic");
    j.type_into("#comment", "可与供电所协调");
    j.click_through("#add-comment");
    assert!(j.text("#comments").contains("可与供电所协调"));
    j.shot("topic");
    j.set_value("#promote-year", "2027");
    j.click_through("#promote-topic");

    // --- The application, from the form the definition generates.
    assert_eq!(
        browser.exec("return document.querySelector('#f-problem').value;", vec![]),
        json!("夜间无路灯，老人出行不便"),
        "the topic's description carried over"
    );
    let project_path = browser
        .url()
        .trim_start_matches(&j.base)
        .split("/form")
        .next()
        .unwrap()
        .to_string();
    let id: i64 = project_path
        .trim_start_matches("/projects/")
        .parse()
        .unwrap();
    j.type_into("#f-title", "点亮背街小巷");
    browser.exec(
        "document.querySelector('#f-theme').selectedIndex = 1;",
        vec![],
    );
    for (css, text) in [
        ("#f-feasibility", "待补充"),
        ("#f-goals", "新装路灯120盏"),
        ("#f-measures", "摸底、协调、安装、验收"),
        ("#f-schedule", "3月至9月"),
        ("#f-milestones-0-title", "摸底调研"),
        ("#f-milestones-0-goal", "摸清无灯路段"),
        ("#f-milestones-1-title", "安装路灯"),
        ("#f-milestones-1-goal", "路灯全部点亮"),
        ("#f-team-0-duty", "牵头协调"),
    ] {
        j.type_into(css, text);
    }
    j.choose("#f-milestones-0-owner", "member1");
    j.choose("#f-milestones-1-owner", "member1");
    j.choose("#f-team-0-user", "secretary1");
    j.set_value("#f-milestones-0-due", "2027-04-30");
    j.set_value("#f-milestones-1-due", "2027-08-31");
    j.shot("application");
    j.click_through("#save-and-check");
    // Check your answers: as they will be filed, people by name.
    assert!(j.text("#answer-feasibility").contains("待补充"));
    let milestones = j.text("#answer-milestones");
    assert!(
        milestones.contains("安装路灯") && milestones.contains("用户member1"),
        "{milestones}"
    );
    j.shot("check-answers");
    j.act("submit", None);
    j.expect_stage("under_review");

    // --- The reviewer returns it with a comment.
    j.as_user("reviewer1");
    assert!(
        j.text("main").contains("点亮背街小巷"),
        "the reviewer's inbox"
    );
    j.shot("home-reviewer");
    j.open(&project_path);
    j.act("return_for_revision", Some("请补充可行性分析"));
    j.expect_stage("drafting");

    // --- The secretary reads why, fixes and resubmits.
    j.as_user("secretary1");
    j.open(&project_path);
    assert!(j.text("#history").contains("请补充可行性分析"));
    j.click_through("#edit-form");
    j.type_into("#f-feasibility", "供电所已同意配合，经费已列入预算");
    j.click_through("#save-and-check");
    assert!(j.text("#answer-feasibility").contains("供电所已同意配合"));
    j.act("submit", Some("已补充"));
    j.expect_stage("under_review");

    // --- Approved.
    j.as_user("reviewer1");
    j.open(&project_path);
    j.act("approve", Some("同意立项"));
    j.expect_stage("implementation");

    // --- The member reports the first milestone done, with an evidence file.
    j.as_user("member1");
    assert!(
        j.text("main").contains("摸底调研"),
        "the member's milestones"
    );
    j.shot("home-member");
    j.open(&project_path);
    let reports: Vec<String> = browser
        .find_all("form[id^=report-]")
        .iter()
        .map(|f| browser.attr(f, "id").unwrap())
        .collect();
    assert_eq!(reports.len(), 2, "a report form per milestone: {reports:?}");
    let report = |form: &str, note: &str, file: Option<String>| {
        j.reveal(&format!("#{form}"));
        j.type_into(&format!("#{form}-percent"), "100");
        j.type_into(&format!("#{form}-note"), note);
        if let Some(path) = file {
            browser.send_keys(&j.find(&format!("#{form}-evidence")), &path);
        }
        j.click_through(&format!("#{form}-submit"));
        assert!(!j.notice().is_empty());
    };
    let survey = evidence_file(files.path(), "摸底台账.pdf", b"%PDF-1.4 survey ledger");
    report(&reports[0], "完成全部路段摸底", Some(survey));
    let roadmap = j.text("#milestone-table");
    assert!(roadmap.contains("100"), "{roadmap}");
    assert!(
        j.text("main").contains("摸底台账.pdf"),
        "the evidence is listed"
    );
    j.shot("project-implementation");

    // --- The district writes guidance; the secretary answers it.
    j.as_user("reviewer1");
    j.open(&project_path);
    j.type_into("#guidance-new-body", "请优先安排老人集中居住的路段");
    j.click_through("#guidance-new-submit");
    assert!(j.text("#guidance").contains("请优先安排老人集中居住的路段"));
    j.as_user("secretary1");
    j.open(&project_path);
    let answer = browser
        .find_all("form[id^=answer-]")
        .first()
        .and_then(|f| browser.attr(f, "id"))
        .expect("an answer form");
    j.reveal(&format!("#{answer}"));
    j.type_into(&format!("#{answer}-body"), "已调整，先装东侧三条巷");
    j.click_through(&format!("#{answer}-submit"));
    assert!(j.text("#guidance").contains("已调整，先装东侧三条巷"));

    // --- The mid-term evaluation passes.
    j.as_user("reviewer1");
    j.open(&project_path);
    j.act("start_mid_term", None);
    j.expect_stage("mid_term_review");
    j.click_through("#edit-form");
    j.type_into("#f-midterm_progress", "50");
    j.type_into("#f-midterm_opinion", "进度正常");
    j.click_through("#save-and-check");
    j.act("pass_mid_term", None);
    j.expect_stage("implementation");

    // --- The second milestone done.
    j.as_user("member1");
    j.open(&project_path);
    let second = reports[1].clone();
    report(&second, "路灯全部点亮", None);

    // --- The self-check: the form, the goals one by one, the self score; then submitted.
    j.as_user("secretary1");
    j.open(&project_path);
    j.act("start_self_check", None);
    j.expect_stage("self_check");
    j.click_through("#edit-form");
    j.type_into("#f-self_check_report", "两个节点均按期完成，路灯全部点亮。");
    for k in 0..2 {
        j.set_value(&format!("#f-goal_review-{k}-result"), "achieved");
        j.type_into(&format!("#f-goal_review-{k}-evidence"), "验收记录");
    }
    j.click_through("#save-form");
    let self_points = j.fill_sheet("self_check", SELF_CHECK_SHARE);
    j.click_through("#sheet-self_check-submit");
    assert!(!j.notice().is_empty());
    j.check_and_act("submit_self_check", "check-self-check");
    j.expect_stage("awaiting_upper_review");
    assert!(browser.try_find("#print-self_check").is_some());
    j.click_through("#print-self_check");
    assert!(j.text("#doc-title").contains(&j.stage_name("self_check")));
    j.shot("self-check-report");

    // --- The upper review: three reviewers assigned, a visit with a photo, three sheets.
    j.as_user("reviewer1");
    j.open(&project_path);
    j.act("start_upper_review", None);
    j.expect_stage("upper_review");
    j.as_user("admin");
    j.shot("home-admin");
    j.open(&project_path);
    for (reviewer, _) in REVIEWER_SHARES {
        j.choose("#team-reviewer", reviewer);
        j.click_through("#team-submit");
        assert!(j.text("#team").contains(reviewer), "{reviewer} on the team");
    }
    let mut sheets = Vec::new();
    // Today where the district is (the visit's date may not be later).
    let today = chrono::Utc::now()
        .with_timezone(&j.w.timezone)
        .format("%Y-%m-%d")
        .to_string();
    for (reviewer, share) in REVIEWER_SHARES {
        j.as_user(reviewer);
        j.open(&project_path);
        if reviewer == "reviewer1" {
            j.reveal("#visit");
            j.set_value("#visit-date", &today);
            j.type_into("#visit-notes", "实地查看东侧三条巷，路灯运行正常");
            let photo = evidence_file(files.path(), "现场照片.png", PNG);
            browser.send_keys(&j.find("#visit-photos"), &photo);
            j.click_through("#visit-submit");
            assert!(j.text("#visits").contains("现场照片.png"));
        }
        sheets.push(j.fill_sheet("upper_review", share));
        j.click_through("#sheet-upper_review-submit");
        assert!(!j.notice().is_empty());
    }
    j.shot("project-upper-review");
    j.as_user("reviewer1");
    j.open(&project_path);
    j.click_through("#edit-form");
    j.set_value("#f-site_visit_date", &today);
    j.type_into("#f-upper_review_opinion", "目标达成，群众认可");
    j.click_through("#save-and-check");
    j.act("finish_upper_review", None);
    j.expect_stage("awaiting_appraisal");

    // --- The appraisal: codes printed, ten residents on their phones.
    j.act("open_appraisal", None);
    j.expect_stage("resident_appraisal");
    j.type_into("#codes-count", "10");
    j.click_through("#codes-submit");
    let codes: Vec<String> = browser
        .find_all(".card[data-code]")
        .iter()
        .map(|c| browser.attr(c, "data-code").unwrap())
        .collect();
    assert_eq!(codes.len(), 10, "the printed sheet");
    j.shot("codes-sheet");
    {
        let phone = Browser::start_with(
            Window::Phone {
                width: 375,
                height: 812,
            },
            languages,
            js,
        )
        .expect("a phone");
        for (k, code) in codes.iter().enumerate() {
            phone.goto(&format!("{}/a/{code}", j.base));
            assert_eq!(phone.status(), 200);
            assert!(phone.lang().starts_with(lang));
            // Five satisfied, five basically satisfied.
            let choice = if k < 5 { 0 } else { 1 };
            // A tap where the page's scripts run; with them off, the keyboard (chromedriver's
            // emulated taps wait for scripts that never come).
            if js {
                phone.click(&phone.find_all("label.rating")[choice]);
            } else {
                phone.send_keys(&phone.find_all("input[name=rating]")[choice], " ");
            }
            let radio = &phone.find_all("input[name=rating]")[choice];
            assert_eq!(phone.prop(radio, "checked"), true);
            if k == 0 {
                phone.send_keys(&phone.find("#comment"), "晚上出门亮堂了");
                phone.keep_screenshot(&format!("journey-appraisal-{tag}"));
            }
            phone.exec("window.__spOldPage = true; return true;", vec![]);
            if js {
                phone.click(&phone.find("#submit"));
            } else {
                phone.send_keys(&phone.find("#submit"), "\u{E007}");
            }
            phone.wait_for(
                "the thanks",
                "return !window.__spOldPage && !!document.querySelector('#result');",
            );
            if k == 0 {
                phone.keep_screenshot(&format!("journey-appraisal-done-{tag}"));
            }
        }
    }

    // --- The appraisal closes; the admin closes the project.
    j.open(&project_path);
    assert!(j.text("main").contains("10"), "ten appraisals");
    j.act("close_appraisal", None);
    j.expect_stage("scoring");
    j.as_user("admin");
    j.open(&project_path);
    j.click_through("#edit-form");
    j.type_into("#f-closure_opinion", "同意结题");
    j.click_through("#save-and-check");
    j.act("close_project", Some("结题"));
    j.expect_stage("closed");
    j.shot("project-closed");

    // --- The score explanation shows the figure worked out by hand: self-check 80 x 20% =
    // 16; reviewers 60, 80, 90 with the highest and lowest dropped: 80 x 50% = 40; residents
    // (5 x 100 + 5 x 70) / 10 = 85 x 30% = 25.5; nothing late, no deduction: 81.5.
    assert_eq!(self_points, 80.0);
    assert_eq!(sheets, [60.0, 80.0, 90.0]);
    j.as_user("secretary1");
    j.open(&format!("{project_path}/score"));
    assert_eq!(j.text("#final-score"), "81.5");
    assert!(browser.try_find("#provisional").is_none());
    j.shot("score");
    assert_eq!(app.project(id).await.unwrap().final_score, Some(81.5));
    drop(browser);
    server.stop().await;
}
