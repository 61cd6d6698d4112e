//! The embedded event bus: Amazon EventBridge semantics in one process, on one SQLite file.
//!
//! - **Rules.** Each service's rules are EventBridge event patterns, matched against the whole
//!   event. They come from a handler's `subscriptions()` ([`LocalBus::register`]) or from the
//!   committed contract files ([`LocalBus::register_rules`], [`LocalBus::load_rules_dir`]); the
//!   contract files win when both give a service's rules. An event goes to a service once,
//!   however many of its rules match (on AWS each rule is its own target, but every service
//!   handles an event idempotently, so one delivery is the same result for less work).
//! - **Publishing.** [`EventPublisher::publish`] archives each event and creates one pending
//!   delivery per target service, all in one transaction, before it returns: that is the
//!   acknowledgement, and from then on the event survives the process crashing (SQLite in WAL
//!   mode with `synchronous=NORMAL`: only an operating-system crash or power loss can take the
//!   last transactions, a trade made for speed). An event whose id is already archived is
//!   ignored (handlers derive their event ids from the cause, so a re-delivered event does not
//!   fan out twice). An event no rule matches is archived only. Events over EventBridge's
//!   256 KB are refused, as PutEvents would.
//! - **Delivery.** At least once. The dispatcher ([`LocalBus::start`] or
//!   [`LocalBus::run_until_idle`]) runs at most `concurrency_per_target` handler calls per
//!   service. A retryable error is retried after exponential backoff with full jitter until
//!   `max_attempts` or `max_event_age`; then, or on a permanent error or a handler panic, the
//!   delivery is dead-lettered and the service's `Processing Failed` event is published. The
//!   events a handler returns are published in the same transaction that marks its delivery
//!   done. The dispatcher claims a few deliveries ahead of its free slots (they show as in
//!   flight); deliveries a crashed process left in flight are delivered again when a dispatcher
//!   next starts, and a shutdown puts the claimed but unstarted ones back to pending.
//! - **Operations.** Dead letters can be listed and retried, archived events replayed or
//!   redelivered, and the archive read in order (`mediasift events --follow`).
//!
//! The bus schedules in wall-clock time, not `ports.clock`, so a test's fixed clock cannot
//! stall retries. Other processes may open the same database to read it or to retry and replay
//! (the dispatcher picks their deliveries up within `poll_interval`), but only one process at a
//! time should dispatch: starting a dispatcher takes over every delivery left in flight.

mod backoff;
mod config;
mod dispatch;
mod error;
mod records;
mod routes;
mod store;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use async_trait::async_trait;
use chrono::Utc;
use mediasift_schemas::RawEvent;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

pub use self::config::{BusConfig, DeliveryChaos};
pub use self::error::BusError;
pub use self::records::{
    DeadLetter, DeadLetterFilter, DeliveryRecord, DeliveryStatus, EventQuery, ReplayFilter,
};
pub use self::routes::read_rules_dir;

use self::dispatch::{DispatchGuard, Until};
use self::routes::{Registry, Routes};
use self::store::Store;
use crate::handler::{Handler, Ports};
use crate::ports::{EventPublisher, PublishError};
use crate::rules::Subscriptions;

/// How many archived events [`LocalBus::replay`] reads at a time.
const REPLAY_PAGE: usize = 500;

/// The embedded bus. Cheap to clone: clones share the database and the registrations.
#[derive(Clone)]
pub struct LocalBus {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    store: Arc<Store>,
    config: BusConfig,
    ports: Ports,
    registry: Mutex<Registry>,
    routes: RwLock<Arc<Routes>>,
    /// Wakes the dispatcher: deliveries were added.
    wake: Notify,
    /// Wakes `wait_idle`: deliveries finished.
    progress: Notify,
    dispatching: AtomicBool,
}

impl Inner {
    pub(crate) fn routes(&self) -> Arc<Routes> {
        Arc::clone(&self.routes.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs database work on the blocking pool, off the async workers.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, BusError> + Send + 'static,
    ) -> Result<T, BusError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|e| BusError::Internal(format!("a database task failed: {e}")))?
    }

    fn update_registry(
        &self,
        change: impl FnOnce(&mut Registry) -> Result<(), BusError>,
    ) -> Result<(), BusError> {
        let mut registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut registry)?;
        let routes = Arc::new(registry.routes());
        *self.routes.write().unwrap_or_else(PoisonError::into_inner) = routes;
        // Deliveries parked for a service without a handler may now be deliverable.
        self.wake.notify_one();
        Ok(())
    }
}

