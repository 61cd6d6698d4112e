//! `mediasift serve`'s JSON API, every route, against a library the real pipeline built: each
//! JSON answer is validated against the OpenAPI document's schema for it, and each error
//! answers with its status and a message.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

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

fn md5sum(path: &Path) -> String {
    let out = Command::new("md5sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// The server, killed when the test ends (also when it fails).
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mediasift"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    Server { child, base }
}

struct Api {
    agent: ureq::Agent,
    base: String,
    openapi: Value,
}

struct Answer {
    status: u16,
    content_type: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn error(&self) -> String {
        let body = self.json();
        body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message in {body}"))
            .to_owned()
    }
}

impl Api {
    fn new(base: String) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let openapi: Value = serde_json::from_str(
            &std::fs::read_to_string(
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("contracts/openapi.json"),
            )
            .unwrap(),
        )
        .unwrap();
        Self {
            agent,
            base,
            openapi,
        }
    }

    fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
        let mut response = response.unwrap();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        Answer {
            status: response.status().as_u16(),
            content_type: response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
            headers,
            body: response
                .body_mut()
                .with_config()
                .limit(64 << 20)
                .read_to_vec()
                .unwrap(),
        }
    }

    fn get(&self, path: &str) -> Answer {
        Self::answer(self.agent.get(format!("{}{path}", self.base)).call())
    }

    fn get_range(&self, path: &str, range: &str) -> Answer {
        Self::answer(
            self.agent
                .get(format!("{}{path}", self.base))
                .header("Range", range)
                .call(),
        )
    }

    fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let mut request = self.agent.post(format!("{}{path}", self.base));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        Self::answer(request.send(body))
    }

    /// Checks `body` against the OpenAPI schema of `route`'s `status` answer.
    fn conforms(&self, method: &str, route: &str, status: u16, body: &Value) {
        let errors = self.violations(method, route, status, body);
        assert!(
            errors.is_empty(),
            "{method} {route} {status} does not match its OpenAPI schema: {errors:#?}"
        );
    }

    /// How `body` breaks the OpenAPI schema of `route`'s `status` answer.
    fn violations(&self, method: &str, route: &str, status: u16, body: &Value) -> Vec<String> {
        let pointer = format!(
            "/paths/{}/{}/responses/{status}/content/application~1json/schema",
            route.replace('~', "~0").replace('/', "~1"),
            method.to_lowercase()
        );
        assert!(
            self.openapi.pointer(&pointer).is_some(),
            "the OpenAPI document has no schema at {pointer}"
        );
        let mut schema = self.openapi.clone();
        schema["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
        let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
        schema["$ref"] = json!(format!("#{fragment}"));
        let validator = jsonschema::validator_for(&schema).unwrap();
        validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    fn assets(&self) -> Vec<Value> {
        let answer = self.get("/assets");
        assert_eq!(answer.status, 200);
        let body = answer.json();
        self.conforms("GET", "/assets", 200, &body);
        body.as_array().unwrap().clone()
    }
}

#[test]
fn every_route_answers_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let inputs = ["newsreel.mp4", "photo.jpg", "leaflet.pdf"].map(sample);
    let out = Command::new(env!("CARGO_BIN_EXE_mediasift"))
        .args(["run", "--json", "--data-dir"])
        .arg(&data)
        .args(&inputs)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ran: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let id_of = |name: &str| -> String {
        ran.iter()
            .find(|r| r["input"].as_str().unwrap().ends_with(name))
            .and_then(|r| r["assetId"].as_str())
            .unwrap()
            .to_owned()
    };
    let (video, photo, pdf) = (
        id_of("newsreel.mp4"),
        id_of("photo.jpg"),
        id_of("leaflet.pdf"),
    );
    for r in &ran {
        let report = r["report"].as_str().expect("run names each report");
        assert!(Path::new(report).is_file(), "{report}");
    }

    let server = serve(&data);
    let api = Api::new(server.base.clone());
    let unknown = "00000000-0000-4000-8000-000000000000";
    let mut tested = BTreeSet::new();

    // GET /assets: every asset of the run, completed.
    tested.insert(("GET", "/assets"));
    let assets = api.assets();
    for id in [&video, &photo, &pdf] {
        let row = assets
            .iter()
            .find(|a| a["assetId"] == json!(id))
            .unwrap_or_else(|| panic!("{id} is not listed: {assets:#?}"));
        assert_eq!(row["status"], "completed", "{row}");
    }

    // GET /assets/{id}: the report model, with real values.
    tested.insert(("GET", "/assets/{id}"));
    let answer = api.get(&format!("/assets/{video}"));
    assert_eq!(answer.status, 200);
    let report = answer.json();
    api.conforms("GET", "/assets/{id}", 200, &report);
    assert_eq!(report["mediaType"], "video");
    assert_eq!(report["name"], "newsreel.mp4");
    assert_eq!(
        report["checksums"]["md5"],
        json!(md5sum(&sample("newsreel.mp4")))
    );
    assert_eq!(report["checksums"]["fixity"], "MATCHED");
    let shots = report["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "shots")
        .expect("a shots track");
    let starts: Vec<f64> = shots["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["start"].as_f64().unwrap())
        .collect();
    assert_eq!(starts, [0.0, 3.0, 6.0, 9.0]);
    assert_eq!(report["media"]["proxy"], "proxy/proxy.mp4");
    // The schema check has teeth: a report missing its fields, or with a wrong type, fails.
    let mut broken = report.clone();
    broken["tracks"][0]["items"][0]["start"] = json!("zero");
    broken.as_object_mut().unwrap().remove("checksums");
    assert_eq!(
        api.violations("GET", "/assets/{id}", 200, &broken).len(),
        2,
        "{broken}"
    );
    let photo_report = api.get(&format!("/assets/{photo}")).json();
    api.conforms("GET", "/assets/{id}", 200, &photo_report);
    let gps = &photo_report["image"]["gps"];
    assert!((gps["latitude"].as_f64().unwrap() - 48.85837).abs() < 1e-5);
    let pdf_report = api.get(&format!("/assets/{pdf}")).json();
    assert_eq!(pdf_report["pages"].as_array().unwrap().len(), 2);
    assert!(
        pdf_report["pages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("mediasift sample leaflet")
    );
    let answer = api.get(&format!("/assets/{unknown}"));
    assert_eq!(answer.status, 404);
    api.conforms("GET", "/assets/{id}", 404, &answer.json());
    assert!(answer.error().contains(&format!("no asset {unknown}")));
    let answer = api.get("/assets/newsreel.mp4");
    assert_eq!(answer.status, 400);
    api.conforms("GET", "/assets/{id}", 400, &answer.json());
    assert!(answer.error().contains("not an asset id"));

    // GET /assets/{id}/events: the run in archive order.
    tested.insert(("GET", "/assets/{id}/events"));
    let answer = api.get(&format!("/assets/{video}/events"));
    assert_eq!(answer.status, 200);
    let events = answer.json();
    api.conforms("GET", "/assets/{id}/events", 200, &events);
    let events = events.as_array().unwrap();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event"]["detail-type"].as_str().unwrap())
        .collect();
    assert_eq!(types.first(), Some(&"Video Ingested"));
    assert_eq!(types.last(), Some(&"Asset Analysis Completed"));
    for pair in events.windows(2) {
        assert!(pair[0]["seq"].as_i64() < pair[1]["seq"].as_i64());
    }
    let answer = api.get(&format!("/assets/{unknown}/events"));
    assert_eq!(answer.status, 404);
    assert!(answer.error().contains("no asset"));
    assert_eq!(api.get("/assets/x/events").status, 400);

    // GET /search: on-screen text of the video, the leaflet's page text.
    tested.insert(("GET", "/search"));
    let answer = api.get("/search?q=mediasift");
    assert_eq!(answer.status, 200);
    let found = answer.json();
    api.conforms("GET", "/search", 200, &found);
    let found_ids: BTreeSet<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["assetId"].as_str().unwrap())
        .collect();
    assert!(found_ids.contains(video.as_str()), "{found}");
    assert!(found_ids.contains(pdf.as_str()), "{found}");
    assert_eq!(api.get("/search?q=zqxjvv").json(), json!([]));
    for bad in ["/search", "/search?q=%20", "/search?q=x&limit=many"] {
        let answer = api.get(bad);
        assert_eq!(answer.status, 400, "{bad}");
        api.conforms("GET", "/search", 400, &answer.json());
    }

    // GET /media/{id}/{key}: range requests for the player; nothing outside the asset.
    tested.insert(("GET", "/media/{id}/{*key}"));
    let answer = api.get_range(&format!("/media/{video}/proxy/proxy.mp4"), "bytes=0-99");
    assert_eq!(answer.status, 206);
    assert_eq!(answer.body.len(), 100);
    assert_eq!(answer.content_type, "video/mp4");
    assert!(
        answer
            .header("content-range")
            .unwrap()
            .starts_with("bytes 0-99/")
    );
    assert_eq!(
        api.get(&format!("/media/{video}/proxy/proxy.mp4")).status,
        200
    );
    for bad in [
        format!("/media/{video}/%2e%2e/{photo}/proxy/proxy.jpg"),
        format!("/media/{video}/proxy/missing.mp4"),
        format!("/media/{unknown}/proxy/proxy.mp4"),
        "/media/x/proxy/proxy.mp4".to_owned(),
    ] {
        let answer = api.get(&bad);
        assert_eq!(answer.status, 404, "{bad}");
        assert!(!answer.error().is_empty());
    }

    // GET / and GET /report/{id}: the pages.
    tested.insert(("GET", "/"));
    let answer = api.get("/");
    assert_eq!(answer.status, 200);
    assert!(answer.content_type.starts_with("text/html"));
    assert!(answer.header("content-security-policy").is_some());
    tested.insert(("GET", "/report/{id}"));
    let answer = api.get(&format!("/report/{video}"));
    assert_eq!(answer.status, 200);
    let page = String::from_utf8(answer.body).unwrap();
    assert!(page.contains(&format!("\"mediaBase\":\"/media/{video}/\"")));
    assert!(page.contains("<title>newsreel.mp4 · mediasift report</title>"));
    assert_eq!(api.get(&format!("/report/{unknown}")).status, 404);

    // GET /openapi.json: the committed contract.
    tested.insert(("GET", "/openapi.json"));
    let answer = api.get("/openapi.json");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), api.openapi);

    // POST /uploads: stored as sent, then processed to completion.
    tested.insert(("POST", "/uploads"));
    let bytes = std::fs::read(sample("photo.jpg")).unwrap();
    let answer = api.post(
        "/uploads?name=holiday%20snap.jpg",
        &[("x-mediasift-options", r#"{"transcribe": false}"#)],
        &bytes,
    );
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let receipt = answer.json();
    api.conforms("POST", "/uploads", 201, &receipt);
    assert_eq!(receipt["key"], "uploads/holiday snap.jpg");
    assert_eq!(receipt["etag"], json!(md5sum(&sample("photo.jpg"))));
    assert_eq!(receipt["size"], json!(bytes.len()));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let assets = api.assets();
        let row = assets.iter().find(|a| a["name"] == "holiday snap.jpg");
        if let Some(row) = row
            && row["status"] == "completed"
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the upload did not complete: {assets:#?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    for (path, headers) in [
        ("/uploads", vec![]),
        ("/uploads?name=", vec![]),
        ("/uploads?name=..%2F..%2Fescape.jpg", vec![]),
        (
            "/uploads?name=x.jpg",
            vec![("x-mediasift-options", "not json")],
        ),
    ] {
        let answer = api.post(path, &headers, b"bytes");
        assert_eq!(answer.status, 400, "{path}");
        api.conforms("POST", "/uploads", 400, &answer.json());
    }
    assert!(!data.join("objects/escape.jpg").exists() && !dir.path().join("escape.jpg").exists());

    // Anything else: a JSON 404 that says where the routes are.
    let answer = api.get("/nowhere");
    assert_eq!(answer.status, 404);
    assert!(answer.error().contains("/openapi.json"));

    let all: BTreeSet<(&str, &str)> = mediasift::serve::ROUTES.into_iter().collect();
    assert_eq!(tested, all, "every route is tested");
}

#[test]
fn the_openapi_document_describes_every_route() {
    let document = mediasift::serve::openapi::document();
    for (method, route) in mediasift::serve::ROUTES {
        let path = route.replace("{*key}", "{key}");
        assert!(
            document["paths"][&path][method.to_lowercase()].is_object(),
            "{method} {path} is not in the OpenAPI document"
        );
    }
    let api_doc =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/api.md"))
            .unwrap();
    for (method, route) in mediasift::serve::ROUTES {
        let path = route.replace("{*key}", "{key}");
        assert!(
            api_doc.contains(&format!("{method} {path}")),
            "docs/api.md does not document {method} {path}"
        );
    }
}

#[test]
fn only_loopback_is_served_unless_asked() {
    let out = Command::new(env!("CARGO_BIN_EXE_mediasift"))
        .args(["serve", "--bind", "0.0.0.0", "--port", "0"])
        .env("MEDIASIFT_DATA_DIR", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--allow-remote"), "{stderr}");
}
