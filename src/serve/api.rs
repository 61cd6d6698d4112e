//! The server's handlers. Every JSON error is `{"error": "..."}` with a message that says what
//! to do.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use mediasift_kit::ports::{ObjectStore, PutOptions, StoreError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::outcome::{AssetState, summarize};
use crate::report::{self, MediaLinks, is_plain_relative};
use crate::runtime::LocalRuntime;

type AppState = State<Arc<LocalRuntime>>;

const INDEX: &str = include_str!("index.html");
/// The UI's pages run only their own inline script and load only this server's media.
const PAGE_POLICY: &str = "default-src 'none'; img-src 'self' data:; media-src 'self'; \
    style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'";

/// `{"error": "..."}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorBody {
    /// What went wrong and what to do about it.
    pub error: String,
}

pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn internal(error: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: self.message,
            }),
        )
            .into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// One asset's latest processing run, for the list.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetSummary {
    /// Absent when ingest failed before it could identify the object.
    pub asset_id: Option<String>,
    /// The id shared by every event of this processing run.
    pub correlation_id: String,
    /// The file name it was uploaded as.
    pub name: String,
    /// `s3://bucket/key` of the source object.
    pub source: Option<String>,
    /// `video`, `audio`, `image` or `document`, once ingested.
    pub media_type: Option<String>,
    /// `completed`, `partial`, `failed`, `ingested` (analyses running), `skipped` or
    /// `unfinished` (nothing running will finish it).
    pub status: String,
    /// Why it is not `completed`, when it is not.
    pub cause: Option<String>,
    /// The run's events so far.
    pub events: usize,
    pub started: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

/// One archived event and its place in the archive.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EventRecord {
    /// The archive's sequence number (increasing).
    pub seq: i64,
    /// The EventBridge event: `id`, `detail-type`, `source`, `time`, `detail`, ...
    pub event: serde_json::Value,
}

/// What `POST /uploads` stored.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadReceipt {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub size: u64,
    pub etag: String,
}

pub async fn index() -> Response {
    page(Html(INDEX.to_owned()))
}

pub async fn report_page(State(runtime): AppState, Path(id): Path<String>) -> Response {
    let asset_id = match uuid::Uuid::parse_str(&id) {
        Ok(id) => id.to_string(),
        Err(_) => return missing_page(&format!("{id:?} is not an asset id")),
    };
    match runtime.report(&asset_id).await {
        Ok(Some(report)) => page(Html(report::render(
            &report,
            &MediaLinks {
                base: format!("/media/{asset_id}/"),
                home: Some("/".into()),
            },
        ))),
        Ok(None) => missing_page(&format!("no asset {asset_id} has been ingested")),
        Err(error) => ApiError::internal(error).into_response(),
    }
}

pub async fn media(
    State(runtime): AppState,
    Path((id, key)): Path<(String, String)>,
    request: Request,
) -> Response {
    let Ok(asset_id) = uuid::Uuid::parse_str(&id) else {
        return ApiError::new(StatusCode::NOT_FOUND, format!("{id:?} is not an asset id"))
            .into_response();
    };
    if !is_plain_relative(&key) {
        return ApiError::new(StatusCode::NOT_FOUND, format!("no medium {key:?}")).into_response();
    }
    let full_key = format!("{asset_id}/{key}");
    let file = match runtime
        .objects
        .object_file(&runtime.config.derived_bucket, &full_key)
        .await
    {
        Ok(file) => file,
        Err(StoreError::NotFound { .. } | StoreError::InvalidKey { .. }) => {
            return ApiError::new(
                StatusCode::NOT_FOUND,
                format!("asset {asset_id} has no medium {key:?}"),
            )
            .into_response();
        }
        Err(error) => return ApiError::internal(error).into_response(),
    };
    match ServeFile::new(file).oneshot(request).await {
        Ok(mut response) => {
            response.headers_mut().insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            response.map(Body::new)
        }
        Err(error) => ApiError::internal(error).into_response(),
    }
}

