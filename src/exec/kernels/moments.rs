//! Summary statistics (min, max, mean, population std) of a set of f64 values, computed per chunk
//! and merged in any grouping: the one place both `dump` with stats and `inspect --stats` get them.
//!
//! [`Moments`] receives values through [`Moments::from_values`] (one chunk, exact two passes) or
//! [`summarize_chunks`] (raw bytes decoded chunk by chunk and summarized in parallel with rayon),
//! and two summaries combine with the pairwise update of Chan, Golub and LeVeque
//! ([`Moments::merge`]), so the result agrees with a whole-set two-pass computation to rounding
//! error whatever the chunking, and partial results are merged in chunk order so it is the same
//! on every run and thread count. The state keeps NaN and each sign of infinity counted apart from
//! the finite values; how they enter the answers is the caller's explicit choice of
//! [`NonFinite`] when reading them out.
//!
//! **Finite data never overflows, and small data does not underflow.** The mean is the plain sum over the count
//! (the same bits a sequential sum gives), falling back to a sum scaled by a power of two only when
//! the plain sum overflows. Squared deviations are accumulated in units of a power of two `scale`
//! near the largest magnitude seen, so values near ±1e300 (whose squares overflow) and near
//! ±1e-300 (whose squares underflow) have the std they should: finite and correct whenever the true
//! std is representable (only values more than 2^1022 times smaller than the largest lose their
//! share, far below the rounding error). Scaling by a power of two is exact, so for ordinary data
//! one chunk's answers are bit-identical to the unscaled textbook formulas.

use rayon::prelude::*;

/// Elements per parallel work item: large enough to amortize scheduling, small enough that a
/// worker's decoded buffer (8 bytes per element) stays in cache.
pub const CHUNK_ELEMENTS: usize = 1 << 16;

/// How NaN and infinite values enter the statistics; the caller decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonFinite {
    /// As IEEE arithmetic and `torch.min` / `max` / `mean` do: one NaN makes every statistic NaN;
    /// an infinity makes min or max infinite, the mean infinite (NaN when both signs occur) and
    /// the std NaN.
    Propagate,
    /// Left out of every statistic (they stay counted), so that one overflowed element does not
    /// hide the distribution of the others.
    Exclude,
}

/// Minimum, maximum and mean of a set of values, under one [`NonFinite`] policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Statistics {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
}

/// Mergeable summary of a set of values; combine two with [`Moments::merge`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Number of finite values; every field below except the non-finite counts is over these.
    count: u64,
    /// Plain sum; ±inf once it has overflowed, and then `scaled_sum` gives the mean.
    sum: f64,
    /// Sum of `value / scale`, which cannot overflow (each term is below 2 in magnitude).
    scaled_sum: f64,
    /// A power of two within a factor 2 of the largest magnitude (at least 2^-1022, so that its
    /// inverse is a finite power of two too).
    scale: f64,
    /// Sum of squared deviations from the mean, in units of `scale²`.
    scaled_m2: f64,
    min: f64,
    max: f64,
    nan: u64,
    positive_infinite: u64,
    negative_infinite: u64,
}

impl Default for Moments {
    fn default() -> Moments {
        Moments::EMPTY
    }
}

impl Moments {
    /// The summary of no values; the identity of [`Moments::merge`].
    pub const EMPTY: Moments = Moments {
        count: 0,
        sum: 0.0,
        scaled_sum: 0.0,
        scale: f64::MIN_POSITIVE,
        scaled_m2: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        nan: 0,
        positive_infinite: 0,
        negative_infinite: 0,
    };

    /// Summarizes one chunk with two passes: the sum, extremes and counts first, then squared
    /// deviations from the mean.
    pub fn from_values(values: &[f64]) -> Moments {
        let mut moments = Moments::EMPTY;
        for &value in values {
            if value.is_nan() {
                moments.nan += 1;
            } else if value == f64::INFINITY {
                moments.positive_infinite += 1;
            } else if value == f64::NEG_INFINITY {
                moments.negative_infinite += 1;
            } else {
                moments.count += 1;
                moments.sum += value;
                moments.min = moments.min.min(value);
                moments.max = moments.max.max(value);
            }
        }
        if moments.count == 0 {
            return moments;
        }
        moments.scale = scale_for(moments.min.abs().max(moments.max.abs()));
        let inverse = 1.0 / moments.scale;
        moments.scaled_sum = if moments.sum.is_finite() {
            moments.sum * inverse
        } else {
            finite(values).map(|value| value * inverse).sum()
        };
        let scaled_mean = moments.finite_mean() * inverse;
        moments.scaled_m2 = finite(values)
            .map(|value| {
                let deviation = value * inverse - scaled_mean;
                deviation * deviation
            })
            .sum();
        moments
    }