/// Now, in the bus's unit: Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl LocalBus {
    /// Opens the bus on the SQLite database at `db_path`, creating it if needed. `ports` are
    /// what the handlers get.
    pub fn open(db_path: &Path, config: BusConfig, ports: Ports) -> Result<Self, BusError> {
        config.validate()?;
        let store = Store::open(db_path, config.chaos)?;
        Ok(Self {
            inner: Arc::new(Inner {
                store: Arc::new(store),
                config,
                ports,
                registry: Mutex::new(Registry::default()),
                routes: RwLock::new(Arc::new(Routes::default())),
                wake: Notify::new(),
                progress: Notify::new(),
                dispatching: AtomicBool::new(false),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.inner.store.path()
    }

    pub fn config(&self) -> &BusConfig {
        &self.inner.config
    }

    /// Adds (or replaces) the handler of `handler.service()`, subscribed with its own
    /// `subscriptions()` unless rules for the service were given with [`Self::register_rules`].
    /// Deliveries are made only to services with a handler; those of a service with rules but
    /// no handler wait, pending, until one is registered.
    pub fn register(&self, handler: Arc<dyn Handler>) -> Result<(), BusError> {
        self.inner
            .update_registry(|registry| registry.add_handler(handler))
    }

    /// Sets the rules of `subscriptions.service` (e.g. from `contracts/rules/<service>.json`);
    /// they take precedence over its handler's `subscriptions()`.
    pub fn register_rules(&self, subscriptions: &Subscriptions) -> Result<(), BusError> {
        self.inner
            .update_registry(|registry| registry.add_rules(subscriptions))
    }

    /// Registers the rules of every `*.json` file of `dir` (`contracts/rules/`); returns the
    /// services they are for.
    pub fn load_rules_dir(&self, dir: &Path) -> Result<Vec<String>, BusError> {
        let all = read_rules_dir(dir)?;
        for subscriptions in &all {
            self.register_rules(subscriptions)?;
        }
        Ok(all.into_iter().map(|s| s.service).collect())
    }

    /// The services `event` would be delivered to, in name order.
    pub fn targets(&self, event: &RawEvent) -> Result<Vec<String>, BusError> {
        let prepared = self.inner.routes().prepare(event)?;
        Ok(prepared.targets.iter().map(|s| s.to_string()).collect())
    }

    /// Starts the dispatcher on the current Tokio runtime. Dropping the handle without
    /// [`BusHandle::shutdown`] stops it at once, as a crash would: deliveries in flight are
    /// delivered again on the next start.
    pub fn start(&self) -> Result<BusHandle, BusError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            BusError::Internal("LocalBus::start must be called inside a Tokio runtime".into())
        })?;
        let guard = DispatchGuard::acquire(&self.inner)?;
        let (stop, stopped) = watch::channel(false);
        let task = runtime.spawn(dispatch::run(guard, Until::Stopped(stopped)));
        Ok(BusHandle {
            bus: self.clone(),
            stop,
            task: Some(task),
        })
    }

    /// Runs the dispatcher here until no delivery to a registered service is pending or in
    /// flight (retries waiting for their backoff included).
    pub async fn run_until_idle(&self) -> Result<(), BusError> {
        let guard = DispatchGuard::acquire(&self.inner)?;
        dispatch::run(guard, Until::Idle).await
    }

    /// Resolves when no delivery to a registered service is pending or in flight; done and
    /// dead deliveries are final. Needs a dispatcher running ([`Self::start`]).
    pub async fn wait_idle(&self) -> Result<(), BusError> {
        loop {
            let progress = self.inner.progress.notified();
            tokio::pin!(progress);
            progress.as_mut().enable();
            let services = self.inner.routes().dispatchable();
            if !self
                .inner
                .blocking(move |store| store.has_outstanding(&services))
                .await?
            {
                return Ok(());
            }
            tokio::select! {
                () = progress => {}
                () = tokio::time::sleep(self.inner.config.poll_interval) => {}
            }
        }
    }

    /// The dead-letter queue: deliveries that failed for good, oldest first.
    pub async fn dead_letters(
        &self,
        filter: DeadLetterFilter,
    ) -> Result<Vec<DeadLetter>, BusError> {
        self.inner
            .blocking(move |store| store.dead_letters(&filter))
            .await
    }

    /// Makes the dead letters matching `filter` pending again with their attempts reset (after
    /// the cause is fixed); returns how many.
    pub async fn retry_dead_letters(&self, filter: DeadLetterFilter) -> Result<usize, BusError> {
        let retried = self
            .inner
            .blocking(move |store| store.retry_dead(&filter, now_ms()))
            .await?;
        self.inner.wake.notify_one();
        tracing::info!(retried, "dead letters queued again");
        Ok(retried)
    }

    /// Delivers again the archived events matching `filter` to the services whose rules (as
    /// registered now) match them; returns the number of deliveries created. An event already
    /// pending for a service is not queued twice.
    pub async fn replay(&self, filter: ReplayFilter) -> Result<usize, BusError> {
        let routes = self.inner.routes();
        let since = filter.since.map(|t| t.timestamp_millis());
        let mut query = EventQuery {
            asset_id: filter.asset_id.clone(),
            after_seq: 0,
            limit: REPLAY_PAGE,
        };
        let mut added = 0;
        loop {
            let page_query = query.clone();
            let page = self
                .inner
                .blocking(move |store| store.events(&page_query, since))
                .await?;
            let Some((last_seq, _)) = page.last() else {
                break;
            };
            query.after_seq = *last_seq;
            let deliveries = deliveries_of(
                &routes,
                page.iter().map(|(_, event)| event),
                filter.service.as_deref(),
            );
            added += self
                .inner
                .blocking(move |store| store.add_deliveries(&deliveries, now_ms()))
                .await?;
        }
        self.inner.wake.notify_one();
        tracing::info!(added, ?filter, "replayed archived events");
        Ok(added)
    }

    /// Delivers the archived event `event_id` again to every service whose rules match it
    /// (a duplicate delivery, as EventBridge may make); returns the number of deliveries created.
    pub async fn redeliver(&self, event_id: &str) -> Result<usize, BusError> {
        let id = event_id.to_owned();
        let event = self
            .inner
            .blocking(move |store| store.event(&id))
            .await?
            .ok_or_else(|| BusError::UnknownEvent(event_id.to_owned()))?;
        let deliveries = deliveries_of(&self.inner.routes(), [&event], None);
        let added = self
            .inner
            .blocking(move |store| store.add_deliveries(&deliveries, now_ms()))
            .await?;
        self.inner.wake.notify_one();
        Ok(added)
    }

    /// Archived events in publication order, with their archive position (`seq`).
    pub async fn events(&self, query: EventQuery) -> Result<Vec<(i64, RawEvent)>, BusError> {
        self.inner
            .blocking(move |store| store.events(&query, None))
            .await
    }

    /// Every delivery of every event of the asset, in archive order then service name.
    pub async fn deliveries_for_asset(
        &self,
        asset_id: &str,
    ) -> Result<Vec<DeliveryRecord>, BusError> {
        let asset_id = asset_id.to_owned();
        self.inner
            .blocking(move |store| store.deliveries_for_asset(&asset_id))
            .await
    }
}

