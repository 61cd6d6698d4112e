//! An EventBridge pattern and an event, as two JSON documents one after the other: the pattern
//! is parsed as rules are ([`Pattern::parse`]) and, when valid, matched against the event alone
//! and inside a [`PatternSet`], which must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediasift_kit::pattern::{Pattern, PatternSet};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut documents = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let pattern_text = match documents.next() {
        Some(Ok(_)) => &text[..documents.byte_offset()],
        // Not JSON: the parser must still refuse it with an error, not a panic.
        _ => text,
    };
    let Ok(pattern) = Pattern::parse(pattern_text) else {
        return;
    };
    let event = match documents.next() {
        Some(Ok(event)) => event,
        _ => Value::Null,
    };
    let matched = pattern.matches(&event);
    let set = PatternSet::new(vec![pattern]);
    let expected: &[usize] = if matched { &[0] } else { &[] };
    assert_eq!(
        set.matching(&event),
        expected,
        "a pattern set disagrees with its one pattern on {event}"
    );
});
