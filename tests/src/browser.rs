//! Headless Chromium for the example site's tests, driven over W3C
//! WebDriver by Debian's ChromeDriver: a small client over `reqwest`.
//!
//! `scripts/test` installs Chromium, ChromeDriver and axe-core and names
//! them in `CHROMIUM`, `CHROMEDRIVER` and `AXE_CORE_JS`.

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The W3C WebDriver element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a page may take to reach an expected state.
const PATIENCE: Duration = Duration::from_secs(15);

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with scripts/test, which installs the browser and axe-core")
    })
}

/// A headless Chromium session, closed (with its driver) on drop.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
}

/// What a browser session starts with.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Whether pages may run scripts.
    pub javascript: bool,
}

impl Browser {
    /// A browser with JavaScript on.
    pub async fn start() -> Self {
        Self::start_with(Options { javascript: true }).await
    }

    /// Starts ChromeDriver on a free port and opens a session. Host names
    /// ending in `.test` resolve to the loopback address, so that tests can
    /// load pages from origins of their own choosing.
    pub async fn start_with(options: Options) -> Self {
        let chromium = required_env("CHROMIUM");
        let port = crate::free_port();
        let driver = Command::new(required_env("CHROMEDRIVER"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile =
            std::env::temp_dir().join(format!("frontdesk-chromium-{}-{port}", std::process::id()));
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--lang=en-GB".into(),
            "--window-size=1280,1600".into(),
            "--host-resolver-rules=MAP *.test 127.0.0.1".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        if !options.javascript {
            args.push("--blink-settings=scriptEnabled=false".into());
        }
        let capabilities = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium, "args": args},
            }}
        });
        let mut browser = Self {
            driver,
            http,
            session: String::new(),
        };
        let created = browser
            .call(
                reqwest::Method::POST,
                &format!("{base}/session"),
                capabilities,
            )
            .await;
        browser.session = format!(
            "{base}/session/{}",
            created["sessionId"].as_str().expect("a session id")
        );
        browser
    }

    async fn call(&self, method: reqwest::Method, url: &str, body: Value) -> Value {
        let request = self.http.request(method, url);
        let request = if body.is_null() {
            request
        } else {
            request.json(&body)
        };
        let response = request.send().await.expect("chromedriver answers");
        let status = response.status();
        let answer: Value = response.json().await.expect("JSON from chromedriver");
        assert!(status.is_success(), "WebDriver {url}: {answer}");
        answer["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            &format!("{}{path}", self.session),
            body,
        )
        .await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(
            reqwest::Method::GET,
            &format!("{}{path}", self.session),
            Value::Null,
        )
        .await
    }

    /// Loads a page and waits for it to finish loading.
    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    /// The page's current address.
    pub async fn url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The document's title.
    pub async fn title(&self) -> String {
        self.get("/title")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    /// Runs `script`, which calls its last argument with its result.
    pub async fn execute_async(&self, script: &str, args: Value) -> Value {
        self.post("/execute/async", json!({"script": script, "args": args}))
            .await
    }

    /// The first element `css` selects, if any.
    pub async fn try_find(&self, css: &str) -> Option<Element<'_>> {
        let found = self
            .post("/elements", json!({"using": "css selector", "value": css}))
            .await;
        let id = found.as_array()?.first()?[ELEMENT].as_str()?.to_owned();
        Some(Element { browser: self, id })
    }

    /// The first element `css` selects; it must exist.
    pub async fn find(&self, css: &str) -> Element<'_> {
        self.try_find(css)
            .await
            .unwrap_or_else(|| panic!("no element matches {css}"))
    }

    /// Waits until `condition` (a JavaScript expression) is true, and
    /// returns false if it never is.
    pub async fn wait_until(&self, condition: &str) -> bool {
        let deadline = Instant::now() + PATIENCE;
        let script = format!("return Boolean({condition});");
        loop {
            if self.execute(&script, json!([])).await == Value::Bool(true) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The id of the element that has the focus.
    pub async fn focused(&self) -> String {
        self.execute("return document.activeElement.id;", json!([]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The trimmed text of the first element `css` selects ("" if none).
    pub async fn text(&self, css: &str) -> String {
        self.execute(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : '';",
            json!([css]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Types `value` into the field `css` selects, after clearing it.
    pub async fn fill(&self, css: &str, value: &str) {
        submitted(css, value);
        let element = self.find(css).await;
        element.clear().await;
        element.type_text(value).await;
    }

    /// Sets a field's value as a date picker or a drop-down list does: by
    /// value, with the input and change events a page listens for.
    pub async fn set_value(&self, css: &str, value: &str) {
        submitted(css, value);
        self.execute(
            "const e = document.querySelector(arguments[0]); e.value = arguments[1];\
             e.dispatchEvent(new Event('input', {bubbles: true}));\
             e.dispatchEvent(new Event('change', {bubbles: true}));",
            json!([css, value]),
        )
        .await;
    }

    /// Two clicks in quick succession on the element `css` selects, as a
    /// person double-clicking does.
    pub async fn double_click(&self, css: &str) {
        let element = self.find(css).await;
        let origin = json!({ELEMENT: element.id});
        let down_up = |pause: u64| {
            json!([
                {"type": "pointerMove", "origin": origin.clone(), "x": 0, "y": 0},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerUp", "button": 0},
                {"type": "pause", "duration": pause},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerUp", "button": 0},
            ])
        };
        self.post(
            "/actions",
            json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": down_up(30)}]}),
        )
        .await;
    }

    /// Saves a PNG of the whole page under `target/browser-artifacts/`, and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let height = self
            .execute(
                "return Math.ceil(document.documentElement.scrollHeight);",
                json!([]),
            )
            .await
            .as_u64()
            .unwrap_or(1600)
            .clamp(600, 8000);
        self.post(
            "/window/rect",
            json!({"width": 1280, "height": height + 140}),
        )
        .await;
        let png = self.get("/screenshot").await;
        let bytes = aws_smithy_types::base64::decode(png.as_str().expect("a screenshot"))
            .expect("base64 PNG");
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).expect("the artifacts folder");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("the screenshot is written");
        path
    }

    /// Presses `keys` on whatever has the focus, one after another, as a
    /// keyboard does (WebDriver key actions; `TAB`, `ENTER` and `SPACE` are
    /// the special keys).
    pub async fn keys(&self, keys: &str) {
        let mut actions = Vec::new();
        for key in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": key.to_string()}));
            actions.push(json!({"type": "keyUp", "value": key.to_string()}));
        }
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .await;
        self.call(
            reqwest::Method::DELETE,
            &format!("{}/actions", self.session),
            Value::Null,
        )
        .await;
    }

    /// Presses Tab until the element `css` selects has the focus, at most
    /// 80 times; whether it got there. Shows that a keyboard reaches it.
    pub async fn tab_to(&self, css: &str) -> bool {
        for _ in 0..80 {
            let there = self
                .execute(
                    "return document.activeElement && document.activeElement.matches(arguments[0]);",
                    json!([css]),
                )
                .await;
            if there == Value::Bool(true) {
                return true;
            }
            self.keys(TAB).await;
        }
        false
    }

    /// Goes back one page in the history, as the back button does.
    pub async fn back(&self) {
        self.post("/back", json!({})).await;
    }

    /// Runs axe-core on the page and returns its violations of WCAG 2.x A
    /// and AA and of axe's best practices.
    pub async fn axe(&self) -> Vec<Violation> {
        let source = std::fs::read_to_string(required_env("AXE_CORE_JS")).expect("axe-core");
        self.execute(&source, json!([])).await;
        let result = self
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})\
                   .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,\
                     targets: v.nodes.map(n => n.target.join(' '))}))))\
                   .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), targets: []}]));",
                json!([]),
            )
            .await;
        serde_json::from_value(result).expect("axe's violations")
    }
}

