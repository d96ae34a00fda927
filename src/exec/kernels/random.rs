//! The seeded random generator of `rand` and `fill mode: rand`: counter-based, so any element can
//! be computed on its own and parallel, chunked generation gives the same tensor as a serial one.
//!
//! **The generator, exactly** (bit-compatibility with PyTorch's Mersenne Twister is a non-goal):
//! - Bits: element `i` of a tensor generated with seed `s` uses `splitmix64(s, k)`, the `k`-th
//!   output (counting from 0) of Vigna's SplitMix64 seeded with `s`:
//!   `mix(s + (k + 1) · 0x9E3779B97F4A7C15)` with wrapping arithmetic, where `mix(z)` is
//!   `z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31`.
//! - Uniform(low, high): `k = i`, `u = (bits >> 11) · 2⁻⁵³` in [0, 1), value `low + (high − low) · u`.
//! - Normal(mean, std), Box–Muller over pairs: for `p = i / 2`, `u₁ = ((bits(2p) >> 11) + 1) · 2⁻⁵³`
//!   in (0, 1], `u₂ = (bits(2p + 1) >> 11) · 2⁻⁵³`, `r = √(−2 ln u₁)`, `θ = 2π u₂`; even `i` takes
//!   `r cos θ`, odd `i` takes `r sin θ`; value `mean + std · z`.
//! - Values are computed in `f64` and then converted to the tensor's dtype by the cast rules (so a
//!   uniform sample can round up to `high` in a narrow dtype).
//!
//! `ln`, `cos` and `sin` come from the platform's math library, so normal samples are reproducible
//! run to run on one platform; across platforms they may differ in the last bits.

use crate::exec::error::KernelError;
use crate::plan::ast::Distribution;

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The `k`-th output (from 0) of SplitMix64 seeded with `seed`.
pub fn splitmix64(seed: u64, k: u64) -> u64 {
    let mut z = seed.wrapping_add(GOLDEN_GAMMA.wrapping_mul(k.wrapping_add(1)));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A distribution with its parameters resolved and checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RandomDistribution {
    Uniform { low: f64, high: f64 },
    Normal { mean: f64, std: f64 },
}

impl RandomDistribution {
    /// Checks the parameters: finite, `low < high`, `std > 0` (as BrainSurgery requires).
    pub fn new_uniform(low: f64, high: f64) -> Result<RandomDistribution, KernelError> {
        if !(low.is_finite() && high.is_finite() && low < high) {
            return Err(invalid(format!(
                "uniform needs finite low < high, got {low} and {high}"
            )));
        }
        Ok(RandomDistribution::Uniform { low, high })
    }

    pub fn new_normal(mean: f64, std: f64) -> Result<RandomDistribution, KernelError> {
        if !(mean.is_finite() && std.is_finite() && std > 0.0) {
            return Err(invalid(format!(
                "normal needs a finite mean and std > 0, got {mean} and {std}"
            )));
        }
        Ok(RandomDistribution::Normal { mean, std })
    }

    /// The plan's distribution with BrainSurgery's defaults (uniform 0..1, normal 0, 1); `None`
    /// (no distribution written) is uniform 0..1.
    pub fn from_plan(
        distribution: Option<&Distribution>,
    ) -> Result<RandomDistribution, KernelError> {
        match distribution {
            None => RandomDistribution::new_uniform(0.0, 1.0),
            Some(Distribution::Uniform { low, high }) => RandomDistribution::new_uniform(
                low.as_ref().map_or(0.0, |v| v.node),
                high.as_ref().map_or(1.0, |v| v.node),
            ),
            Some(Distribution::Normal { mean, std }) => RandomDistribution::new_normal(
                mean.as_ref().map_or(0.0, |v| v.node),
                std.as_ref().map_or(1.0, |v| v.node),
            ),
        }
    }

    /// Element `index` of a tensor generated with `seed`, in `f64`.
    pub fn sample(&self, seed: u64, index: u64) -> f64 {
        match *self {
            RandomDistribution::Uniform { low, high } => {
                low + (high - low) * unit_interval(splitmix64(seed, index))
            }
            RandomDistribution::Normal { mean, std } => {
                let pair = index / 2;
                let first = splitmix64(seed, pair.wrapping_mul(2));
                let second = splitmix64(seed, pair.wrapping_mul(2).wrapping_add(1));
                let radius = (-2.0 * open_unit_interval(first).ln()).sqrt();
                let angle = std::f64::consts::TAU * unit_interval(second);
                let z = if index.is_multiple_of(2) {
                    radius * angle.cos()
                } else {
                    radius * angle.sin()
                };
                mean + std * z
            }
        }
    }
}

/// The seed a plan's signed seed stands for (two's complement).
pub fn seed_from_plan(seed: i64) -> u64 {
    seed as u64
}

fn invalid(reason: String) -> KernelError {
    KernelError::InvalidArgument { op: "rand", reason }
}

/// The top 53 bits as a number in [0, 1).
fn unit_interval(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The top 53 bits as a number in (0, 1], so that its logarithm is finite.
fn open_unit_interval(bits: u64) -> f64 {
    ((bits >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_published_sequence_for_seed_zero() {
        assert_eq!(splitmix64(0, 0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(0, 1), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(splitmix64(0, 2), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn parameters_are_checked() {
        assert!(RandomDistribution::new_uniform(1.0, 1.0).is_err());
        assert!(RandomDistribution::new_uniform(0.0, f64::INFINITY).is_err());
        assert!(RandomDistribution::new_normal(0.0, 0.0).is_err());
        assert!(RandomDistribution::new_normal(f64::NAN, 1.0).is_err());
        assert_eq!(
            RandomDistribution::from_plan(None),
            Ok(RandomDistribution::Uniform {
                low: 0.0,
                high: 1.0
            })
        );
    }

    #[test]
    fn extreme_bits_stay_in_range() {
        assert_eq!(unit_interval(0), 0.0);
        assert!(unit_interval(u64::MAX) < 1.0);
        assert!(open_unit_interval(0) > 0.0);
        assert_eq!(open_unit_interval(u64::MAX), 1.0);
    }
}
