//! The page templates (handlebars, built into the binary) and their helpers: `t` (the word of a
//! key in the page's language), `date`, `num`.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
};
use serde_json::Value;

use super::i18n;
use crate::http::error::Lang;

/// Every template of the web interface: partials first, then pages.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "layout",
        include_str!("../../templates/partials/layout.hbs"),
    ),
    (
        "error_summary",
        include_str!("../../templates/partials/error_summary.hbs"),
    ),
    ("field", include_str!("../../templates/partials/field.hbs")),
    (
        "stage_bar",
        include_str!("../../templates/partials/stage_bar.hbs"),
    ),
    ("work", include_str!("../../templates/partials/work.hbs")),
    (
        "acceptance",
        include_str!("../../templates/partials/acceptance.hbs"),
    ),
    (
        "project_table",
        include_str!("../../templates/partials/project_table.hbs"),
    ),
    (
        "action_form",
        include_str!("../../templates/partials/action_form.hbs"),
    ),
    (
        "answers",
        include_str!("../../templates/partials/answers.hbs"),
    ),
    ("check", include_str!("../../templates/pages/check.hbs")),
    (
        "print_form",
        include_str!("../../templates/pages/print_form.hbs"),
    ),
    ("login", include_str!("../../templates/pages/login.hbs")),
    ("home", include_str!("../../templates/pages/home.hbs")),
    (
        "projects",
        include_str!("../../templates/pages/projects.hbs"),
    ),
    ("project", include_str!("../../templates/pages/project.hbs")),
    ("form", include_str!("../../templates/pages/form.hbs")),
    ("topics", include_str!("../../templates/pages/topics.hbs")),
    ("topic", include_str!("../../templates/pages/topic.hbs")),
    (
        "conflict",
        include_str!("../../templates/pages/conflict.hbs"),
    ),
    ("error", include_str!("../../templates/pages/error.hbs")),
    // Administration, dispatch and notifications.
    (
        "admin_tabs",
        include_str!("../../templates/partials/admin_tabs.hbs"),
    ),
    (
        "admin_users",
        include_str!("../../templates/pages/admin_users.hbs"),
    ),
    (
        "admin_user",
        include_str!("../../templates/pages/admin_user.hbs"),
    ),
    (
        "admin_organisations",
        include_str!("../../templates/pages/admin_organisations.hbs"),
    ),
    (
        "admin_mail",
        include_str!("../../templates/pages/admin_mail.hbs"),
    ),
    (
        "dispatch",
        include_str!("../../templates/pages/dispatch.hbs"),
    ),
    (
        "notifications",
        include_str!("../../templates/pages/notifications.hbs"),
    ),
    (
        "figures_table",
        include_str!("../../templates/partials/figures_table.hbs"),
    ),
    ("review", include_str!("../../templates/pages/review.hbs")),
    (
        "review_person",
        include_str!("../../templates/pages/review_person.hbs"),
    ),
    (
        "review_print",
        include_str!("../../templates/pages/review_print.hbs"),
    ),
    (
        "dashboard",
        include_str!("../../templates/pages/dashboard.hbs"),
    ),
];

static PAGES: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut h = Handlebars::new();
    h.set_strict_mode(false);
    h.register_helper("t", Box::new(t_helper));
    h.register_helper("date", Box::new(date_helper));
    h.register_helper("num", Box::new(num_helper));
    h.register_helper("csrf_input", Box::new(csrf_helper));
    for (name, text) in TEMPLATES {
        let text = inline_partials(text);
        let parsed = if is_partial(name) {
            h.register_partial(name, &text)
        } else {
            h.register_template_string(name, &text)
        };
        // Part of the binary; the test below renders each one.
        if let Err(e) = parsed {
            tracing::error!(template = name, error = %e, "page template does not parse");
        }
    }
    h
});

/// The partials written into the templates that call them (`{{> name}}`, with no context or
/// hash) before they are parsed: handlebars copies the whole current context into every
/// partial it renders, and at a page's top level that is all of the page's data. The project
/// page called half a dozen of them and spent a fifth of its time copying.
const INLINED: &[&str] = &[
    "stage_bar",
    "work",
    "acceptance",
    "error_summary",
    "action_form",
    "answers",
    "admin_tabs",
    "figures_table",
];

