//! Fault injection for the ports: wrappers that make calls fail the way AWS calls do —
//! throttled or refused before they take effect, timed out after they took effect, slow, or
//! denied for good — at a configured rate, so that the retries, the dead letters and the
//! idempotency of every service are exercised on demand (`[faults]` in the local config;
//! `tests/reliability.rs`). A plan with a zero rate and no permanent faults injects nothing.

mod ports;

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

pub use ports::{FaultyObjects, FaultyPublisher, FaultyState};

/// What faults to inject.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct FaultPlan {
    /// The share (0–1) of calls of every port that fail transiently: two in three are refused
    /// before they take effect (throttling, 5xx), one in three times out after it took effect.
    pub transient_rate: f64,
    /// Every call first waits a random time up to this long.
    pub max_latency_ms: u64,
    /// Seeds the draws, for a run that injects the same faults again; random when absent.
    pub seed: Option<u64>,
    /// Calls that are always denied (as an IAM policy without the grant would).
    pub permanent: Vec<PermanentFault>,
}

/// A call that is always denied: every call of `port` whose operation and target match.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PermanentFault {
    pub port: Port,
    /// The operation (`put`, `get`, `update`, `publish`, …); every operation when absent.
    #[serde(default)]
    pub operation: Option<String>,
    /// A substring of the call's target (`bucket/key`, `table/key`, the detail type); every
    /// target when absent.
    #[serde(default)]
    pub target_contains: Option<String>,
}

/// The ports faults are injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Port {
    Objects,
    State,
    Events,
    Graph,
}

impl FaultPlan {
    /// Whether the plan injects anything at all.
    pub fn is_active(&self) -> bool {
        self.transient_rate > 0.0 || self.max_latency_ms > 0 || !self.permanent.is_empty()
    }

    /// Why the plan cannot be used, if it cannot.
    pub fn problem(&self) -> Option<String> {
        if !(0.0..=1.0).contains(&self.transient_rate) {
            return Some(format!(
                "faults.transient-rate must be between 0 and 1, not {}",
                self.transient_rate
            ));
        }
        None
    }
}

/// What happens to one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Injected {
    /// The call is made as asked.
    Nothing,
    /// Refused before it takes effect, with this message.
    Refused(String),
    /// Made, then reported as timed out, with this message.
    TimedOut(String),
    /// Denied, with this message; retrying cannot help.
    Denied(String),
}

/// How many faults were injected, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultCounts {
    pub calls: u64,
    pub refused: u64,
    pub timed_out: u64,
    pub denied: u64,
}

/// Draws the faults of a plan, and counts them.
#[derive(Debug)]
pub struct Injector {
    plan: FaultPlan,
    rng: Mutex<StdRng>,
    calls: AtomicU64,
    refused: AtomicU64,
    timed_out: AtomicU64,
    denied: AtomicU64,
}

impl Injector {
    pub fn new(plan: FaultPlan) -> Self {
        let rng = match plan.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Self {
            plan,
            rng: Mutex::new(rng),
            calls: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            denied: AtomicU64::new(0),
        }
    }

    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    pub fn counts(&self) -> FaultCounts {
        FaultCounts {
            calls: self.calls.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            timed_out: self.timed_out.load(Ordering::Relaxed),
            denied: self.denied.load(Ordering::Relaxed),
        }
    }

