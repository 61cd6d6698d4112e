//! [`StateStore`] on Amazon DynamoDB.
//!
//! # Table layout
//!
//! One table holds every logical table of every service; Terraform creates it (and
//! [`DynamoStateStore::create_table`] does the same on an emulator):
//!
//! | attribute | type | holds |
//! |---|---|---|
//! | `pk` | S, the partition key (no sort key) | `<table>#<key>`, e.g. `scene#0b9d3d4e-…` |
//! | `version` | N | 1 on creation, +1 on every write |
//! | `expiresAt` | N | epoch seconds; the table's TTL attribute; absent when the item never expires |
//! | `v_<field>` | any | one attribute per top-level field of the item's JSON value |
//!
//! One table rather than one per logical table keeps Terraform and IAM simple (a service's
//! policy can still be narrowed with `dynamodb:LeadingKeys` on `<table>#*`). Top-level
//! fields are attributes of their own, rather than one map or JSON string, so updates are
//! single atomic `UpdateItem` calls: `SET` for [`Update::Set`], `ADD` of a string set for
//! [`Update::AddToSet`], `DELETE` of a string set for [`Update::RemoveFromSet`] and `ADD` of a
//! number for [`Update::Increment`]. The `v_` prefix keeps
//! field names from colliding with `pk`, `version` and `expiresAt`.
//!
//! # Values
//!
//! JSON maps to DynamoDB types as the SDKs' document mappers do (object → M, array → L,
//! string → S, number → N, bool → BOOL, null → NULL), with one twist: a top-level array of
//! strings that is sorted and unique (what `AddToSet` produces, and the only way the port
//! defines a set) is stored as a string set (SS), so a later `AddToSet` stays one atomic `ADD`.
//! Reading an SS gives back the sorted array, so the round trip is exact. DynamoDB normalises
//! numbers: `1.0` reads back as `1`. An item is at most 400 KB.
//!
//! # Expiry
//!
//! DynamoDB deletes expired items within a few days, not at once, so an item whose
//! `expiresAt` has passed reads as absent here (as in the SQLite store), conditions treat it
//! as absent, and a write over it starts a new item at version 1.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ScalarAttributeType, TimeToLiveSpecification,
};
use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{Map, Number, Value};

use super::errors::Fault;
use crate::ports::{Clock, Condition, Item, StateError, StateStore, SystemClock, Update};

/// The partition key attribute: `<table>#<key>`.
pub const PARTITION_KEY: &str = "pk";
/// The version attribute.
pub const VERSION_ATTRIBUTE: &str = "version";
/// The TTL attribute, in epoch seconds.
pub const EXPIRES_ATTRIBUTE: &str = "expiresAt";
/// The prefix of the attribute of each top-level field of an item's value.
pub const FIELD_PREFIX: &str = "v_";

/// How many times a write that lost a race (or found an expired item in its way) is tried
/// again before giving up with [`StateError::Unavailable`].
const MAX_ATTEMPTS: u32 = 8;

/// A [`StateStore`] on one DynamoDB table (see the module docs for its layout).
#[derive(Clone)]
pub struct DynamoStateStore {
    client: Client,
    table_name: String,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DynamoStateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStateStore")
            .field("table_name", &self.table_name)
            .finish_non_exhaustive()
    }
}

impl DynamoStateStore {
    /// A store on the DynamoDB table `table_name`.
    pub fn new(sdk: &SdkConfig, table_name: &str) -> Self {
        Self::from_client(Client::new(sdk), table_name)
    }