/// The `(event id, service)` deliveries the events get from `routes`, optionally for one service.
fn deliveries_of<'a>(
    routes: &Routes,
    events: impl IntoIterator<Item = &'a RawEvent>,
    only_service: Option<&str>,
) -> Vec<(String, Arc<str>)> {
    let mut deliveries = Vec::new();
    for event in events {
        match routes.prepare(event) {
            Ok(prepared) => deliveries.extend(
                prepared
                    .targets
                    .into_iter()
                    .filter(|service| only_service.is_none_or(|only| only == &**service))
                    .map(|service| (prepared.id.clone(), service)),
            ),
            Err(error) => {
                tracing::warn!(event_id = %event.id, %error, "cannot route an archived event")
            }
        }
    }
    deliveries
}

#[async_trait]
impl EventPublisher for LocalBus {
    async fn publish(&self, events: &[RawEvent]) -> Result<(), PublishError> {
        if events.is_empty() {
            return Ok(());
        }
        let routes = self.inner.routes();
        let prepared = events
            .iter()
            .map(|event| routes.prepare(event))
            .collect::<Result<Vec<_>, _>>()?;
        let deliveries = self
            .inner
            .blocking(move |store| store.publish(&prepared, now_ms()))
            .await?;
        tracing::debug!(events = events.len(), deliveries, "published");
        if deliveries > 0 {
            self.inner.wake.notify_one();
        }
        Ok(())
    }
}

/// A running dispatcher.
pub struct BusHandle {
    bus: LocalBus,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<Result<(), BusError>>>,
}

impl BusHandle {
    pub fn bus(&self) -> &LocalBus {
        &self.bus
    }

    /// See [`LocalBus::wait_idle`].
    pub async fn wait_idle(&self) -> Result<(), BusError> {
        self.bus.wait_idle().await
    }

    /// Stops claiming deliveries, lets running handlers finish (up to `shutdown_grace`),
    /// records their results, and returns.
    pub async fn shutdown(mut self) -> Result<(), BusError> {
        self.stop.send_replace(true);
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(|e| BusError::Internal(format!("the bus dispatcher failed: {e}")))?,
            None => Ok(()),
        }
    }
}

impl Drop for BusHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
