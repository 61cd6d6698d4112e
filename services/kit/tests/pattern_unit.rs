//! Focused tests for the operators the shared conformance cases cover thinly, and a check that
//! `PatternSet` agrees with `Pattern::matches` on generated rules and events.

use mediasift_kit::pattern::PatternSet;
use mediasift_kit::{Pattern, PatternError};
use serde_json::{Value, json};

fn pattern(p: Value) -> Pattern {
    Pattern::from_value(&p).unwrap_or_else(|e| panic!("{p} should be valid: {e}"))
}

fn matches(p: Value, event: Value) -> bool {
    pattern(p).matches(&event)
}

/// The reason a pattern is rejected for.
fn rejection(p: Value) -> String {
    match Pattern::from_value(&p) {
        Ok(_) => panic!("{p} should be rejected"),
        Err(PatternError(reason)) => reason,
    }
}

fn detail(fields: Value) -> Value {
    json!({
        "version": "0", "id": "1", "source": "mediasift.ingest", "detail-type": "Video Ingested",
        "account": "000000000000", "time": "2026-01-01T00:00:00Z", "region": "local",
        "resources": [], "detail": fields
    })
}

mod cidr {
    use super::*;

    #[test]
    fn ipv6_block_matches_addresses_inside_it_in_any_spelling() {
        let p = json!({"detail": {"ip": [{"cidr": "2001:db8:1234:1a00::/56"}]}});
        assert!(matches(
            p.clone(),
            detail(json!({"ip": "2001:db8:1234:1a00::1"}))
        ));
        assert!(matches(
            p.clone(),
            detail(json!({"ip": "2001:DB8:1234:1AFF:ffff:ffff:ffff:ffff"}))
        ));
        assert!(!matches(
            p.clone(),
            detail(json!({"ip": "2001:db8:1234:1b00::"}))
        ));
        assert!(!matches(p.clone(), detail(json!({"ip": "10.0.0.1"}))));
        assert!(!matches(p, detail(json!({"ip": "not an address"}))));
    }

    #[test]
    fn ipv4_block_ignores_ipv6_and_non_strings() {
        let p = json!({"detail": {"ip": [{"cidr": "192.168.0.0/16"}]}});
        assert!(matches(p.clone(), detail(json!({"ip": "192.168.255.255"}))));
        assert!(!matches(
            p.clone(),
            detail(json!({"ip": "::ffff:c0a8:0001"}))
        ));
        assert!(!matches(p, detail(json!({"ip": 3_232_235_521_u64}))));
    }

    #[test]
    fn range_starts_at_the_address_as_written() {
        let p = json!({"detail": {"ip": [{"cidr": "10.0.0.5/24"}]}});
        assert!(matches(p.clone(), detail(json!({"ip": "10.0.0.200"}))));
        assert!(!matches(p, detail(json!({"ip": "10.0.0.4"}))));
    }

    #[test]
    fn exact_ip_literals_compare_as_addresses() {
        let p = json!({"detail": {"ip": ["2001:db8::1"]}});
        assert!(matches(
            p.clone(),
            detail(json!({"ip": "2001:0DB8:0:0:0:0:0:1"}))
        ));
        assert!(!matches(p, detail(json!({"ip": "2001:db8::2"}))));
    }

    #[test]
    fn malformed_blocks_are_rejected() {
        let reason = |cidr: &str| rejection(json!({"ip": [{"cidr": cidr}]}));
        assert_eq!(reason("10.0.0.0"), "Malformed CIDR, one '/' required");
        assert_eq!(reason("10.0.0.0/"), "Malformed CIDR, one '/' required");
        assert_eq!(
            reason("10.0.0.0/-1"),
            "Malformed CIDR, mask bits must not be negative"
        );
        assert_eq!(reason("10.0.0.0/32"), "IPv4 mask bits must be < 32");
        assert_eq!(reason("::/128"), "IPv6 mask bits must be < 128");
        assert_eq!(
            reason("2001:db8:::/64"),
            "Nonstandard IP address: 2001:db8:::"
        );
        assert_eq!(
            rejection(json!({"ip": [{"cidr": 10}]})),
            "cidr match pattern must be a string"
        );
    }
}

