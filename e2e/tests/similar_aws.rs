//! The near-duplicate index (`mediasift_kit::similar`) on DynamoDB through
//! `DynamoStateStore`, against moto: adds (spilling to overflow items, again without
//! change), queries and removals behave as on SQLite (services/kit/tests/similar.rs).

use std::sync::Arc;

use mediasift_e2e::moto::MotoServer;
use mediasift_kit::aws::DynamoStateStore;
use mediasift_kit::ports::StateStore;
use mediasift_kit::similar::{Entry, Match, NearDuplicateIndex, PHash, TABLE};
use uuid::Uuid;

#[tokio::test]
async fn near_duplicates_are_found_through_dynamodb() {
    let moto = MotoServer::start();
    let sdk = moto.sdk_config().await;
    let store = DynamoStateStore::new(&sdk, "state");
    store.create_table().await.expect("create table");
    let store = Arc::new(store);
    let index = NearDuplicateIndex::new(store.clone()).with_bucket_capacity(2);

    let hash = PHash(0x9f3a_c41d_0e77_b258);
    let video = Uuid::from_u128(0x51de0);
    let image = Uuid::from_u128(0x1a9e);
    // Five frames on one hash and an image 3 bits away from it (which shares 7 of its 8
    // buckets) fill each bucket's base item and spill to two overflow items; an unrelated
    // image has no byte in common with them.
    let mut entries: Vec<Entry> = (0..5u64)
        .map(|s| Entry::video_frame(video, s * 1000, hash))
        .collect();
    let near = Entry::image(image, PHash(hash.0 ^ 0b1011));
    let unrelated = Entry::image(Uuid::from_u128(0xfa4), PHash(!hash.0));
    entries.extend([near, unrelated]);
    index.add(&entries).await.expect("add");
    index.add(&entries).await.expect("add again");

    let base = format!("b0-{:02x}", hash.0 >> 56);
    let item = store
        .get(TABLE, &base)
        .await
        .unwrap()
        .expect("band 0's bucket");
    assert_eq!(item.value["overflow"], 2, "{:?}", item.value);
    assert_eq!(item.value["members"].as_array().unwrap().len(), 2);

    let found = index.near(hash, 7, 100).await.expect("near");
    let mut expected: Vec<Match> = (0..5u64)
        .map(|s| Match {
            entry: Entry::video_frame(video, s * 1000, hash),
            distance: 0,
        })
        .collect();
    expected.push(Match {
        entry: near,
        distance: 3,
    });
    assert_eq!(found, expected);

    // Removal is a DELETE of the members from whichever items hold them.
    index.remove(&entries[1..4]).await.expect("remove");
    let found: Vec<Entry> = index
        .near(hash, 7, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.entry)
        .collect();
    assert_eq!(found, [entries[0], entries[4], near]);
    assert_eq!(
        index.near(unrelated.hash, 0, 100).await.unwrap(),
        [Match {
            entry: unrelated,
            distance: 0
        }]
    );
}
