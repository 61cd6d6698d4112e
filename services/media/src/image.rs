//! Still images: metadata (exiftool), pixel limits, auto-oriented proxies.