mod numeric {
    use super::*;

    #[test]
    fn numbers_compare_by_value() {
        assert!(matches(
            json!({"detail": {"n": [300]}}),
            detail(json!({"n": 3.0e2}))
        ));
        assert!(matches(
            json!({"detail": {"n": [3.0e2]}}),
            detail(json!({"n": 300}))
        ));
        assert!(matches(
            json!({"detail": {"n": [{"numeric": ["=", 3.018e2]}]}}),
            detail(json!({"n": 301.8}))
        ));
        assert!(!matches(
            json!({"detail": {"n": [300]}}),
            detail(json!({"n": "300"}))
        ));
        assert!(!matches(
            json!({"detail": {"n": ["300"]}}),
            detail(json!({"n": 300}))
        ));
        // Integers beyond f64's precision still compare exactly.
        assert!(!matches(
            json!({"detail": {"n": [9_007_199_254_740_993_u64]}}),
            detail(json!({"n": 9_007_199_254_740_992_u64}))
        ));
    }

    #[test]
    fn bounds_are_inclusive_or_exclusive_as_written() {
        let open = json!({"detail": {"n": [{"numeric": [">", 0, "<", 5]}]}});
        let closed = json!({"detail": {"n": [{"numeric": [">=", 0, "<=", 5]}]}});
        for (n, inside_open, inside_closed) in [
            (-0.1, false, false),
            (0.0, false, true),
            (2.5, true, true),
            (5.0, false, true),
            (5.1, false, false),
        ] {
            assert_eq!(
                matches(open.clone(), detail(json!({"n": n}))),
                inside_open,
                "{n} in (0, 5)"
            );
            assert_eq!(
                matches(closed.clone(), detail(json!({"n": n}))),
                inside_closed,
                "{n} in [0, 5]"
            );
        }
        assert!(matches(
            json!({"detail": {"n": [{"numeric": ["<", -1e3]}]}}),
            detail(json!({"n": -1001}))
        ));
        assert!(matches(
            json!({"detail": {"n": [{"numeric": [">=", -0.5]}]}}),
            detail(json!({"n": -0.5}))
        ));
    }

    #[test]
    fn numeric_ignores_strings_booleans_and_null_but_reads_arrays() {
        let p = json!({"detail": {"n": [{"numeric": [">", 1]}]}});
        for value in [
            json!("5"),
            json!(true),
            json!(null),
            json!({"n": 5}),
            json!([]),
        ] {
            assert!(!matches(p.clone(), detail(json!({"n": value}))), "{value}");
        }
        assert!(matches(p, detail(json!({"n": [0, "9", 2]}))));
    }

    #[test]
    fn invalid_ranges_are_rejected() {
        let reason = |terms: Value| rejection(json!({"n": [{"numeric": terms}]}));
        assert_eq!(
            reason(json!([">", 5, "<", 5])),
            "Bottom must be less than top"
        );
        assert_eq!(
            reason(json!([">", 5, "<", 1])),
            "Bottom must be less than top"
        );
        assert_eq!(
            reason(json!(["<", 5, ">", 1])),
            "Too many elements in numeric expression"
        );
        assert_eq!(
            reason(json!(["=", 5, "<", 9])),
            "Too many elements in numeric expression"
        );
        assert_eq!(
            reason(json!([">", 1, ">", 9])),
            "Bad numeric range operator: >"
        );
        assert_eq!(reason(json!([">", 1, 9])), "Bad value in numeric range: 9");
        assert_eq!(
            reason(json!([">", 1, "<", 9, "<", 10])),
            "Too many terms in numeric range expression"
        );
        assert_eq!(
            reason(json!(["!=", 1])),
            "Unrecognized numeric range operator: !="
        );
        assert_eq!(reason(json!(["=", "1"])), "Value of equals must be numeric");
        assert_eq!(reason(json!([">"])), "Value of > must be numeric");
        assert_eq!(
            reason(json!([1, "<"])),
            "Invalid member in numeric match: 1"
        );
        assert_eq!(
            reason(json!([])),
            "Value of numeric must not be an empty array."
        );
        assert_eq!(reason(json!(">")), "Value of numeric must be an array.");
    }
}

