//! A headless Chromium driven through chromedriver (WebDriver) with
//! fantoccini: found on the machine (Debian's `chromium` and
//! `chromium-driver`), started on a free port, and stopped when dropped;
//! screenshots saved under the target directory.

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// Where Chromium and its driver are, when both are installed.
pub(crate) struct Installed {
    chromium: PathBuf,
    driver: PathBuf,
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    })
}

impl Installed {
    /// Chromium (`ORDER_CHROMIUM`, else `chromium` on `PATH`) and
    /// `chromedriver`; `None`, after saying why in one line, when either
    /// is missing, unless `ORDER_REQUIRE_BROWSER=1`, which makes that a
    /// failure.
    pub(crate) fn find() -> Option<Self> {
        let chromium = std::env::var_os("ORDER_CHROMIUM")
            .map(PathBuf::from)
            .or_else(|| on_path("chromium"))
            .or_else(|| on_path("chromium-browser"));
        let driver = on_path("chromedriver");
        match (chromium, driver) {
            (Some(chromium), Some(driver)) => Some(Self { chromium, driver }),
            (chromium, driver) => {
                let missing = match (chromium, driver) {
                    (None, None) => "chromium and chromedriver",
                    (None, Some(_)) => "chromium",
                    _ => "chromedriver",
                };
                let require = std::env::var("ORDER_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
                assert!(
                    !require,
                    "ORDER_REQUIRE_BROWSER=1, but not installed: {missing} \
                     (apt-get install chromium chromium-driver)"
                );
                println!(
                    "console browser tests skipped: {missing} not installed \
                     (apt-get install chromium chromium-driver; ORDER_REQUIRE_BROWSER=1 requires them)"
                );
                None
            }
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A browser session; the driver process ends when this is dropped.
pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
    shots: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium at 1280 × 900.
    pub(crate) async fn start(installed: &Installed) -> Self {
        let port = free_port();
        // A process group of its own, so that the browser it starts ends
        // with it even when a failed test never closes the session.
        let driver = Command::new(&installed.driver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": installed.chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900",
                         "--hide-scrollbars", "--force-device-scale-factor=1"],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let mut builder = ClientBuilder::new(HttpConnector::new());
            builder.capabilities(capabilities.clone());
            match builder.connect(&url).await {
                Ok(client) => break client,
                Err(err) => {
                    assert!(
                        Instant::now() < deadline,
                        "chromedriver gave no session: {err}"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        let shots = screenshot_dir();
        std::fs::create_dir_all(&shots).expect("the screenshot directory");
        Self {
            client,
            driver,
            shots,
        }
    }

    /// Saves the viewport as `<name>.png`; its path.
    pub(crate) async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("the screenshot is written");
        path
    }

    /// Goes to `url` and waits for the page's heading.
    pub(crate) async fn visit(&self, url: &str) {
        self.client.goto(url).await.expect("navigation");
        self.wait("main h1").await;
    }

    /// Waits for an element matching `css` (the next page, after a form
    /// was sent).
    pub(crate) async fn wait(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(err) => {
                // What the browser showed instead, for whoever reads the
                // failure.
                let shot = self.screenshot("failure").await;
                let source = self.client.source().await.unwrap_or_default();
                let url = self.client.current_url().await.map(|u| u.to_string());
                std::fs::write(self.shots.join("failure.html"), &source).ok();
                panic!(
                    "no {css} on the page at {url:?} ({err}); see {}",
                    shot.display()
                )
            }
        }
    }

    /// The current page's root, to tell when the next page has replaced
    /// it ([`Browser::replaced`]).
    pub(crate) async fn page(&self) -> fantoccini::elements::Element {
        self.client
            .find(Locator::Css("html"))
            .await
            .expect("a page")
    }

    /// Waits until `old` (a page's root) is gone and the next page has its
    /// heading: a form's answer has arrived.
    pub(crate) async fn replaced(&self, old: fantoccini::elements::Element) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while old.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "the page was not replaced");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.wait("main h1").await;
    }

    /// The text of the first element matching `css`.
    pub(crate) async fn text(&self, css: &str) -> String {
        self.wait(css).await.text().await.expect("its text")
    }

    /// The page's heading.
    pub(crate) async fn heading(&self) -> String {
        self.text("main h1").await
    }

    /// How many elements match `css`.
    pub(crate) async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("a lookup")
            .len()
    }

    /// Closes the session (and the browser with it).
    pub(crate) async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The driver's group: chromedriver and the Chromium it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
    }
}

/// `<target dir>/console-screenshots`, next to the test binary's build.
pub(crate) fn screenshot_dir() -> PathBuf {
    // The binary under test is `<target dir>/<profile>/order-http`.
    Path::new(env!("CARGO_BIN_EXE_order-http"))
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join("console-screenshots")
}