    pub fn from_client(client: Client, table_name: &str) -> Self {
        Self {
            client,
            table_name: table_name.to_owned(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Judges expiry by `clock` instead of the system's (for tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn table_name(&self) -> &str {
        &self.table_name
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates the table (on-demand capacity, TTL on `expiresAt`) if it does not exist. On
    /// AWS, Terraform owns the table; this is for emulators and tests.
    pub async fn create_table(&self) -> Result<(), StateError> {
        let fail = |operation: &str, fault: Fault| {
            StateError::Failed(format!(
                "creating table {}: {operation}: {}",
                self.table_name, fault.message
            ))
        };
        let definition = AttributeDefinition::builder()
            .attribute_name(PARTITION_KEY)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| StateError::Failed(e.to_string()))?;
        let key = KeySchemaElement::builder()
            .attribute_name(PARTITION_KEY)
            .key_type(KeyType::Hash)
            .build()
            .map_err(|e| StateError::Failed(e.to_string()))?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table_name)
            .attribute_definitions(definition)
            .key_schema(key)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        if let Err(e) = created {
            let fault = Fault::of("CreateTable", &e);
            if !fault.code_is("ResourceInUseException") {
                return Err(fail("CreateTable", fault));
            }
        }
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(EXPIRES_ATTRIBUTE)
            .enabled(true)
            .build()
            .map_err(|e| StateError::Failed(e.to_string()))?;
        let enabled = self
            .client
            .update_time_to_live()
            .table_name(&self.table_name)
            .time_to_live_specification(ttl)
            .send()
            .await;
        if let Err(e) = enabled {
            let fault = Fault::of("UpdateTimeToLive", &e);
            // DynamoDB refuses to enable TTL twice ("TimeToLive is already enabled"): fine.
            let already =
                fault.code_is("ValidationException") && fault.message.contains("already enabled");
            if !already {
                return Err(fail("UpdateTimeToLive", fault));
            }
        }
        Ok(())
    }

    fn now_secs(&self) -> i64 {
        self.clock.now().timestamp()
    }

    fn key_of(&self, table: &str, key: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([(
            PARTITION_KEY.to_owned(),
            AttributeValue::S(partition_key(table, key)),
        )])
    }

    /// The stored item, expired or not (consistent read).
    async fn read(&self, table: &str, key: &str) -> Result<Option<Stored>, StateError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table_name)
            .set_key(Some(self.key_of(table, key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| state_error(Fault::of("GetItem", &e), table, key))?;
        output
            .item
            .map(|item| Stored::decode(table, key, item))
            .transpose()
    }

    /// The live item: stored and not expired.
    async fn read_live(&self, table: &str, key: &str) -> Result<Option<Stored>, StateError> {
        let now = self.now_secs();
        Ok(self
            .read(table, key)
            .await?
            .filter(|stored| !stored.expired(now)))
    }

    /// Writes a whole item with PutItem, on a condition already built into `expr`.
    async fn put_item(
        &self,
        table: &str,
        key: &str,
        attributes: HashMap<String, AttributeValue>,
        condition: String,
        expr: Expr,
    ) -> Result<(), StateError> {
        let (names, values) = expr.into_parts();
        self.client
            .put_item()
            .table_name(&self.table_name)
            .set_item(Some(attributes))
            .condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .send()
            .await
            .map_err(|e| state_error(Fault::of("PutItem", &e), table, key))?;
        Ok(())
    }

    /// Writes `value` over what `current` says is there: nothing (or an expired item), or a
    /// live item that must still be at its version, so any condition the caller checked on
    /// `current` still holds when the write lands.
    async fn write_over(
        &self,
        table: &str,
        key: &str,
        current: Option<&Stored>,
        value: &Map<String, Value>,
        expires_at: Option<i64>,
    ) -> Result<Item, StateError> {
        let mut expr = Expr::default();
        let now = self.now_secs();
        let (version, condition) = match current {
            None => (1, expr.absent_or_expired(now)),
            Some(live) => (
                live.version + 1,
                expr.at_version_and_live(live.version, now),
            ),
        };
        let attributes = encode_item(table, key, value, version, expires_at);
        self.put_item(table, key, attributes, condition, expr)
            .await?;
        Ok(Item {
            key: key.to_owned(),
            value: value.clone(),
            version,
            expires_at: expires_at.and_then(|secs| DateTime::from_timestamp(secs, 0)),
        })
    }

    /// Update as one UpdateItem: SET and ADD on the item's attributes, created when absent.
    /// `None` when DynamoDB refuses the expression for the item's types (ADD or DELETE on a
    /// field of another type), or when it cannot say the update (a DELETE of no members):
    /// [`Self::update_by_rewrite`] sorts those out.
    async fn update_in_place(
        &self,
        table: &str,
        key: &str,
        updates: &[Update],
        condition: &Condition,
    ) -> Result<Option<Item>, StateError> {
        let now = self.now_secs();
        let mut expr = Expr::default();
        // The actions that can meet a field of another type come first (the DELETEs, then the
        // set ADDs), then the ones that cannot, then the SETs. DynamoDB applies an update all
        // or nothing whatever the order; an emulator that applies actions one by one then
        // fails before changing anything.
        let (mut deletes, mut set_adds, mut number_adds, mut sets) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for update in updates {
            match update {
                Update::Set(field, value) => {
                    let name = expr.name(&field_attribute(field));
                    let value = expr.value(to_attribute(value, true));
                    sets.push(format!("{name} = {value}"));
                }
                Update::AddToSet(field, members) => {
                    let name = expr.name(&field_attribute(field));
                    let members = sorted_unique(members);
                    if members.is_empty() {
                        // DynamoDB has no empty set: make sure the field exists, as an empty array.
                        let empty = expr.value(AttributeValue::L(Vec::new()));
                        sets.push(format!("{name} = if_not_exists({name}, {empty})"));
                    } else {
                        let members = expr.value(AttributeValue::Ss(members));
                        set_adds.push(format!("{name} {members}"));
                    }
                }
                Update::RemoveFromSet(field, members) => {
                    let members = sorted_unique(members);
                    if members.is_empty() {
                        // DELETE needs a non-empty set; the rewrite still checks the field's type.
                        return Ok(None);
                    }
                    let name = expr.name(&field_attribute(field));
                    let members = expr.value(AttributeValue::Ss(members));
                    deletes.push(format!("{name} {members}"));
                }
                Update::Increment(field, by) => {
                    let name = expr.name(&field_attribute(field));
                    let by = expr.value(AttributeValue::N(by.to_string()));
                    number_adds.push(format!("{name} {by}"));
                }
            }
        }
        let version = expr.name(VERSION_ATTRIBUTE);
        let one = expr.value(AttributeValue::N("1".into()));
        let mut adds = set_adds;
        adds.append(&mut number_adds);
        adds.push(format!("{version} {one}"));
        let mut expression = if deletes.is_empty() {
            String::new()
        } else {
            format!("DELETE {} ", deletes.join(", "))
        };
        expression.push_str(&format!("ADD {}", adds.join(", ")));
        if !sets.is_empty() {
            expression.push_str(&format!(" SET {}", sets.join(", ")));
        }
        let live = expr.live(now);
        let condition = match expr.condition(condition) {
            Some(user) => format!("({live}) AND ({user})"),
            None => live,
        };
        let (names, values) = expr.into_parts();
        let updated = self
            .client
            .update_item()
            .table_name(&self.table_name)
            .set_key(Some(self.key_of(table, key)))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let output = match updated {
            Ok(output) => output,
            Err(e) => {
                let fault = Fault::of("UpdateItem", &e);
                if fault.code_is("ValidationException") {
                    tracing::debug!(table, key, error = %fault.message, "UpdateItem refused; rewriting the item instead");
                    return Ok(None);
                }
                return Err(state_error(fault, table, key));
            }
        };
        let attributes = output.attributes.unwrap_or_default();
        Ok(Some(Stored::decode(table, key, attributes)?.into_item(key)))
    }

    /// Update by reading, applying the updates here, and writing back on the version read:
    /// for what one UpdateItem cannot say (a field updated twice, an `AddToSet` on an array
    /// that is not yet a string set), and to name the field of a type error.
    async fn update_by_rewrite(
        &self,
        table: &str,
        key: &str,
        updates: &[Update],
        condition: &Condition,
    ) -> Result<Item, StateError> {
        self.write_on_current(table, key, condition, |current| {
            let mut value = current.map(|c| c.value.clone()).unwrap_or_default();
            apply(&mut value, updates, table, key)?;
            Ok((value, current.and_then(|c| c.expires_at)))
        })
        .await
    }

    /// Reads the live item, checks `condition` on it, writes what `next` makes of it on the
    /// version read, and goes again when another writer got in between.
    async fn write_on_current(
        &self,
        table: &str,
        key: &str,
        condition: &Condition,
        next: impl Fn(Option<&Stored>) -> Result<(Map<String, Value>, Option<i64>), StateError> + Sync,
    ) -> Result<Item, StateError> {
        for attempt in 0..MAX_ATTEMPTS {
            let current = self.read_live(table, key).await?;
            if !holds(condition, current.as_ref()) {
                return Err(condition_failed(table, key));
            }
            let (value, expires_at) = next(current.as_ref())?;
            match self
                .write_over(table, key, current.as_ref(), &value, expires_at)
                .await
            {
                Err(StateError::ConditionFailed { .. }) => backoff(attempt).await,
                done => return done,
            }
        }
        Err(contended(table, key))
    }

    /// Deletes the item if it is still the expired one read, so a write can start afresh.
    async fn clear_expired(
        &self,
        table: &str,
        key: &str,
        expired: &Stored,
    ) -> Result<(), StateError> {
        let mut expr = Expr::default();
        let version = expr.name(VERSION_ATTRIBUTE);
        let at = expr.value(AttributeValue::N(expired.version.to_string()));
        let (names, values) = expr.into_parts();
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table_name)
            .set_key(Some(self.key_of(table, key)))
            .condition_expression(format!("{version} = {at}"))
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .send()
            .await
            .map_err(|e| state_error(Fault::of("DeleteItem", &e), table, key));
        match deleted {
            // Someone else replaced it first: fine, the caller reads again.
            Ok(_) | Err(StateError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl StateStore for DynamoStateStore {
    async fn get(&self, table: &str, key: &str) -> Result<Option<Item>, StateError> {
        Ok(self
            .read_live(table, key)
            .await?
            .map(|stored| stored.into_item(key)))
    }

    async fn put(
        &self,
        table: &str,
        key: &str,
        value: Map<String, Value>,
        condition: Condition,
        ttl: Option<Duration>,
    ) -> Result<Item, StateError> {
        let expires_at = ttl.map(|ttl| expiry_secs(self.clock.now(), ttl));
        match condition {
            // One conditional PutItem each: the condition says all.
            Condition::NotExists => self.write_over(table, key, None, &value, expires_at).await,
            Condition::VersionIs(version) => {
                let at = Stored::at_version(version);
                self.write_over(table, key, Some(&at), &value, expires_at)
                    .await
            }
            // The next version depends on the current one: read it, write on it, and go
            // again if someone wrote in between.
            Condition::Always | Condition::FieldAbsent(_) => {
                self.write_on_current(table, key, &condition, |_| Ok((value.clone(), expires_at)))
                    .await
            }
        }
    }

    async fn update(
        &self,
        table: &str,
        key: &str,
        updates: &[Update],
        condition: Condition,
    ) -> Result<Item, StateError> {
        if has_repeated_field(updates) {
            return self
                .update_by_rewrite(table, key, updates, &condition)
                .await;
        }
        for attempt in 0..MAX_ATTEMPTS {
            match self.update_in_place(table, key, updates, &condition).await {
                Err(StateError::ConditionFailed { .. }) => {
                    // Either the caller's condition failed, or an expired item is in the way.
                    let stored = self.read(table, key).await?;
                    match stored {
                        Some(expired) if expired.expired(self.now_secs()) => {
                            self.clear_expired(table, key, &expired).await?;
                        }
                        current => {
                            if !holds(&condition, current.as_ref()) {
                                return Err(condition_failed(table, key));
                            }
                            // It holds now: the item changed since; go again.
                            backoff(attempt).await;
                        }
                    }
                }
                // DynamoDB refuses ADD or DELETE on a field of another type: find out which,
                // or convert an array of strings to a set.
                Ok(None) => {
                    return self
                        .update_by_rewrite(table, key, updates, &condition)
                        .await;
                }
                Ok(Some(item)) => return Ok(item),
                Err(e) => return Err(e),
            }
        }
        Err(contended(table, key))
    }

    async fn delete(&self, table: &str, key: &str) -> Result<(), StateError> {
        self.client
            .delete_item()
            .table_name(&self.table_name)
            .set_key(Some(self.key_of(table, key)))
            .send()
            .await
            .map_err(|e| state_error(Fault::of("DeleteItem", &e), table, key))?;
        Ok(())
    }
}

/// An item as stored: decoded, with its expiry as epoch seconds.
#[derive(Debug, Clone, PartialEq)]
struct Stored {
    value: Map<String, Value>,
    version: u64,
    expires_at: Option<i64>,
}

impl Stored {
    /// A stand-in for a live item at `version`, for a write conditioned on that version.
    fn at_version(version: u64) -> Self {
        Self {
            value: Map::new(),
            version,
            expires_at: None,
        }
    }

    fn decode(
        table: &str,
        key: &str,
        attributes: HashMap<String, AttributeValue>,
    ) -> Result<Self, StateError> {
        let mut stored = Self {
            value: Map::new(),
            version: 0,
            expires_at: None,
        };
        let malformed =
            |what: &str| StateError::Failed(format!("item {table}/{key} has a malformed {what}"));
        for (name, attribute) in attributes {
            if name == VERSION_ATTRIBUTE {
                stored.version =
                    number_of(&attribute).ok_or_else(|| malformed(VERSION_ATTRIBUTE))?;
            } else if name == EXPIRES_ATTRIBUTE {
                stored.expires_at =
                    Some(number_of(&attribute).ok_or_else(|| malformed(EXPIRES_ATTRIBUTE))?);
            } else if let Some(field) = name.strip_prefix(FIELD_PREFIX) {
                stored.value.insert(field.to_owned(), to_json(&attribute));
            }
        }
        // Fields in a stable order (DynamoDB returns attributes unordered).
        stored.value.sort_keys();
        Ok(stored)
    }

    fn expired(&self, now_secs: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now_secs)
    }

    fn into_item(self, key: &str) -> Item {
        Item {
            key: key.to_owned(),
            value: self.value,
            version: self.version,
            expires_at: self
                .expires_at
                .and_then(|secs| DateTime::from_timestamp(secs, 0)),
        }
    }
}

/// `ExpressionAttributeNames`: placeholder → attribute name.
type Names = HashMap<String, String>;
/// `ExpressionAttributeValues`: placeholder → value.
type Values = HashMap<String, AttributeValue>;

/// Placeholders for an expression's attribute names and values.
#[derive(Debug, Default)]
struct Expr {
    names: Names,
    values: Values,
}

impl Expr {
    /// `#nK` for the attribute `name` (the same placeholder for the same name).
    fn name(&mut self, name: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, n)| n.as_str() == name) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    /// `:vK` for `value`.
    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn now(&mut self, now_secs: i64) -> String {
        self.value(AttributeValue::N(now_secs.to_string()))
    }

    /// The item does not expire, or has not expired yet (true when it does not exist).
    fn live(&mut self, now_secs: i64) -> String {
        let expires = self.name(EXPIRES_ATTRIBUTE);
        let now = self.now(now_secs);
        format!("attribute_not_exists({expires}) OR {expires} > {now}")
    }

    /// No item, or an expired one.
    fn absent_or_expired(&mut self, now_secs: i64) -> String {
        let pk = self.name(PARTITION_KEY);
        let expires = self.name(EXPIRES_ATTRIBUTE);
        let now = self.now(now_secs);
        format!("attribute_not_exists({pk}) OR {expires} <= {now}")
    }

    /// A live item at exactly `version`.
    fn at_version_and_live(&mut self, version: u64, now_secs: i64) -> String {
        let name = self.name(VERSION_ATTRIBUTE);
        let at = self.value(AttributeValue::N(version.to_string()));
        let live = self.live(now_secs);
        format!("{name} = {at} AND ({live})")
    }

    /// The caller's condition, for an UpdateItem that also requires the item to be live.
    fn condition(&mut self, condition: &Condition) -> Option<String> {
        match condition {
            Condition::Always => None,
            Condition::NotExists => {
                let pk = self.name(PARTITION_KEY);
                Some(format!("attribute_not_exists({pk})"))
            }
            Condition::VersionIs(version) => {
                let name = self.name(VERSION_ATTRIBUTE);
                let at = self.value(AttributeValue::N(version.to_string()));
                Some(format!("{name} = {at}"))
            }
            Condition::FieldAbsent(field) => {
                let name = self.name(&field_attribute(field));
                Some(format!("attribute_not_exists({name})"))
            }
        }
    }

    /// Names and values for the request; DynamoDB refuses empty maps.
    fn into_parts(self) -> (Option<Names>, Option<Values>) {
        (
            (!self.names.is_empty()).then_some(self.names),
            (!self.values.is_empty()).then_some(self.values),
        )
    }
}

/// Whether `condition` holds for the live item `current` (`None`: absent or expired).
fn holds(condition: &Condition, current: Option<&Stored>) -> bool {
    match (condition, current) {
        (Condition::Always, _) => true,
        (Condition::NotExists, current) => current.is_none(),
        (Condition::VersionIs(version), Some(current)) => current.version == *version,
        (Condition::VersionIs(_), None) => false,
        (Condition::FieldAbsent(field), current) => {
            current.is_none_or(|c| !c.value.contains_key(field))
        }
    }
}

/// Applies `updates` to `value` as the port defines them.
fn apply(
    value: &mut Map<String, Value>,
    updates: &[Update],
    table: &str,
    key: &str,
) -> Result<(), StateError> {
    for update in updates {
        update
            .apply_to(value)
            .map_err(|conflict| StateError::from_conflict(table, key, conflict))?;
    }
    Ok(())
}

fn has_repeated_field(updates: &[Update]) -> bool {
    let mut seen = std::collections::HashSet::new();
    updates.iter().any(|update| {
        let field = match update {
            Update::Set(field, _)
            | Update::AddToSet(field, _)
            | Update::RemoveFromSet(field, _)
            | Update::Increment(field, _) => field,
        };
        !seen.insert(field.as_str())
    })
}

fn sorted_unique(members: &[String]) -> Vec<String> {
    let mut members = members.to_vec();
    members.sort();
    members.dedup();
    members
}

fn partition_key(table: &str, key: &str) -> String {
    format!("{table}#{key}")
}

fn field_attribute(field: &str) -> String {
    format!("{FIELD_PREFIX}{field}")
}

/// `now + ttl` in epoch seconds, rounded up: an item never expires early.
fn expiry_secs(now: DateTime<Utc>, ttl: Duration) -> i64 {
    let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
    let at = now
        .checked_add_signed(ttl)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let secs = at.timestamp();
    if at.timestamp_subsec_nanos() > 0 {
        secs + 1
    } else {
        secs
    }
}

fn encode_item(
    table: &str,
    key: &str,
    value: &Map<String, Value>,
    version: u64,
    expires_at: Option<i64>,
) -> HashMap<String, AttributeValue> {
    let mut attributes = HashMap::with_capacity(value.len() + 3);
    attributes.insert(
        PARTITION_KEY.to_owned(),
        AttributeValue::S(partition_key(table, key)),
    );
    attributes.insert(
        VERSION_ATTRIBUTE.to_owned(),
        AttributeValue::N(version.to_string()),
    );
    if let Some(at) = expires_at {
        attributes.insert(
            EXPIRES_ATTRIBUTE.to_owned(),
            AttributeValue::N(at.to_string()),
        );
    }
    for (field, v) in value {
        attributes.insert(field_attribute(field), to_attribute(v, true));
    }
    attributes
}

/// JSON → DynamoDB. `top_level`: a sorted, unique, non-empty array of strings becomes a
/// string set there (see the module docs).
fn to_attribute(value: &Value, top_level: bool) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => match string_set(items) {
            Some(set) if top_level => AttributeValue::Ss(set),
            _ => AttributeValue::L(items.iter().map(|v| to_attribute(v, false)).collect()),
        },
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(k, v)| (k.clone(), to_attribute(v, false)))
                .collect(),
        ),
    }
}