mod ignore_case {
    use super::*;

    #[test]
    fn prefix_and_suffix_ignore_case() {
        let prefix = json!({"detail": {"s": [{"prefix": {"equals-ignore-case": "EventB"}}]}});
        assert!(matches(prefix.clone(), detail(json!({"s": "eventbridge"}))));
        assert!(matches(prefix.clone(), detail(json!({"s": "EVENTB"}))));
        assert!(!matches(prefix.clone(), detail(json!({"s": "Event"}))));
        assert!(!matches(prefix, detail(json!({"s": 1}))));

        let suffix = json!({"detail": {"s": [{"suffix": {"equals-ignore-case": ".PNG"}}]}});
        assert!(matches(suffix.clone(), detail(json!({"s": "photo.png"}))));
        assert!(matches(suffix.clone(), detail(json!({"s": ".Png"}))));
        assert!(!matches(suffix, detail(json!({"s": "png"}))));
    }

    #[test]
    fn case_folding_covers_non_ascii() {
        let equals = json!({"detail": {"s": [{"equals-ignore-case": "ÉCOLE"}]}});
        assert!(matches(equals.clone(), detail(json!({"s": "école"}))));
        assert!(!matches(equals, detail(json!({"s": "ecole"}))));
        let prefix = json!({"detail": {"s": [{"prefix": {"equals-ignore-case": "straße"}}]}});
        assert!(matches(prefix, detail(json!({"s": "STRAẞE 5"}))));
        let suffix = json!({"detail": {"s": [{"suffix": {"equals-ignore-case": "Ωμέγα"}}]}});
        assert!(matches(suffix, detail(json!({"s": "ΆλφαΩΜΈΓΑ"}))));
    }

    #[test]
    fn malformed_ignore_case_is_rejected() {
        assert_eq!(
            rejection(json!({"s": [{"prefix": {"equals-ignore-case": 5}}]})),
            "equals-ignore-case match pattern must be a string"
        );
        assert_eq!(
            rejection(json!({"s": [{"suffix": {"wildcard": "x"}}]})),
            "Unsupported suffix pattern: wildcard"
        );
        assert_eq!(
            rejection(json!({"s": [{"prefix": {"equals-ignore-case": "a", "x": 1}}]})),
            "Only one key allowed in match expression"
        );
    }
}

mod anything_but {
    use super::*;

    #[test]
    fn wildcard_excludes_matching_strings_only() {
        let p = json!({"detail": {"path": [{"anything-but": {"wildcard": "*/lib/*"}}]}});
        assert!(!matches(
            p.clone(),
            detail(json!({"path": "/usr/lib/x.so"}))
        ));
        assert!(matches(p.clone(), detail(json!({"path": "/usr/bin/x"}))));
        assert!(matches(p.clone(), detail(json!({"path": 7}))));
        assert!(matches(p.clone(), detail(json!({"path": null}))));
        assert!(!matches(p, detail(json!({}))));
    }

    #[test]
    fn wildcard_list_excludes_any_of_them() {
        let p = json!({"detail": {"f": [{"anything-but": {"wildcard": ["*.tmp", "~*"]}}]}});
        assert!(!matches(p.clone(), detail(json!({"f": "a.tmp"}))));
        assert!(!matches(p.clone(), detail(json!({"f": "~a"}))));
        assert!(matches(p.clone(), detail(json!({"f": "a.txt"}))));
        // An array matches when any element is not excluded.
        assert!(matches(p.clone(), detail(json!({"f": ["a.tmp", "b.txt"]}))));
        assert!(!matches(p, detail(json!({"f": ["a.tmp", "~b"]}))));
    }

    #[test]
    fn numbers_are_excluded_by_value() {
        let p = json!({"detail": {"n": [{"anything-but": [100, 2e2]}]}});
        assert!(!matches(p.clone(), detail(json!({"n": 1.0e2}))));
        assert!(!matches(p.clone(), detail(json!({"n": 200}))));
        assert!(matches(p.clone(), detail(json!({"n": "100"}))));
        assert!(matches(p, detail(json!({"n": 300}))));
    }

