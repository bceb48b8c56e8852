//! Headless Chromium (Debian's `chromium` package) driven over the DevTools protocol, with the
//! WebSocket client the bot already builds (tokio-tungstenite): launch, open a tab, navigate,
//! evaluate, click, screenshot. A few dozen lines instead of a CDP crate with thousands of
//! generated protocol types and a second WebSocket stack to build.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any one browser step may take before the test fails.
const STEP: Duration = Duration::from_secs(30);

/// The browser binary: `$CHROMIUM`, else `chromium` on `PATH`.
fn binary() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned())
}

/// A headless Chromium with one tab attached.
pub struct Browser {
    child: Child,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium on a fresh profile and attaches to a new blank tab.
    pub async fn launch() -> Self {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(binary())
            .args([
                "--headless=new",
                // Root in CI and containers has no user namespaces for the sandbox.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--window-size=1280,900",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} (apt-get install chromium): {e}", binary()));
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let url = tokio::time::timeout(STEP, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    return url.trim().to_owned();
                }
            }
            panic!("chromium exited without a DevTools address");
        })
        .await
        .expect("chromium announced its DevTools address");
        // Keep draining stderr so the browser never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
        let mut browser = Self {
            child,
            socket,
            session: String::new(),
            next_id: 0,
            _profile: profile,
        };
        let target = browser
            .call(None, "Target.createTarget", json!({ "url": "about:blank" }))
            .await;
        let target_id = target["targetId"].as_str().unwrap().to_owned();
        let attached = browser
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target_id, "flatten": true }),
            )
            .await;
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser.page("Page.enable", json!({})).await;
        browser.page("Runtime.enable", json!({})).await;
        browser
    }

    /// Sends one command (to the tab's session when `session` is set) and returns its result.
    async fn call(&mut self, session: Option<String>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut request = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            request["sessionId"] = Value::String(session);
        }
        self.socket.send(Message::text(request.to_string())).await.unwrap();
        tokio::time::timeout(STEP, async {
            loop {
                let message = self.socket.next().await.expect("the browser hung up").unwrap();
                let Message::Text(text) = message else { continue };
                let value: Value = serde_json::from_str(text.as_str()).unwrap();
                if value["id"].as_u64() == Some(id) {
                    if let Some(error) = value.get("error") {
                        panic!("{method} failed: {error}");
                    }
                    return value["result"].clone();
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{method} got no answer"))
    }

    async fn page(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.call(Some(session), method, params).await
    }

    /// Evaluates `expression` in the page and returns its value (promises are awaited).
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .page(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("`{expression}` threw: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Waits until `condition` (a JavaScript expression) is true.
    pub async fn wait_for(&mut self, condition: &str) {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            if self.eval(&format!("!!({condition})")).await == Value::Bool(true) {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                let url = self.eval("location.href").await;
                panic!("timed out waiting for `{condition}` on {url}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts opening `url` (wait for what should follow with [`Browser::wait_for`]).
    pub async fn navigate(&mut self, url: &str) {
        self.page("Page.navigate", json!({ "url": url })).await;
    }

    /// Opens `url` and waits until the document (and its images) loaded.
    pub async fn goto(&mut self, url: &str) {
        self.navigate(url).await;
        self.wait_for(&format!(
            "location.href === {} && document.readyState === 'complete'",
            Value::String(url.to_owned())
        ))
        .await;
    }

    /// The current address.
    pub async fn url(&mut self) -> String {
        self.eval("location.href").await.as_str().unwrap_or_default().to_owned()
    }

    /// The page's visible text.
    pub async fn text(&mut self) -> String {
        self.eval("document.body ? document.body.innerText : document.documentElement.textContent")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Clicks the element matching `selector` (it must exist).
    pub async fn click(&mut self, selector: &str) {
        let selector = Value::String(selector.to_owned());
        let clicked = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({selector}); if (!e) return false; e.click(); return true; }})()"
            ))
            .await;
        assert_eq!(clicked, Value::Bool(true), "nothing matches {selector}");
    }

    /// Writes a full-page PNG of the current page to `path`.
    pub async fn screenshot(&mut self, path: &Path) {
        let shot = self
            .page(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true }),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG came back");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Closes the browser.
    pub async fn close(mut self) {
        self.next_id += 1;
        let request = json!({ "id": self.next_id, "method": "Browser.close" });
        let _ = self.socket.send(Message::text(request.to_string())).await;
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// `target/screenshots/<name>.png` in the workspace.
pub fn screenshot_path(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("screenshots").join(format!("{name}.png"))
}
