//! The report page and the web UI in a real browser: headless Chromium driven through
//! chromedriver (WebDriver). A report file opened from disk and the pages `mediasift serve`
//! answers must load without a console error (a CSP refusal, a failed fetch, a script error
//! all log one), their timelines and transcripts must move the player, and the UI must list,
//! search and take uploads. Each page is saved as a PNG under
//! `$CARGO_TARGET_TMPDIR/browser/` to look at.
//!
//! Needs `chromium` and `chromium-driver` (scripts/setup.sh installs them); `CHROME_BIN` and
//! `CHROMEDRIVER` choose other binaries.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const SETUP: &str = "scripts/setup.sh installs chromium and chromium-driver";

/// How far from an item's start the player may land.
const SEEK_TOLERANCE: f64 = 0.05;

fn sample(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".cache/samples")
        .join(name);
    assert!(
        path.is_file(),
        "sample {} is missing: run scripts/setup.sh",
        path.display()
    );
    path
}

fn mediasift(data: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mediasift"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "mediasift {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs `names` (samples) through the local pipeline; their asset ids, in order.
fn run_samples(data: &Path, names: &[&str]) -> Vec<String> {
    let inputs: Vec<String> = names
        .iter()
        .map(|n| sample(n).to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["run", "--json"];
    args.extend(inputs.iter().map(String::as_str));
    let ran: Vec<Value> = mediasift(data, &args)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    names
        .iter()
        .map(|name| {
            let line = ran
                .iter()
                .find(|r| r["input"].as_str().is_some_and(|i| i.ends_with(name)))
                .unwrap_or_else(|| panic!("run said nothing of {name}: {ran:#?}"));
            assert_eq!(line["status"], "completed", "{line}");
            line["assetId"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// `file://` URL of an absolute path.
fn file_url(path: &Path) -> String {
    assert!(path.is_absolute(), "{}", path.display());
    let mut url = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                url.push(b as char)
            }
            _ => url.push_str(&format!("%{b:02X}")),
        }
    }
    url
}

/// Where the screenshots go: `$CARGO_TARGET_TMPDIR/browser/`.
fn output_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when the test ends, also when it fails. chromedriver leads a
/// process group of its own, which the browsers it starts belong to: the whole group goes.
struct Killed {
    child: Child,
    group: bool,
}

impl Drop for Killed {
    fn drop(&mut self) {
        if self.group {
            let pgid = self.child.id() as libc::pid_t;
            // SAFETY: kill(2) with a process group this test created; no memory involved.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mediasift serve --port 0` on `data`, and its base URL (no trailing slash).
fn serve(data: &Path) -> (Killed, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mediasift"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Killed {
        child,
        group: false,
    };
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = send.send(line);
    });
    let line = receive
        .recv_timeout(Duration::from_secs(30))
        .expect("mediasift serve says where it serves within 30 s");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    (server, base)
}

fn truthy(value: &Value) -> bool {
    !matches!(value, Value::Null | Value::Bool(false))
}

/// Headless Chromium under chromedriver, logging the browser console.
struct Browser {
    client: Client,
    /// chromedriver's URL (for the one command fantoccini has no call for).
    driver_url: String,
    session: String,
    /// How many console-check markers have been logged.
    markers: usize,
    _driver: Killed,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Browser {
        let chrome = std::env::var_os("CHROME_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
        assert!(
            chrome.is_file(),
            "no Chromium at {} (set CHROME_BIN to another): {SETUP}",
            chrome.display()
        );
        let chromedriver = std::env::var_os("CHROMEDRIVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("chromedriver"));
        let port = free_port();
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} (set CHROMEDRIVER to another): {e}: {SETUP}",
                    chromedriver.display()
                )
            });
        let mut driver = Killed { child, group: true };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = driver.child.try_wait().unwrap() {
                panic!(
                    "{} exited ({status}) before listening on port {port}: {SETUP}",
                    chromedriver.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver does not listen on port {port} after 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let driver_url = format!("http://127.0.0.1:{port}");

        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chrome,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,1600",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        capabilities.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        let client = ClientBuilder::rustls()
            .expect("a WebDriver client")
            .capabilities(capabilities)
            .connect(&driver_url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver cannot start {}: {e}: {SETUP}",
                    chrome.display()
                )
            });
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(Duration::from_secs(20)),
                Some(Duration::from_secs(30)),
                Some(Duration::ZERO),
            ))
            .await
            .unwrap();
        let session = client
            .session_id()
            .await
            .unwrap()
            .expect("a WebDriver session");
        Browser {
            client,
            driver_url,
            session,
            markers: 0,
            _driver: driver,
            _profile: profile,
        }
    }

    /// Ends the session (Chromium quits; chromedriver is killed when `self` drops).
    async fn quit(self) {
        self.client.clone().close().await.unwrap();
    }

    async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    async fn js_with(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    async fn js(&self, script: &str) -> Value {
        self.js_with(script, vec![]).await
    }

    /// Polls `script` until it returns something other than null or false, which it returns;
    /// fails after `seconds`.
    async fn wait_for(&self, what: &str, script: &str, seconds: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let last = match self.client.execute(script, vec![]).await {
                Ok(value) if truthy(&value) => return value,
                Ok(value) => value.to_string(),
                // A navigation in progress, say: try again.
                Err(error) => format!("error {error}"),
            };
            if Instant::now() > deadline {
                let url = self.client.current_url().await.map(|u| u.to_string());
                let console = self.console().await;
                panic!(
                    "waited {seconds} s for {what} on {url:?}; the last answer was {last}; \
                     the console says {console:#?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The browser console's entries since the last call (chromedriver's log endpoint:
    /// fantoccini has no call for it).
    async fn console(&self) -> Vec<Value> {
        let url = format!("{}/session/{}/se/log", self.driver_url, self.session);
        tokio::task::spawn_blocking(move || {
            let mut response = ureq::post(&url)
                .send_json(json!({"type": "browser"}))
                .unwrap_or_else(|e| panic!("POST {url}: {e}"));
            let body: Value = response.body_mut().read_json().unwrap();
            body["value"]
                .as_array()
                .unwrap_or_else(|| panic!("no log entries in {body}"))
                .clone()
        })
        .await
        .unwrap()
    }

    /// Fails when the console has an error (level SEVERE) since the last check. A marker
    /// error is logged first and must come back, so the check cannot pass by reading nothing
    /// (and everything logged before the marker has arrived when it has).
    async fn assert_no_console_errors(&mut self, page: &str) {
        self.markers += 1;
        let marker = format!("mediasift-browser-test marker {}", self.markers);
        self.js(&format!("console.error({});", json!(marker))).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut entries = Vec::new();
        let severe = |e: &Value| e["level"] == "SEVERE";
        let is_marker = |e: &Value| e["message"].as_str().is_some_and(|m| m.contains(&marker));
        while !entries.iter().any(|e| severe(e) && is_marker(e)) {
            assert!(
                Instant::now() < deadline,
                "{page}: the console check never saw its own console.error, so it cannot see \
                 the page's either (is goog:loggingPrefs honoured?); entries: {entries:#?}"
            );
            entries.extend(self.console().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let errors: Vec<&Value> = entries
            .iter()
            .filter(|e| severe(e) && !is_marker(e))
            .collect();
        assert!(
            errors.is_empty(),
            "{page} logged errors in the browser console: {errors:#?}"
        );
    }

    /// Saves the viewport as `<output dir>/<name>.png`; its path.
    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
        let path = output_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        println!("screenshot: {}", path.display());
        path
    }

    /// Waits until `#player` has its metadata (so a seek is a real one); its duration.
    async fn player_ready(&self, page: &str) -> f64 {
        let state = self
            .wait_for(
                &format!("{page}'s player to load its metadata"),
                "const p = document.getElementById('player'); \
                 return p && p.readyState >= 1 ? {duration: p.duration, error: p.error && p.error.message} : null;",
                30,
            )
            .await;
        assert!(state["error"].is_null(), "{page}: {state}");
        state["duration"].as_f64().unwrap()
    }

    /// Clicks the element `selector` (with a `data-start`) and checks the player moved there;
    /// the start.
    async fn click_seeks(&self, page: &str, selector: &str) -> f64 {
        let item = self
            .client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("{page} has no {selector}: {e}"));
        let start: f64 = item
            .attr("data-start")
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{selector} has no data-start"))
            .parse()
            .unwrap();
        let before = self
            .js("return document.getElementById('player').currentTime;")
            .await
            .as_f64()
            .unwrap();
        assert!(
            (before - start).abs() > 0.5,
            "{page}: the player is already at {before} s, so clicking {selector} (at {start} s) \
             would prove nothing"
        );
        item.click()
            .await
            .unwrap_or_else(|e| panic!("{page}: cannot click {selector}: {e}"));
        let now = self
            .wait_for(
                &format!("{page}'s player to seek to {start} s after a click on {selector}"),
                &format!(
                    "const p = document.getElementById('player'); \
                     return !p.seeking && Math.abs(p.currentTime - {start}) <= {SEEK_TOLERANCE} \
                       ? p.currentTime : null;"
                ),
                15,
            )
            .await;
        println!("{page}: clicking {selector} moved the player to {now} s");
        start
    }

    async fn text(&self, selector: &str) -> String {
        self.client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no {selector}: {e}"))
            .text()
            .await
            .unwrap()
    }

    /// The rows of the UI's asset list: `{id, name, href, status, cause}`.
    async fn asset_rows(&self) -> Vec<Value> {
        let rows = self
            .js(
                "return [...document.querySelectorAll('#assets tr[data-asset]')].map((tr) => {
                   const a = tr.querySelector('a'), badge = tr.querySelector('.badge'),
                     cause = tr.querySelector('.cause');
                   return { id: tr.dataset.asset, name: a ? a.textContent : tr.cells[0].textContent,
                     href: a ? a.getAttribute('href') : null, status: badge ? badge.textContent : null,
                     cause: cause ? cause.textContent : null };
                 });",
            )
            .await;
        rows.as_array().unwrap().clone()
    }
}

/// `mediasift report` files opened from disk: the video's shot and the audio's transcript
/// move the player, the photo's map link and the document's pages are there, and no page
/// logs an error (the CSP allows what the page loads from its `_files` folder).
#[tokio::test(flavor = "multi_thread")]
async fn report_files_play_and_seek_in_chromium() {
    let started = Instant::now();
    let mut browser = Browser::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let names = ["newsreel.mp4", "photo.jpg", "leaflet.pdf", "briefing.m4a"];
    let ids = run_samples(&data, &names);
    // A space in the file name: the media folder's link must be percent-encoded.
    let reports: Vec<PathBuf> = names
        .iter()
        .zip(&ids)
        .map(|(name, id)| {
            let out = dir
                .path()
                .join("reports")
                .join(format!("{} report.html", name.split('.').next().unwrap()));
            let printed = mediasift(&data, &["report", id, "-o", out.to_str().unwrap()]);
            assert_eq!(Path::new(printed.trim()), out, "report prints its path");
            assert!(
                out.with_file_name(format!("{} report_files", name.split('.').next().unwrap()))
                    .is_dir()
            );
            out
        })
        .collect();
    println!("processed and reported in {:?}", started.elapsed());

    // The video: its shot at 6 s moves the player to 6 s.
    let page = "the newsreel.mp4 report";
    browser.goto(&file_url(&reports[0])).await;
    assert_eq!(browser.text("#status").await, "completed");
    let duration = browser.player_ready(page).await;
    assert!((duration - 12.0).abs() < 0.5, "{page}: duration {duration}");
    let tag = browser
        .js("return document.getElementById('player').tagName;")
        .await;
    assert_eq!(tag, "VIDEO");
    let shots = browser
        .js("return document.querySelectorAll('#timeline .row[data-track=shots] button.item').length;")
        .await;
    assert_eq!(shots, 4, "{page}: four shots on the timeline");
    let start = browser
        .click_seeks(page, ".row[data-track=shots] button.item[data-start=\"6\"]")
        .await;
    assert_eq!(start, 6.0);
    browser
        .wait_for(
            "the frame at 6 s",
            "return document.getElementById('player').readyState >= 2;",
            15,
        )
        .await;
    assert!(browser.text("#checksums").await.contains("MD5"));
    let analyses = browser
        .js("return document.querySelectorAll('#analyses tr').length;")
        .await;
    assert!(analyses.as_u64().unwrap() >= 1, "{page}: no analyses");
    browser.assert_no_console_errors(page).await;
    browser.screenshot("report-newsreel").await;

    // The audio: a transcript segment moves the player to its start and is then current.
    let page = "the briefing.m4a report";
    browser.goto(&file_url(&reports[3])).await;
    assert_eq!(browser.text("#status").await, "completed");
    browser.player_ready(page).await;
    let tag = browser
        .js("return document.getElementById('player').tagName;")
        .await;
    assert_eq!(tag, "AUDIO");
    let segments = browser
        .js("return document.querySelectorAll('#transcript .segment').length;")
        .await;
    assert!(
        segments.as_u64().unwrap() >= 2,
        "{page}: {segments} transcript segments"
    );
    let start = browser
        .click_seeks(page, "#transcript .segment:nth-child(2)")
        .await;
    assert!(start > 1.0, "{page}: the second segment starts at {start}");
    browser
        .wait_for(
            "the clicked segment to be marked current",
            "return document.querySelector('#transcript .segment:nth-child(2)').classList.contains('current');",
            10,
        )
        .await;
    browser.assert_no_console_errors(page).await;
    browser.screenshot("report-briefing").await;

    // The photo: shown, with its OpenStreetMap link.
    let page = "the photo.jpg report";
    browser.goto(&file_url(&reports[1])).await;
    assert_eq!(browser.text("#status").await, "completed");
    browser
        .wait_for(
            "the photo to be shown",
            "const i = document.getElementById('image'); return i && i.complete && i.naturalWidth > 0;",
            15,
        )
        .await;
    let href = browser
        .client
        .find(Locator::Css("a#map-link"))
        .await
        .unwrap_or_else(|e| panic!("{page} has no map link: {e}"))
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        href.contains("mlat=48.858") && href.starts_with("https://www.openstreetmap.org/"),
        "{page}: map link {href}"
    );
    browser.assert_no_console_errors(page).await;
    browser.screenshot("report-photo").await;

    // The document: both pages, the first one's image shown.
    let page = "the leaflet.pdf report";
    browser.goto(&file_url(&reports[2])).await;
    assert_eq!(browser.text("#status").await, "completed");
    assert!(browser.text("#page-1").await.contains("mediasift"));
    browser.text("#page-2").await;
    browser
        .wait_for(
            "the first page's image to be shown",
            "const i = document.querySelector('#page-1 img'); return i.complete && i.naturalWidth > 0;",
            15,
        )
        .await;
    browser.assert_no_console_errors(page).await;
    browser.screenshot("report-leaflet").await;

    browser.quit().await;
    println!("report pages checked in {:?}", started.elapsed());
}

/// `mediasift serve` in the browser: the asset list shows what ran, a search finds the
/// on-screen text and the leaflet and links to a report whose timeline seeks (range
/// requests), and a file chosen in the upload input is processed to `completed`.
#[tokio::test(flavor = "multi_thread")]
async fn web_ui_lists_searches_and_uploads_in_chromium() {
    let started = Instant::now();
    let mut browser = Browser::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let names = ["newsreel.mp4", "photo.jpg", "leaflet.pdf", "briefing.m4a"];
    let ids = run_samples(&data, &names);
    let (video, photo, pdf) = (&ids[0], &ids[1], &ids[2]);
    println!("processed in {:?}", started.elapsed());
    let (_server, base) = serve(&data);

    // The asset list: every asset run, completed, linking to its report.
    let page = "the asset list";
    browser.goto(&format!("{base}/")).await;
    browser
        .wait_for(
            "the asset list to be filled",
            &format!(
                "return document.querySelectorAll('#assets tr[data-asset]').length >= {};",
                ids.len()
            ),
            15,
        )
        .await;
    let rows = browser.asset_rows().await;
    for (name, id) in names.iter().zip(&ids) {
        let row = rows
            .iter()
            .find(|r| r["id"] == json!(id))
            .unwrap_or_else(|| panic!("{page} has no row for {name} ({id}): {rows:#?}"));
        assert_eq!(row["name"], json!(name), "{row}");
        assert_eq!(row["status"], "completed", "{row}");
        assert_eq!(row["href"], json!(format!("/report/{id}")), "{row}");
    }
    browser.assert_no_console_errors(page).await;
    browser.screenshot("ui-assets").await;

    // Search: the video's on-screen text and the leaflet's page text say "mediasift".
    let page = "the search";
    browser
        .client
        .find(Locator::Css("#q"))
        .await
        .unwrap()
        .send_keys("mediasift")
        .await
        .unwrap();
    browser
        .client
        .find(Locator::Css("#search-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let hits = browser
        .wait_for(
            "search results",
            "const r = document.getElementById('results'); \
             const hits = [...r.querySelectorAll('.hit > a')].map((a) => a.getAttribute('href')); \
             return hits.length ? hits : (r.textContent.trim() ? r.textContent : null);",
            15,
        )
        .await;
    let hits: Vec<&str> = hits
        .as_array()
        .unwrap_or_else(|| panic!("{page} found nothing: {hits}"))
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    for id in [video, pdf] {
        assert!(
            hits.contains(&format!("/report/{id}").as_str()),
            "{page}: no result links to /report/{id}: {hits:?}"
        );
    }
    browser.assert_no_console_errors(page).await;
    browser.screenshot("ui-search").await;

    // The video's result opens its report, served: the player streams with range requests.
    let page = "the served newsreel.mp4 report";
    browser
        .client
        .find(Locator::Css(&format!(
            "#results .hit > a[href=\"/report/{video}\"]"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for(
            "the report to open",
            &format!(
                "return location.pathname === '/report/{video}' && document.readyState === 'complete' \
                 && !!document.getElementById('status');"
            ),
            15,
        )
        .await;
    assert_eq!(browser.text("#status").await, "completed");
    assert!(browser.text("h1").await.contains("newsreel.mp4"));
    let duration = browser.player_ready(page).await;
    assert!((duration - 12.0).abs() < 0.5, "{page}: duration {duration}");
    let start = browser
        .click_seeks(page, ".row[data-track=shots] button.item[data-start=\"6\"]")
        .await;
    assert_eq!(start, 6.0);
    browser
        .wait_for(
            "the frame at 6 s",
            "return document.getElementById('player').readyState >= 2;",
            15,
        )
        .await;
    browser.assert_no_console_errors(page).await;
    browser.screenshot("ui-report").await;

    // Upload: the photo again under another name, chosen in the file input.
    let page = "the upload";
    let upload = dir.path().join("upload test.jpg");
    std::fs::copy(sample("photo.jpg"), &upload).unwrap();
    browser.goto(&format!("{base}/")).await;
    browser
        .client
        .find(Locator::Css("input#file"))
        .await
        .unwrap()
        .send_keys(upload.to_str().unwrap())
        .await
        .unwrap_or_else(|e| panic!("{page}: cannot choose {}: {e}", upload.display()));
    let uploaded = browser
        .wait_for(
            "the upload to be stored",
            "const t = document.getElementById('uploads').textContent; \
             return /stored|failed/.test(t) ? t : null;",
            30,
        )
        .await;
    assert!(
        uploaded.as_str().unwrap().contains("upload test.jpg")
            && uploaded.as_str().unwrap().contains("stored; processing"),
        "{page}: {uploaded}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let row = loop {
        let rows = browser.asset_rows().await;
        let row = rows
            .iter()
            .find(|r| r["name"] == "upload test.jpg")
            .cloned();
        match row {
            Some(row) if row["status"] == "completed" => break row,
            Some(row) if row["status"] == "failed" || row["status"] == "partial" => {
                panic!("{page}: the uploaded photo was not processed: {row}")
            }
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "{page}: the uploaded photo is not completed after 60 s: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let id = row["id"].as_str().unwrap();
    assert_ne!(id, photo.as_str(), "another name is another asset");
    assert_eq!(row["href"], json!(format!("/report/{id}")), "{row}");
    browser.assert_no_console_errors(page).await;
    browser.screenshot("ui-upload").await;

    browser.quit().await;
    println!("web UI checked in {:?}", started.elapsed());
}