    #[test]
    fn malformed_anything_but_is_rejected() {
        let reason = |operand: Value| rejection(json!({"f": [{"anything-but": operand}]}));
        assert_eq!(
            reason(json!({"wildcard": "a**"})),
            "Consecutive wildcard characters at pos 2"
        );
        assert_eq!(
            reason(json!({"wildcard": ["ok", 1]})),
            "wildcard match pattern must be a string"
        );
        assert_eq!(
            reason(json!({"suffix": ["", "x"]})),
            "Null prefix/suffix not allowed"
        );
        assert_eq!(
            reason(json!({"numeric": [">", 1]})),
            "Unsupported anything-but pattern: numeric"
        );
        assert_eq!(
            reason(json!(["a", 1])),
            "Inside anything but list, either all values are number or string, mixed type is not supported"
        );
        assert_eq!(
            reason(json!([true])),
            "Inside anything but list, start|null|boolean is not supported."
        );
        assert_eq!(
            reason(json!(true)),
            "Value of anything-but must be an array or single string/number value."
        );
        assert_eq!(reason(json!([])), "Empty arrays are not allowed");
    }
}

mod wildcard {
    use super::*;

    #[test]
    fn stars_match_any_run_and_escapes_are_literal() {
        let p = |w: &str| json!({"detail": {"k": [{"wildcard": w}]}});
        assert!(matches(p("a*c"), detail(json!({"k": "ac"}))));
        assert!(matches(p("a*c"), detail(json!({"k": "abbbc"}))));
        assert!(!matches(p("a*c"), detail(json!({"k": "abcd"}))));
        assert!(matches(p("*"), detail(json!({"k": ""}))));
        assert!(matches(p("*a*a*"), detail(json!({"k": "xaxa"}))));
        assert!(!matches(p("*a*a*"), detail(json!({"k": "xax"}))));
        assert!(matches(p(r"a\*c"), detail(json!({"k": "a*c"}))));
        assert!(!matches(p(r"a\*c"), detail(json!({"k": "abc"}))));
        assert!(matches(p(r"a\\*"), detail(json!({"k": r"a\bc"}))));
        assert!(!matches(p("a*"), detail(json!({"k": 1}))));
    }

    #[test]
    fn malformed_wildcards_are_rejected() {
        let reason = |w: &str| rejection(json!({"k": [{"wildcard": w}]}));
        assert_eq!(reason("ab**"), "Consecutive wildcard characters at pos 3");
        assert_eq!(reason(r"a\b"), "Invalid escape character at pos 2");
        assert_eq!(reason("a\\"), "Invalid escape character at pos 2");
    }

    #[test]
    fn complexity_follows_aws_limits() {
        let too_complex = "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character";
        let keys = |list: &[&str]| {
            let list: Vec<Value> = list.iter().map(|w| json!({"wildcard": w})).collect();
            Pattern::from_value(&json!({"detail": {"object": {"key": list}}}))
        };
        // AWS accepted the first two and refused the third (a Terraform project's notes).
        assert!(keys(&["*.bif", "*.tiff", "*.tif", "*.svs"]).is_ok());
        assert!(keys(&["*/datasync/*.bif", "*/datasync/*.tif"]).is_ok());
        let refused = keys(&[
            "*/datasync/*.bif",
            "*/datasync/*.tif",
            "*/datasync/*.svs",
            "*/datasync/*.tiff",
        ]);
        assert_eq!(refused.map(|_| ()), Err(PatternError(too_complex.into())));
        assert!(keys(&["arn:aws:s3:::media-*/*/video/*"]).is_ok());
        assert!(keys(&["/Users/*/dir/dir/dir/dir/dir/doc.txt"]).is_ok());
    }
}

mod or {
    use super::*;