pub async fn assets(State(runtime): AppState) -> ApiResult<Json<Vec<AssetSummary>>> {
    let events = runtime.events(None, 0).await.map_err(ApiError::internal)?;
    let events: Vec<_> = events.into_iter().map(|(_, e)| e).collect();
    /// When a run started and was last heard of, and what it ingested.
    struct Run {
        started: DateTime<Utc>,
        updated: DateTime<Utc>,
        media_type: Option<String>,
    }
    let mut runs: BTreeMap<String, Run> = BTreeMap::new();
    for event in &events {
        let run = runs.entry(event.correlation_id()).or_insert(Run {
            started: event.time,
            updated: event.time,
            media_type: None,
        });
        run.started = run.started.min(event.time);
        run.updated = run.updated.max(event.time);
        if let Some(kind) = event.detail_type.strip_suffix(" Ingested") {
            run.media_type = Some(kind.to_lowercase());
        }
    }
    // One row per asset (its latest run); runs without an asset id stay rows of their own.
    let mut latest: BTreeMap<String, AssetSummary> = BTreeMap::new();
    for (correlation, view) in summarize(&events) {
        let Some(Run {
            started,
            updated,
            media_type,
        }) = runs.remove(&correlation)
        else {
            continue;
        };
        let cause = match &view.state {
            AssetState::Partial { cause } | AssetState::Failed { cause } => Some(cause.clone()),
            AssetState::Skipped { reason } | AssetState::Unfinished { reason } => {
                Some(reason.clone())
            }
            AssetState::Completed | AssetState::Ingested { .. } => None,
        };
        let name = view
            .source
            .as_deref()
            .and_then(|s| s.rsplit('/').next())
            .unwrap_or("?")
            .to_owned();
        let summary = AssetSummary {
            asset_id: view.asset_id.clone(),
            correlation_id: correlation.clone(),
            name,
            source: view.source.clone(),
            media_type,
            status: view.state.label().to_owned(),
            cause,
            events: view.events.len(),
            started,
            updated,
        };
        let row = view.asset_id.clone().unwrap_or(correlation);
        match latest.get(&row) {
            Some(existing) if existing.started > summary.started => {}
            _ => {
                latest.insert(row, summary);
            }
        }
    }
    let mut list: Vec<AssetSummary> = latest.into_values().collect();
    list.sort_by_key(|a| std::cmp::Reverse(a.started));
    Ok(Json(list))
}

fn asset_id(id: &str) -> ApiResult<String> {
    uuid::Uuid::parse_str(id)
        .map(|id| id.to_string())
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "{id:?} is not an asset id (a UUID such as 694ae682-6fb2-543b-b701-54e6c4a3d8a9; GET /assets lists them)"
                ),
            )
        })
}

fn unknown_asset(asset_id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no asset {asset_id} has been ingested here (GET /assets lists the assets)"),
    )
}

pub async fn asset(
    State(runtime): AppState,
    Path(id): Path<String>,
) -> ApiResult<Json<report::AssetReport>> {
    let asset_id = asset_id(&id)?;
    match runtime.report(&asset_id).await {
        Ok(Some(report)) => Ok(Json(report)),
        Ok(None) => Err(unknown_asset(&asset_id)),
        Err(error) => Err(ApiError::internal(error)),
    }
}

pub async fn asset_events(
    State(runtime): AppState,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<EventRecord>>> {
    let asset_id = asset_id(&id)?;
    let events = runtime
        .events(Some(&asset_id), 0)
        .await
        .map_err(ApiError::internal)?;
    if events.is_empty() {
        return Err(unknown_asset(&asset_id));
    }
    events
        .into_iter()
        .map(|(seq, event)| {
            Ok(EventRecord {
                seq,
                event: serde_json::to_value(&event).map_err(ApiError::internal)?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()
        .map(Json)
}

#[derive(Debug, Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    limit: Option<usize>,
}

pub async fn search(
    State(runtime): AppState,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> ApiResult<Json<Vec<crate::search::AssetMatches>>> {
    let Query(params) = params.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{e} (use ?q=WORDS&limit=N)"),
        )
    })?;
    let query = params.q.unwrap_or_default();
    if query.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "say what to search for: /search?q=WORDS (all must match; \"quoted words\" match as a phrase)",
        ));
    }
    let limit = params.limit.unwrap_or(20).clamp(1, 200);
    crate::search::search(&runtime, &query, limit)
        .await
        .map(Json)
        .map_err(ApiError::internal)
}

