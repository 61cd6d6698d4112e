//! The SQLite state store on real databases: conditions, races between tasks and between
//! connections, set and counter updates, expiry, and persistence.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{Condition, FixedClock, Item, StateError, StateStore, Update};
use serde_json::{Map, Value, json};

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("{other} is not an object"),
    }
}

fn file_store(dir: &Path) -> SqliteStateStore {
    SqliteStateStore::open(&dir.join("state").join("state.db")).unwrap()
}

fn is_condition_failed(result: &Result<Item, StateError>, table: &str, key: &str) -> bool {
    matches!(result, Err(StateError::ConditionFailed { table: t, key: k }) if t == table && k == key)
}

#[tokio::test]
async fn puts_version_items_and_honour_conditions() {
    let store = SqliteStateStore::open_in_memory().unwrap();
    assert_eq!(store.get("joins", "asset-1").await.unwrap(), None);

    let first = store
        .put(
            "joins",
            "asset-1",
            object(json!({"a": 1})),
            Condition::Always,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        first,
        Item {
            key: "asset-1".into(),
            value: object(json!({"a": 1})),
            version: 1,
            expires_at: None,
        }
    );
    assert_eq!(store.get("joins", "asset-1").await.unwrap(), Some(first));
    let second = store
        .put(
            "joins",
            "asset-1",
            object(json!({"b": [1, 2]})),
            Condition::Always,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (second.version, second.value),
        (2, object(json!({"b": [1, 2]})))
    );

    let taken = store
        .put("joins", "asset-1", Map::new(), Condition::NotExists, None)
        .await;
    assert!(is_condition_failed(&taken, "joins", "asset-1"), "{taken:?}");
    assert_eq!(
        taken.unwrap_err().to_string(),
        "condition failed for joins/asset-1"
    );

    let third = store
        .put(
            "joins",
            "asset-1",
            object(json!({"c": true})),
            Condition::VersionIs(2),
            None,
        )
        .await
        .unwrap();
    assert_eq!(third.version, 3);
    let stale = store
        .put(
            "joins",
            "asset-1",
            Map::new(),
            Condition::VersionIs(2),
            None,
        )
        .await;
    assert!(is_condition_failed(&stale, "joins", "asset-1"));
    let absent = store
        .put("joins", "nobody", Map::new(), Condition::VersionIs(1), None)
        .await;
    assert!(is_condition_failed(&absent, "joins", "nobody"));

    let without_x = store
        .put(
            "joins",
            "asset-1",
            object(json!({"x": 1})),
            Condition::FieldAbsent("x".into()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(without_x.version, 4);
    let with_x = store
        .put(
            "joins",
            "asset-1",
            Map::new(),
            Condition::FieldAbsent("x".into()),
            None,
        )
        .await;
    assert!(is_condition_failed(&with_x, "joins", "asset-1"));
    let new = store
        .put(
            "joins",
            "asset-2",
            Map::new(),
            Condition::FieldAbsent("x".into()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(new.version, 1);

    // Tables are separate namespaces.
    assert_eq!(store.get("other", "asset-1").await.unwrap(), None);
    store
        .put("other", "asset-1", Map::new(), Condition::NotExists, None)
        .await
        .unwrap();

    store.delete("joins", "asset-1").await.unwrap();
    store.delete("joins", "asset-1").await.unwrap();
    assert_eq!(store.get("joins", "asset-1").await.unwrap(), None);
    assert!(store.get("other", "asset-1").await.unwrap().is_some());
    // A deleted item starts again at version 1.
    let again = store
        .put("joins", "asset-1", Map::new(), Condition::NotExists, None)
        .await
        .unwrap();
    assert_eq!(again.version, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twenty_racing_creates_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(file_store(dir.path()));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let value = object(json!({ "winner": i }));
                (
                    i,
                    store
                        .put("claims", "asset-9", value, Condition::NotExists, None)
                        .await,
                )
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (i, result) = task.await.unwrap();
        match result {
            Ok(item) => {
                assert_eq!(item.version, 1);
                winners.push(i);
            }
            Err(StateError::ConditionFailed { .. }) => {}
            Err(other) => panic!("task {i}: {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let item = store.get("claims", "asset-9").await.unwrap().unwrap();
    assert_eq!(item.value["winner"], winners[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_creates_through_two_connections_have_one_winner() {
    // Two stores on one file behave as two processes: only the database serialises them.
    let dir = tempfile::tempdir().unwrap();
    let stores = [
        Arc::new(file_store(dir.path())),
        Arc::new(file_store(dir.path())),
    ];
    for round in 0..10 {
        let key = format!("asset-{round}");
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let store = Arc::clone(&stores[i % 2]);
                let key = key.clone();
                tokio::spawn(async move {
                    store
                        .put("claims", &key, Map::new(), Condition::NotExists, None)
                        .await
                })
            })
            .collect();
        let mut wins = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => wins += 1,
                Err(StateError::ConditionFailed { .. }) => {}
                Err(other) => panic!("{other}"),
            }
        }
        assert_eq!(wins, 1, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn optimistic_updates_with_version_is_lose_nothing() {
    let store = Arc::new(SqliteStateStore::open_in_memory().unwrap());
    store
        .put(
            "counters",
            "c",
            object(json!({"n": 0})),
            Condition::NotExists,
            None,
        )
        .await
        .unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut conflicts = 0;
                loop {
                    let item = store.get("counters", "c").await.unwrap().unwrap();
                    let n = item.value["n"].as_i64().unwrap();
                    let updates = [Update::Set("n".into(), json!(n + 1))];
                    match store
                        .update(
                            "counters",
                            "c",
                            &updates,
                            Condition::VersionIs(item.version),
                        )
                        .await
                    {
                        Ok(written) => {
                            assert_eq!(written.version, item.version + 1);
                            return conflicts;
                        }
                        Err(StateError::ConditionFailed { .. }) => conflicts += 1,
                        Err(other) => panic!("{other}"),
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let item = store.get("counters", "c").await.unwrap().unwrap();
    assert_eq!(item.value["n"], 10);
    assert_eq!(item.version, 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_to_set_from_two_tasks_keeps_both_and_one_sees_the_set_complete() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(file_store(dir.path()));
    for round in 0..20 {
        let key = format!("asset-{round}");
        let tasks: Vec<_> = ["video", "audio"]
            .into_iter()
            .map(|arrival| {
                let store = Arc::clone(&store);
                let key = key.clone();
                tokio::spawn(async move {
                    let add = [Update::AddToSet("arrived".into(), vec![arrival.into()])];
                    store
                        .update("scene-joins", &key, &add, Condition::Always)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut complete = 0;
        for task in tasks {
            let item = task.await.unwrap();
            if item.value["arrived"] == json!(["audio", "video"]) {
                complete += 1;
            }
        }
        // Exactly one arrival sees both, so exactly one acts on the join.
        assert_eq!(complete, 1, "round {round}");
        let item = store.get("scene-joins", &key).await.unwrap().unwrap();
        assert_eq!(item.value["arrived"], json!(["audio", "video"]));
        assert_eq!(item.version, 2);
    }

    // Many members from two tasks at once, with overlap: a sorted set of unique strings.
    let tasks: Vec<_> = [0, 25]
        .into_iter()
        .map(|from| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in from..from + 50 {
                    let add = [Update::AddToSet(
                        "members".into(),
                        vec![format!("m{i:03}"), "common".into()],
                    )];
                    store
                        .update("sets", "big", &add, Condition::Always)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let item = store.get("sets", "big").await.unwrap().unwrap();
    let expected: BTreeSet<String> = (0..75)
        .map(|i| format!("m{i:03}"))
        .chain(["common".into()])
        .collect();
    assert_eq!(
        item.value["members"],
        json!(expected.into_iter().collect::<Vec<_>>())
    );
    assert_eq!(item.version, 100);
}

#[tokio::test]
async fn updates_create_absent_items_and_apply_atomically() {
    let store = SqliteStateStore::open_in_memory().unwrap();
    let refused = store
        .update(
            "t",
            "k",
            &[Update::Set("a".into(), json!(1))],
            Condition::VersionIs(1),
        )
        .await;
    assert!(is_condition_failed(&refused, "t", "k"));
    assert_eq!(store.get("t", "k").await.unwrap(), None);

    let created = store
        .update(
            "t",
            "k",
            &[
                Update::Set("name".into(), json!("clip")),
                Update::Increment("count".into(), 2),
                Update::AddToSet("tags".into(), vec!["b".into(), "a".into(), "b".into()]),
            ],
            Condition::NotExists,
        )
        .await
        .unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(
        created.value,
        object(json!({"name": "clip", "count": 2, "tags": ["a", "b"]}))
    );

    let updated = store
        .update(
            "t",
            "k",
            &[
                Update::Increment("count".into(), -5),
                Update::AddToSet("tags".into(), vec!["c".into(), "a".into()]),
            ],
            Condition::FieldAbsent("done".into()),
        )
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(
        updated.value,
        object(json!({"name": "clip", "count": -3, "tags": ["a", "b", "c"]}))
    );

    // RemoveFromSet ignores members the set lacks and absent fields; an emptied set goes.
    let removed = store
        .update(
            "t",
            "k",
            &[
                Update::RemoveFromSet("tags".into(), vec!["a".into(), "z".into()]),
                Update::RemoveFromSet("absent".into(), vec!["a".into()]),
            ],
            Condition::VersionIs(2),
        )
        .await
        .unwrap();
    assert_eq!(
        removed.value,
        object(json!({"name": "clip", "count": -3, "tags": ["b", "c"]}))
    );
    let emptied = store
        .update(
            "t",
            "k",
            &[Update::RemoveFromSet(
                "tags".into(),
                vec!["b".into(), "c".into()],
            )],
            Condition::Always,
        )
        .await
        .unwrap();
    assert_eq!(emptied.version, 4);
    assert_eq!(emptied.value, object(json!({"name": "clip", "count": -3})));

    // Increments on fractional numbers and at the edge of the integers.
    store
        .update(
            "t",
            "n",
            &[
                Update::Set("f".into(), json!(1.5)),
                Update::Set("big".into(), json!(i64::MAX)),
            ],
            Condition::Always,
        )
        .await
        .unwrap();
    let item = store
        .update(
            "t",
            "n",
            &[
                Update::Increment("f".into(), 1),
                Update::Increment("big".into(), 1),
            ],
            Condition::Always,
        )
        .await
        .unwrap();
    assert_eq!(item.value["f"], 2.5);
    assert_eq!(item.value["big"], json!(i64::MAX as u64 + 1));
    let overflow = store
        .update(
            "t",
            "n",
            &[
                Update::Set("f".into(), json!(0)),
                Update::Increment("big".into(), i64::MAX),
                Update::Increment("big".into(), 1),
            ],
            Condition::Always,
        )
        .await;
    assert!(
        matches!(overflow, Err(StateError::Failed(_))),
        "{overflow:?}"
    );
    assert_eq!(
        store.get("t", "n").await.unwrap().unwrap(),
        item,
        "a failed update changed the item"
    );
}

#[tokio::test]
async fn wrong_types_are_refused_and_change_nothing() {
    let store = SqliteStateStore::open_in_memory().unwrap();
    let original = store
        .put(
            "t",
            "k",
            object(json!({"s": "text", "mixed": ["a", 1], "n": 1, "null": null})),
            Condition::Always,
            None,
        )
        .await
        .unwrap();
    let cases = [
        (Update::Increment("s".into(), 1), "s", "number"),
        (Update::Increment("mixed".into(), 1), "mixed", "number"),
        (Update::Increment("null".into(), 1), "null", "number"),
        (
            Update::AddToSet("s".into(), vec!["x".into()]),
            "s",
            "set of strings",
        ),
        (
            Update::AddToSet("n".into(), vec!["x".into()]),
            "n",
            "set of strings",
        ),
        (
            Update::AddToSet("mixed".into(), vec!["x".into()]),
            "mixed",
            "set of strings",
        ),
        (
            Update::AddToSet("null".into(), vec!["x".into()]),
            "null",
            "set of strings",
        ),
        (
            Update::RemoveFromSet("s".into(), vec!["x".into()]),
            "s",
            "set of strings",
        ),
        (
            Update::RemoveFromSet("mixed".into(), vec!["a".into()]),
            "mixed",
            "set of strings",
        ),
    ];
    for (update, field_name, expected_type) in cases {
        // The Set before the bad update must not land either.
        let updates = [Update::Set("touched".into(), json!(true)), update.clone()];
        let result = store.update("t", "k", &updates, Condition::Always).await;
        match result {
            Err(StateError::WrongType {
                table,
                key,
                field,
                expected,
            }) => {
                assert_eq!((table.as_str(), key.as_str()), ("t", "k"));
                assert_eq!(
                    (field.as_str(), expected),
                    (field_name, expected_type),
                    "{update:?}"
                );
            }
            other => panic!("{update:?} gave {other:?}"),
        }
    }
    assert_eq!(store.get("t", "k").await.unwrap(), Some(original));
}

#[tokio::test]
async fn expired_items_count_as_absent_everywhere() {
    let start = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    let clock = Arc::new(FixedClock::new(start));
    let store = SqliteStateStore::open_in_memory()
        .unwrap()
        .with_clock(clock.clone());

    let item = store
        .put(
            "t",
            "k",
            object(json!({"a": 1})),
            Condition::Always,
            Some(Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert_eq!(item.expires_at, Some(start + chrono::Duration::seconds(60)));
    // An update keeps the expiry.
    let item = store
        .update(
            "t",
            "k",
            &[Update::Increment("a".into(), 1)],
            Condition::Always,
        )
        .await
        .unwrap();
    assert_eq!(
        (item.version, item.expires_at),
        (2, Some(start + chrono::Duration::seconds(60)))
    );

    clock.advance(chrono::Duration::seconds(60));
    assert!(
        store.get("t", "k").await.unwrap().is_some(),
        "alive at its expiry"
    );
    clock.advance(chrono::Duration::milliseconds(1));
    assert_eq!(store.get("t", "k").await.unwrap(), None);
    let refused = store.update("t", "k", &[], Condition::VersionIs(2)).await;
    assert!(is_condition_failed(&refused, "t", "k"));

    // An update recreates it from nothing, without an expiry.
    let fresh = store
        .update(
            "t",
            "k",
            &[Update::Increment("a".into(), 1)],
            Condition::FieldAbsent("a".into()),
        )
        .await
        .unwrap();
    assert_eq!((fresh.version, fresh.expires_at), (1, None));
    assert_eq!(fresh.value, object(json!({"a": 1})));

    store
        .put(
            "t",
            "gone",
            Map::new(),
            Condition::Always,
            Some(Duration::from_millis(10)),
        )
        .await
        .unwrap();
    clock.advance(chrono::Duration::seconds(1));
    let recreated = store
        .put(
            "t",
            "gone",
            object(json!({"b": 2})),
            Condition::NotExists,
            None,
        )
        .await
        .unwrap();
    assert_eq!(recreated.version, 1);

    store
        .put(
            "t",
            "old",
            Map::new(),
            Condition::Always,
            Some(Duration::from_secs(1)),
        )
        .await
        .unwrap();
    clock.advance(chrono::Duration::seconds(2));
    assert_eq!(store.purge_expired().await.unwrap(), 1);
    assert_eq!(store.purge_expired().await.unwrap(), 0);
}

#[tokio::test]
async fn a_short_ttl_expires_on_the_system_clock() {
    let store = SqliteStateStore::open_in_memory().unwrap();
    store
        .put(
            "t",
            "k",
            Map::new(),
            Condition::Always,
            Some(Duration::from_millis(50)),
        )
        .await
        .unwrap();
    assert!(store.get("t", "k").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(store.get("t", "k").await.unwrap(), None);
}

#[tokio::test]
async fn items_persist_across_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let written = {
        let store = file_store(dir.path());
        store
            .put(
                "t",
                "k",
                object(json!({"unicode": "été ✓", "n": 1})),
                Condition::NotExists,
                None,
            )
            .await
            .unwrap();
        store
            .update(
                "t",
                "k",
                &[Update::AddToSet("s".into(), vec!["x".into()])],
                Condition::VersionIs(1),
            )
            .await
            .unwrap()
    };
    let store = file_store(dir.path());
    assert_eq!(store.get("t", "k").await.unwrap(), Some(written));
    let next = store
        .update(
            "t",
            "k",
            &[Update::Increment("n".into(), 1)],
            Condition::VersionIs(2),
        )
        .await
        .unwrap();
    assert_eq!(next.version, 3);

    let check = rusqlite::Connection::open(dir.path().join("state").join("state.db")).unwrap();
    let mode: String = check
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let rows: i64 = check
        .query_row("SELECT count(*) FROM items", [], |row| row.get(0))
        .unwrap();
    assert_eq!(rows, 1);
}