    /// Combines the summaries of two disjoint sets (Chan et al., "Updating formulae and a pairwise
    /// algorithm for computing sample variances", 1979), in the common scale of the two.
    pub fn merge(self, other: Moments) -> Moments {
        let nan = self.nan + other.nan;
        let positive_infinite = self.positive_infinite + other.positive_infinite;
        let negative_infinite = self.negative_infinite + other.negative_infinite;
        if other.count == 0 || self.count == 0 {
            let finite = if other.count == 0 { self } else { other };
            return Moments {
                nan,
                positive_infinite,
                negative_infinite,
                ..finite
            };
        }
        let scale = self.scale.max(other.scale);
        let inverse = 1.0 / scale;
        // Both ratios are powers of two no greater than one, so rescaling is exact until it
        // underflows, and then the part is far below the rounding error of the total anyway.
        let (left_ratio, right_ratio) = (self.scale * inverse, other.scale * inverse);
        let count = self.count + other.count;
        let (left, right, total) = (self.count as f64, other.count as f64, count as f64);
        let delta = other.finite_mean() * inverse - self.finite_mean() * inverse;
        Moments {
            count,
            sum: self.sum + other.sum,
            scaled_sum: self.scaled_sum * left_ratio + other.scaled_sum * right_ratio,
            scale,
            scaled_m2: self.scaled_m2 * (left_ratio * left_ratio)
                + other.scaled_m2 * (right_ratio * right_ratio)
                + delta * delta * (left * right / total),
            min: self.min.min(other.min),
            max: self.max.max(other.max),
            nan,
            positive_infinite,
            negative_infinite,
        }
    }

    /// Number of values summarized, finite or not.
    pub fn element_count(&self) -> u64 {
        self.count + self.nan + self.infinite_count()
    }

    /// Number of finite values.
    pub fn finite_count(&self) -> u64 {
        self.count
    }

    /// Number of NaN values.
    pub fn nan_count(&self) -> u64 {
        self.nan
    }

    /// Number of infinite values of either sign.
    pub fn infinite_count(&self) -> u64 {
        self.positive_infinite + self.negative_infinite
    }

    /// Min, max and mean under `policy`, or `None` when there is nothing to summarize (no values
    /// at all with [`NonFinite::Propagate`], no finite values with [`NonFinite::Exclude`]).
    pub fn statistics(&self, policy: NonFinite) -> Option<Statistics> {
        match policy {
            NonFinite::Exclude => (self.count > 0).then(|| Statistics {
                min: self.min,
                max: self.max,
                mean: self.finite_mean(),
            }),
            NonFinite::Propagate if self.element_count() == 0 => None,
            NonFinite::Propagate if self.nan > 0 => Some(Statistics {
                min: f64::NAN,
                max: f64::NAN,
                mean: f64::NAN,
            }),
            NonFinite::Propagate => {
                let (positive, negative) = (self.positive_infinite > 0, self.negative_infinite > 0);
                // Without finite values `min` and `max` are still the fold identities ±inf,
                // which are then the right answers for a set of only +inf or only -inf.
                Some(Statistics {
                    min: if negative {
                        f64::NEG_INFINITY
                    } else {
                        self.min
                    },
                    max: if positive { f64::INFINITY } else { self.max },
                    mean: match (positive, negative) {
                        (true, true) => f64::NAN,
                        (true, false) => f64::INFINITY,
                        (false, true) => f64::NEG_INFINITY,
                        (false, false) => self.finite_mean(),
                    },
                })
            }
        }
    }

    /// Population standard deviation (divides by the count) under `policy`, or `None` as for
    /// [`Moments::statistics`].
    pub fn std(&self, policy: NonFinite) -> Option<f64> {
        let finite_std = || (self.scaled_m2 / self.count as f64).sqrt() * self.scale;
        match policy {
            NonFinite::Exclude => (self.count > 0).then(finite_std),
            NonFinite::Propagate if self.element_count() == 0 => None,
            NonFinite::Propagate if self.element_count() > self.count => Some(f64::NAN),
            NonFinite::Propagate => Some(finite_std()),
        }
    }

    /// The mean of the finite values (0 when there are none).
    fn finite_mean(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let count = self.count as f64;
        if self.sum.is_finite() {
            self.sum / count
        } else {
            self.scaled_sum / count * self.scale
        }
    }
}

