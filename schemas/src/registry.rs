//! Schemas of events: JSON Schema (2020-12) of the whole envelope, for validation, and the
//! OpenAPI 3 document in the shape of the Amazon EventBridge Schema Registry.

use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Value, json};

use crate::envelope::{Envelope, EventDetail};

/// JSON Schema (draft 2020-12) of the envelope with `D` as its detail.
pub fn json_schema<D: EventDetail>() -> Value {
    SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Envelope<D>>()
        .to_value()
}

/// The OpenAPI 3 document the EventBridge Schema Registry stores for an event
/// (`components.schemas.AWSEvent` with `x-amazon-events-source` and
/// `x-amazon-events-detail-type`, and `detail` as a `$ref` to the detail's schema).
pub fn registry_schema<D: EventDetail>(source: &str) -> Value {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let detail = generator.subschema_for::<D>().to_value();
    let mut event = envelope_schema(detail);
    event["x-amazon-events-detail-type"] = D::DETAIL_TYPE.into();
    event["x-amazon-events-source"] = source.into();
    let mut schemas = serde_json::Map::new();
    schemas.insert("AWSEvent".into(), event);
    schemas.extend(generator.take_definitions(true));
    json!({
        "openapi": "3.0.0",
        "info": {
            "version": D::SCHEMA_VERSION,
            "title": D::SCHEMA_NAME,
        },
        "paths": {},
        "components": {"schemas": schemas}
    })
}

/// The detail's schema from `generator`: a `$ref` into its definitions.
pub(crate) fn detail_schema<D: EventDetail>(generator: &mut SchemaGenerator) -> Value {
    generator.subschema_for::<D>().to_value()
}

/// The EventBridge envelope's schema around a detail schema.
pub fn envelope_schema(detail: Value) -> Value {
    json!({
        "type": "object",
        "required": ["detail-type", "resources", "detail", "id", "source", "time", "region", "version", "account"],
        "properties": {
            "detail": detail,
            "account": {"type": "string"},
            "detail-type": {"type": "string"},
            "id": {"type": "string"},
            "region": {"type": "string"},
            "resources": {"type": "array", "items": {"type": "string"}},
            "source": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "version": {"type": "string"}
        }
    })
}