    /// Decides what happens to a call of `operation` on `target` of `port`, after its latency.
    pub async fn decide(&self, port: Port, operation: &str, target: &str) -> Injected {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let (latency, draw, refuse) = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            let latency = match self.plan.max_latency_ms {
                0 => 0,
                max => rng.random_range(0..=max),
            };
            (latency, rng.random::<f64>(), rng.random_ratio(2, 3))
        };
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        let denied = self.plan.permanent.iter().any(|fault| {
            fault.port == port
                && fault.operation.as_deref().is_none_or(|op| op == operation)
                && fault
                    .target_contains
                    .as_deref()
                    .is_none_or(|part| target.contains(part))
        });
        if denied {
            self.denied.fetch_add(1, Ordering::Relaxed);
            return Injected::Denied(format!(
                "access denied to {operation} {target} (a permanent fault injected by [faults])"
            ));
        }
        if draw >= self.plan.transient_rate {
            return Injected::Nothing;
        }
        if refuse {
            self.refused.fetch_add(1, Ordering::Relaxed);
            Injected::Refused(transient_message(operation, target, "throttled"))
        } else {
            self.timed_out.fetch_add(1, Ordering::Relaxed);
            Injected::TimedOut(transient_message(operation, target, "timed out"))
        }
    }

    /// Makes `call` through the plan: `unavailable` builds the port's retryable error,
    /// `denied` its permanent one.
    pub async fn guarded<T, E, F, Fut>(
        &self,
        port: Port,
        operation: &str,
        target: &str,
        call: F,
        unavailable: impl FnOnce(String) -> E,
        denied: impl FnOnce(String) -> E,
    ) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        match self.decide(port, operation, target).await {
            Injected::Nothing => call().await,
            Injected::Refused(message) => Err(unavailable(message)),
            Injected::Denied(message) => Err(denied(message)),
            Injected::TimedOut(message) => {
                call().await?;
                Err(unavailable(message))
            }
        }
    }
}

/// The message of an injected transient fault.
pub fn transient_message(operation: &str, target: &str, what: &str) -> String {
    format!("{operation} {target}: {what} (a transient fault injected by [faults])")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rate: f64) -> FaultPlan {
        FaultPlan {
            transient_rate: rate,
            seed: Some(7),
            ..FaultPlan::default()
        }
    }

    #[tokio::test]
    async fn transient_faults_come_at_the_planned_rate() {
        let injector = Injector::new(plan(0.1));
        let mut injected = 0;
        for _ in 0..10_000 {
            if injector.decide(Port::Objects, "get", "b/k").await != Injected::Nothing {
                injected += 1;
            }
        }
        assert!((800..1200).contains(&injected), "{injected} of 10000");
        let counts = injector.counts();
        assert_eq!(counts.calls, 10_000);
        assert_eq!(counts.refused + counts.timed_out, injected);
        assert!(counts.refused > counts.timed_out, "{counts:?}");
    }

    #[tokio::test]
    async fn a_zero_rate_injects_nothing_and_a_permanent_fault_hits_only_its_calls() {
        let mut plan = plan(0.0);
        plan.permanent.push(PermanentFault {
            port: Port::Objects,
            operation: Some("put".into()),
            target_contains: Some("/audio/".into()),
        });
        let injector = Injector::new(plan);
        for (port, op, target, denied) in [
            (Port::Objects, "put", "derived/a/audio/x.json", true),
            (Port::Objects, "get", "derived/a/audio/x.json", false),
            (Port::Objects, "put", "derived/a/video/x.json", false),
            (Port::State, "put", "derived/a/audio/x.json", false),
        ] {
            let got = injector.decide(port, op, target).await;
            assert_eq!(matches!(got, Injected::Denied(_)), denied, "{op} {target}");
            if !denied {
                assert_eq!(got, Injected::Nothing);
            }
        }
    }

    #[tokio::test]
    async fn a_timed_out_call_took_effect() {
        let injector = Injector::new(plan(1.0));
        let made = AtomicU64::new(0);
        let mut outcomes = Vec::new();
        for _ in 0..60 {
            let result: Result<(), String> = injector
                .guarded(
                    Port::State,
                    "put",
                    "t/k",
                    || async {
                        made.fetch_add(1, Ordering::Relaxed);
                        Ok(())
                    },
                    |m| m,
                    |m| m,
                )
                .await;
            outcomes.push(result.unwrap_err());
        }
        let timed_out = outcomes.iter().filter(|m| m.contains("timed out")).count();
        assert_eq!(made.load(Ordering::Relaxed), timed_out as u64);
        assert!(timed_out > 0 && timed_out < 60, "{timed_out}");
    }
}
