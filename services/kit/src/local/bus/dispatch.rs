//! The dispatcher: one loop that claims due deliveries, runs their handlers as tasks (at most
//! `concurrency_per_target` per service), and records what became of them.
//!
//! Each turn of the loop does two transactions whatever the number of deliveries: one records
//! every attempt that finished since the last turn (with the events the handlers returned),
//! one claims due deliveries for every service running low. A service claims up to
//! [`CLAIM_WINDOW`] times its concurrency bound at once and keeps the surplus queued in memory
//! (in flight in the database). While a transaction runs on the blocking pool, the loop keeps
//! reaping finished handlers and starting queued ones, so handlers are never idle waiting for
//! the database and the next transaction gets everything that finished meanwhile: the slower
//! the database, the larger its batches. The loop sleeps only when there is nothing to record
//! or claim, until a handler finishes, an event is published, the next retry comes due, or
//! `poll_interval` passes (for work another process added); it never spins.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use mediasift_schemas::{EventDetail, ProcessingFailed, RawEvent};
use tokio::sync::watch;
use tokio::task::{Id, JoinError, JoinSet};

use super::routes::{Prepared, Routes};
use super::store::{Claimed, Completion, Outcome};
use super::{BusError, Inner, backoff, now_ms};
use crate::handler::{Failure, HandlerError, failure_event};

type HandlerResult = Result<Vec<RawEvent>, HandlerError>;

/// A service holds up to this many times `concurrency_per_target` claimed deliveries.
const CLAIM_WINDOW: usize = 4;

/// Marks the bus as having a dispatcher for as long as it lives (the dispatcher's future owns
/// it, so it is released however the dispatcher ends, aborts included).
pub(crate) struct DispatchGuard(Arc<Inner>);

impl DispatchGuard {
    pub(crate) fn acquire(inner: &Arc<Inner>) -> Result<Self, BusError> {
        inner
            .dispatching
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map_err(|_| BusError::AlreadyRunning)?;
        Ok(Self(Arc::clone(inner)))
    }
}

impl Drop for DispatchGuard {
    fn drop(&mut self) {
        self.0.dispatching.store(false, Ordering::Release);
    }
}

/// When the dispatcher returns.
pub(crate) enum Until {
    /// No delivery to a registered service is pending or in flight.
    Idle,
    /// `true` is sent (or the sender dropped); running handlers get `shutdown_grace` to finish.
    Stopped(watch::Receiver<bool>),
}

/// One service's claimed deliveries: running, and queued for a free slot.
#[derive(Default)]
struct Lane {
    running: usize,
    queued: VecDeque<Claimed>,
}

/// A delivery whose handler is running.
struct Running {
    delivery_id: i64,
    service: String,
    attempts: u32,
    event: Arc<RawEvent>,
}

pub(crate) async fn run(guard: DispatchGuard, until: Until) -> Result<(), BusError> {
    let inner = Arc::clone(&guard.0);
    let recovered = inner
        .blocking(|store| store.recover_in_flight(now_ms()))
        .await?;
    if recovered > 0 {
        tracing::info!(
            recovered,
            "delivering again the deliveries a previous process left in flight"
        );
    }
    let dispatcher = Dispatcher {
        inner,
        tasks: JoinSet::new(),
        running: HashMap::new(),
        lanes: HashMap::new(),
        finished: Vec::new(),
    };
    let result = dispatcher.run(until).await;
    drop(guard);
    result
}

struct Dispatcher {
    inner: Arc<Inner>,
    /// Dropping the set (when the dispatcher ends or is aborted) aborts running handlers.
    tasks: JoinSet<HandlerResult>,
    running: HashMap<Id, Running>,
    lanes: HashMap<String, Lane>,
    /// Finished attempts not recorded yet.
    finished: Vec<Completion>,
}

