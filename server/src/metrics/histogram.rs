//! A histogram of whole numbers whose `observe` is a few relaxed atomic adds:
//! no lock, so every connection's writer may record into one at once
//! (prometheus-client's own histogram takes a mutex per observation).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

/// Cheap to clone: clones record into the same buckets.
#[derive(Debug, Clone)]
pub struct AtomicHistogram(Arc<Buckets>);

#[derive(Debug)]
struct Buckets {
    /// Upper bounds, ascending; a last bucket (+Inf) follows them.
    bounds: &'static [u64],
    /// Observations per bucket (not cumulative), one more than `bounds`.
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
}

impl AtomicHistogram {
    pub fn new(bounds: &'static [u64]) -> Self {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]));
        AtomicHistogram(Arc::new(Buckets {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }))
    }

    pub fn observe(&self, value: u64) {
        let this = &self.0;
        let bucket = this.bounds.partition_point(|&bound| bound < value);
        this.counts[bucket].fetch_add(1, Ordering::Relaxed);
        this.sum.fetch_add(value, Ordering::Relaxed);
    }

    /// Observations so far, and their sum.
    #[cfg(test)]
    pub fn totals(&self) -> (u64, u64) {
        let count = self
            .0
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum();
        (count, self.0.sum.load(Ordering::Relaxed))
    }
}

impl EncodeMetric for AtomicHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        // Read once: the count is the buckets' own sum, so a scrape racing
        // an observation stays consistent with its buckets.
        let this = &self.0;
        let counts: Vec<u64> = this
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let buckets: Vec<(f64, u64)> = this
            .bounds
            .iter()
            .map(|&b| b as f64)
            .chain([f64::INFINITY])
            .zip(counts.iter().copied())
            .collect();
        let sum = this.sum.load(Ordering::Relaxed) as f64;
        encoder.encode_histogram::<NoLabelSet>(sum, counts.iter().sum(), &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_the_first_bucket_that_holds_them() {
        let histogram = AtomicHistogram::new(&[1, 4, 16]);
        for value in [0, 1, 2, 4, 5, 16, 17, 1000] {
            histogram.observe(value);
        }
        let counts: Vec<u64> = histogram
            .0
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts, [2, 2, 2, 2]);
        assert_eq!(histogram.totals(), (8, 1045));
    }
}
