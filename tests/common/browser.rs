//! A small W3C WebDriver client for end-to-end tests of the server-rendered pages in a real
//! headless Chromium (Debian's `chromium` and `chromium-driver`). No extra dependencies: the
//! protocol is JSON over HTTP/1.1 to a chromedriver this harness starts on a free port.
//!
//! The client blocks: run browser tests on a multi-thread runtime
//! (`#[tokio::test(flavor = "multi_thread", worker_threads = 2)]`) so the server under test
//! keeps answering while the test waits for the browser.
//!
//! Without Chromium the tests print a loud `SKIPPED` line and return, unless
//! `SP_TEST_BROWSER=1` is set (as in CI), when they fail.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The W3C key of an element reference.
pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// axe-core's script, compiled into the tests (never fetched): see tests/vendor/axe-core.
const AXE_SOURCE: &str = include_str!("../vendor/axe-core/axe.min.js");

/// One rule axe-core found broken on a page.
#[derive(Clone, Debug)]
pub struct AxeViolation {
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: String,
    /// The rule, e.g. `color-contrast`.
    pub id: String,
    pub help: String,
    /// A CSS selector of each element at fault.
    pub targets: Vec<String>,
}

/// Assert that the page now open does not scroll sideways.
pub fn no_sideways_scroll(browser: &Browser, page: &str) {
    assert!(browser.fits_width(), "{page} scrolls sideways");
}

/// How long [`Browser::find`] and [`Browser::wait_for`] poll before giving up.
pub const WAIT: Duration = Duration::from_secs(15);

/// How the browser window looks.
#[derive(Clone, Copy, Debug)]
pub enum Window {
    /// A phone: Chrome's mobile emulation with this CSS viewport, a device pixel ratio of 3,
    /// touch and a mobile user agent.
    Phone { width: u32, height: u32 },
    /// A desktop window of this size with this device pixel ratio (2 gives screenshots with
    /// sharp QR codes).
    Desktop { width: u32, height: u32, scale: f64 },
}

/// An element found on the page (its WebDriver reference).
#[derive(Clone, Debug)]
pub struct El(pub String);

/// A WebDriver error answer.
#[derive(Debug)]
pub struct WdError {
    pub status: u16,
    pub error: String,
    pub message: String,
}

/// Whether the browser tests must run (`SP_TEST_BROWSER=1`) rather than skip.
pub fn required() -> bool {
    std::env::var("SP_TEST_BROWSER").is_ok_and(|v| v == "1")
}

/// A path from the environment variable `var`, else `default`.
fn path_from(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| default.into())
}

/// Chromium and chromedriver (`SP_CHROMIUM` and `SP_CHROMEDRIVER` name others), if both are
/// installed.
fn installed() -> Option<(PathBuf, PathBuf)> {
    let chromium = path_from("SP_CHROMIUM", CHROMIUM);
    let driver = path_from("SP_CHROMEDRIVER", CHROMEDRIVER);
    (chromium.is_file() && driver.is_file()).then_some((chromium, driver))
}

/// Kills chromedriver and everything it started (its process group) when dropped, so a
/// failing test leaves no browser behind.
struct DriverProcess {
    child: Child,
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        let pid = self.child.id();
        // The whole group: chromedriver and the Chromium processes it launched.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver session in a fresh headless Chromium. Dropping it ends the session, kills
/// chromedriver and Chromium and removes the profile.
pub struct Browser {
    driver: SocketAddr,
    session: String,
    // Field order is drop order: the process goes before its profile folder.
    process: DriverProcess,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ask politely first (Chromium then exits on its own); the process guard kills the rest.
        let _ = raw(
            self.driver,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
            Duration::from_secs(5),
        );
    }
}