impl Dispatcher {
    async fn run(mut self, until: Until) -> Result<(), BusError> {
        let (until_idle, mut stop) = match until {
            Until::Idle => (true, None),
            Until::Stopped(stop) => (false, Some(stop)),
        };
        let poll = self.inner.config.poll_interval;
        let mut stopping = false;
        loop {
            while let Some(joined) = self.tasks.try_join_next_with_id() {
                self.finish(joined);
            }
            // Checked here too: under steady load the loop may not reach its `select!`.
            if stopping || stop_sent(stop.as_ref()) {
                return self.drain().await;
            }
            self.start_queued();
            // Running until idle, a database failure ends the run; running in the background,
            // it is logged and retried after `poll_interval` (the attempts stay in memory and
            // their deliveries in flight, so nothing is lost).
            let nap = match self.turn(until_idle).await {
                Ok(Turn::Idle) => return Ok(()),
                Ok(Turn::Again) => continue,
                Ok(Turn::Wait { next_due }) => next_due.map_or(poll, |due| {
                    Duration::from_millis(u64::try_from(due - now_ms()).unwrap_or(0)).min(poll)
                }),
                Err(error) if until_idle => return Err(error),
                Err(error) => {
                    tracing::error!(%error, "the bus dispatcher failed a step; trying again");
                    poll
                }
            };
            tokio::select! {
                Some(joined) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => self.finish(joined),
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(nap) => {}
                () = stop_requested(&mut stop) => stopping = true,
            }
        }
    }

    /// Records finished attempts, then claims and starts due deliveries.
    async fn turn(&mut self, until_idle: bool) -> Result<Turn, BusError> {
        self.record().await?;
        let routes = self.inner.routes();
        let wants = self.wants(&routes);
        let (claimed, next_due) = if wants.is_empty() {
            (Vec::new(), None)
        } else {
            let inner = Arc::clone(&self.inner);
            let asked = wants.clone();
            self.overlapping(inner.blocking(move |store| store.claim(&asked, now_ms())))
                .await?
        };
        let claimed_any = !claimed.is_empty();
        for delivery in claimed {
            self.lanes
                .entry(delivery.service.clone())
                .or_default()
                .queued
                .push_back(delivery);
        }
        self.start_queued();
        // Handlers that finished while the claim ran are to be recorded, and a service that had
        // no room when it began may have run dry since: go again rather than wait for a wake-up
        // that will not come.
        let newly_wanting = self
            .wants(&routes)
            .iter()
            .any(|(service, _)| !wants.iter().any(|(asked, _)| asked == service));
        if newly_wanting || !self.finished.is_empty() {
            return Ok(Turn::Again);
        }
        let holding = self.lanes.values().any(|lane| !lane.queued.is_empty());
        if until_idle && !claimed_any && !holding && self.tasks.is_empty() {
            let services = routes.dispatchable();
            if !self
                .inner
                .blocking(move |store| store.has_outstanding(&services))
                .await?
            {
                return Ok(Turn::Idle);
            }
        }
        Ok(Turn::Wait { next_due })
    }

    /// How many deliveries to claim for each service with a handler that has fewer than its
    /// bound queued: enough to fill its claim window.
    fn wants(&self, routes: &Routes) -> Vec<(String, usize)> {
        let limit = self.inner.config.concurrency_per_target;
        let window = limit.saturating_mul(CLAIM_WINDOW);
        routes
            .dispatchable()
            .into_iter()
            .filter_map(|service| {
                let (running, queued) = self
                    .lanes
                    .get(&service)
                    .map_or((0, 0), |lane| (lane.running, lane.queued.len()));
                let room = window.saturating_sub(running + queued);
                (queued < limit && room > 0).then_some((service, room))
            })
            .collect()
    }

    /// Starts queued deliveries while their services have free slots.
    fn start_queued(&mut self) {
        let limit = self.inner.config.concurrency_per_target;
        let routes = self.inner.routes();
        let mut ready = Vec::new();
        for lane in self.lanes.values_mut() {
            while lane.running < limit
                && let Some(delivery) = lane.queued.pop_front()
            {
                lane.running += 1;
                ready.push(delivery);
            }
        }
        for delivery in ready {
            self.start(&routes, delivery);
        }
    }

