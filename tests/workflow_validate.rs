//! The definition loader and validator, seen from outside: the broken definitions under
//! `tests/workflows/broken/` (each with one kind of mistake), the two valid definitions, the
//! `workflow` CLI, and robustness against hostile or mangled input.

use std::path::Path;
use std::process::{Command, Output};

use proptest::prelude::*;
use secretary_projects::workflow::{self, Problem};

const BROKEN_DIR: &str = "tests/workflows/broken";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Load `rel` (relative to the package root) and return its problems, with the file name
/// rewritten to `rel` so that messages do not depend on where the checkout lives.
fn problems_of(rel: &str) -> Vec<Problem> {
    match workflow::load_file(&manifest_dir().join(rel)) {
        Ok(w) => panic!(
            "{rel} was expected to be refused but loaded as `{}`",
            w.id()
        ),
        Err(problems) => problems
            .into_iter()
            .map(|mut p| {
                p.file = rel.to_string();
                p
            })
            .collect(),
    }
}

fn broken_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(manifest_dir().join(BROKEN_DIR))
        .expect("tests/workflows/broken exists")
        .map(|e| {
            e.expect("readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect();
    names.sort();
    names
}

/// For every broken file: where its first problem is and a piece of its message.
/// The snapshots hold the full text; this table makes the test fail for a reason a person can
/// read (and not only because a snapshot drifted).
const EXPECTED_FIRST_PROBLEM: &[(&str, usize, usize, &str)] = &[
    // The unclosed `{` is on line 23; the scanner notices at the next key.
    ("01-yaml-syntax.yaml", 24, 13, "YAML syntax error: while parsing a flow mapping"),
    ("02-unknown-key.yaml", 16, 5, "unknown key `editable_bye` (expected one of `id`, `name`, `kind`"),
    ("03-unknown-enum-value.yaml", 14, 11, "unknown value `initil` (expected one of `initial`, `normal`, `terminal`); did you mean `initial`?"),
    // A missing key is reported at the first key of the mapping that lacks it.
    ("04-missing-required-key.yaml", 37, 5, "missing required key `to`"),
    ("05-undefined-stage.yaml", 41, 9, "undefined stage `finished`"),
    ("06-undefined-role.yaml", 42, 13, "undefined role `manger`; did you mean `manager`?"),
    ("07-undefined-field.yaml", 36, 25, "undefined field `problme`; did you mean `problem`?"),
    ("08-undefined-template.yaml", 38, 47, "undefined template `submitted`"),
    ("09-duplicate-stage-id.yaml", 25, 9, "duplicate stage id `open` (first declared at line 22)"),
    ("10-unreachable-stage.yaml", 28, 9, "stage `cancelled` cannot be reached from the initial stage `draft`"),
    ("11-stuck-stage.yaml", 28, 9, "no terminal stage can be reached from stage `on_hold`"),
    ("12-two-initial-stages.yaml", 22, 11, "stage `open` is a second initial stage"),
    ("13-weights-not-100.yaml", 60, 15, "weights of the scoring parts add up to 90, not 100"),
    ("14-grade-gap.yaml", 67, 13, "grade bands leave scores from 60 to 70 without a band"),
    ("15-star-overlap.yaml", 74, 16, "2-star band [50, 100) overlaps 1-star band [0, 60)"),
    ("16-bad-duration.yaml", 51, 44, "bad duration `7days`"),
    ("17-bad-date.yaml", 51, 18, "`02-30` is not a day of the year"),
    ("18-bad-cron.yaml", 56, 11, "bad cron expression `0 9 * * Mon`: it has 5 fields; write 6"),
    ("19-alias-bomb.yaml", 6, 9, "YAML anchors and aliases are not allowed"),
    ("20-unused-template.yaml", 57, 9, "template `reminder` is declared but nothing sends it"),
    ("21-duplicate-key.yaml", 42, 5, "duplicate key `roles` (first given at line 41)"),
    ("22-anchor-reuse.yaml", 30, 24, "YAML anchors and aliases are not allowed"),
    ("23-public-role-acts.yaml", 45, 22, "role `resident` has `scope: public` (no account) and cannot take actions"),
    ("24-leaves-terminal.yaml", 40, 18, "transition `finish` leaves terminal stage `done`"),
    ("25-bad-timezone.yaml", 4, 11, "unknown time zone `Asia/Beijing`"),
    ("26-wrong-type.yaml", 60, 15, "expected a number"),
    ("27-window-closes-on-relative-deadline.yaml", 56, 13, "window `requests` closes with deadline `fix_within`, which has no fixed `date`"),
    ("28-window-opens-after-it-closes.yaml", 55, 12, "window `requests` opens on 04-01, after it closes on 03-31"),
    ("29-window-notice-before-it-opens.yaml", 59, 22, "window `requests` is open 31 day(s), so a notice `5w` before it closes would go out before it opens"),
    ("30-progress-in-terminal.yaml", 27, 23, "stage `done` is terminal: a closed project takes no progress reports"),
    ("31-bad-review-count.yaml", 74, 17, "`counts.terminated` must be `excluded` or a score from 0 to 100, not 150"),
    ("32-terminal-without-outcome.yaml", 25, 9, "terminal stage `finished` needs an `outcome`"),
    ("33-consequence-two-conditions.yaml", 75, 11, "`when` needs exactly one of `top`, `bottom`"),
    ("34-satisfaction-without-appraisal.yaml", 76, 15, "comes from residents' appraisals, but `scoring` has no part with `source: appraisal`"),
    ("35-outcome-not-terminal.yaml", 23, 14, "stage `open` is not terminal: only a terminal stage has an `outcome`"),
    ("36-consequence-unknown-stars.yaml", 78, 30, "there is no 0-star band"),
];

#[test]
fn every_broken_definition_is_refused_where_expected() {
    let files = broken_files();
    let listed: Vec<&str> = EXPECTED_FIRST_PROBLEM.iter().map(|e| e.0).collect();
    assert_eq!(
        files, listed,
        "the table must list exactly the files of {BROKEN_DIR}, in name order"
    );
    for (name, line, column, needle) in EXPECTED_FIRST_PROBLEM {
        let rel = format!("{BROKEN_DIR}/{name}");
        let text = std::fs::read_to_string(manifest_dir().join(&rel)).unwrap();
        assert!(
            text.starts_with("# Broken: "),
            "{rel}: should start with a comment saying what is wrong"
        );
        let problems = problems_of(&rel);
        assert!(!problems.is_empty(), "{rel}: no problems reported");
        let first = &problems[0];
        assert_eq!(
            (first.location.line, first.location.column),
            (*line, *column),
            "{rel}: first problem at the wrong place: {first}"
        );
        assert!(
            first.message.contains(needle),
            "{rel}: first problem should mention {needle:?}, got: {first}"
        );
        for p in &problems {
            assert!(p.location.line >= 1 && p.location.column >= 1, "{p}");
            assert!(p.to_string().starts_with(&format!("{rel}:")), "{p}");
        }
        let snapshot_name = name.trim_end_matches(".yaml").trim_end_matches(".yml");
        let report = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        insta::assert_snapshot!(snapshot_name, report);
    }
}

#[test]
fn each_broken_file_has_exactly_one_kind_of_mistake() {
    // One mistake gives one problem; the files are small so that this holds.
    for name in broken_files() {
        let rel = format!("{BROKEN_DIR}/{name}");
        let problems = problems_of(&rel);
        assert_eq!(
            problems.len(),
            1,
            "{rel}: expected one problem, got:\n{}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn shipped_definitions_are_valid() {
    for rel in [
        "workflows/secretary_project.yaml",
        "tests/workflows/community_fund.yaml",
    ] {
        match workflow::load_file(&manifest_dir().join(rel)) {
            Ok(w) => {
                assert!(!w.id().is_empty());
                assert_eq!(w.content_hash.len(), 64);
            }
            Err(problems) => panic!(
                "{rel} should be valid:\n{}",
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }
    let all = workflow::load_all(&[
        manifest_dir().join("workflows"),
        manifest_dir().join("tests/workflows"),
    ])
    .unwrap_or_else(|p| panic!("{p:?}"));
    let mut ids: Vec<&str> = all.iter().map(|w| w.id()).collect();
    ids.sort();
    assert_eq!(ids, ["community_fund", "secretary_project"]);
}

#[test]
fn the_documented_minimal_example_is_valid() {
    let doc = std::fs::read_to_string(manifest_dir().join("docs/workflow-format.md")).unwrap();
    let section = doc
        .split("## A minimal complete example")
        .nth(1)
        .expect("the docs have a minimal example");
    let yaml = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a yaml block");
    let w = workflow::load_str("docs-minimal.yaml", yaml).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(w.id(), "repair_request");
}

// --- CLI ---------------------------------------------------------------------------------------

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secretary-projects"))
        .args(args)
        .current_dir(manifest_dir())
        .output()
        .expect("the binary runs")
}

fn cli_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secretary-projects"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

/// Splits `FILE:LINE:COL: message`; `None` if the line does not have that form.
fn parse_problem_line(line: &str) -> Option<(&str, usize, usize, &str)> {
    let (head, message) = line.split_once(": ")?;
    let mut parts = head.rsplitn(3, ':');
    let column = parts.next()?.parse().ok()?;
    let line_no = parts.next()?.parse().ok()?;
    let file = parts.next()?;
    (line_no >= 1 && column >= 1 && !file.is_empty() && !message.is_empty())
        .then_some((file, line_no, column, message))
}

#[test]
fn cli_validate_accepts_the_shipped_folder() {
    let out = cli(&["workflow", "validate", "workflows/"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ok secretary_project"), "{stdout}");

    let out = cli(&["workflow", "validate", "workflows/", "tests/workflows/"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok community_fund"));
}

#[test]
fn cli_validate_reports_a_broken_file() {
    let rel = "tests/workflows/broken/06-undefined-role.yaml";
    let out = cli(&["workflow", "validate", rel]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(!lines.is_empty(), "no output");
    for l in &lines {
        let (file, _, _, _) =
            parse_problem_line(l).unwrap_or_else(|| panic!("not FILE:LINE:COL: message: {l:?}"));
        assert_eq!(file, rel);
    }
    assert_eq!(
        lines[0],
        format!("{rel}:42:13: undefined role `manger`; did you mean `manager`?")
    );
}

#[test]
fn cli_validate_reports_every_broken_file_of_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let picked = [
        "02-unknown-key.yaml",
        "05-undefined-stage.yaml",
        "16-bad-duration.yaml",
        "20-unused-template.yaml",
    ];
    for name in picked {
        std::fs::copy(
            manifest_dir().join(BROKEN_DIR).join(name),
            dir.path().join(name),
        )
        .unwrap();
    }
    // A valid file in the same folder does not hide the others' problems.
    std::fs::copy(
        manifest_dir().join("workflows/secretary_project.yaml"),
        dir.path().join("00-valid.yaml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a definition: [").unwrap();

    let out = cli_in(dir.path(), &["workflow", "validate", "."]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let problems: Vec<_> = stdout
        .lines()
        .map(|l| parse_problem_line(l).unwrap_or_else(|| panic!("bad line {l:?}")))
        .collect();
    for name in picked {
        assert!(
            problems
                .iter()
                .any(|(file, _, _, _)| Path::new(file).file_name().unwrap() == name),
            "no problem of {name} in:\n{stdout}"
        );
    }
    assert!(
        !problems
            .iter()
            .any(|(file, _, _, _)| file.ends_with("00-valid.yaml") || file.ends_with(".txt")),
        "{stdout}"
    );
}

#[test]
fn cli_validate_fails_on_a_missing_path() {
    let out = cli(&["workflow", "validate", "no/such/folder"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file or folder"));
}

#[test]
fn cli_schema_is_json_with_stages() {
    let out = cli(&["workflow", "schema"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the schema is JSON");
    assert!(
        schema.pointer("/properties/stages").is_some(),
        "no properties.stages"
    );
    assert!(schema.pointer("/properties/transitions").is_some());
    let required = schema["required"].as_array().expect("required keys");
    assert!(required.iter().any(|k| k == "stages"));
}

#[test]
fn cli_graph_draws_every_stage() {
    let rel = "workflows/secretary_project.yaml";
    let out = cli(&["workflow", "graph", rel]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("stateDiagram-v2"), "{text}");
    let w = workflow::load_file(&manifest_dir().join(rel)).unwrap();
    for s in &w.definition.stages {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{}:", s.id))),
            "stage `{}` is not drawn:\n{text}",
            s.id
        );
    }
    for t in &w.definition.transitions {
        for f in &t.from {
            assert!(
                text.contains(&format!("{f} --> {}", t.to)),
                "transition `{}` from `{f}` is not drawn",
                t.id
            );
        }
    }
    let en = cli(&["workflow", "graph", "--lang", "en", rel]);
    assert!(String::from_utf8_lossy(&en.stdout).contains("Implementation"));
}

#[test]
fn cli_graph_of_a_broken_file_fails() {
    let out = cli(&[
        "workflow",
        "graph",
        "tests/workflows/broken/05-undefined-stage.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("undefined stage `finished`"));
}

// --- Robustness --------------------------------------------------------------------------------

fn default_definition() -> String {
    std::fs::read_to_string(manifest_dir().join("workflows/secretary_project.yaml")).unwrap()
}

fn assert_refused_sanely(result: Result<workflow::Workflow, Vec<Problem>>) -> Vec<Problem> {
    let problems = match result {
        Ok(w) => panic!("accepted `{}`", w.id()),
        Err(p) => p,
    };
    assert!(!problems.is_empty());
    for p in &problems {
        assert!(p.location.line >= 1 && p.location.column >= 1, "{p}");
    }
    problems
}

#[test]
fn an_oversized_file_is_refused_by_size() {
    // A real definition padded with a comment to just over 1 MiB.
    let mut text = default_definition();
    while text.len() <= 1024 * 1024 {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let size = text.len();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yaml");
    std::fs::write(&path, &text).unwrap();

    let problems = assert_refused_sanely(workflow::load_file(&path));
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].message.contains(&size.to_string()) && problems[0].message.contains("1048576"),
        "{}",
        problems[0]
    );
    let problems = assert_refused_sanely(workflow::load_str("big.yaml", &text));
    assert!(problems[0].message.contains("bytes"), "{}", problems[0]);

    // Exactly 1 MiB is still read (and then judged on its content).
    let mut text = default_definition();
    text.push_str(&"#".repeat(1024 * 1024 - text.len() - 1));
    text.push('\n');
    assert_eq!(text.len(), 1024 * 1024);
    assert!(workflow::load_str("limit.yaml", &text).is_ok());
}

#[test]
fn a_file_that_is_not_utf8_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.yaml");
    std::fs::write(&path, b"id: caf\xe9\n").unwrap();
    let problems = assert_refused_sanely(workflow::load_file(&path));
    assert!(problems[0].message.contains("UTF-8"), "{}", problems[0]);
}

#[test]
fn deeply_nested_flow_collections_are_refused() {
    let n = 100_000;
    for text in [
        format!("{}{}", "[".repeat(n), "]".repeat(n)),
        format!("id: {}{}\n", "[".repeat(n), "]".repeat(n)),
        format!("id: x\nname: {}\n", "{a: ".repeat(n)),
        // Unclosed, spread over many lines.
        "[\n".repeat(n),
    ] {
        let problems = assert_refused_sanely(workflow::load_str("deep.yaml", &text));
        // Refused by our nesting check, or earlier by the parser's own recursion guard.
        let m = &problems[0].message;
        assert!(
            m.contains("nesting deeper than 64") || m.starts_with("YAML syntax error"),
            "{}",
            problems[0]
        );
    }
}

#[test]
fn deeply_nested_block_sequences_are_refused() {
    let n = 100_000;
    for text in [
        format!("{}x\n", "- ".repeat(n)),
        format!("stages:\n  {}x\n", "- ".repeat(n)),
        format!("{}\n", "-\t".repeat(n)),
    ] {
        let problems = assert_refused_sanely(workflow::load_str("deep.yaml", &text));
        // Refused by our nesting check, or earlier by the parser's own recursion guard.
        let m = &problems[0].message;
        assert!(
            m.contains("nesting deeper than 64") || m.starts_with("YAML syntax error"),
            "{}",
            problems[0]
        );
    }
}

#[test]
fn nesting_up_to_the_limit_is_parsed_normally() {
    // 64 levels pass the nesting check and fail on shape instead.
    let text = format!("id: x\nname: {}{}\n", "[".repeat(64), "]".repeat(64));
    let problems = assert_refused_sanely(workflow::load_str("ok-depth.yaml", &text));
    assert!(!problems[0].message.contains("nesting"), "{}", problems[0]);
}

/// Runs the CLI on `text` in a child process, so that a stack overflow (which aborts the
/// process) shows up as a failed assertion instead of killing the test runner.
fn validate_in_child(text: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hostile.yaml"), text).unwrap();
    cli_in(dir.path(), &["workflow", "validate", "hostile.yaml"])
}

#[test]
fn deeply_nested_explicit_keys_are_refused() {
    let out = validate_in_child(&format!("{}x\n", "? ".repeat(10_000)));
    assert_eq!(out.status.code(), Some(1), "crashed: {:?}", out.status);
}

#[test]
fn deeply_nested_block_sequences_over_many_lines_are_refused() {
    let mut text = String::new();
    for k in 0..120 {
        text.push_str(&" ".repeat(k * 120));
        text.push_str(&"- ".repeat(60));
        text.push('\n');
    }
    text.push_str(&" ".repeat(120 * 120));
    text.push_str("x\n");
    assert!(text.len() < 1024 * 1024);
    let out = validate_in_child(&text);
    assert_eq!(out.status.code(), Some(1), "crashed: {:?}", out.status);
}

#[test]
fn a_second_yaml_document_is_refused() {
    let mut text = default_definition();
    text.push_str("---\nid: something_else\nbroken: [\n");
    assert!(workflow::load_str("two-docs.yaml", &text).is_err());
}

#[test]
fn a_leading_byte_order_mark_is_accepted() {
    let text = format!("\u{feff}{}", default_definition());
    assert!(workflow::load_str("bom.yaml", &text).is_ok());
}

#[test]
fn tiny_and_odd_inputs_are_refused_sanely() {
    for text in [
        "",
        "\n",
        "---\n",
        "[]\n",
        "~\n",
        "id\n",
        "\"\\",
        "id: x\n\0\n",
        "!!str id: x\n",
        "id: &a x\nname: *a\n",
        "{\n",
        "id: x\nid: y\n",
        "? [a]\n: b\n",
    ] {
        assert_refused_sanely(workflow::load_str("odd.yaml", text));
    }
}

/// A random change to a definition's text, by lines or by characters.
#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(prop::sample::Index),
    DuplicateLine(prop::sample::Index),
    SwapLines(prop::sample::Index, prop::sample::Index),
    ReplaceChar(prop::sample::Index, char),
    InsertText(prop::sample::Index, String),
    Truncate(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let any_char = prop_oneof![
        prop::sample::select(vec![
            ':', '-', ' ', '\t', '\n', '[', ']', '{', '}', '"', '\'', '#', '&', '*', '!', '?', '|',
            '>', '%', '@', '`', ',', '0', 'x', '中', '\u{feff}', '\0',
        ]),
        any::<char>(),
    ];
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Mutation::DeleteLine),
        any::<prop::sample::Index>().prop_map(Mutation::DuplicateLine),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<prop::sample::Index>(), any_char).prop_map(|(i, c)| Mutation::ReplaceChar(i, c)),
        (
            any::<prop::sample::Index>(),
            "[ :\\-\\[\\]{}#&*!a-z0-9\n]{1,12}"
        )
            .prop_map(|(i, s)| Mutation::InsertText(i, s)),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<&str> = text.split('\n').collect();
    match m {
        Mutation::DeleteLine(i) => {
            lines.remove(i.index(lines.len()));
            lines.join("\n")
        }
        Mutation::DuplicateLine(i) => {
            let k = i.index(lines.len());
            lines.insert(k, lines[k]);
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(a, b);
            lines.join("\n")
        }
        // An earlier truncation may have left nothing to replace.
        Mutation::ReplaceChar(_, _) if text.is_empty() => String::new(),
        Mutation::ReplaceChar(i, c) => {
            let mut chars: Vec<char> = text.chars().collect();
            let k = i.index(chars.len());
            chars[k] = *c;
            chars.into_iter().collect()
        }
        Mutation::InsertText(i, s) => {
            let mut chars: Vec<char> = text.chars().collect();
            let k = i.index(chars.len() + 1);
            chars.splice(k..k, s.chars());
            chars.into_iter().collect()
        }
        Mutation::Truncate(i) => text
            .chars()
            .take(i.index(text.chars().count() + 1))
            .collect(),
    }
}

fn check_never_panics_and_positions_are_sane(text: &str) -> Result<(), TestCaseError> {
    let result = std::panic::catch_unwind(|| workflow::load_str("fuzz.yaml", text));
    let result = result.map_err(|_| TestCaseError::fail("load_str panicked"))?;
    if let Err(problems) = result {
        prop_assert!(!problems.is_empty());
        for p in &problems {
            prop_assert!(
                p.location.line >= 1 && p.location.column >= 1,
                "bad position: {}",
                p
            );
            prop_assert!(!p.message.is_empty());
            prop_assert_eq!(&p.file, "fuzz.yaml");
        }
    }
    Ok(())
}

fn default_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(default_definition)
}

fn community_fund_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        std::fs::read_to_string(manifest_dir().join("tests/workflows/community_fund.yaml")).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "(?s).{0,400}") {
        check_never_panics_and_positions_are_sane(&text)?;
    }

    #[test]
    fn yaml_like_text_never_panics(
        text in "([a-z_]{1,8}: ?|- |  |[\\[\\]{}:,\"'#&*!?|>]|[a-z0-9 ]{1,6}|\n){0,80}"
    ) {
        check_never_panics_and_positions_are_sane(&text)?;
    }

    #[test]
    fn mutated_default_definition_never_panics(
        mutations in prop::collection::vec(mutation(), 1..6),
        use_second in any::<bool>(),
    ) {
        let mut text = if use_second { community_fund_text() } else { default_text() }.to_string();
        for m in &mutations {
            text = apply(&text, m);
        }
        check_never_panics_and_positions_are_sane(&text)?;
    }
}