    #[test]
    fn nested_or_at_any_level() {
        let p = json!({
            "source": ["mediasift.ingest"],
            "detail": {
                "$or": [
                    {"kind": ["video"], "$or": [{"width": [{"numeric": [">=", 1920]}]}, {"hdr": [true]}]},
                    {"kind": ["image"]}
                ]
            }
        });
        assert!(matches(
            p.clone(),
            detail(json!({"kind": "video", "width": 3840}))
        ));
        assert!(matches(
            p.clone(),
            detail(json!({"kind": "video", "width": 640, "hdr": true}))
        ));
        assert!(!matches(
            p.clone(),
            detail(json!({"kind": "video", "width": 640}))
        ));
        assert!(matches(p.clone(), detail(json!({"kind": "image"}))));
        assert!(!matches(
            p.clone(),
            detail(json!({"kind": "audio", "hdr": true}))
        ));
        let mut other_source = detail(json!({"kind": "image"}));
        other_source["source"] = json!("mediasift.video");
        assert!(!matches(p, other_source));
    }

    #[test]
    fn or_alternatives_may_test_different_depths() {
        let p = json!({"$or": [{"source": [{"prefix": "aws."}]}, {"detail": {"origin": {"bucket": ["media"]}}}]});
        let mut from_aws = detail(json!({}));
        from_aws["source"] = json!("aws.s3");
        assert!(matches(p.clone(), from_aws));
        assert!(matches(
            p.clone(),
            detail(json!({"origin": {"bucket": "media"}}))
        ));
        assert!(!matches(p, detail(json!({"origin": {"bucket": "other"}}))));
    }

    #[test]
    fn malformed_or_is_rejected() {
        assert_eq!(
            rejection(json!({"$or": [{"a": [1]}]})),
            "$or must have at least 2 objects"
        );
        assert_eq!(
            rejection(json!({"$or": {"a": [1]}})),
            "Value of $or must be an array of objects"
        );
        assert_eq!(
            rejection(json!({"$or": [{"a": [1]}, ["b"]]})),
            "Only objects are allowed in the array of $or"
        );
        assert_eq!(
            rejection(json!({"$or": [{"a": [1]}, {}]})),
            "Empty objects are not allowed"
        );
        assert_eq!(
            rejection(json!({"$or": [{"a": [1]}, {"x": {"prefix": ["b"]}}]})),
            "\"prefix\" is a reserved word and cannot be a field name inside $or"
        );
        // Outside $or, a field may be called `prefix`.
        assert!(matches(
            json!({"detail": {"prefix": ["b"]}}),
            detail(json!({"prefix": "b"}))
        ));
    }
}

mod structure {
    use super::*;

    #[test]
    fn array_fields_must_come_from_the_same_element() {
        let p = json!({"detail": {"tracks": {"codec": ["aac"], "channels": [6]}}});
        let same = detail(
            json!({"tracks": [{"codec": "opus", "channels": 2}, {"codec": "aac", "channels": 6}]}),
        );
        let split = detail(
            json!({"tracks": [{"codec": "aac", "channels": 2}, {"codec": "opus", "channels": 6}]}),
        );
        assert!(matches(p.clone(), same));
        assert!(!matches(p, split));
    }

    #[test]
    fn exists_tests_leaves_only() {
        let exists = json!({"detail": {"a": [{"exists": true}]}});
        let absent = json!({"detail": {"a": [{"exists": false}]}});
        assert!(matches(exists.clone(), detail(json!({"a": null}))));
        assert!(matches(exists.clone(), detail(json!({"a": [1]}))));
        assert!(!matches(exists.clone(), detail(json!({"a": {"b": 1}}))));
        assert!(!matches(exists, detail(json!({"a": []}))));
        assert!(matches(absent.clone(), detail(json!({"a": {"b": 1}}))));
        assert!(matches(absent.clone(), detail(json!({}))));
        assert!(!matches(absent, detail(json!({"a": ""}))));
    }

    #[test]
    fn only_object_events_match() {
        let p = pattern(json!({"a": [{"exists": false}]}));
        assert!(p.matches(&json!({})));
        assert!(!p.matches(&json!([])));
        assert!(!p.matches(&json!("a")));
    }