/// Summarizes `bytes` cut into chunks of `chunk_bytes` (0 is treated as 1): rayon decodes each
/// chunk with `decode` (which appends one f64 per element to the buffer it receives) and
/// summarizes it, and the partial results are merged in chunk order. Only one chunk's decoded
/// values per worker exist at a time.
pub fn summarize_chunks<Decode>(bytes: &[u8], chunk_bytes: usize, decode: Decode) -> Moments
where
    Decode: Fn(&[u8], &mut Vec<f64>) + Send + Sync,
{
    let partials: Vec<Moments> = bytes
        .par_chunks(chunk_bytes.max(1))
        .map_init(Vec::new, |values, chunk| {
            values.clear();
            decode(chunk, values);
            Moments::from_values(values)
        })
        .collect();
    partials.into_iter().fold(Moments::EMPTY, Moments::merge)
}

/// The largest power of two not above `magnitude`, and at least 2^-1022 (the smallest normal
/// f64), so that values divided by it stay below 2 in magnitude and its inverse is finite.
fn scale_for(magnitude: f64) -> f64 {
    if magnitude < f64::MIN_POSITIVE {
        f64::MIN_POSITIVE
    } else {
        // Clearing the mantissa (and the sign, already clear) of a normal number leaves 2^exponent.
        f64::from_bits(magnitude.to_bits() & 0x7FF0_0000_0000_0000)
    }
}

