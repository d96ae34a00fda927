//! Running summary statistics that can be computed per chunk and merged in any grouping.
//!
//! [`Moments`] holds, for the finite values seen, the count, mean, sum of squared deviations from
//! the mean (`m2`), minimum and maximum, plus how many NaN and infinite values were skipped. A chunk
//! is summarized with an exact two-pass sum ([`Moments::from_values`]) and chunks combine with the
//! pairwise update of Chan, Golub and LeVeque ([`Moments::merge`]), which is numerically stable, so
//! the result agrees with a whole-tensor two-pass computation to rounding error whatever the chunk
//! size. Non-finite values are counted but kept out of min, max, mean and std, so one overflowed
//! element does not hide the distribution of the others.

/// Summary of a set of values; merge two with [`Moments::merge`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Number of finite values.
    pub count: u64,
    pub mean: f64,
    /// Sum of squared deviations of the finite values from `mean`.
    pub m2: f64,
    pub min: f64,
    pub max: f64,
    pub nan: u64,
    pub infinite: u64,
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
        mean: 0.0,
        m2: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        nan: 0,
        infinite: 0,
    };

    /// Summarizes one chunk with two passes: the mean first, then squared deviations from it.
    pub fn from_values(values: &[f64]) -> Moments {
        let mut moments = Moments::EMPTY;
        let mut sum = 0.0;
        for &value in values {
            if value.is_nan() {
                moments.nan += 1;
            } else if value.is_infinite() {
                moments.infinite += 1;
            } else {
                moments.count += 1;
                sum += value;
                moments.min = moments.min.min(value);
                moments.max = moments.max.max(value);
            }
        }
        if moments.count == 0 {
            return moments;
        }
        let count = moments.count as f64;
        moments.mean = if sum.is_finite() {
            sum / count
        } else {
            // Only F64 data near f64::MAX can overflow the plain sum; scaling first avoids that.
            finite(values).map(|value| value / count).sum()
        };
        moments.m2 = finite(values)
            .map(|value| {
                let deviation = value - moments.mean;
                deviation * deviation
            })
            .sum();
        moments
    }

    /// Combines the summaries of two disjoint sets (Chan et al., "Updating formulae and a pairwise
    /// algorithm for computing sample variances", 1979).
    pub fn merge(self, other: Moments) -> Moments {
        let nan = self.nan + other.nan;
        let infinite = self.infinite + other.infinite;
        if other.count == 0 {
            return Moments {
                nan,
                infinite,
                ..self
            };
        }
        if self.count == 0 {
            return Moments {
                nan,
                infinite,
                ..other
            };
        }
        let count = self.count + other.count;
        let (left, right, total) = (self.count as f64, other.count as f64, count as f64);
        let delta = other.mean - self.mean;
        Moments {
            count,
            mean: self.mean + delta * (right / total),
            m2: self.m2 + other.m2 + delta * delta * (left * right / total),
            min: self.min.min(other.min),
            max: self.max.max(other.max),
            nan,
            infinite,
        }
    }

    /// Population standard deviation (divides by the count), or `None` without finite values.
    pub fn std(&self) -> Option<f64> {
        (self.count > 0).then(|| (self.m2 / self.count as f64).sqrt())
    }
}

fn finite(values: &[f64]) -> impl Iterator<Item = f64> + '_ {
    values.iter().copied().filter(|value| value.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook reference: two passes over all values at once.
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

    #[test]
    fn hand_computed_example() {
        let moments = Moments::from_values(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(moments.count, 8);
        assert_eq!(moments.mean, 5.0);
        assert_eq!(moments.std(), Some(2.0));
        assert_eq!((moments.min, moments.max), (2.0, 9.0));
    }

    #[test]
    fn non_finite_values_are_counted_not_averaged() {
        let values = [
            1.0,
            f64::NAN,
            f64::INFINITY,
            3.0,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let moments = Moments::from_values(&values);
        assert_eq!((moments.count, moments.nan, moments.infinite), (2, 2, 2));
        assert_eq!((moments.mean, moments.min, moments.max), (2.0, 1.0, 3.0));
    }

    #[test]
    fn no_finite_values_give_no_std() {
        let moments = Moments::from_values(&[f64::NAN]);
        assert_eq!(moments.std(), None);
        assert_eq!(moments.nan, 1);
        assert_eq!(Moments::from_values(&[]).std(), None);
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
            assert_eq!(merged.count, 1000);
            assert!(
                close(merged.mean, mean),
                "chunk {chunk}: mean {}",
                merged.mean
            );
            let merged_std = merged.std().unwrap_or(f64::NAN);
            assert!(
                (merged_std - std).abs() <= 1e-6 * std,
                "chunk {chunk}: std {merged_std} vs {std}"
            );
        }
    }

    #[test]
    fn merge_with_empty_keeps_counts() {
        let some = Moments::from_values(&[1.0, f64::NAN]);
        let none = Moments::from_values(&[f64::INFINITY]);
        let merged = none.merge(some);
        assert_eq!((merged.count, merged.nan, merged.infinite), (1, 1, 1));
        assert_eq!(merged.mean, 1.0);
        assert_eq!(some.merge(Moments::EMPTY), some);
    }

    #[test]
    fn huge_values_do_not_overflow_the_mean() {
        let moments = Moments::from_values(&[f64::MAX, f64::MAX]);
        assert_eq!(moments.mean, f64::MAX);
        assert_eq!(moments.std(), Some(0.0));
    }
}