    #[test]
    fn malformed_structure_is_rejected() {
        assert_eq!(rejection(json!([])), "Filter is not an object");
        assert_eq!(rejection(json!({})), "Empty objects are not allowed");
        assert_eq!(rejection(json!({"a": {}})), "Empty objects are not allowed");
        assert_eq!(
            rejection(json!({"a": true})),
            "\"a\" must be an object or an array"
        );
        assert_eq!(
            rejection(json!({"a": [[1]]})),
            "Match value must be String, number, true, false, or null"
        );
        assert_eq!(
            rejection(json!({"a": [{}]})),
            "Match expression name not found"
        );
        assert_eq!(
            rejection(json!({"a": [{"prefix": "x", "suffix": "y"}]})),
            "Only one key allowed in match expression"
        );
        assert_eq!(
            rejection(json!({"a": [{"contains": "x"}]})),
            "Unrecognized match type contains"
        );
        assert_eq!(
            rejection(json!({"a": [{"exists": "yes"}]})),
            "exists match pattern must be either true or false."
        );
        let err = Pattern::parse("{\"a\": [1]").map(|_| ()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Event pattern is not valid. Reason: Filter is not valid JSON"),
            "{err}"
        );
    }
}

/// A small deterministic generator (xorshift), so the test needs no extra crates.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

const SOURCES: &[&str] = &[
    "mediasift.ingest",
    "mediasift.video",
    "mediasift.audio",
    "aws.s3",
];
const DETAIL_TYPES: &[&str] = &[
    "Video Ingested",
    "Audio Ingested",
    "Object Created",
    "Processing Failed",
];
const STATUSES: &[&str] = &["done", "DONE", "failed", "pending", "done-partial"];
const KEYS: &[&str] = &[
    "in/a.mp4",
    "in/b.MOV",
    "out/c.wav",
    "tmp/d.mp4",
    "in/sub/e.png",
];
const IPS: &[&str] = &[
    "10.0.0.7",
    "10.1.2.3",
    "192.168.1.1",
    "2001:db8::5",
    "fe80::1",
];

fn random_condition(rng: &mut Rng) -> (&'static str, Value) {
    match rng.below(13) {
        0 => ("status", json!([rng.pick(STATUSES), rng.pick(STATUSES)])),
        1 => (
            "status",
            json!([{"equals-ignore-case": rng.pick(STATUSES)}]),
        ),
        2 => (
            "status",
            json!([{"anything-but": [rng.pick(STATUSES), rng.pick(STATUSES)]}]),
        ),
        3 => (
            "status",
            json!([{"prefix": {"equals-ignore-case": "DONE"}}, {"exists": false}]),
        ),
        4 => (
            "key",
            json!([{"prefix": rng.pick(&["in/", "out/", "tmp/"])}]),
        ),
        5 => (
            "key",
            json!([{"suffix": {"equals-ignore-case": rng.pick(&[".mp4", ".mov", ".png"])}}]),
        ),
        6 => (
            "key",
            json!([{"wildcard": rng.pick(&["in/*.mp4", "*/e.*", "*"])}]),
        ),
        7 => ("key", json!([{"anything-but": {"suffix": ".wav"}}])),
        8 => (
            "size",
            json!([{"numeric": [">", rng.below(100), "<=", 100 + rng.below(900)]}]),
        ),
        9 => ("size", json!([rng.below(4) * 100, {"numeric": ["<", 50]}])),
        10 => (
            "ip",
            json!([{"cidr": rng.pick(&["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"])}]),
        ),
        11 => ("tags", json!([{"exists": rng.below(2) == 0}])),
        _ => ("tracks.codec", json!([rng.pick(&["aac", "opus"])])),
    }
}

fn random_pattern(rng: &mut Rng) -> Value {
    let mut detail = serde_json::Map::new();
    for _ in 0..1 + rng.below(3) {
        let (field, values) = random_condition(rng);
        detail.insert(field.into(), values);
    }
    if rng.below(4) == 0 {
        let (a, va) = random_condition(rng);
        let (b, vb) = random_condition(rng);
        detail.insert("$or".into(), json!([{ a: va }, { b: vb }]));
    }
    let mut pattern = json!({"detail": detail});
    match rng.below(4) {
        0 => pattern["source"] = json!([rng.pick(SOURCES)]),
        1 => pattern["detail-type"] = json!([rng.pick(DETAIL_TYPES), rng.pick(DETAIL_TYPES)]),
        2 => pattern["source"] = json!([{"prefix": "mediasift."}]),
        _ => {}
    }
    pattern
}

