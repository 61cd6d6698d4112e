//! `mediasift serve`: the local web UI and its JSON API, on the same runtime (and so the same
//! data directory) the other commands use. The bus runs while the server does, so uploads are
//! processed as they arrive.
//!
//! Routes (documented in `docs/api.md`; the OpenAPI document is [`openapi::document`]):
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the asset list, search and uploads (HTML) |
//! | `GET /report/{id}` | an asset's report (HTML) |
//! | `GET /media/{id}/{key}` | a derived file the report plays (range requests answered) |
//! | `GET /assets` | every asset's latest status (JSON) |
//! | `GET /assets/{id}` | an asset's report (JSON) |
//! | `GET /assets/{id}/events` | an asset's events, in order (JSON) |
//! | `GET /search?q=` | assets matching words (JSON) |
//! | `POST /uploads?name=` | put the request body into the ingest bucket (JSON receipt) |
//! | `GET /openapi.json` | the OpenAPI document |

mod api;
pub mod openapi;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use api::{AssetSummary, ErrorBody, EventRecord, UploadReceipt};

use crate::runtime::LocalRuntime;

/// Every route of the server, with its method, path and what it answers; the OpenAPI document
/// and the tests are checked against this list.
pub const ROUTES: [(&str, &str); 9] = [
    ("GET", "/"),
    ("GET", "/report/{id}"),
    ("GET", "/media/{id}/{*key}"),
    ("GET", "/assets"),
    ("GET", "/assets/{id}"),
    ("GET", "/assets/{id}/events"),
    ("GET", "/search"),
    ("POST", "/uploads"),
    ("GET", "/openapi.json"),
];

/// The server's routes over `runtime`.
pub fn router(runtime: Arc<LocalRuntime>) -> Router {
    Router::new()
        .route("/", get(api::index))
        .route("/report/{id}", get(api::report_page))
        .route("/media/{id}/{*key}", get(api::media))
        .route("/assets", get(api::assets))
        .route("/assets/{id}", get(api::asset))
        .route("/assets/{id}/events", get(api::asset_events))
        .route("/search", get(api::search))
        // Uploads stream to a file, so no body limit applies to them.
        .route(
            "/uploads",
            post(api::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/openapi.json", get(api::openapi))
        .fallback(api::not_found)
        .with_state(runtime)
}

/// Serves `router(runtime)` on `listener` until `shutdown` completes.
pub async fn serve(
    runtime: Arc<LocalRuntime>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(runtime))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Why an address may not be served on: there is no authentication, so only loopback
/// addresses are allowed unless the user says otherwise.
pub fn refuse_address(addr: &SocketAddr, allow_remote: bool) -> Option<String> {
    (!addr.ip().is_loopback() && !allow_remote).then(|| {
        format!(
            "{addr} is reachable from other machines and the UI has no authentication: \
             anyone who can reach it can read every asset and upload files. Bind to \
             127.0.0.1 (the default), or pass --allow-remote to serve on {addr} anyway"
        )
    })
}