    /// Runs the delivery's handler as a task; its slot in the lane is already taken.
    fn start(&mut self, routes: &Routes, delivery: Claimed) {
        let Some(handler) = routes.handler(&delivery.service).cloned() else {
            // Handlers are never unregistered, so this cannot happen; deliver it again later.
            self.release_slot(&delivery.service);
            self.finished.push(Completion {
                delivery_id: delivery.delivery_id,
                attempts: delivery.attempts,
                outcome: Outcome::Release,
            });
            return;
        };
        tracing::debug!(
            service = %delivery.service,
            event_id = %delivery.event.id,
            detail_type = %delivery.event.detail_type,
            attempt = delivery.attempts,
            "delivering"
        );
        let ports = self.inner.ports.clone();
        let event = Arc::clone(&delivery.event);
        let task = self
            .tasks
            .spawn(async move { handler.handle(&event, &ports).await });
        self.running.insert(
            task.id(),
            Running {
                delivery_id: delivery.delivery_id,
                service: delivery.service,
                attempts: delivery.attempts,
                event: delivery.event,
            },
        );
    }

    /// Turns a finished handler task into the outcome of its delivery.
    fn finish(&mut self, joined: Result<(Id, HandlerResult), JoinError>) {
        let (id, result) = match joined {
            Ok((id, result)) => (id, Ok(result)),
            Err(error) => (error.id(), Err(error)),
        };
        let Some(running) = self.running.remove(&id) else {
            return;
        };
        self.release_slot(&running.service);
        let routes = self.inner.routes();
        let outcome = match result {
            Ok(Ok(events)) => self.succeeded(&routes, &running, &events),
            Ok(Err(HandlerError::Retryable(error))) => self.retry(&routes, &running, error),
            Ok(Err(HandlerError::Permanent(failure))) => dead_letter(&routes, &running, &failure),
            Err(error) => {
                let failure = Failure::new(
                    "HandlerPanicked",
                    format!("handler panicked: {}", panic_message(error)),
                    format!(
                        "This is a bug in the {} service: report it with the event id, then retry the \
                         event from the dead-letter queue (`mediasift dlq --retry`) once it is fixed.",
                        running.service
                    ),
                );
                dead_letter(&routes, &running, &failure)
            }
        };
        self.finished.push(Completion {
            delivery_id: running.delivery_id,
            attempts: running.attempts,
            outcome,
        });
    }

    fn release_slot(&mut self, service: &str) {
        if let Some(lane) = self.lanes.get_mut(service) {
            lane.running = lane.running.saturating_sub(1);
        }
    }

    fn succeeded(&self, routes: &Routes, running: &Running, events: &[RawEvent]) -> Outcome {
        match events.iter().map(|event| routes.prepare(event)).collect() {
            Ok(outputs) => {
                tracing::debug!(
                    service = %running.service,
                    event_id = %running.event.id,
                    published = events.len(),
                    "delivered"
                );
                Outcome::Done { outputs }
            }
            Err(error) => {
                let failure = Failure::new(
                    "EventRejected",
                    format!(
                        "the {} service returned an event the bus cannot take: {error}",
                        running.service
                    ),
                    "Fix the service so its events fit the bus (results go to the derived bucket, \
                     events carry their URI), then retry from the dead-letter queue.",
                );
                dead_letter(routes, running, &failure)
            }
        }
    }