fn inline_partials(text: &str) -> String {
    let mut out = text.to_string();
    // Partials may call partials: until none is left (the set has no cycle).
    for _ in 0..4 {
        let before = out.len();
        for name in INLINED {
            let call = format!("{{{{> {name}}}}}");
            if out.contains(&call) {
                if let Some((_, body)) = TEMPLATES.iter().find(|(n, _)| n == name) {
                    out = out.replace(&call, body);
                }
            }
        }
        if out.len() == before {
            break;
        }
    }
    out
}

fn is_partial(name: &str) -> bool {
    matches!(
        name,
        "layout"
            | "error_summary"
            | "field"
            | "stage_bar"
            | "project_table"
            | "work"
            | "acceptance"
            | "admin_tabs"
            | "action_form"
            | "answers"
            | "figures_table"
    )
}

fn lang_of(ctx: &Context) -> Lang {
    match ctx.data().get("lang").and_then(Value::as_str) {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    }
}

/// `{{csrf_input}}`: the form's hidden anti-forgery field, from the page's own token. A helper,
/// not a partial: handlebars copies the whole current context into every partial it renders,
/// and a page has a dozen forms.
fn csrf_helper(
    _: &Helper,
    _: &Handlebars,
    ctx: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let token = ctx.data().get("csrf").and_then(Value::as_str).unwrap_or("");
    out.write("<input type=\"hidden\" name=\"_csrf\" value=\"")?;
    out.write(&handlebars::html_escape(token))?;
    out.write("\">")?;
    Ok(())
}

fn t_helper(
    h: &Helper,
    _: &Handlebars,
    ctx: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let key = h
        .param(0)
        .and_then(|p| p.value().as_str())
        .ok_or_else(|| RenderErrorReason::ParamNotFoundForIndex("t", 0))?;
    out.write(&handlebars::html_escape(&i18n::t(key, lang_of(ctx))))?;
    Ok(())
}

/// `{{date value}}`: an RFC 3339 instant or a `YYYY-MM-DD` date in the page's language.
fn date_helper(
    h: &Helper,
    _: &Handlebars,
    ctx: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let Some(text) = h.param(0).and_then(|p| p.value().as_str()) else {
        return Ok(());
    };
    let day = chrono::NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d");
    match (day, chrono::DateTime::parse_from_rfc3339(text)) {
        (_, Ok(t)) => {
            let local = t.with_timezone(&chrono_tz::Asia::Shanghai);
            out.write(&i18n::date(local.date_naive(), lang_of(ctx)))?;
            if h.hash_get("time").is_some() {
                out.write(&local.format(" %H:%M").to_string())?;
            }
        }
        (Ok(d), _) => out.write(&i18n::date(d, lang_of(ctx)))?,
        _ => out.write(&handlebars::html_escape(text))?,
    }
    Ok(())
}

fn num_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    if let Some(x) = h.param(0).and_then(|p| p.value().as_f64()) {
        out.write(&i18n::number(x))?;
    }
    Ok(())
}

/// Render a page template with its data (which carries the layout's data as well).
pub fn html(status: StatusCode, name: &str, data: &Value) -> Response {
    match PAGES.render(name, data) {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "page rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "page rendering failed").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_inlined_partial_is_left_to_call() {
        for (name, text) in TEMPLATES {
            let text = inline_partials(text);
            for p in INLINED {
                assert!(
                    !text.contains(&format!("{{{{> {p}}}}}")),
                    "{name} still calls {p}"
                );
            }
        }
        // And the project page has its sections.
        let project = TEMPLATES.iter().find(|(n, _)| *n == "project").unwrap().1;
        assert!(inline_partials(project).contains("id=\"roadmap\""));
    }

    use super::*;

    #[test]
    fn every_template_parses() {
        for (name, text) in TEMPLATES {
            let mut h = Handlebars::new();
            h.register_helper("t", Box::new(t_helper));
            let r = if is_partial(name) {
                h.register_partial(name, *text)
            } else {
                h.register_template_string(name, *text)
            };
            assert!(r.is_ok(), "{name}: {:?}", r.err());
        }
    }
}
