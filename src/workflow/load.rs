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
/// Deepest nesting of mappings and sequences.
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
    // An invisible byte-order mark would otherwise become part of the first key.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some((loc, message)) = prescan(text) {
        return Err(problem(file, loc, message));
    }
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let node =
        marked_yaml::parse_yaml_with_options(0, text, options).map_err(|e| load_error(file, e))?;
    marked_yaml::from_node::<Definition>(&node).map_err(|e| {
        let mut location = e.start_mark().map(|m| at_marker(&m)).unwrap_or(start);
        if let (marked_yaml::spanned_serde::Error::Other(msg, _), Some(path)) = (&*e, e.path()) {
            // serde names the mapping that lacks a key by where its first `:` is; point at
            // the mapping's first key instead, where a reader looks for it.
            if msg.starts_with("missing field") {
                if let Some(first) = mapping_at(&node, path).and_then(|m| m.keys().next()) {
                    if let Some(m) = first.span().start() {
                        location = at_marker(m);
                    }
                }
            }
        }
        problem(file, location, serde_message(&e))
    })
}

/// The mapping reached by a rendered serde path such as `roles[0]` or `scoring.parts[1]`.
fn mapping_at<'n>(
    root: &'n marked_yaml::Node,
    path: &str,
) -> Option<&'n marked_yaml::types::MarkedMappingNode> {
    let mut node = root;
    for part in path.split('.') {
        let (key, indices) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            node = node.as_mapping()?.get(key)?;
        }
        for idx in indices.split('[').filter(|s| !s.is_empty()) {
            let i: usize = idx.trim_end_matches(']').parse().ok()?;
            node = node.as_sequence()?.get(i)?;
        }
    }
    node.as_mapping()
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

/// Walk the parser's event stream (iterative, no recursion) before building the tree, which
/// recurses: refuse deep nesting and a second document. Syntax errors are left to the loader,
/// which reports them with the same positions.
fn prescan(text: &str) -> Option<(Location, String)> {
    use yaml_rust2::parser::{Event, Parser};
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    let mut documents = 0usize;
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(e) => e,
            Err(_) => return None,
        };
        let at = Location {
            line: mark.line(),
            column: mark.col() + 1,
        };
        match event {
            Event::StreamEnd => return None,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Some((at, "a definition file holds one YAML document; remove the second `---` and what follows, or put it in its own file".into()));
                }
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                // The top-level mapping does not count as nesting.
                if depth > MAX_NESTING + 1 {
                    return Some((
                        at,
                        format!("nesting deeper than {MAX_NESTING} levels; refusing to parse"),
                    ));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
}