/// The strings of `items` if they are a non-empty, strictly ascending list of strings.
fn string_set(items: &[Value]) -> Option<Vec<String>> {
    let strings = items
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()?;
    let ascending = strings.windows(2).all(|pair| pair[0] < pair[1]);
    (!strings.is_empty() && ascending).then_some(strings)
}

/// DynamoDB → JSON. Sets become sorted arrays; binary becomes base64 text.
fn to_json(attribute: &AttributeValue) -> Value {
    match attribute {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => number_json(n),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(items) => Value::Array(items.iter().map(to_json).collect()),
        AttributeValue::M(map) => {
            let mut object: Map<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect();
            object.sort_keys();
            Value::Object(object)
        }
        AttributeValue::Ss(set) => {
            Value::Array(sorted_unique(set).into_iter().map(Value::String).collect())
        }
        AttributeValue::Ns(set) => {
            let mut numbers: Vec<Value> = set.iter().map(|n| number_json(n)).collect();
            numbers.sort_by(|a, b| {
                let (a, b) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                a.total_cmp(&b)
            });
            Value::Array(numbers)
        }
        AttributeValue::B(blob) => Value::String(aws_smithy_types::base64::encode(blob.as_ref())),
        AttributeValue::Bs(blobs) => Value::Array(
            blobs
                .iter()
                .map(|b| Value::String(aws_smithy_types::base64::encode(b.as_ref())))
                .collect(),
        ),
        _ => Value::Null,
    }
}

