//! Shared media primitives for the mediasift services: subprocess runners with timeouts,
//! probing and media-type detection, and resumable checksums. (Decode, perceptual hashes,
//! loudness and timecodes join with the analysis issues.)

pub mod hash;
pub mod kind;
pub mod probe;
pub mod process;
