//! Shared media primitives for the mediasift services: subprocess runners with timeouts,
//! probing and media-type detection, resumable checksums, still-image and PDF inspection and
//! rendering, streamed frame decode, shots and technical cues with SMPTE timecodes, perceptual
//! hashes and dynamic frame selection, a Haar face detector, EBU R128 loudness per audio
//! track, and captions (WebVTT, SRT) from timed words.

pub mod captions;
pub mod decode;
pub mod faces;
pub mod frames;
pub mod hash;
pub mod image;
pub mod kind;
pub mod loudness;
pub mod pdf;
pub mod phash;
pub mod probe;
pub mod process;
pub mod selection;
pub mod shots;
pub mod wer;
