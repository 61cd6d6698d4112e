use super::*;

#[test]
fn facts_flatten_nested_objects_and_skip_nulls() {
    let value = serde_json::json!({
        "format": "jpeg",
        "camera": {"make": "Apple", "model": null},
        "tracks": [{"codec": "aac"}, {"codec": "ac3"}],
        "tags": ["a", "b"],
    });
    let facts = facts(&value);
    let text: Vec<String> = facts
        .iter()
        .map(|f| format!("{}={}", f.label, f.value))
        .collect();
    assert_eq!(
        text,
        [
            "format=jpeg",
            "camera.make=Apple",
            "tracks[1].codec=aac",
            "tracks[2].codec=ac3",
            "tags=a, b"
        ]
    );
}

#[test]
fn plain_relative_keys_only() {
    assert!(is_plain_relative("proxy/proxy.mp4"));
    assert!(!is_plain_relative("../proxy.mp4"));
    assert!(!is_plain_relative("/etc/passwd"));
    assert!(!is_plain_relative("a//b"));
    assert!(!is_plain_relative("a\\..\\b"));
    assert!(!is_plain_relative(""));
}

#[test]
fn script_data_cannot_close_its_element() {
    let value = serde_json::json!({"name": "</script><script>alert(1)</script>&<!--"});
    let text = html::script_safe_json(&value);
    assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
    let back: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, value);
}

#[test]
fn timeline_tracks_keep_every_range() {
    let doc = serde_json::json!({"timelines": [{"feature": "text", "tracks": [
        {"name": "EXIT", "ranges": [{"start": 9.0, "end": 12.0, "maxConfidence": 92.4}, {"start": 1.0, "end": 2.0, "maxConfidence": 81.0}]}
    ]}]});
    let tracks = timeline_tracks(&doc);
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].kind, TrackKind::Text);
    let starts: Vec<f64> = tracks[0].items.iter().map(|i| i.start).collect();
    assert_eq!(starts, [1.0, 9.0]);
    assert_eq!(tracks[0].items[1].score, Some(92.4));
}
