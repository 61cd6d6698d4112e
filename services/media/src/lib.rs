//! Shared media primitives for the mediasift services: subprocess runners with timeouts,
//! probing and media-type detection, resumable checksums, still-image and PDF inspection and
//! rendering. (Decode, perceptual hashes, loudness and timecodes join with the analysis
//! issues.)

pub mod decode;
pub mod faces;
pub mod frames;
pub mod hash;
pub mod image;
pub mod kind;
pub mod pdf;
pub mod phash;
pub mod probe;
pub mod process;
pub mod selection;
pub mod shots;
