//! The files `mediasift run` and `mediasift cost` take: files as given, folders walked.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The files under `paths` as `mediasift run` takes them: files as given, folders walked in
/// name order, hidden entries (`.name`) skipped; each with the key it would be uploaded as.
pub fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let mut files = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        let name = path
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "input".into());
        if meta.is_file() {
            files.push((path.clone(), name));
        } else if meta.is_dir() {
            walk(path, &name, &mut files)?;
        } else {
            bail!("{} is neither a file nor a folder", path.display());
        }
    }
    if files.is_empty() {
        bail!("no files to estimate under {paths:?}");
    }
    Ok(files)
}

fn walk(dir: &Path, prefix: &str, files: &mut Vec<(PathBuf, String)>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let key = format!("{prefix}/{name}");
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), &key, files)?;
        } else if kind.is_file() {
            files.push((entry.path(), key));
        }
    }
    Ok(())
}
