//! Per-target probe statistics (pure): how many probes ran, how many failed, how long they
//! took as a histogram, and how often the probe task crashed, for the metrics. The engine times each probe and records it
//! here; the daemon reads a copy when it builds its status. Durations come in as arguments.

use std::time::Duration;

/// Upper bounds of the duration histogram's buckets in microseconds, 1 ms to 10 s (a probe
/// ends by its timeout); one more bucket, `+Inf`, holds the probes slower than all of them.
pub const BUCKETS_US: [u64; 13] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// What the probes of one target did since its check started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeStats {
    /// Probes run (every attempt, retries included).
    pub probes: u64,
    /// Probes that failed.
    pub failures: u64,
    /// Their durations added up, in microseconds.
    pub duration_sum_us: u64,
    /// Probes per bucket, not cumulative: `counts[i]` took at most `BUCKETS_US[i]` and more
    /// than the bound before; the last entry took longer than every bound.
    pub counts: [u64; BUCKETS_US.len() + 1],
    /// Times its probe task crashed (panicked) and was started again.
    pub restarts: u64,
}

impl Default for ProbeStats {
    fn default() -> Self {
        ProbeStats { probes: 0, failures: 0, duration_sum_us: 0, counts: [0; BUCKETS_US.len() + 1], restarts: 0 }
    }
}

impl ProbeStats {
    /// Records one probe that took `took` and passed or not.
    pub fn record(&mut self, took: Duration, passed: bool) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.probes = self.probes.saturating_add(1);
        self.failures = self.failures.saturating_add(u64::from(!passed));
        self.duration_sum_us = self.duration_sum_us.saturating_add(us);
        let bucket = BUCKETS_US.iter().position(|le| us <= *le).unwrap_or(BUCKETS_US.len());
        if let Some(c) = self.counts.get_mut(bucket) {
            *c = c.saturating_add(1);
        }
    }

    /// The histogram as Prometheus has it: each bound with the probes that took at most
    /// that long (cumulative); `probes` is the implied `+Inf` bucket.
    pub fn cumulative(&self) -> Vec<(u64, u64)> {
        BUCKETS_US
            .iter()
            .zip(&self.counts)
            .scan(0u64, |sum, (le, n)| {
                *sum = sum.saturating_add(*n);
                Some((*le, *sum))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_probe_lands_in_one_bucket_and_the_cumulative_counts_end_at_the_total() {
        let mut s = ProbeStats::default();
        let ms = Duration::from_millis;
        for (took, passed) in [(ms(0), true), (ms(1), true), (ms(3), false), (ms(700), true), (ms(30_000), false)] {
            s.record(took, passed);
        }
        assert_eq!((s.probes, s.failures, s.duration_sum_us), (5, 2, 30_704_000));
        assert_eq!(s.counts.iter().sum::<u64>(), 5);
        assert_eq!(s.counts[0], 2, "0 and exactly 1 ms are both at most 1 ms");
        assert_eq!(s.counts[2], 1, "3 ms: (2.5 ms, 5 ms]");
        assert_eq!(s.counts[BUCKETS_US.len()], 1, "30 s is past every bound: +Inf only");
        let c = s.cumulative();
        assert_eq!(c.len(), BUCKETS_US.len());
        assert_eq!(c[0], (1_000, 2));
        assert_eq!(c[2], (5_000, 3));
        assert_eq!(c[9], (1_000_000, 4));
        assert_eq!(*c.last().unwrap(), (10_000_000, 4), "the 30 s probe counts only in +Inf");
        assert!(c.windows(2).all(|w| w[0].1 <= w[1].1));
    }
}
