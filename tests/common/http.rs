//! A raw HTTP/1.1 client over TCP and a real server on 127.0.0.1:0, for end-to-end API tests.

#![allow(dead_code)]

use std::net::SocketAddr;

use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use secretary_projects::app::accounts::hash_password;
use secretary_projects::app::App;
use secretary_projects::store::entity::user;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The password [`set_passwords`] gives every user and [`login`] uses.
pub const PASSWORD: &str = "secret1";

pub struct Reply {
    pub status: u16,
    /// The status line and headers, lower-cased.
    pub headers: String,
    /// The same as sent.
    pub raw_headers: String,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
    /// The body as text (de-chunked).
    pub text: String,
}

impl Reply {
    /// The value of a header as sent (name in any case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.raw_headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Undo `Transfer-Encoding: chunked`.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&raw[..eol]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        raw = &raw[eol + 2..];
        if size == 0 || raw.len() < size {
            out.extend_from_slice(&raw[..size.min(raw.len())]);
            break;
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or(&[]);
    }
    out
}

/// One HTTP/1.1 request on a fresh connection.
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        if !extra
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req.push_str("Content-Type: application/json\r\n");
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n{b}", b.len()));
    } else {
        req.push_str("\r\n");
    }
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let raw_headers = String::from_utf8_lossy(&raw[..split]).to_string();
    let head = raw_headers.to_ascii_lowercase();
    let rest = raw.get(split + 4..).unwrap_or(&[]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .lines()
        .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
    let text = if chunked {
        String::from_utf8_lossy(&dechunk(rest)).to_string()
    } else {
        String::from_utf8_lossy(rest).to_string()
    };
    // JSON bodies; failing that, the JSON between the first `{` and the last `}`.
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| match (text.find('{'), text.rfind('}')) {
            (Some(a), Some(b)) if b >= a => {
                serde_json::from_str(&text[a..=b]).unwrap_or(Value::Null)
            }
            _ => Value::Null,
        });
    Reply {
        status,
        headers: head,
        raw_headers,
        body,
        text,
    }
}

/// `POST /api/v1/login` with this login and password, whatever the answer.
pub async fn try_login(addr: SocketAddr, who: &str, password: &str) -> Reply {
    call(
        addr,
        "POST",
        "/api/v1/login",
        None,
        &[],
        Some(&json!({"login": who, "password": password}).to_string()),
    )
    .await
}

/// Log in with [`PASSWORD`]; asserts success and the session cookie; answers the token.
pub async fn login(addr: SocketAddr, who: &str) -> String {
    let r = try_login(addr, who, PASSWORD).await;
    assert_eq!(r.status, 200, "{who}: {}", r.body);
    assert!(
        r.headers.contains("set-cookie: sp_session=") && r.headers.contains("httponly"),
        "{}",
        r.headers
    );
    r.body["token"].as_str().unwrap().to_string()
}

/// Give every user in the database the password [`PASSWORD`].
pub async fn set_passwords(app: &App) {
    let hash = hash_password(PASSWORD).unwrap();
    for u in user::Entity::find().all(&app.db.read).await.unwrap() {
        let mut a: user::ActiveModel = u.into();
        a.password_hash = Set(Some(hash.clone()));
        a.update(&app.db.write).await.unwrap();
    }
}

/// A running server; [`Server::stop`] shuts it down and checks that it ended cleanly.
pub struct Server {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

/// Serve `app` on 127.0.0.1 at a free port.
pub async fn start(app: &App) -> (SocketAddr, Server) {
    start_at_own_url(app, false).await
}

/// Serve `app` on 127.0.0.1 at a free port; with `own_url`, the server's public URL (in the
/// links it prints) is its real address rather than the default.
pub async fn start_at_own_url(app: &App, own_url: bool) -> (SocketAddr, Server) {
    start_with(app, |addr, settings| {
        if own_url {
            settings.public_url = format!("http://{addr}");
        }
    })
    .await
}

/// Serve `app` on 127.0.0.1 at a free port with settings that `adjust` sets, knowing the port.
pub async fn start_with(
    app: &App,
    adjust: impl FnOnce(SocketAddr, &mut secretary_projects::http::Settings),
) -> (SocketAddr, Server) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut settings = secretary_projects::http::Settings::default();
    adjust(addr, &mut settings);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(secretary_projects::http::serve_with(
        app.clone(),
        settings,
        listener,
        async {
            let _ = stopped.await;
        },
    ));
    (addr, Server { stop, task })
}

/// A `multipart/form-data` body: `(name, Some(file name), content)` is a file,
/// `(name, None, value)` a text field. Answers the content type and the body.
#[allow(dead_code)]
pub fn multipart(parts: &[(&str, Option<&str>, &str)]) -> (String, String) {
    let boundary = "----sp-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = String::new();
    for (name, file_name, content) in parts {
        body.push_str(&format!("--{boundary}\r\n"));
        match file_name {
            Some(f) => body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )),
            None => body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
            )),
        }
        body.push_str(content);
        body.push_str("\r\n");
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A signed-in browser without a browser: the session cookie and the anti-forgery token of
/// its pages, for getting pages and posting their forms (urlencoded or with files).
#[allow(dead_code)]
pub struct PageClient {
    pub addr: SocketAddr,
    pub cookie: String,
    pub csrf: String,
}

/// The anti-forgery token of the first form on a page.
#[allow(dead_code)]
pub fn csrf_in(text: &str) -> Option<String> {
    let at = text.find("name=\"_csrf\" value=\"")? + 20;
    text.get(at..at + 32).map(str::to_string)
}

#[allow(dead_code)]
impl PageClient {
    /// The pages of the user whose session token this is (see [`login`]).
    pub async fn new(addr: SocketAddr, token: &str) -> PageClient {
        let cookie = format!("sp_session={token}");
        let home = call(addr, "GET", "/home", None, &[("Cookie", &cookie)], None).await;
        assert_eq!(home.status, 200, "home page: {}", home.text);
        let csrf = csrf_in(&home.text).expect("the home page has a form with a token");
        PageClient { addr, cookie, csrf }
    }

    pub async fn get(&self, path: &str) -> Reply {
        call(
            self.addr,
            "GET",
            path,
            None,
            &[("Cookie", &self.cookie)],
            None,
        )
        .await
    }

    /// Post a form as the page would (with the page's token).
    pub async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Reply {
        let mut all = vec![("_csrf", self.csrf.as_str())];
        all.extend_from_slice(pairs);
        self.post_raw(path, &all).await
    }

    /// Post exactly these fields (no token added).
    pub async fn post_raw(&self, path: &str, pairs: &[(&str, &str)]) -> Reply {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            body.append_pair(k, v);
        }
        let body = body.finish();
        call(
            self.addr,
            "POST",
            path,
            None,
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", &self.cookie),
            ],
            Some(&body),
        )
        .await
    }

    /// Post a form with files: `(name, Some(file name), content)` is a file,
    /// `(name, None, value)` a text field; the page's token is added first.
    pub async fn post_files(&self, path: &str, parts: &[(&str, Option<&str>, &str)]) -> Reply {
        let token = [("_csrf", None, self.csrf.as_str())];
        let all: Vec<(&str, Option<&str>, &str)> = token.iter().chain(parts).copied().collect();
        let (ct, body) = multipart(&all);
        call(
            self.addr,
            "POST",
            path,
            None,
            &[("Content-Type", &ct), ("Cookie", &self.cookie)],
            Some(&body),
        )
        .await
    }
}
