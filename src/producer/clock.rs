//! The clock a record's CreateTime comes from.
//!
//! Reading the precise wall clock cost about a quarter of the sending
//! thread's time per fire-and-forget record (`perf`, `producer_perf`): on a
//! virtual machine the vDSO's `clock_gettime(CLOCK_REALTIME)` reads the TSC
//! through the hypervisor's clock page. Linux also keeps a coarse copy of
//! the wall clock, refreshed by the kernel on every timer tick, that the
//! vDSO hands out without touching the TSC: no thread of ours has to stay
//! awake to refresh it, unlike a cached clock refreshed by the sender.
//!
//! The coarse clock lags the precise one by less than one tick and is never
//! ahead of it. The tick is `clock_getres(CLOCK_REALTIME_COARSE)`: 1 to 10
//! ms (4 ms on most distributions). It is used only while that resolution
//! is at most [`MAX_STALENESS_NS`]; elsewhere, and on other systems, every
//! record reads the precise clock.

use std::sync::OnceLock;

use crate::cluster::now_ms;

/// The coarsest tick the coarse clock may have for CreateTime to use it:
/// a timestamp at most this far behind the moment of `send`.
pub(crate) const MAX_STALENESS_NS: i64 = 10_000_000;

/// Milliseconds since the Unix epoch for a record's CreateTime: at most one
/// kernel tick (≤ 10 ms) behind the precise wall clock, never ahead.
#[inline]
pub(crate) fn create_time_ms() -> i64 {
    if coarse_usable() {
        if let Some(ms) = coarse_ms() {
            return ms;
        }
    }
    now_ms()
}

fn coarse_usable() -> bool {
    static USABLE: OnceLock<bool> = OnceLock::new();
    *USABLE.get_or_init(|| coarse_resolution_ns().is_some_and(|ns| ns <= MAX_STALENESS_NS))
}

#[cfg(target_os = "linux")]
fn coarse_ms() -> Option<i64> {
    use rustix::time::{clock_gettime, ClockId};
    let now = clock_gettime(ClockId::RealtimeCoarse);
    let millis = now.tv_nsec / 1_000_000;
    now.tv_sec.checked_mul(1000)?.checked_add(millis)
}

#[cfg(target_os = "linux")]
fn coarse_resolution_ns() -> Option<i64> {
    use rustix::time::{clock_getres, ClockId};
    let res = clock_getres(ClockId::RealtimeCoarse);
    res.tv_sec
        .checked_mul(1_000_000_000)?
        .checked_add(res.tv_nsec)
}

#[cfg(not(target_os = "linux"))]
fn coarse_ms() -> Option<i64> {
    None
}

#[cfg(not(target_os = "linux"))]
fn coarse_resolution_ns() -> Option<i64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_time_is_never_ahead_and_at_most_a_tick_behind() {
        for _ in 0..1000 {
            let before = now_ms();
            let stamped = create_time_ms();
            let after = now_ms();
            assert!(stamped <= after, "{stamped} ahead of {after}");
            let tick_ms = MAX_STALENESS_NS / 1_000_000;
            assert!(
                stamped >= before - tick_ms,
                "{stamped} more than a tick behind {before}"
            );
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_coarse_clock_is_used_where_its_tick_is_fine_enough() {
        let resolution = coarse_resolution_ns().expect("Linux has CLOCK_REALTIME_COARSE");
        assert!(resolution > 0);
        assert_eq!(coarse_usable(), resolution <= MAX_STALENESS_NS);
    }
}
