//! The `mediasift` command's library: contract generation and the wiring of every service.

pub mod config;
pub mod contracts;
pub mod cost;
pub mod faults;
pub mod inputs;
pub mod outcome;
pub mod report;
pub mod runtime;
pub mod search;
pub mod serve;

use mediasift_kit::Subscriptions;
use mediasift_kit::iam::Permissions;

/// Every service's subscriptions, in pipeline order.
pub fn all_subscriptions() -> Vec<Subscriptions> {
    vec![
        mediasift_ingest::subscriptions(),
        mediasift_video::subscriptions(),
        mediasift_audio::subscriptions(),
        mediasift_image::subscriptions(),
        mediasift_document::subscriptions(),
        mediasift_scene::subscriptions(),
        mediasift_adbreak::subscriptions(),
        mediasift_graph::subscriptions(),
    ]
}

/// Every service's AWS permissions, in pipeline order.
pub fn all_permissions() -> Vec<Permissions> {
    vec![
        mediasift_ingest::permissions(),
        mediasift_video::permissions(),
        mediasift_audio::permissions(),
        mediasift_image::permissions(),
        mediasift_document::permissions(),
        mediasift_scene::permissions(),
        mediasift_adbreak::permissions(),
        mediasift_graph::permissions(),
    ]
}
