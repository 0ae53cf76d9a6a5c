//! A small W3C WebDriver client for the browser tests: chromedriver drives
//! the Debian chromium package, headless. Only the commands the tests use.
//! Chosen over a driver crate because WebDriver is plain JSON over HTTP and
//! reqwest is already here; nothing else to build or to keep in step.
//!
//! The tests FAIL (never skip) when chromium or chromedriver is missing:
//! scripts/test-deps installs them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long to wait for something to appear.
const WAIT: Duration = Duration::from_secs(10);

/// Where screenshots go: `$REBOUND_TEST_OUTPUT/ui/`, else
/// `<workspace>/target/test-output/ui/`.
pub fn output_dir() -> PathBuf {
    let base = std::env::var_os("REBOUND_TEST_OUTPUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-output"));
    let dir = base.join("ui");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

pub struct Browser {
    http: reqwest::Client,
    driver: Child,
    base: String,
    session: String,
    profile: PathBuf,
    closed: bool,
    /// (width, height) while a phone screen is emulated.
    phone: std::sync::Mutex<Option<(u32, u32)>>,
}

#[derive(Clone)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver on a free port and a fresh headless Chromium
    /// (its own profile, no network of its own) at desktop size.
    pub async fn start() -> Browser {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: the UI tests need Debian's chromium and chromium-driver packages \
                 (scripts/test-deps installs them)"
            );
        }
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("addr").port()
        };
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let ready = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                break;
            }
            assert!(ready.elapsed() < Duration::from_secs(20), "chromedriver did not start on port {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile =
            std::env::temp_dir().join(format!("rebound-ui-chromium-{}", uuid::Uuid::new_v4().simple()));
        let caps = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "unhandledPromptBehavior": "ignore",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run",
                        "--disable-dev-shm-usage", "--disable-extensions", "--disable-default-apps",
                        "--lang=en-US", "--window-size=1280,900", "--hide-scrollbars",
                        format!("--user-data-dir={}", profile.display()),
                    ]
                }
            }}
        });
        let mut b = Browser {
            http,
            driver,
            base,
            session: String::new(),
            profile,
            closed: false,
            phone: std::sync::Mutex::new(None),
        };
        let v = b.call(reqwest::Method::POST, "/session", Some(caps)).await;
        b.session = v["sessionId"].as_str().expect("a WebDriver session id").to_string();
        b
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = body {
            req = req.json(&b);
        } else if method == reqwest::Method::POST {
            req = req.json(&json!({}));
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "WebDriver {method} {path}: {status} {v}");
        v["value"].clone()
    }

    async fn try_call(&self, method: reqwest::Method, path: &str, body: Value) -> Result<Value, Value> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method.clone(), &url);
        if method == reqwest::Method::POST {
            req = req.json(&body);
        }
        let res = req.send().await.map_err(|e| json!(e.to_string()))?;
        let ok = res.status().is_success();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        if ok { Ok(v["value"].clone()) } else { Err(v["value"].clone()) }
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_string()
    }

    pub async fn title(&self) -> String {
        self.call(reqwest::Method::GET, "/title", None).await.as_str().unwrap_or_default().to_string()
    }

    pub async fn set_size(&self, width: u32, height: u32) {
        self.call(reqwest::Method::POST, "/window/rect", Some(json!({"width": width, "height": height})))
            .await;
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        let start = Instant::now();
        loop {
            match self
                .try_call(reqwest::Method::POST, "/element", json!({"using": "css selector", "value": css}))
                .await
            {
                Ok(v) => return Element(v[ELEMENT].as_str().expect("element id").to_string()),
                Err(e) => {
                    if start.elapsed() > WAIT {
                        panic!("no element matches {css:?} on {} after {WAIT:?}: {e}", self.url().await);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every element matching `css` now (no waiting).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let v = self
            .call(reqwest::Method::POST, "/elements", Some(json!({"using": "css selector", "value": css})))
            .await;
        v.as_array()
            .map(|a| a.iter().filter_map(|e| e[ELEMENT].as_str()).map(|s| Element(s.to_string())).collect())
            .unwrap_or_default()
    }

    /// The text of every element matching `css`, in document order.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.find_all(css).await {
            out.push(self.text(&e).await);
        }
        out
    }

    pub async fn click(&self, e: &Element) {
        self.call(reqwest::Method::POST, &format!("/element/{}/click", e.0), None).await;
    }

    /// Clicks the element that matches `css`.
    pub async fn click_on(&self, css: &str) {
        let e = self.find(css).await;
        self.click(&e).await;
    }

    /// Clicks the element that matches `css` and waits until the next page
    /// has loaded (a form post or a link), so later reads see the new page.
    pub async fn click_to_load(&self, css: &str) {
        self.script("document.documentElement.setAttribute('data-old-page', '1')", json!([])).await;
        self.click_on(css).await;
        let start = Instant::now();
        loop {
            let state = self
                .try_call(
                    reqwest::Method::POST,
                    "/execute/sync",
                    json!({"script": "return [document.documentElement.hasAttribute('data-old-page'), document.readyState]", "args": []}),
                )
                .await;
            // Errors while the old page unloads are part of waiting.
            if let Ok(v) = state
                && v[0] == false
                && v[1] == "complete"
            {
                return;
            }
            assert!(start.elapsed() < WAIT, "clicking {css:?} loaded no new page");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Replaces the field's value by typing `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{}/clear", e.0), None).await;
        self.call(reqwest::Method::POST, &format!("/element/{}/value", e.0), Some(json!({"text": text})))
            .await;
    }

    pub async fn text(&self, e: &Element) -> String {
        self.call(reqwest::Method::GET, &format!("/element/{}/text", e.0), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn text_of(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.text(&e).await
    }

    pub async fn attribute(&self, e: &Element, name: &str) -> Option<String> {
        self.call(reqwest::Method::GET, &format!("/element/{}/attribute/{name}", e.0), None)
            .await
            .as_str()
            .map(str::to_string)
    }

    pub async fn property(&self, css: &str, name: &str) -> Value {
        let e = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{}/property/{name}", e.0), None).await
    }

    /// Runs JavaScript in the page; `arguments[0..]` are `args`.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": args}))).await
    }

    /// The text of the open dialog (confirm/alert), waiting for it.
    pub async fn alert_text(&self) -> String {
        let start = Instant::now();
        loop {
            match self.try_call(reqwest::Method::GET, "/alert/text", Value::Null).await {
                Ok(v) => return v.as_str().unwrap_or_default().to_string(),
                Err(e) if start.elapsed() > WAIT => panic!("no dialog opened: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    pub async fn accept_alert(&self) {
        self.call(reqwest::Method::POST, "/alert/accept", None).await;
    }

    /// Waits until the page's URL contains `part`.
    pub async fn wait_for_url(&self, part: &str) -> String {
        let start = Instant::now();
        loop {
            let url = self.url().await;
            if url.contains(part) {
                return url;
            }
            assert!(start.elapsed() < WAIT, "the page stayed at {url}, expected {part}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `css` matches exactly `n` elements.
    pub async fn wait_for_count(&self, css: &str, n: usize) {
        let start = Instant::now();
        loop {
            let got = self.find_all(css).await.len();
            if got == n {
                return;
            }
            assert!(
                start.elapsed() < WAIT,
                "{css:?} matched {got} elements, expected {n}, on {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A Chrome DevTools command, through chromedriver.
    async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.call(reqwest::Method::POST, "/goog/cdp/execute", Some(json!({"cmd": cmd, "params": params})))
            .await
    }

    /// Emulates a phone screen of `width` x `height` CSS pixels (a headless
    /// window cannot be made narrower than 500 px).
    pub async fn emulate_phone(&self, width: u32, height: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": true}),
        )
        .await;
        *self.phone.lock().unwrap() = Some((width, height));
    }

    /// Saves a PNG of the viewport (the whole page's height) as
    /// `<output>/ui/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let phone = *self.phone.lock().unwrap();
        if let Some((w, h)) = phone {
            let full = self.script("return document.documentElement.scrollHeight", json!([])).await;
            let full = full.as_u64().unwrap_or(u64::from(h)).clamp(400, 4000);
            let params = |h: u64| json!({"width": w, "height": h, "deviceScaleFactor": 1, "mobile": true});
            self.cdp("Emulation.setDeviceMetricsOverride", params(full)).await;
            let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
            self.cdp("Emulation.setDeviceMetricsOverride", params(u64::from(h))).await;
            return save_png(name, &png);
        }
        // Grow the window to the page so the picture shows all of it.
        let size = self
            .script(
                "return [window.outerWidth, document.documentElement.scrollHeight + (window.outerHeight - window.innerHeight)];",
                json!([]),
            )
            .await;
        let (w, h) = (size[0].as_u64().unwrap_or(1280), size[1].as_u64().unwrap_or(900).clamp(400, 4000));
        let before = self.call(reqwest::Method::GET, "/window/rect", None).await;
        self.set_size(w as u32, h as u32).await;
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        self.set_size(
            before["width"].as_u64().unwrap_or(w) as u32,
            before["height"].as_u64().unwrap_or(900) as u32,
        )
        .await;
        save_png(name, &png)
    }

    /// Saves a PNG of one element (scrolled into view) as `<output>/ui/<name>.png`.
    pub async fn screenshot_of(&self, css: &str, name: &str) -> PathBuf {
        let e = self.find(css).await;
        let png = self.call(reqwest::Method::GET, &format!("/element/{}/screenshot", e.0), None).await;
        save_png(name, &png)
    }

    /// Ends the session (Chromium exits) and chromedriver.
    pub async fn close(mut self) {
        let _ = self.http.delete(format!("{}/session/{}", self.base, self.session)).send().await;
        self.closed = true;
    }
}

fn save_png(name: &str, png: &Value) -> PathBuf {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(png.as_str().expect("base64 screenshot"))
        .expect("screenshot is base64");
    assert!(bytes.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
    let path = output_dir().join(format!("{name}.png"));
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.closed {
            // A failed test: end the session from a thread of its own (Drop
            // cannot await), so Chromium does not outlive the test.
            let url = format!("{}/session/{}", self.base, self.session);
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                rt.block_on(async { reqwest::Client::new().delete(url).send().await.ok() })
            })
            .join();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Browser {
    /// The WebDriver id of the element matching `css` (to pass to scripts).
    pub async fn element_id(&self, css: &str) -> String {
        self.find(css).await.0
    }
}
