//! Reading a definition file: size and nesting limits, YAML with positions, serde into the model.
//!
//! `marked-yaml` was chosen over `serde_norway` because it keeps a position on every value (not
//! only on errors), which the semantic checks need to point at a bad reference, and because it
//! refuses anchors and aliases outright, which shuts out alias bombs by construction.

use marked_yaml::{LoaderOptions, Marker};

use super::model::Definition;
use super::pos::Location;
use super::problem::{with_suggestion, Problem};

/// Definitions larger than this are refused before parsing.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Deepest nesting of flow collections (`[` / `{`) or of block sequences on one line.
const MAX_NESTING: usize = 64;

fn problem(file: &str, location: Location, message: impl Into<String>) -> Problem {
    Problem {
        file: file.to_string(),
        location,
        message: message.into(),
    }
}

fn at_marker(m: &Marker) -> Location {
    Location {
        line: m.line(),
        column: m.column(),
    }
}

/// Parse `text` (the content of `file`) into the raw model. Semantic checks are separate.
pub fn parse_definition(file: &str, text: &str) -> Result<Definition, Problem> {
    let start = Location { line: 1, column: 1 };
    if text.len() > MAX_FILE_BYTES {
        return Err(problem(
            file,
            start,
            format!(
                "file is {} bytes; a workflow definition may be at most {} bytes",
                text.len(),
                MAX_FILE_BYTES
            ),
        ));
    }
    if let Some((loc, depth)) = excessive_nesting(text) {
        return Err(problem(
            file,
            loc,
            format!("nesting deeper than {MAX_NESTING} levels ({depth}); refusing to parse"),
        ));
    }
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let node =
        marked_yaml::parse_yaml_with_options(0, text, options).map_err(|e| load_error(file, e))?;
    marked_yaml::from_node::<Definition>(&node).map_err(|e| {
        let location = e.start_mark().map(|m| at_marker(&m)).unwrap_or(start);
        problem(file, location, serde_message(&e))
    })
}

fn load_error(file: &str, e: marked_yaml::LoadError) -> Problem {
    use marked_yaml::LoadError as E;
    let (marker, message) = match &e {
        E::TopLevelMustBeMapping(m) => (
            *m,
            "the top level must be a mapping of keys to values".to_string(),
        ),
        E::TopLevelMustBeSequence(m) => (*m, "the top level must be a sequence".to_string()),
        E::UnexpectedAnchor(m) => (
            *m,
            "YAML anchors and aliases are not allowed in workflow definitions".to_string(),
        ),
        E::MappingKeyMustBeScalar(m) => (*m, "mapping keys must be plain scalars".to_string()),
        E::UnexpectedTag(m) => (
            *m,
            "YAML tags are not allowed in workflow definitions".to_string(),
        ),
        E::ScanError(m, err) => (*m, format!("YAML syntax error: {}", err.info())),
        E::DuplicateKey(inner) => (
            *inner.key.span().start().unwrap_or(&Marker::new(0, 0, 1, 1)),
            format!(
                "duplicate key `{}` (first given at line {})",
                inner.key.as_str(),
                inner.prev_key.span().start().map(|m| m.line()).unwrap_or(0)
            ),
        ),
    };
    problem(file, at_marker(&marker), message)
}

/// Turn a serde error into a message, adding a did-you-mean for unknown keys and variants.
fn serde_message(e: &marked_yaml::FromNodeError) -> String {
    use marked_yaml::spanned_serde::Error as E;
    match &**e {
        E::UnknownFieldError(field, expected, _) => {
            let list = expected
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ");
            with_suggestion(
                format!("unknown key `{field}` (expected one of {list})"),
                field,
                expected.iter().copied(),
            )
        }
        E::Other(msg, _) => other_message(msg),
        E::NotBoolean(_) => "expected `true` or `false`".to_string(),
        E::IntegerParseFailure(err, _) => format!("expected a whole number: {err}"),
        E::FloatParseFailure(err, _) => format!("expected a number: {err}"),
    }
}

/// serde's own messages, made friendlier where we can recognise them.
fn other_message(msg: &str) -> String {
    // "unknown variant `x`, expected one of `a`, `b`" / "unknown variant `x`, expected `a` or `b`"
    if let Some(rest) = msg.strip_prefix("unknown variant `") {
        if let Some((word, tail)) = rest.split_once('`') {
            let options: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
            let list = options
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return with_suggestion(
                format!("unknown value `{word}` (expected one of {list})"),
                word,
                options.iter().copied(),
            );
        }
    }
    if let Some(field) = msg.strip_prefix("missing field `") {
        return format!("missing required key `{}`", field.trim_end_matches('`'));
    }
    msg.to_string()
}

/// A cheap scan that finds pathological nesting before the parser (and later drop code, which
/// recurses) can be made to use unbounded stack.
fn excessive_nesting(text: &str) -> Option<(Location, usize)> {
    let mut depth: usize = 0;
    let mut quote: Option<char> = None;
    for (line_no, line) in text.lines().enumerate() {
        // Block sequences opened on one line: "- - - - x"
        let mut dashes = 0;
        let mut rest = line.trim_start();
        while let Some(r) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("-\t")) {
            dashes += 1;
            rest = r.trim_start();
        }
        if dashes > MAX_NESTING {
            return Some((
                Location {
                    line: line_no + 1,
                    column: 1,
                },
                dashes,
            ));
        }
        let mut escaped = false;
        for (col, ch) in line.chars().enumerate() {
            match quote {
                Some(q) => {
                    if q == '"' && ch == '\\' && !escaped {
                        escaped = true;
                        continue;
                    }
                    if ch == q && !escaped {
                        quote = None;
                    }
                    escaped = false;
                }
                None => match ch {
                    '#' => break,
                    '"' | '\'' => quote = Some(ch),
                    '[' | '{' => {
                        depth += 1;
                        if depth > MAX_NESTING {
                            let loc = Location {
                                line: line_no + 1,
                                column: col + 1,
                            };
                            return Some((loc, depth));
                        }
                    }
                    ']' | '}' => depth = depth.saturating_sub(1),
                    _ => {}
                },
            }
        }
        // A single-quoted scalar may span lines, but an unclosed double quote on a line in
        // block context is rare enough that resetting is the safer bound here.
        if quote == Some('\'') {
            quote = None;
        }
    }
    None
}