    /// A retryable failure: retry after a backoff, unless attempts or the event's age ran out.
    fn retry(&self, routes: &Routes, running: &Running, error: String) -> Outcome {
        let config = &self.inner.config;
        let age = (Utc::now() - running.event.time)
            .to_std()
            .unwrap_or(Duration::ZERO);
        if running.attempts >= config.max_attempts || age > config.max_event_age {
            let mut error = error;
            if age > config.max_event_age {
                error.push_str(&format!(
                    " (the event is older than the bus's maximum age of {:?})",
                    config.max_event_age
                ));
            }
            return dead_letter(
                routes,
                running,
                &Failure::retries_exhausted(&error, running.attempts),
            );
        }
        let delay = backoff::delay(
            config.backoff_base,
            config.backoff_cap,
            running.attempts,
            &mut rand::rng(),
        );
        tracing::debug!(
            service = %running.service,
            event_id = %running.event.id,
            attempt = running.attempts,
            retry_in = ?delay,
            %error,
            "retryable failure"
        );
        Outcome::Retry {
            error,
            next_attempt_at: now_ms()
                .saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)),
        }
    }

    /// Awaits database work while handlers keep going: finished ones are reaped and queued
    /// deliveries started meanwhile, so the next transaction gets a full batch.
    async fn overlapping<T>(&mut self, work: impl Future<Output = T>) -> T {
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                out = &mut work => return out,
                Some(joined) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    self.finish(joined);
                    self.start_queued();
                }
            }
        }
    }

    /// Records the finished attempts in one transaction and tells `wait_idle` waiters.
    async fn record(&mut self) -> Result<(), BusError> {
        if self.finished.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.finished);
        let inner = Arc::clone(&self.inner);
        let (mut batch, result) = self
            .overlapping(inner.blocking(move |store| {
                let result = store.complete(&batch, now_ms());
                Ok((batch, result))
            }))
            .await?;
        if let Err(error) = result {
            // Keep them (and any that finished meanwhile) for the next try.
            batch.append(&mut self.finished);
            self.finished = batch;
            return Err(error);
        }
        if batch
            .iter()
            .any(|c| !matches!(c.outcome, Outcome::Retry { .. }))
        {
            self.inner.progress.notify_waiters();
        }
        Ok(())
    }

    /// Releases queued deliveries, lets running handlers finish (up to `shutdown_grace`),
    /// records them, and returns.
    async fn drain(mut self) -> Result<(), BusError> {
        for lane in self.lanes.values_mut() {
            self.finished
                .extend(lane.queued.drain(..).map(|delivery| Completion {
                    delivery_id: delivery.delivery_id,
                    attempts: delivery.attempts,
                    outcome: Outcome::Release,
                }));
        }
        let deadline = tokio::time::Instant::now() + self.inner.config.shutdown_grace;
        while !self.tasks.is_empty() {
            match tokio::time::timeout_at(deadline, self.tasks.join_next_with_id()).await {
                Ok(Some(joined)) => self.finish(joined),
                Ok(None) => break,
                Err(_) => {
                    tracing::warn!(
                        running = self.tasks.len(),
                        "handlers still running at shutdown; their events are delivered again on the next start"
                    );
                    break;
                }
            }
        }
        self.record().await
    }
}

enum Turn {
    /// Until idle: nothing is left to deliver.
    Idle,
    /// There is more to record or claim now.
    Again,
    /// Wait for a handler to finish, a wake-up, or `next_due` (at most `poll_interval`).
    Wait { next_due: Option<i64> },
}

/// Dead-letters the delivery and prepares its `Processing Failed` event, except for a failed
/// `Processing Failed` event: failing on a failure must not start a chain of failures.
fn dead_letter(routes: &Routes, running: &Running, failure: &Failure) -> Outcome {
    let error = format!("{}: {}", failure.error_code, failure.cause);
    tracing::info!(
        service = %running.service,
        event_id = %running.event.id,
        detail_type = %running.event.detail_type,
        attempts = running.attempts,
        %error,
        "dead-lettered"
    );
    let failure = if running.event.detail_type == ProcessingFailed::DETAIL_TYPE {
        None
    } else {
        let event = failure_event(
            &running.service,
            &running.event,
            failure,
            env!("CARGO_PKG_VERSION"),
        );
        prepare_failure(routes, &event)
    };
    Outcome::Dead { error, failure }
}

fn prepare_failure(routes: &Routes, event: &RawEvent) -> Option<Prepared> {
    routes
        .prepare(event)
        .inspect_err(|error| tracing::error!(%error, "cannot publish a Processing Failed event"))
        .ok()
}

fn panic_message(error: JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string panic payload".into()),
        Err(error) => error.to_string(),
    }
}

/// Whether a stop was requested (or can no longer be: the sender is gone).
fn stop_sent(stop: Option<&watch::Receiver<bool>>) -> bool {
    stop.is_some_and(|stop| *stop.borrow() || stop.has_changed().is_err())
}

/// Resolves once a stop is requested (or can no longer be: the sender is gone).
async fn stop_requested(stop: &mut Option<watch::Receiver<bool>>) {
    match stop {
        Some(stop) => {
            // An error means the sender is gone: nobody can stop us any more, so stop now.
            let _ = stop.wait_for(|stop| *stop).await;
        }
        None => std::future::pending().await,
    }
}
