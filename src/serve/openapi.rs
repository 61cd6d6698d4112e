//! The OpenAPI 3.1 document of the server's API, with the bodies' schemas generated from the
//! types the handlers return. `mediasift contracts export` writes it to
//! `contracts/openapi.json`; the server answers it at `/openapi.json`.

use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Value, json};

use super::api::{AssetSummary, ErrorBody, EventRecord, OPTIONS_HEADER, UploadReceipt};
use crate::report::AssetReport;
use crate::search::AssetMatches;

pub fn document() -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    let mut schema = |f: fn(&mut SchemaGenerator) -> schemars::Schema| f(&mut generator);
    let assets = schema(|g| g.subschema_for::<Vec<AssetSummary>>());
    let report = schema(|g| g.subschema_for::<AssetReport>());
    let events = schema(|g| g.subschema_for::<Vec<EventRecord>>());
    let search = schema(|g| g.subschema_for::<Vec<AssetMatches>>());
    let receipt = schema(|g| g.subschema_for::<UploadReceipt>());
    let error = schema(|g| g.subschema_for::<ErrorBody>());
    let json_body = |schema: &schemars::Schema, description: &str| json!({"description": description, "content": {"application/json": {"schema": schema}}});
    let failure = |description: &str| json_body(&error, description);
    let html = |description: &str| json!({"description": description, "content": {"text/html": {"schema": {"type": "string"}}}});
    let id = json!({
        "name": "id", "in": "path", "required": true,
        "description": "The asset id (a UUID).",
        "schema": {"type": "string", "format": "uuid"}
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "mediasift local API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The JSON API of `mediasift serve`: the assets of one data directory, \
                their reports and events, search, and uploads into the local ingest bucket. \
                It listens on loopback by default and has no authentication.",
        },
        "servers": [{"url": "http://127.0.0.1:8080"}],
        "paths": {
            "/": {"get": {
                "summary": "The web UI: the asset list with live status, search and uploads.",
                "operationId": "index",
                "responses": {"200": html("The page.")}
            }},
            "/report/{id}": {"get": {
                "summary": "An asset's report page (the page `mediasift report` writes, with its media served by /media).",
                "operationId": "reportPage",
                "parameters": [id],
                "responses": {"200": html("The report."), "404": html("No such asset.")}
            }},
            "/media/{id}/{key}": {"get": {
                "summary": "A derived file of the asset that its report shows (proxy, poster, page images). Range requests are answered (206).",
                "operationId": "media",
                "parameters": [id, {
                    "name": "key", "in": "path", "required": true,
                    "description": "The file's key under the asset's folder of the derived bucket, e.g. `proxy/proxy.mp4`.",
                    "schema": {"type": "string"}
                }],
                "responses": {
                    "200": {"description": "The file."},
                    "206": {"description": "The requested range of the file."},
                    "404": failure("No such asset or file."),
                }
            }},
            "/assets": {"get": {
                "summary": "Every asset's latest processing run, the most recently started first.",
                "operationId": "listAssets",
                "responses": {"200": json_body(&assets, "The assets.")}
            }},
            "/assets/{id}": {"get": {
                "summary": "An asset's report: status, checksums, technical metadata, analyses, timeline tracks, transcript, image facts, document pages.",
                "operationId": "getAsset",
                "parameters": [id],
                "responses": {
                    "200": json_body(&report, "The asset's report."),
                    "400": failure("The id is not a UUID."),
                    "404": failure("No asset with this id has been ingested."),
                }
            }},
            "/assets/{id}/events": {"get": {
                "summary": "Every event of the asset, in the order the bus archived them.",
                "operationId": "getAssetEvents",
                "parameters": [id],
                "responses": {
                    "200": json_body(&events, "The events."),
                    "400": failure("The id is not a UUID."),
                    "404": failure("No event names this asset."),
                }
            }},
            "/search": {"get": {
                "summary": "Assets whose transcripts, text, labels, keyphrases, entities, people or file names match, best first, with where in them.",
                "operationId": "search",
                "parameters": [
                    {"name": "q", "in": "query", "required": true,
                     "description": "Words (all must match); a \"quoted phrase\" matches as a phrase.",
                     "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "required": false,
                     "description": "At most this many assets (1–200, default 20).",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 20}}
                ],
                "responses": {
                    "200": json_body(&search, "The matching assets (an empty list when none match)."),
                    "400": failure("No query was given."),
                }
            }},
            "/uploads": {"post": {
                "summary": "Put the request body into the local ingest bucket as `uploads/{name}`; processing starts at once (watch GET /assets).",
                "operationId": "upload",
                "parameters": [
                    {"name": "name", "in": "query", "required": true,
                     "description": "The file name (it may contain `/` for folders).",
                     "schema": {"type": "string"}},
                    {"name": OPTIONS_HEADER, "in": "header", "required": false,
                     "description": "The asset's analysis options, a JSON object (what `mediasift run --options` takes), e.g. {\"transcribe\": false}.",
                     "schema": {"type": "string"}}
                ],
                "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}},
                "responses": {
                    "201": json_body(&receipt, "Stored."),
                    "400": failure("No name, a name the store refuses, options that are not a JSON object, or a cut-short body."),
                }
            }},
            "/openapi.json": {"get": {
                "summary": "This document.",
                "operationId": "openapi",
                "responses": {"200": {"description": "The OpenAPI document.", "content": {"application/json": {}}}}
            }},
        },
        "components": {"schemas": generator.take_definitions(true)},
    })
}