/// A free TCP port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One HTTP/1.1 request to chromedriver; answers the status and the JSON body.
fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> std::io::Result<(u16, Value)> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    // chromedriver refuses requests whose Host is not a local address.
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())?;
    // chromedriver keeps the connection open whatever the request says: read the header, then
    // exactly Content-Length bytes (or to the end when there is none).
    let mut answer = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let split = loop {
        if let Some(p) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::other(
                "no HTTP header in chromedriver's answer",
            ));
        }
        answer.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == "content-length").then(|| v.trim().parse::<usize>().ok())?
    });
    match length {
        Some(length) => {
            while answer.len() < split + 4 + length {
                let n = s.read(&mut buf)?;
                if n == 0 {
                    return Err(std::io::Error::other("chromedriver's answer was cut short"));
                }
                answer.extend_from_slice(&buf[..n]);
            }
        }
        None => {
            s.read_to_end(&mut answer)?;
        }
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut rest = answer[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        rest = dechunk(&rest);
    }
    let value = serde_json::from_slice(&rest).unwrap_or(Value::Null);
    Ok((status, value))
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&raw[..eol]);
        let Ok(size) = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
        else {
            break;
        };
        raw = &raw[eol + 2..];
        if size == 0 || raw.len() < size {
            break;
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or(&[]);
    }
    out
}

impl Browser {
    /// Start chromedriver and a new Chromium session. `None` (after a loud `SKIPPED` line on
    /// standard error) when Chromium is not installed and the browser tests are not required;
    /// a panic when they are (`SP_TEST_BROWSER=1`).
    pub fn start(window: Window) -> Option<Browser> {
        Self::start_in(window, "zh-CN,zh")
    }

    /// [`Browser::start`] with the browser's preferred languages (its Accept-Language), e.g.
    /// `en-US,en`; [`Browser::start`] asks for Chinese as a phone in China does.
    pub fn start_in(window: Window, languages: &str) -> Option<Browser> {
        Self::start_with(window, languages, true)
    }

