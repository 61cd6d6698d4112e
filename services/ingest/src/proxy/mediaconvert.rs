//! The AWS transcoder: a MediaConvert job from the proxy spec.
