//! The taxonomy port: each scene's words, labels and on-screen text in, IAB Content Taxonomy
//! categories out. Locally (and on Lambda when the model is packaged): all-MiniLM-L6 zero-shot
//! ([`MiniLmTaxonomy`], the kit's `embed`).

use std::sync::Arc;

use async_trait::async_trait;
use mediasift_kit::embed::Category;

#[async_trait]
pub trait SceneClassifier: Send + Sync {
    /// The engine as results report it.
    fn engine(&self) -> String;
    /// The best `top` categories of each text, in order (none for an empty text); the reason
    /// when the classifier cannot run (reported in `skipped`).
    async fn classify(&self, texts: &[String], top: usize) -> Result<Vec<Vec<Category>>, String>;
}

/// IAB tier 1 by the cosine similarity of MiniLM embeddings, the model loaded on first use.
#[derive(Default)]
pub struct MiniLmTaxonomy {
    model: tokio::sync::OnceCell<Result<Arc<mediasift_kit::embed::ZeroShot>, String>>,
}

impl MiniLmTaxonomy {
    pub fn new() -> Self {
        Self::default()
    }

    async fn model(&self) -> Result<Arc<mediasift_kit::embed::ZeroShot>, String> {
        self.model
            .get_or_init(|| async {
                tokio::task::spawn_blocking(|| {
                    let files =
                        mediasift_kit::embed::ModelFiles::locate().map_err(|e| e.to_string())?;
                    let embedder = mediasift_kit::embed::TextEmbedder::load(&files)
                        .map_err(|e| e.to_string())?;
                    mediasift_kit::embed::ZeroShot::new(Arc::new(embedder))
                        .map(Arc::new)
                        .map_err(|e| e.to_string())
                })
                .await
                .unwrap_or_else(|e| Err(format!("the model loader failed: {e}")))
            })
            .await
            .clone()
    }
}

#[async_trait]
impl SceneClassifier for MiniLmTaxonomy {
    fn engine(&self) -> String {
        "all-MiniLM-L6 zero-shot IAB".to_owned()
    }

    async fn classify(&self, texts: &[String], top: usize) -> Result<Vec<Vec<Category>>, String> {
        let model = self.model().await?;
        let texts = texts.to_vec();
        tokio::task::spawn_blocking(move || {
            texts
                .iter()
                .map(|text| {
                    if text.trim().is_empty() {
                        Ok(Vec::new())
                    } else {
                        model
                            .classify(text, top, mediasift_kit::embed::ZeroShot::DEFAULT_MIN_SCORE)
                            .map_err(|e| e.to_string())
                    }
                })
                .collect()
        })
        .await
        .map_err(|e| format!("the classifier failed: {e}"))?
    }
}
