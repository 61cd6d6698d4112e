//! The report page: one HTML document with its style, script and data inline. The media it
//! plays are linked relative to [`MediaLinks::base`]; nothing else is fetched (the page's
//! Content-Security-Policy refuses any other request).

use super::AssetReport;

const TEMPLATE: &str = include_str!("page.html");
const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// Where the page finds the asset's media.
#[derive(Debug, Clone)]
pub struct MediaLinks {
    /// Prepended to a media key (`proxy/proxy.mp4`): a folder beside the HTML file
    /// (`<stem>_files/`), or the server's `/media/<assetId>/`.
    pub base: String,
    /// A link back to the asset list (the server's `/`); none in a report file.
    pub home: Option<String>,
}

/// The report page of `report`.
pub fn render(report: &AssetReport, links: &MediaLinks) -> String {
    let data = serde_json::json!({
        "report": report,
        "mediaBase": links.base,
        "home": links.home,
    });
    TEMPLATE
        .replace("{{TITLE}}", &escape_html(&report.name))
        .replace("{{STYLE}}", STYLE)
        .replace("{{SCRIPT}}", SCRIPT)
        .replace("{{DATA}}", &script_safe_json(&data))
}

/// JSON that cannot end the `<script>` element holding it, nor open a comment in it.
pub fn script_safe_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
