//! Mail rendering: the definition's template (subject and body, handlebars, in the recipient's
//! language) inside the layouts of `templates/mail/` (plain text and HTML, with greeting, the
//! project's link and footer). Pure: the same inputs give the same mail.

use handlebars::Handlebars;
use serde_json::{json, Value};

use crate::workflow::Workflow;

const LAYOUTS: &[(&str, &str)] = &[
    (
        "zh.txt",
        include_str!("../../templates/mail/layout.zh.txt.hbs"),
    ),
    (
        "en.txt",
        include_str!("../../templates/mail/layout.en.txt.hbs"),
    ),
    (
        "zh.html",
        include_str!("../../templates/mail/layout.zh.html.hbs"),
    ),
    (
        "en.html",
        include_str!("../../templates/mail/layout.en.html.hbs"),
    ),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("mail template `{template}`: {message}")]
pub struct RenderError {
    pub template: String,
    pub message: String,
}

/// Two registries: one that escapes for HTML, one that leaves text as it is.
pub struct Mailer {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
}

impl Default for Mailer {
    fn default() -> Self {
        Mailer::new()
    }
}

impl Mailer {
    pub fn new() -> Mailer {
        let mut html = Handlebars::new();
        let mut text = Handlebars::new();
        text.register_escape_fn(handlebars::no_escape);
        for (name, source) in LAYOUTS {
            // The layouts are part of the program and checked by the tests below.
            let registry = if name.ends_with(".txt") {
                &mut text
            } else {
                &mut html
            };
            if let Err(e) = registry.register_template_string(name, *source) {
                tracing::error!(layout = name, error = %e, "bad mail layout");
            }
        }
        Mailer { html, text }
    }

    /// Render the template `template` of `w` for one recipient. `payload` holds what the
    /// template may use (project, actor, comment, due, ...) and `link`, a path below
    /// `public_url`.
    pub fn render(
        &self,
        w: &Workflow,
        template: &str,
        language: &str,
        payload: &Value,
        recipient_name: &str,
        public_url: &str,
    ) -> Result<Rendered, RenderError> {
        let err = |message: String| RenderError {
            template: template.to_string(),
            message,
        };
        let t = w
            .definition
            .templates
            .iter()
            .find(|t| t.id.as_str() == template)
            .ok_or_else(|| err(format!("not declared by definition `{}`", w.id())))?;
        let lang = if language == "en" { "en" } else { "zh" };
        let mut ctx = payload.clone();
        // Every link in a mail is absolute: the top-level `link` and any `link` inside the
        // payload (a digest's projects, say) become the public URL plus the path.
        let base = public_url.trim_end_matches('/');
        absolute_links(&mut ctx, base);
        if let Value::Object(m) = &mut ctx {
            if !m.get("link").is_some_and(Value::is_string) {
                m.insert("link".into(), json!(format!("{base}/")));
            }
            m.insert("recipient".into(), json!({"name": recipient_name}));
        }
        let subject = self
            .text
            .render_template(t.subject.get(lang), &ctx)
            .map_err(|e| err(e.to_string()))?
            .replace(['\r', '\n'], " ");
        let body_text = self
            .text
            .render_template(t.body.get(lang), &ctx)
            .map_err(|e| err(e.to_string()))?;
        let body_html = self
            .html
            .render_template(t.body.get(lang), &ctx)
            .map_err(|e| err(e.to_string()))?
            .replace('\n', "<br>\n");
        let mut outer = ctx.clone();
        if let Value::Object(m) = &mut outer {
            m.insert("subject".into(), json!(subject));
            m.insert("body".into(), json!(body_text));
        }
        let text = self
            .text
            .render(&format!("{lang}.txt"), &outer)
            .map_err(|e| err(e.to_string()))?;
        if let Value::Object(m) = &mut outer {
            m.insert("body".into(), json!(body_html));
        }
        let html = self
            .html
            .render(&format!("{lang}.html"), &outer)
            .map_err(|e| err(e.to_string()))?;
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }
}

