//! Retry delays: exponential backoff with full jitter (AWS's recommended scheme), so many
//! deliveries failing on the same cause do not retry in lock-step.

use std::time::Duration;

use rand::Rng;

/// The delay before the retry that follows failed attempt number `attempt` (1 for the first
/// attempt): uniformly random in `0..=min(cap, base * 2^(attempt - 1))`.
pub(crate) fn delay(base: Duration, cap: Duration, attempt: u32, rng: &mut impl Rng) -> Duration {
    let ceiling = ceiling(base, cap, attempt);
    let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(rng.random_range(0..=micros))
}

/// The largest delay [`delay`] may choose for `attempt`.
fn ceiling(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(31);
    base.saturating_mul(1u32 << doublings).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_ceiling_doubles_per_attempt_up_to_the_cap() {
        let base = 200 * MS;
        let cap = 30_000 * MS;
        assert_eq!(ceiling(base, cap, 1), 200 * MS);
        assert_eq!(ceiling(base, cap, 2), 400 * MS);
        assert_eq!(ceiling(base, cap, 5), 3_200 * MS);
        assert_eq!(ceiling(base, cap, 9), cap);
        assert_eq!(ceiling(base, cap, u32::MAX), cap);
        assert_eq!(ceiling(base, cap, 0), base);
    }

    #[test]
    fn delays_stay_within_the_ceiling_and_are_spread() {
        let mut rng = StdRng::seed_from_u64(7);
        let delays: Vec<Duration> = (0..200)
            .map(|_| delay(100 * MS, 10_000 * MS, 3, &mut rng))
            .collect();
        assert!(delays.iter().all(|d| *d <= 400 * MS));
        let low = delays.iter().filter(|d| **d < 200 * MS).count();
        assert!(
            low > 0 && low < delays.len(),
            "full jitter spreads delays over the range"
        );
    }

    #[test]
    fn a_zero_base_retries_at_once() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            delay(Duration::ZERO, 30_000 * MS, 4, &mut rng),
            Duration::ZERO
        );
    }
}
