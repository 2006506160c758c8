//! A readable API reference page, rendered once at start from the OpenAPI document: no script,
//! no external assets, so it works offline behind any firewall.

use serde_json::Value;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// `#/components/schemas/Name` -> a link to the schema's section.
fn type_of(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let parts: Vec<String> = one.iter().map(type_of).collect();
        return parts.join(" | ");
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".into(),
    };
    if ty.starts_with("array") {
        if let Some(items) = schema.get("items") {
            return format!("array of {}", type_of(items));
        }
    }
    match schema.get("format").and_then(Value::as_str) {
        Some(f) => format!("{} ({})", esc(&ty), esc(f)),
        None => esc(&ty),
    }
}

pub fn render(spec: &utoipa::openapi::OpenApi) -> String {
    let doc = serde_json::to_value(spec).unwrap_or(Value::Null);
    let mut html = String::from(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>书记项目 API 参考 / API reference</title><link rel=\"stylesheet\" href=\"/static/pages.css\">\
</head><body class=\"reference\">",
    );
    let info = &doc["info"];
    html.push_str(&format!(
        "<h1>{} <small>{}</small></h1><p>{}</p>\
<p>机器可读的 OpenAPI 3.1 文档 / machine-readable document: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>. \
登录后用 <code>Authorization: Bearer TOKEN</code> 或会话 Cookie 调用 / after logging in, send \
<code>Authorization: Bearer TOKEN</code> or the session cookie. \
错误为 <code>application/problem+json</code>（见 <a href=\"#schema-Problem\">Problem</a>）/ errors are problem+json.</p>",
        esc(info["title"].as_str().unwrap_or("API")),
        esc(info["version"].as_str().unwrap_or("")),
        esc(info["description"].as_str().unwrap_or("")),
    ));
    // Operations grouped by tag, in the order the tags are declared.
    let tags: Vec<(String, String)> = doc["tags"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| {
                    (
                        t["name"].as_str().unwrap_or("").to_string(),
                        t["description"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let empty = serde_json::Map::new();
    let paths = doc["paths"].as_object().unwrap_or(&empty);
    html.push_str("<h2>接口 / Endpoints</h2>");
    for (tag, desc) in &tags {
        html.push_str(&format!(
            "<h3 id=\"tag-{0}\">{0}</h3><p>{1}</p>",
            esc(tag),
            esc(desc)
        ));
        for (path, item) in paths {
            for method in ["get", "post", "patch", "put", "delete"] {
                let Some(op) = item.get(method) else { continue };
                let in_tag = op["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|x| x.as_str() == Some(tag)));
                if in_tag {
                    html.push_str(&operation(method, path, op));
                }
            }
        }
    }
    html.push_str("<h2>数据结构 / Schemas</h2>");
    if let Some(schemas) = doc["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            html.push_str(&format!(
                "<div class=\"op\" id=\"schema-{0}\"><b>{0}</b>",
                esc(name)
            ));
            if let Some(d) = schema["description"].as_str() {
                html.push_str(&format!("<p>{}</p>", esc(d)));
            }
            if let Some(props) = schema["properties"].as_object() {
                let required: Vec<&str> = schema["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                html.push_str(
                    "<table><tr><th>field</th><th>type</th><th></th><th>description</th></tr>",
                );
                for (field, p) in props {
                    html.push_str(&format!(
                        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(field),
                        type_of(p),
                        if required.contains(&field.as_str()) {
                            "required"
                        } else {
                            ""
                        },
                        esc(p["description"].as_str().unwrap_or(""))
                    ));
                }
                html.push_str("</table>");
            }
            html.push_str("</div>");
        }
    }
    html.push_str("</body></html>");
    html
}

fn operation(method: &str, path: &str, op: &Value) -> String {
    let mut h = format!(
        "<div class=\"op\"><span class=\"m {m}\">{M}</span> <span class=\"path\">{p}</span>",
        m = method,
        M = method.to_uppercase(),
        p = esc(path)
    );
    for key in ["summary", "description"] {
        if let Some(t) = op[key].as_str() {
            h.push_str(&format!("<p>{}</p>", esc(t)));
        }
    }
    if op["security"].as_array().is_some_and(|s| {
        s.iter()
            .any(|x| x.as_object().is_some_and(|o| o.is_empty()))
    }) {
        h.push_str("<p><i>无需登录 / no login needed</i></p>");
    }
    if let Some(params) = op["parameters"].as_array() {
        h.push_str(
            "<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>",
        );
        for p in params {
            h.push_str(&format!(
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(p["name"].as_str().unwrap_or("")),
                if p["required"].as_bool() == Some(true) {
                    " *"
                } else {
                    ""
                },
                esc(p["in"].as_str().unwrap_or("")),
                type_of(&p["schema"]),
                esc(p["description"].as_str().unwrap_or(""))
            ));
        }
        h.push_str("</table>");
    }
    if let Some(schema) = op["requestBody"]["content"]["application/json"]["schema"].as_object() {
        h.push_str(&format!(
            "<p>请求体 / body: {}</p>",
            type_of(&Value::Object(schema.clone()))
        ));
    }
    if let Some(responses) = op["responses"].as_object() {
        h.push_str("<table><tr><th>status</th><th>body</th><th>description</th></tr>");
        for (status, r) in responses {
            let body = r["content"]
                .as_object()
                .and_then(|c| c.values().next())
                .map(|c| type_of(&c["schema"]))
                .unwrap_or_default();
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(status),
                body,
                esc(r["description"].as_str().unwrap_or(""))
            ));
        }
        h.push_str("</table>");
    }
    h.push_str("</div>");
    h
}
