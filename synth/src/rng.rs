//! Seeded randomness. Every child draws from its own ChaCha stream, derived from the authority's seed, the
//! child's index and a purpose, so that a child's journey is reproducible on its own and does not change
//! when other children are added or the profile's size changes.

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// SplitMix64's finaliser: spreads nearby inputs (seed 1, 2, 3...) over the whole seed space.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What a stream of randomness is for: streams for different purposes never overlap.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Purpose {
    /// When the child first comes to the authority's attention (cheap: used to order children).
    Arrival = 1,
    /// The journey itself.
    Journey = 2,
    /// Recording lags, corrections, retractions.
    Recording = 3,
}

#[derive(Debug, Clone)]
pub(crate) struct Rng(ChaCha8Rng);

impl Rng {
    pub(crate) fn new(seed: u64, index: usize, purpose: Purpose) -> Rng {
        let key = mix(mix(seed) ^ mix((index as u64).wrapping_mul(0x1000_0000_01B3)) ^ (purpose as u64));
        Rng(ChaCha8Rng::seed_from_u64(key))
    }

    /// True with probability `p` (clamped to 0..=1).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.0.random::<f64>() < p.clamp(0.0, 1.0)
    }

    /// Uniform in `0.0..1.0`.
    pub(crate) fn unit(&mut self) -> f64 {
        self.0.random::<f64>()
    }

    /// Uniform integer in `lo..=hi` (`lo` when `hi < lo`).
    pub(crate) fn int(&mut self, lo: i32, hi: i32) -> i32 {
        if hi <= lo {
            lo
        } else {
            self.0.random_range(lo..=hi)
        }
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n <= 1 { 0 } else { self.0.random_range(0..n) }
    }

    pub(crate) fn u64(&mut self) -> u64 {
        self.0.random()
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// One of `items`, with probability proportional to its weight.
    pub(crate) fn weighted<T: Copy>(&mut self, items: &[(T, f64)]) -> T {
        let total: f64 = items.iter().map(|(_, w)| w.max(0.0)).sum();
        let mut x = self.unit() * total;
        for &(t, w) in items {
            let w = w.max(0.0);
            if x < w {
                return t;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }

    /// A standard normal deviate (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A log-normal number of days with the given median, spread (`sigma`), and bounds.
    pub(crate) fn log_normal_days(&mut self, median: f64, sigma: f64, min: i32, max: i32) -> i32 {
        let x = median * (sigma * self.normal()).exp();
        (x.round() as i64).clamp(i64::from(min), i64::from(max)) as i32
    }
}