fn random_event(rng: &mut Rng) -> Value {
    let mut fields = serde_json::Map::new();
    if rng.below(5) > 0 {
        fields.insert("status".into(), json!(rng.pick(STATUSES)));
    }
    fields.insert("key".into(), json!(rng.pick(KEYS)));
    fields.insert("size".into(), json!(rng.below(1200)));
    fields.insert("ip".into(), json!(rng.pick(IPS)));
    if rng.below(2) == 0 {
        fields.insert("tags".into(), json!(["a", "b"]));
    }
    fields.insert(
        "tracks".into(),
        json!([{"codec": rng.pick(&["aac", "opus"])}, {"codec": rng.pick(&["aac", "opus"])}]),
    );
    let mut event = detail(Value::Object(fields));
    event["source"] = json!(rng.pick(SOURCES));
    event["detail-type"] = json!(rng.pick(DETAIL_TYPES));
    event
}

#[test]
fn pattern_set_agrees_with_each_pattern() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let patterns: Vec<Pattern> = (0..300)
        .map(|_| pattern(random_pattern(&mut rng)))
        .collect();
    let set = PatternSet::new(patterns.clone());
    assert_eq!(set.len(), 300);

    let mut total_matches = 0;
    for _ in 0..400 {
        let event = random_event(&mut rng);
        let expected: Vec<usize> = (0..patterns.len())
            .filter(|&i| patterns[i].matches(&event))
            .collect();
        assert_eq!(set.matching(&event), expected, "event {event}");
        total_matches += expected.len();
    }
    // The generated rules are neither all-matching nor never-matching.
    assert!(
        total_matches > 400 && total_matches < 400 * 150,
        "{total_matches} matches"
    );
}

#[test]
fn empty_set_matches_nothing() {
    let set = PatternSet::new(Vec::new());
    assert!(set.is_empty());
    assert!(set.matching(&detail(json!({}))).is_empty());
}

/// Arbitrary JSON as pattern and event: parsing and matching must never panic.
#[test]
fn arbitrary_input_never_panics() {
    fn random_value(rng: &mut Rng, depth: usize) -> Value {
        let names = [
            "a",
            "b",
            "a.b",
            "",
            "$or",
            "prefix",
            "numeric",
            "exists",
            "anything-but",
            "wildcard",
            "cidr",
            "equals-ignore-case",
            "suffix",
        ];
        match if depth > 3 {
            rng.below(5)
        } else {
            rng.below(8)
        } {
            0 => Value::Null,
            1 => json!(rng.below(2) == 0),
            2 => json!(rng.pick(&[0.0, -1.5, 1e300, 42.0])),
            3 => json!(rng.pick(&[
                "",
                "*",
                "a**",
                "\\",
                "10.0.0.0/8",
                ">",
                "<=",
                "::/64",
                "x*y"
            ])),
            4 => json!(rng.below(1000)),
            5 | 6 => {
                let mut map = serde_json::Map::new();
                for _ in 0..rng.below(3) {
                    map.insert(rng.pick(&names).into(), random_value(rng, depth + 1));
                }
                Value::Object(map)
            }
            _ => Value::Array(
                (0..rng.below(4))
                    .map(|_| random_value(rng, depth + 1))
                    .collect(),
            ),
        }
    }
    let mut rng = Rng(42);
    let mut valid = 0;
    for _ in 0..20_000 {
        let candidate = random_value(&mut rng, 0);
        let event = random_value(&mut rng, 0);
        if let Ok(p) = Pattern::from_value(&candidate) {
            valid += 1;
            let _ = p.matches(&event);
            let _ = PatternSet::new(vec![p]).matching(&event);
        }
    }
    assert!(valid > 0);
}