#[derive(Debug, Deserialize)]
pub struct UploadParams {
    name: Option<String>,
}

/// The header that carries the asset's analysis options (what `mediasift run --options`
/// takes), as `x-amz-meta-mediasift-options` does on S3.
pub const OPTIONS_HEADER: &str = "x-mediasift-options";

pub async fn upload(
    State(runtime): AppState,
    params: Result<Query<UploadParams>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<UploadReceipt>)> {
    let name = params
        .ok()
        .and_then(|Query(p)| p.name)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "name the file: POST /uploads?name=clip.mp4 with the file's bytes as the body",
            )
        })?;
    let key = format!("uploads/{name}");
    let mut options = PutOptions {
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .filter(|v| *v != "application/octet-stream")
            .map(str::to_owned),
        ..PutOptions::default()
    };
    if let Some(value) = headers.get(OPTIONS_HEADER) {
        let text = value.to_str().unwrap_or_default();
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(_)) => {
                options
                    .user_metadata
                    .insert(mediasift_schemas::OPTIONS_METADATA.into(), text.to_owned());
            }
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "{OPTIONS_HEADER} must be a JSON object, e.g. {{\"transcribe\": false}}"
                    ),
                ));
            }
        }
    }
    // The body goes to a scratch file first: a dropped connection leaves no partial object.
    let scratch = runtime
        .config
        .data_dir
        .join("scratch")
        .join(format!("upload-{}.part", uuid::Uuid::new_v4()));
    let received = receive(body, &scratch).await;
    let stored = match received {
        Ok(_) => {
            runtime
                .objects
                .put(
                    &runtime.config.ingest_bucket,
                    &key,
                    mediasift_kit::ports::Body::File(scratch.clone()),
                    options,
                )
                .await
        }
        Err(error) => {
            let _ = tokio::fs::remove_file(&scratch).await;
            return Err(error);
        }
    };
    let _ = tokio::fs::remove_file(&scratch).await;
    let meta = stored.map_err(|error| match error {
        StoreError::InvalidKey { .. } | StoreError::Denied(_) => {
            ApiError::new(StatusCode::BAD_REQUEST, error.to_string())
        }
        other => ApiError::internal(other),
    })?;
    Ok((
        StatusCode::CREATED,
        Json(UploadReceipt {
            bucket: runtime.config.ingest_bucket.clone(),
            key,
            version_id: meta.version_id,
            size: meta.size,
            etag: meta.etag,
        }),
    ))
}

async fn receive(body: Body, to: &std::path::Path) -> ApiResult<u64> {
    let mut file = tokio::fs::File::create(to)
        .await
        .map_err(ApiError::internal)?;
    let mut stream = body.into_data_stream();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("the upload was cut short: {e}"),
            )
        })?;
        size += chunk.len() as u64;
        file.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    file.sync_all().await.map_err(ApiError::internal)?;
    Ok(size)
}

pub async fn openapi() -> Json<serde_json::Value> {
    Json(super::openapi::document())
}

pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no route {method} {}: the routes are listed in /openapi.json",
            uri.path()
        ),
    )
}

fn page(html: Html<String>) -> Response {
    let mut response = html.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn missing_page(message: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><meta charset=\"utf-8\"><title>Not found · mediasift</title>\
         <p>{}</p><p><a href=\"/\">All assets</a></p>",
        report::escape_html(message)
    );
    let mut response = page(Html(body));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}