/// The Tab key, for [`Browser::keys`].
pub const TAB: &str = "\u{E004}";
/// The Enter key.
pub const ENTER: &str = "\u{E007}";
/// The space bar.
pub const SPACE: &str = " ";

/// One axe-core rule a page breaks.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Violation {
    /// The rule.
    pub id: String,
    /// minor, moderate, serious or critical.
    pub impact: Option<String>,
    /// What the rule asks for.
    pub help: String,
    /// The elements that break it.
    pub targets: Vec<String>,
}

impl Violation {
    /// Whether axe rates it serious or critical.
    pub fn is_serious(&self) -> bool {
        matches!(self.impact.as_deref(), Some("serious" | "critical"))
    }
}

/// Where screenshots are saved: `target/browser-artifacts/`.
pub fn artifacts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser-artifacts")
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The session ends with its driver, which takes its Chromium with it.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// An element on the page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Element<'_> {
    /// Clicks it.
    pub async fn click(&self) {
        self.browser
            .post(&format!("/element/{}/click", self.id), json!({}))
            .await;
    }

    /// Empties a text field.
    pub async fn clear(&self) {
        self.browser
            .post(&format!("/element/{}/clear", self.id), json!({}))
            .await;
    }

    /// Types into it, key by key.
    pub async fn type_text(&self, text: &str) {
        self.browser
            .post(
                &format!("/element/{}/value", self.id),
                json!({"text": text}),
            )
            .await;
    }

    /// An attribute's value.
    pub async fn attribute(&self, name: &str) -> Option<String> {
        self.browser
            .get(&format!("/element/{}/attribute/{name}", self.id))
            .await
            .as_str()
            .map(str::to_owned)
    }
}

/// Registers a value typed into a form field picked by its id (`#phone`)
/// for the log check.
fn submitted(css: &str, value: &str) {
    if let Some(field) = css.strip_prefix('#') {
        crate::logs::submitted(field, value);
    }
}