fn finite(values: &[f64]) -> impl Iterator<Item = f64> + '_ {
    values.iter().copied().filter(|value| value.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook reference: two passes over all the finite values at once.
    fn naive(values: &[f64]) -> (f64, f64) {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let count = finite.len() as f64;
        let mean = finite.iter().sum::<f64>() / count;
        let variance = finite.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / count;
        (mean, variance.sqrt())
    }

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= 1e-12 * expected.abs().max(1.0)
    }

    fn excluded(moments: &Moments) -> Statistics {
        moments
            .statistics(NonFinite::Exclude)
            .expect("finite values")
    }

    #[test]
    fn hand_computed_example() {
        let moments = Moments::from_values(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(moments.finite_count(), 8);
        let statistics = excluded(&moments);
        assert_eq!(
            (statistics.min, statistics.max, statistics.mean),
            (2.0, 9.0, 5.0)
        );
        assert_eq!(moments.std(NonFinite::Exclude), Some(2.0));
        assert_eq!(moments.statistics(NonFinite::Propagate), Some(statistics));
        assert_eq!(moments.std(NonFinite::Propagate), Some(2.0));
    }

    #[test]
    fn excluded_non_finite_values_are_counted_not_averaged() {
        let values = [
            1.0,
            f64::NAN,
            f64::INFINITY,
            3.0,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let moments = Moments::from_values(&values);
        assert_eq!(moments.finite_count(), 2);
        assert_eq!((moments.nan_count(), moments.infinite_count()), (2, 2));
        assert_eq!(moments.element_count(), 6);
        let statistics = excluded(&moments);
        assert_eq!(
            (statistics.mean, statistics.min, statistics.max),
            (2.0, 1.0, 3.0)
        );
        assert_eq!(moments.std(NonFinite::Exclude), Some(1.0));
    }

    #[test]
    fn propagated_nan_makes_every_statistic_nan() {
        let moments = Moments::from_values(&[1.0, f64::NAN, f64::INFINITY]);
        let statistics = moments
            .statistics(NonFinite::Propagate)
            .expect("has elements");
        assert!(statistics.min.is_nan() && statistics.max.is_nan() && statistics.mean.is_nan());
        assert!(moments.std(NonFinite::Propagate).is_some_and(f64::is_nan));
    }

    #[test]
    fn propagated_infinities_behave_as_ieee_sums() {
        let propagate = |values: &[f64]| {
            Moments::from_values(values)
                .statistics(NonFinite::Propagate)
                .expect("has elements")
        };
        let positive = propagate(&[1.0, f64::INFINITY, -2.0]);
        assert_eq!(
            (positive.min, positive.max, positive.mean),
            (-2.0, f64::INFINITY, f64::INFINITY)
        );
        let negative = propagate(&[f64::NEG_INFINITY, 5.0]);
        assert_eq!((negative.min, negative.max), (f64::NEG_INFINITY, 5.0));
        assert_eq!(negative.mean, f64::NEG_INFINITY);
        let both = propagate(&[f64::NEG_INFINITY, f64::INFINITY]);
        assert_eq!((both.min, both.max), (f64::NEG_INFINITY, f64::INFINITY));
        assert!(both.mean.is_nan());
        let only_positive = propagate(&[f64::INFINITY, f64::INFINITY]);
        assert_eq!(
            (only_positive.min, only_positive.max),
            (f64::INFINITY, f64::INFINITY)
        );
        assert!(Moments::from_values(&[f64::INFINITY])
            .std(NonFinite::Propagate)
            .is_some_and(f64::is_nan));
    }

    #[test]
    fn nothing_to_summarize_gives_none() {
        let nan = Moments::from_values(&[f64::NAN]);
        assert_eq!(nan.statistics(NonFinite::Exclude), None);
        assert_eq!(nan.std(NonFinite::Exclude), None);
        assert_eq!(nan.nan_count(), 1);
        let empty = Moments::from_values(&[]);
        assert_eq!(empty.statistics(NonFinite::Propagate), None);
        assert_eq!(empty.std(NonFinite::Propagate), None);
        assert_eq!(empty, Moments::EMPTY);
    }

    #[test]
    fn merging_any_split_matches_the_naive_reference() {
        // Values with a large offset make the one-pass "sum of squares" formula lose every digit,
        // so this also shows that the merge is the stable one.
        let values: Vec<f64> = (0..1000)
            .map(|i| 1e9 + f64::from((i * 7919) % 1013) * 0.001)
            .collect();
        let (mean, std) = naive(&values);
        for chunk in [1, 3, 64, 999, 1000] {
            let merged = values
                .chunks(chunk)
                .map(Moments::from_values)
                .fold(Moments::EMPTY, Moments::merge);
            assert_eq!(merged.finite_count(), 1000);
            let merged_mean = excluded(&merged).mean;
            assert!(
                close(merged_mean, mean),
                "chunk {chunk}: mean {merged_mean}"
            );
            let merged_std = merged.std(NonFinite::Exclude).unwrap_or(f64::NAN);
            assert!(
                (merged_std - std).abs() <= 1e-6 * std,
                "chunk {chunk}: std {merged_std} vs {std}"
            );
        }
    }

    #[test]
    fn one_chunk_gives_the_textbook_bits() {
        // Scaling by a power of two is exact, so ordinary data gets exactly the unscaled answers.
        let values: Vec<f64> = (0..777).map(|i| f64::from(i).sin() * 0.37 - 0.01).collect();
        let (mean, std) = naive(&values);
        let moments = Moments::from_values(&values);
        assert_eq!(excluded(&moments).mean, mean);
        assert_eq!(moments.std(NonFinite::Exclude), Some(std));
    }

    #[test]
    fn merge_with_empty_keeps_counts() {
        let some = Moments::from_values(&[1.0, f64::NAN]);
        let none = Moments::from_values(&[f64::INFINITY]);
        let merged = none.merge(some);
        assert_eq!(merged.finite_count(), 1);
        assert_eq!((merged.nan_count(), merged.infinite_count()), (1, 1));
        assert_eq!(excluded(&merged).mean, 1.0);
        assert_eq!(some.merge(Moments::EMPTY), some);
        assert_eq!(Moments::EMPTY.merge(some), some);
    }

    #[test]
    fn huge_values_do_not_overflow_the_mean() {
        let moments = Moments::from_values(&[f64::MAX, f64::MAX]);
        assert_eq!(excluded(&moments).mean, f64::MAX);
        assert_eq!(moments.std(NonFinite::Exclude), Some(0.0));
        let merged = moments.merge(moments);
        assert_eq!(excluded(&merged).mean, f64::MAX);
        assert_eq!(merged.std(NonFinite::Exclude), Some(0.0));
    }

    #[test]
    fn scale_is_the_power_of_two_below_the_magnitude() {
        assert_eq!(scale_for(3.0), 2.0);
        assert_eq!(scale_for(1.0), 1.0);
        assert_eq!(scale_for(f64::MAX), 2f64.powi(1023));
        assert_eq!(scale_for(0.0), f64::MIN_POSITIVE);
        assert_eq!(scale_for(5e-324), f64::MIN_POSITIVE);
    }

    #[test]
    fn chunks_are_decoded_and_merged_in_order() {
        let bytes: Vec<u8> = (0..=250).collect();
        let decode = |chunk: &[u8], values: &mut Vec<f64>| {
            values.extend(chunk.iter().map(|&byte| f64::from(byte)));
        };
        for chunk_bytes in [0, 1, 7, 251, 1000] {
            let moments = summarize_chunks(&bytes, chunk_bytes, decode);
            assert_eq!(moments.element_count(), 251);
            let statistics = excluded(&moments);
            assert_eq!(
                (statistics.min, statistics.max, statistics.mean),
                (0.0, 250.0, 125.0)
            );
        }
    }
}