/// Only the subject of template `template` of `w` in `language`, as the mail would carry it
/// (for a list of someone's notifications); `None` when the definition has no such template
/// or it does not render.
pub fn subject(w: &Workflow, template: &str, language: &str, payload: &Value) -> Option<String> {
    let t = w
        .definition
        .templates
        .iter()
        .find(|t| t.id.as_str() == template)?;
    let lang = if language == "en" { "en" } else { "zh" };
    let mut h = Handlebars::new();
    h.register_escape_fn(handlebars::no_escape);
    h.render_template(t.subject.get(lang), payload)
        .ok()
        .map(|s| s.replace(['\r', '\n'], " "))
}

/// Rewrite every string under a `link` key that is a path (`/projects/5`) into an absolute URL
/// below `base`, at any depth of the payload.
fn absolute_links(v: &mut Value, base: &str) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::String(path) if k == "link" && path.starts_with('/') => {
                        *path = format!("{base}{path}");
                    }
                    _ => absolute_links(x, base),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| absolute_links(x, base)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::workflow::default_workflow;

    #[test]
    fn renders_both_parts_in_both_languages() {
        let w = default_workflow();
        let m = Mailer::new();
        let payload = json!({
            "project": {"id": 7, "title": "停车<难>", "year": 2026},
            "actor": {"name": "张书记"}, "comment": null, "link": "/projects/7",
        });
        let zh = m
            .render(
                &w,
                "application_submitted",
                "zh",
                &payload,
                "李审核",
                "https://sp.example.org/",
            )
            .unwrap();
        assert_eq!(zh.subject, "【待审核】停车<难>");
        assert!(zh.text.starts_with("李审核，您好："), "{}", zh.text);
        assert!(
            zh.text.contains("张书记 提交了立项申请《停车<难>》"),
            "{}",
            zh.text
        );
        assert!(zh.text.contains("https://sp.example.org/projects/7"));
        assert!(
            zh.html.contains("停车&lt;难&gt;"),
            "HTML is escaped: {}",
            zh.html
        );
        assert!(zh
            .html
            .contains("href=\"https://sp.example.org/projects/7\""));
        let en = m
            .render(
                &w,
                "application_submitted",
                "en",
                &payload,
                "Li",
                "http://x",
            )
            .unwrap();
        assert!(en.subject.starts_with("[To review]"));
        assert!(en.text.starts_with("Dear Li,"));
        assert!(m
            .render(&w, "no_such_template", "zh", &payload, "x", "http://x")
            .is_err());
    }

    #[test]
    fn every_link_in_a_digest_is_absolute() {
        let w = default_workflow();
        let m = Mailer::new();
        let payload = json!({"projects": [
            {"id": 5, "title": "停车难", "stage": "实施", "percent": 40, "overdue": 1, "behind": 0, "link": "/projects/5"},
            {"id": 6, "title": "加装电梯", "stage": "实施", "percent": 10, "overdue": 0, "behind": 1, "link": "/projects/6"}
        ], "link": "/dispatch"});
        for lang in ["zh", "en"] {
            let r = m
                .render(
                    &w,
                    "dispatch_digest",
                    lang,
                    &payload,
                    "r",
                    "https://sp.test/",
                )
                .unwrap();
            for body in [&r.text, &r.html] {
                for link in [
                    "https://sp.test/projects/5",
                    "https://sp.test/projects/6",
                    "https://sp.test/dispatch",
                ] {
                    assert!(body.contains(link), "{lang}: {link} missing in {body}");
                }
                assert!(
                    !body.contains("\"/projects/") && !body.contains(" /projects/"),
                    "{body}"
                );
            }
        }
    }

    #[test]
    fn every_template_of_the_default_definition_renders() {
        let w = default_workflow();
        let m = Mailer::new();
        let payload = json!({"project": {"id": 1, "title": "t"}, "actor": {"name": "a"}, "link": "/projects/1"});
        for t in &w.definition.templates {
            for lang in ["zh", "en"] {
                let r = m
                    .render(&w, t.id.as_str(), lang, &payload, "r", "http://x")
                    .unwrap();
                assert!(!r.subject.trim().is_empty(), "{} {lang}", t.id.as_str());
                assert!(r.text.contains("http://x/projects/1"));
            }
        }
    }
}