    /// [`Browser::start_in`], with the pages' own scripts switched off when `javascript` is
    /// false (Chromium's content setting, as a user or a locked-down office PC sets it). The
    /// tests' WebDriver scripts still run: they come through the DevTools protocol.
    pub fn start_with(window: Window, languages: &str, javascript: bool) -> Option<Browser> {
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            assert!(
                !matches!(
                    h.runtime_flavor(),
                    tokio::runtime::RuntimeFlavor::CurrentThread
                ),
                "browser tests block while the browser works: use \
                 #[tokio::test(flavor = \"multi_thread\")] so the server keeps running"
            );
        }
        let Some((chromium, driver)) = installed() else {
            if required() {
                panic!(
                    "SP_TEST_BROWSER=1 but {} or {} is missing \
                     (apt-get install chromium chromium-driver)",
                    path_from("SP_CHROMIUM", CHROMIUM).display(),
                    path_from("SP_CHROMEDRIVER", CHROMEDRIVER).display(),
                );
            }
            // Straight to the process's standard error: the test harness captures (and hides,
            // for a passing test) what eprintln! writes.
            let rule = "*".repeat(70);
            let _ = writeln!(
                std::io::stderr().lock(),
                "\n{rule}\nSKIPPED: browser tests need chromium and chromium-driver \
                 (apt-get install chromium chromium-driver)\n{rule}"
            );
            return None;
        };
        Some(Self::launch(
            &chromium, &driver, window, languages, javascript,
        ))
    }

    fn launch(
        chromium: &Path,
        driver: &Path,
        window: Window,
        languages: &str,
        javascript: bool,
    ) -> Browser {
        use std::os::unix::process::CommandExt;
        let profile = tempfile::tempdir().expect("a Chromium profile folder");
        let port = free_port();
        let log = std::fs::File::create(profile.path().join("chromedriver.log"))
            .expect("chromedriver log");
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            // A group of its own, so the guard can kill Chromium with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", driver.display()));
        let process = DriverProcess { child };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();

        // Ready when /status says so.
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok((200, v)) = raw(addr, "GET", "/status", None, Duration::from_secs(2)) {
                if v["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready on port {port}: {}",
                std::fs::read_to_string(profile.path().join("chromedriver.log"))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }

        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-crash-reporter".into(),
            format!(
                "--user-data-dir={}",
                profile.path().join("chromium").display()
            ),
            format!("--lang={}", languages.split(',').next().unwrap_or("zh-CN")),
        ];
        let downloads = profile.path().join("downloads");
        std::fs::create_dir_all(&downloads).expect("a downloads folder");
        let mut options = json!({
            "binary": chromium.display().to_string(),
            "prefs": {
                "intl.accept_languages": languages,
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
            },
        });
        if !javascript {
            options["prefs"]["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        match window {
            Window::Phone { width, height } => {
                options["mobileEmulation"] = json!({
                    "deviceMetrics": {"width": width, "height": height, "pixelRatio": 3.0, "touch": true, "mobile": true},
                    "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
                });
            }
            Window::Desktop {
                width,
                height,
                scale,
            } => {
                args.push(format!("--window-size={width},{height}"));
                args.push(format!("--force-device-scale-factor={scale}"));
            }
        }
        options["args"] = json!(args);
        // The network events of the page go to chromedriver's performance log, which
        // [`Browser::requested_urls`] reads: the browser's own record of every request made.
        options["perfLoggingPrefs"] = json!({"enableNetwork": true, "enablePage": false});
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": {"pageLoad": 30_000, "script": 15_000, "implicit": 0},
            "goog:chromeOptions": options,
            "goog:loggingPrefs": {"performance": "ALL"},
        }}});
        let (status, v) = raw(
            addr,
            "POST",
            "/session",
            Some(&caps),
            Duration::from_secs(60),
        )
        .expect("new WebDriver session");
        assert_eq!(
            status,
            200,
            "new session refused: {v}\n{}",
            std::fs::read_to_string(profile.path().join("chromedriver.log")).unwrap_or_default()
        );
        let session = v["value"]["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        Browser {
            driver: addr,
            session,
            process,
            _profile: profile,
        }
    }

    /// One command of this session: the `value` of the answer, or the WebDriver error.
    pub fn try_cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, WdError> {
        let path = format!("/session/{}{path}", self.session);
        let body = match (method, body) {
            ("POST", None) => Some(json!({})),
            (_, b) => b,
        };
        let (status, v) = raw(
            self.driver,
            method,
            &path,
            body.as_ref(),
            Duration::from_secs(60),
        )
        .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        if status == 200 {
            Ok(v["value"].clone())
        } else {
            Err(WdError {
                status,
                error: v["value"]["error"].as_str().unwrap_or("").to_string(),
                message: v["value"]["message"].as_str().unwrap_or("").to_string(),
            })
        }
    }

    /// One command that must succeed.
    pub fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_cmd(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e:?}"))
    }

    /// Open a URL and wait for the page to load.
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    /// The file the last click downloaded: waits until a file whose name ends in `ext` is
    /// complete in the browser's downloads folder, and answers its name and bytes.
    pub fn downloaded(&self, ext: &str) -> (String, Vec<u8>) {
        let dir = self._profile.path().join("downloads");
        let deadline = Instant::now() + WAIT;
        loop {
            let done = std::fs::read_dir(&dir).ok().and_then(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .find(|p| p.extension().is_some_and(|x| x == ext))
            });
            if let Some(path) = done {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let bytes = std::fs::read(&path).expect("read the downloaded file");
                std::fs::remove_file(&path).ok();
                return (name, bytes);
            }
            assert!(
                Instant::now() < deadline,
                "no .{ext} file was downloaded to {}",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub fn title(&self) -> String {
        self.cmd("GET", "/title", None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn el_of(v: &Value) -> El {
        El(v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("not an element: {v}"))
            .to_string())
    }

    /// The first element matching `css` now, if any.
    pub fn try_find(&self, css: &str) -> Option<El> {
        match self.try_cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        ) {
            Ok(v) => Some(Self::el_of(&v)),
            Err(e) if e.error == "no such element" => None,
            Err(e) => panic!("find {css}: {e:?}"),
        }
    }

    /// The first element matching `css`, waiting up to [`WAIT`] for it to appear.
    pub fn find(&self, css: &str) -> El {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(el) = self.try_find(css) {
                return el;
            }
            assert!(
                Instant::now() < deadline,
                "no element {css} after {WAIT:?} on {} ({})",
                self.url(),
                self.title()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every element matching `css` now.
    pub fn find_all(&self, css: &str) -> Vec<El> {
        self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .map(|a| a.iter().map(Self::el_of).collect())
        .unwrap_or_default()
    }

    /// Poll `condition` (a script body returning a truthy value) until it holds, up to [`WAIT`].
    pub fn wait_for(&self, what: &str, condition: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.exec(condition, vec![]);
            if !(v.is_null() || v == false || v == 0 || v == "") {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "waited {WAIT:?} for {what} on {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn click(&self, el: &El) {
        self.cmd("POST", &format!("/element/{}/click", el.0), None);
    }

    pub fn send_keys(&self, el: &El, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{}/value", el.0),
            Some(json!({"text": text})),
        );
    }

    /// The element's rendered text.
    pub fn text(&self, el: &El) -> String {
        self.cmd("GET", &format!("/element/{}/text", el.0), None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub fn attr(&self, el: &El, name: &str) -> Option<String> {
        self.cmd("GET", &format!("/element/{}/attribute/{name}", el.0), None)
            .as_str()
            .map(str::to_string)
    }

    /// A DOM property (`checked`, `value`, ...).
    pub fn prop(&self, el: &El, name: &str) -> Value {
        self.cmd("GET", &format!("/element/{}/property/{name}", el.0), None)
    }

    /// The element's box in CSS pixels: x, y, width, height.
    pub fn rect(&self, el: &El) -> (f64, f64, f64, f64) {
        let r = self.cmd("GET", &format!("/element/{}/rect", el.0), None);
        let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
        (f("x"), f("y"), f("width"), f("height"))
    }

    pub fn displayed(&self, el: &El) -> bool {
        self.cmd("GET", &format!("/element/{}/displayed", el.0), None) == true
    }

    /// Run a script body (`return ...;`) with arguments; elements are passed as [`El::arg`].
    pub fn exec(&self, script: &str, args: Vec<Value>) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Run an asynchronous script: its last argument is the callback to call with the result.
    pub fn exec_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Set a cookie for the origin of the page now open.
    pub fn add_cookie(&self, name: &str, value: &str) {
        self.cmd(
            "POST",
            "/cookie",
            Some(json!({"cookie": {"name": name, "value": value, "path": "/", "httpOnly": true, "sameSite": "Lax"}})),
        );
    }

    /// A PNG screenshot of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        let v = self.cmd("GET", "/screenshot", None);
        base64_decode(v.as_str().expect("base64 PNG"))
    }

    /// The whole page as a PNG, beyond the window's height (Chromium's own capture through
    /// chromedriver's DevTools endpoint), or the window alone where that is not offered.
    pub fn full_page_screenshot(&self) -> Vec<u8> {
        let full = self.try_cmd(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": "Page.captureScreenshot",
                        "params": {"format": "png", "captureBeyondViewport": true}})),
        );
        match full
            .ok()
            .and_then(|v| v["data"].as_str().map(base64_decode))
        {
            Some(png) => png,
            None => self.screenshot(),
        }
    }

    /// Keep a screenshot of the whole page as `DIR/name.png`, to look at the pages as the
    /// tests saw them: `DIR` is `SP_BROWSER_SCREENSHOTS`, by default `target/screenshots`.
    pub fn keep_screenshot(&self, name: &str) {
        let dir = std::env::var_os("SP_BROWSER_SCREENSHOTS")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let target = std::env::var_os("CARGO_TARGET_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
                target.join("screenshots")
            });
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(dir.join(format!("{name}.png")), self.full_page_screenshot())
            .expect("screenshot");
    }

    /// A PNG screenshot of one element, base64 as WebDriver answers it.
    pub fn element_screenshot_base64(&self, el: &El) -> String {
        let v = self.cmd("GET", &format!("/element/{}/screenshot", el.0), None);
        v.as_str().expect("base64 PNG").to_string()
    }

    /// The HTTP status of the page now open (the Navigation Timing entry).
    pub fn status(&self) -> u64 {
        self.exec(
            "return performance.getEntriesByType('navigation')[0].responseStatus;",
            vec![],
        )
        .as_u64()
        .unwrap_or(0)
    }

    /// Run axe-core (vendored in `tests/vendor/axe-core`) on the page now open: every
    /// violation as (impact, rule id, help text, the CSS selectors of the elements at fault).
    /// Panics when axe did not run (no `violations` array, or no rule passed either), so a
    /// page that blocks the script cannot pass by saying nothing.
    pub fn axe_violations(&self) -> Vec<AxeViolation> {
        // Injected through WebDriver, which Chromium runs outside the page's content security
        // policy (the pages allow no inline script).
        let loaded = self.exec(
            &format!("{AXE_SOURCE}\n;return typeof window.axe === 'object' && window.axe.version;"),
            vec![],
        );
        assert!(
            loaded.is_string(),
            "axe-core did not load on {}: {loaded}",
            self.url()
        );
        let v = self.exec_async(
            "const done = arguments[arguments.length - 1];
             window.axe.run(document, {resultTypes: ['violations']}).then(
               r => done({
                 passes: r.passes.length,
                 violations: r.violations.map(v => ({
                   impact: v.impact || '', id: v.id, help: v.help,
                   targets: v.nodes.map(n => n.target.flat().join(' ')),
                 })),
               }),
               e => done({error: String(e && e.stack || e)}));",
            vec![],
        );
        let (Some(violations), Some(passes)) = (v["violations"].as_array(), v["passes"].as_u64())
        else {
            panic!("axe did not run on {}: {v}", self.url());
        };
        assert!(passes > 0, "axe ran no rule on {}: {v}", self.url());
        violations
            .iter()
            .map(|v| AxeViolation {
                impact: v["impact"].as_str().unwrap_or("").to_string(),
                id: v["id"].as_str().unwrap_or("").to_string(),
                help: v["help"].as_str().unwrap_or("").to_string(),
                targets: v["targets"]
                    .as_array()
                    .map(|t| {
                        t.iter()
                            .map(|s| s.as_str().unwrap_or("").to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// The URL of every request the page made since the last call (or since the session
    /// began), from Chromium's own network log: `Network.requestWillBeSent` events of
    /// chromedriver's performance log, which reading empties.
    pub fn requested_urls(&self) -> Vec<String> {
        let entries = self.cmd("POST", "/se/log", Some(json!({"type": "performance"})));
        let Some(entries) = entries.as_array() else {
            panic!("no performance log: {entries}");
        };
        entries
            .iter()
            .filter_map(|e| {
                let m: Value = serde_json::from_str(e["message"].as_str()?).ok()?;
                let m = &m["message"];
                (m["method"] == "Network.requestWillBeSent")
                    .then(|| m["params"]["request"]["url"].as_str().map(str::to_string))?
            })
            .collect()
    }

    /// Whether the page now open is no wider than the window (nothing scrolls sideways). On
    /// an emulated phone a page wider than the screen also widens the viewport (the phone
    /// zooms out to show it all, so the page "fits" a viewport of its own width): the
    /// viewport must be no wider than the screen too.
    pub fn fits_width(&self) -> bool {
        self.exec(
            "return document.documentElement.scrollWidth <= window.innerWidth \
               && window.innerWidth <= screen.width;",
            vec![],
        ) == true
    }

    /// The language of the page now open (`<html lang>`).
    pub fn lang(&self) -> String {
        self.exec("return document.documentElement.lang;", vec![])
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Forget every cookie of the origin of the page now open (signs out, forgets the
    /// language chosen before sign-in).
    pub fn delete_cookies(&self) {
        self.cmd("DELETE", "/cookie", None);
    }

    /// The page printed to PDF (WebDriver's print endpoint) on A4 paper.
    pub fn print_pdf(&self) -> Vec<u8> {
        let v = self.cmd(
            "POST",
            "/print",
            Some(json!({"page": {"width": 21.0, "height": 29.7}, "background": true})),
        );
        base64_decode(v.as_str().expect("base64 PDF"))
    }
}

impl El {
    /// The element as a script argument.
    pub fn arg(&self) -> Value {
        json!({ ELEMENT: self.0 })
    }
}

/// Standard base64 (with or without padding) to bytes; panics on anything else.
pub fn base64_decode(s: &str) -> Vec<u8> {
    fn val(c: u8) -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a') as u32 + 26,
            b'0'..=b'9' => (c - b'0') as u32 + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {:?}", c as char),
        }
    }
    let bytes: Vec<u8> = s
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (k, c) in chunk.iter().enumerate() {
            n |= val(*c) << (18 - 6 * k);
        }
        let take = chunk.len().saturating_sub(1);
        for k in 0..take {
            out.push((n >> (16 - 8 * k)) as u8);
        }
    }
    out
}