fn number_json(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        Value::from(i)
    } else if let Ok(u) = text.parse::<u64>() {
        Value::from(u)
    } else {
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(text.to_owned()), Value::Number)
    }
}

fn number_of<T: std::str::FromStr>(attribute: &AttributeValue) -> Option<T> {
    match attribute {
        AttributeValue::N(n) => n.parse().ok(),
        _ => None,
    }
}

fn state_error(fault: Fault, table: &str, key: &str) -> StateError {
    if fault.code_is("ConditionalCheckFailedException") {
        condition_failed(table, key)
    } else if fault.transient {
        StateError::Unavailable(fault.message)
    } else if fault.code_is("ResourceNotFoundException") {
        StateError::Failed(format!(
            "the DynamoDB table does not exist ({})",
            fault.message
        ))
    } else {
        StateError::Failed(fault.message)
    }
}

fn condition_failed(table: &str, key: &str) -> StateError {
    StateError::ConditionFailed {
        table: table.to_owned(),
        key: key.to_owned(),
    }
}

fn contended(table: &str, key: &str) -> StateError {
    StateError::Unavailable(format!(
        "{table}/{key} changed under {MAX_ATTEMPTS} attempts to write it in a row; try again"
    ))
}

/// A short, jittered pause before trying a contended write again.
async fn backoff(attempt: u32) {
    let cap_ms = (10u64 << attempt.min(6)).min(500);
    let ms = rand::rng().random_range(cap_ms / 2..=cap_ms);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn values_round_trip_through_attributes() {
        let value = object(json!({
            "arrivals": ["audio", "video"],
            "empty": [],
            "list": ["b", "a", "a"],
            "count": 3,
            "negative": -4,
            "ratio": 0.25,
            "flag": true,
            "none": null,
            "nested": {"z": [1, "two"], "a": {"deep": "yes"}, "set": ["a", "b"]},
            "text": "",
        }));
        let attributes = encode_item("scene", "k", &value, 7, Some(1_700_000_000));
        assert!(matches!(attributes["v_arrivals"], AttributeValue::Ss(_)));
        assert!(matches!(attributes["v_list"], AttributeValue::L(_)));
        assert!(matches!(attributes["v_empty"], AttributeValue::L(_)));
        assert_eq!(attributes["pk"], AttributeValue::S("scene#k".into()));
        let stored = Stored::decode("scene", "k", attributes).unwrap();
        let mut expected = value.clone();
        expected.sort_keys();
        assert_eq!(stored.value, expected);
        assert_eq!(stored.version, 7);
        assert_eq!(stored.expires_at, Some(1_700_000_000));
    }

    #[test]
    fn updates_apply_as_the_port_defines_them() {
        let mut value = object(json!({"seen": [], "n": 1, "name": "x"}));
        let updates = [
            Update::AddToSet("seen".into(), vec!["b".into(), "a".into(), "b".into()]),
            Update::AddToSet("seen".into(), vec!["c".into()]),
            Update::RemoveFromSet("seen".into(), vec!["a".into(), "z".into()]),
            Update::Increment("n".into(), 2),
            Update::Increment("m".into(), -1),
            Update::Set("name".into(), json!("y")),
        ];
        apply(&mut value, &updates, "t", "k").unwrap();
        assert_eq!(
            Value::Object(value),
            json!({"seen": ["b", "c"], "n": 3, "m": -1, "name": "y"})
        );

        let mut value = object(json!({"name": "x"}));
        let err = apply(&mut value, &[Update::Increment("name".into(), 1)], "t", "k").unwrap_err();
        assert!(
            matches!(err, StateError::WrongType { ref field, .. } if field == "name"),
            "{err}"
        );
        let err = apply(
            &mut value,
            &[Update::AddToSet("name".into(), vec![])],
            "t",
            "k",
        )
        .unwrap_err();
        assert!(matches!(err, StateError::WrongType { .. }), "{err}");
    }

    #[test]
    fn conditions_hold_as_the_port_defines_them() {
        let live = Stored {
            value: object(json!({"a": 1})),
            version: 3,
            expires_at: None,
        };
        assert!(holds(&Condition::Always, None));
        assert!(holds(&Condition::NotExists, None));
        assert!(!holds(&Condition::NotExists, Some(&live)));
        assert!(holds(&Condition::VersionIs(3), Some(&live)));
        assert!(!holds(&Condition::VersionIs(2), Some(&live)));
        assert!(!holds(&Condition::VersionIs(0), None));
        assert!(holds(&Condition::FieldAbsent("b".into()), Some(&live)));
        assert!(!holds(&Condition::FieldAbsent("a".into()), Some(&live)));
        assert!(holds(&Condition::FieldAbsent("a".into()), None));
    }

    #[test]
    fn expiry_rounds_up_to_whole_seconds() {
        let now = DateTime::from_timestamp(100, 500_000_000).unwrap();
        assert_eq!(expiry_secs(now, Duration::from_secs(10)), 111);
        let now = DateTime::from_timestamp(100, 0).unwrap();
        assert_eq!(expiry_secs(now, Duration::from_secs(10)), 110);
    }

    #[test]
    fn expressions_reuse_name_placeholders() {
        let mut expr = Expr::default();
        let a = expr.name("version");
        let b = expr.name("version");
        assert_eq!(a, b);
        assert_eq!(expr.live(5), "attribute_not_exists(#n1) OR #n1 > :v0");
        assert_eq!(expr.condition(&Condition::Always), None);
        let (names, values) = Expr::default().into_parts();
        assert!(names.is_none() && values.is_none());
    }
}
