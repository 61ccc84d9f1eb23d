//! The circuit breaker of one source: closed (runs), open (rests), half-open
//! (one trial run).

use std::time::{Duration, Instant};

/// When a source's breaker opens and how long it rests.
///
/// After `failures` failed runs in a row the breaker opens and the source
/// is not run; after a backoff (`initial_backoff`, times `multiplier` at
/// every trial that fails again, at most `max_backoff`, each wait shortened
/// by up to `jitter` of itself at random so that many sources do not retry
/// at once) one trial run is let through (half-open): success closes the
/// breaker, failure opens it again for longer.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "json", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "json", serde(default, deny_unknown_fields))]
pub struct BreakerConfig {
    /// Failed runs in a row that open the breaker (default 3; at least 1).
    pub failures: u32,
    /// The first rest (default 10 s).
    #[cfg_attr(feature = "json", serde(with = "crate::config::duration"))]
    pub initial_backoff: Duration,
    /// The longest rest (default 5 min).
    #[cfg_attr(feature = "json", serde(with = "crate::config::duration"))]
    pub max_backoff: Duration,
    /// How much longer each rest is than the one before (default 2; at least 1).
    pub multiplier: f64,
    /// The share of a rest that may be cut at random, 0 to 1 (default 0.2).
    pub jitter: f64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failures: 3,
            initial_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_mins(5),
            multiplier: 2.0,
            jitter: 0.2,
        }
    }
}

impl BreakerConfig {
    /// What is wrong with these settings, if anything: the field and why.
    pub(crate) fn problem(&self) -> Option<(&'static str, String)> {
        if self.failures == 0 {
            return Some(("breaker.failures", "must be at least 1".into()));
        }
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            return Some((
                "breaker.multiplier",
                format!("{} is not a number of at least 1", self.multiplier),
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Some((
                "breaker.jitter",
                format!("{} is not within 0 ..= 1", self.jitter),
            ));
        }
        if self.initial_backoff > self.max_backoff {
            return Some((
                "breaker.initial_backoff",
                format!(
                    "{:?} is longer than max_backoff ({:?})",
                    self.initial_backoff, self.max_backoff
                ),
            ));
        }
        None
    }
}

/// Where a breaker stands, as `telltale_source_breaker_state` exports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize))]
#[cfg_attr(feature = "json", serde(rename_all = "snake_case"))]
pub enum BreakerState {
    /// The source runs on its schedule (exported as 0).
    Closed,
    /// The source rests after failing (1).
    Open,
    /// The next run is a trial (2).
    HalfOpen,
}

impl BreakerState {
    /// The gauge value: 0 closed, 1 open, 2 half-open.
    pub fn as_gauge(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::Open => 1.0,
            BreakerState::HalfOpen => 2.0,
        }
    }
}

/// One source's breaker.
#[derive(Debug)]
pub(crate) struct Breaker {
    config: BreakerConfig,
    state: State,
    /// Failed runs in a row.
    failures: u32,
    /// The rest the breaker took last (zero before it first opens).
    rest: Duration,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen,
}

impl Breaker {
    pub(crate) fn new(config: BreakerConfig) -> Breaker {
        Breaker {
            config,
            state: State::Closed,
            failures: 0,
            rest: Duration::ZERO,
        }
    }

    pub(crate) fn state(&self) -> BreakerState {
        match self.state {
            State::Closed => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen => BreakerState::HalfOpen,
        }
    }

    /// Whether a run is let through `now`: an open breaker whose rest is
    /// over turns half-open and lets one through.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        match self.state {
            State::Closed | State::HalfOpen => true,
            State::Open { until } if now >= until => {
                self.state = State::HalfOpen;
                true
            }
            State::Open { .. } => false,
        }
    }

    /// When an open breaker lets the next run through.
    #[cfg(test)]
    pub(crate) fn open_until(&self) -> Option<Instant> {
        match self.state {
            State::Open { until } => Some(until),
            _ => None,
        }
    }

    pub(crate) fn success(&mut self) {
        self.state = State::Closed;
        self.failures = 0;
        self.rest = Duration::ZERO;
    }

    /// Counts a failed run at `now`; `random` in `0..1` picks the jitter.
    pub(crate) fn failure(&mut self, now: Instant, random: f64) {
        self.failures = self.failures.saturating_add(1);
        let open = match self.state {
            State::HalfOpen => true,
            State::Closed => self.failures >= self.config.failures.max(1),
            State::Open { .. } => false,
        };
        if !open {
            return;
        }
        let c = &self.config;
        self.rest = if self.rest.is_zero() {
            c.initial_backoff
        } else {
            self.rest.mul_f64(c.multiplier.max(1.0))
        }
        .min(c.max_backoff);
        let cut = self
            .rest
            .mul_f64(c.jitter.clamp(0.0, 1.0) * random.clamp(0.0, 1.0));
        self.state = State::Open {
            until: now + self.rest.saturating_sub(cut),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BreakerConfig {
        BreakerConfig {
            failures: 2,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(3),
            multiplier: 2.0,
            jitter: 0.5,
        }
    }

    #[test]
    fn opens_after_failures_in_a_row_and_closes_after_a_good_trial() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut b = Breaker::new(config());
        assert!(b.allow(t0));
        b.failure(t0, 0.0);
        assert_eq!(b.state(), BreakerState::Closed, "one failure is not enough");
        b.success();
        b.failure(t0, 0.0);
        assert_eq!(
            b.state(),
            BreakerState::Closed,
            "a success resets the count"
        );
        b.failure(t0, 0.0);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.allow(t0 + Duration::from_millis(999)));
        assert!(b.allow(t0 + s(1)));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        // A failed trial rests twice as long, then no longer than the cap.
        b.failure(t0 + s(1), 0.0);
        assert_eq!(b.open_until(), Some(t0 + s(3)));
        assert!(b.allow(t0 + s(3)));
        b.failure(t0 + s(3), 0.0);
        assert_eq!(b.open_until(), Some(t0 + s(6)), "capped at max_backoff");
        // Jitter shortens a rest by up to its share.
        assert!(b.allow(t0 + s(6)));
        b.failure(t0 + s(6), 1.0);
        assert_eq!(
            b.open_until(),
            Some(t0 + s(6) + Duration::from_millis(1500))
        );
        assert!(b.allow(t0 + s(8)));
        b.success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.allow(t0 + s(8)));
        b.failure(t0 + s(8), 0.0);
        b.failure(t0 + s(8), 0.0);
        assert_eq!(
            b.open_until(),
            Some(t0 + s(9)),
            "after closing, the rest starts over"
        );
    }

    #[test]
    fn settings_are_checked() {
        assert!(BreakerConfig::default().problem().is_none());
        let bad = |f: fn(&mut BreakerConfig)| {
            let mut c = BreakerConfig::default();
            f(&mut c);
            c.problem().unwrap().0
        };
        assert_eq!(bad(|c| c.failures = 0), "breaker.failures");
        assert_eq!(bad(|c| c.multiplier = 0.5), "breaker.multiplier");
        assert_eq!(bad(|c| c.jitter = 2.0), "breaker.jitter");
        assert_eq!(
            bad(|c| c.initial_backoff = Duration::from_hours(1)),
            "breaker.initial_backoff"
        );
    }
}
