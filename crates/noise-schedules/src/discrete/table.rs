//! A discrete DDPM β table viewed as a continuous-time VP schedule.

use std::fmt;

use super::BetaSchedule;
use super::zero_snr::rescale_zero_terminal_snr;
use crate::numerics::vp_integral_from_lambda;
use crate::validate;
use crate::{DataEnd, NoiseSchedule, ScheduleError};

/// A DDPM β table (Ho et al. 2020, Denoising Diffusion Probabilistic Models, eq. (4):
/// ᾱ_n = Π_{i≤n}(1 − β_i)) together with its continuous-time interpolation.
///
/// **Interpolation** (Lu et al. 2022, DPM-Solver reference code, `NoiseScheduleVP('discrete')`):
/// table index n sits at t_n = (n + 1)/N and ln α(t) is piecewise linear in t through
/// (t_n, ½ ln ᾱ_n). Below t₀ = 1/N this crate adds the node (0, ln α = 0), i.e. ᾱ = 1 at
/// t = 0 (the "ᾱ₋₁ = 1" convention of DDIM), instead of DPM-Solver's linear extrapolation:
/// for increasing β that extrapolation gives α(0) = √((1 − β₀)/(1 − β₁)) > 1 and an
/// undefined σ. With the extra node α(0) = 1, σ(0) = 0 and λ(0) = +∞, like the continuous VP.
///
/// **Zero terminal SNR**: when ᾱ_{N−1} = 0 (after [`rescale_zero_terminal_snr`]) ln α is
/// −∞ at t = 1, so on the last segment α itself (not ln α) is interpolated linearly to 0.
/// Then α(1) = 0, σ(1) = 1, λ(1) = −∞, and everything is finite for t < 1.
///
/// Arguments t outside [0, 1] are clamped to it. Derivatives at a node are those of the
/// segment to its right (the interpolant is only piecewise smooth).
///
/// [`rescale_zero_terminal_snr`]: Discrete::rescale_zero_terminal_snr
#[derive(Clone, PartialEq)]
pub struct Discrete {
    betas: Vec<f64>,
    alphas_cumprod: Vec<f64>,
    /// ln α at the N + 1 nodes t = j/N, j = 0..=N (node 0 is the added ᾱ = 1).
    log_alpha: Vec<f64>,
    /// d ln α/dt on each of the N segments.
    slopes: Vec<f64>,
}

/// α, dα/dt, ln α and d ln α/dt at one t, computed together because the zero-terminal
/// segment needs α' without forming 0·∞.
struct Local {
    alpha: f64,
    d_alpha: f64,
    log_alpha: f64,
    f: f64,
}

impl Discrete {
    /// The table `beta_schedule` produces for `num_train_timesteps` steps.
    ///
    /// # Errors
    /// Those of [`BetaSchedule::betas`] and [`Discrete::from_betas`].
    pub fn new(
        beta_schedule: BetaSchedule,
        num_train_timesteps: usize,
    ) -> Result<Self, ScheduleError> {
        Self::from_betas(beta_schedule.betas(num_train_timesteps)?)
    }

    /// A user-supplied table β₀ … β_{N−1}.
    ///
    /// # Errors
    /// [`ScheduleError::TooFewSteps`] for N < 2, [`ScheduleError::NonFinite`] or
    /// [`ScheduleError::OutOfRange`] for a β outside (0, 1] (β = 1 only as the last entry,
    /// which makes the terminal SNR zero), [`ScheduleError::DegenerateBetaTable`] if ᾱ
    /// underflows to 0 before the last entry.
    pub fn from_betas(betas: Vec<f64>) -> Result<Self, ScheduleError> {
        let n = validate::at_least("num_train_timesteps", betas.len(), 2)?;
        for (i, &beta) in betas.iter().enumerate() {
            validate::finite("betas", beta)?;
            let ok = beta > 0.0 && (beta < 1.0 || (beta == 1.0 && i == n - 1));
            if !ok {
                return Err(ScheduleError::OutOfRange {
                    name: "betas",
                    value: beta,
                    expected: "(0, 1), or exactly 1 for the last entry",
                });
            }
        }
        let mut alphas_cumprod = Vec::with_capacity(n);
        let mut prod = 1.0;
        for (i, &beta) in betas.iter().enumerate() {
            prod *= 1.0 - beta;
            if prod <= 0.0 && i < n - 1 {
                return Err(ScheduleError::DegenerateBetaTable {
                    index: i,
                    alpha_cumprod: prod,
                });
            }
            alphas_cumprod.push(prod);
        }
        // Summing ln(1 − β) keeps ln ᾱ accurate where ᾱ ≈ 1, which ln(ᾱ) of the rounded
        // product would not (relative error 1e-16/β there).
        let mut log_alpha = Vec::with_capacity(n + 1);
        log_alpha.push(0.0);
        let mut acc = 0.0;
        for &beta in &betas {
            acc += 0.5 * (-beta).ln_1p();
            log_alpha.push(acc);
        }
        let nodes = node_times(n);
        let slopes = (0..n)
            .map(|k| (log_alpha[k + 1] - log_alpha[k]) / (nodes(k + 1) - nodes(k)))
            .collect();
        Ok(Self {
            betas,
            alphas_cumprod,
            log_alpha,
            slopes,
        })
    }

    /// A new schedule whose table is rescaled to zero terminal SNR (Lin et al. 2024, Common
    /// Diffusion Noise Schedules and Sample Steps are Flawed, Algorithm 1): √ᾱ shifted so
    /// that √ᾱ_{N−1} = 0 and scaled so that √ᾱ₀ is unchanged.
    ///
    /// # Errors
    /// [`ScheduleError::OutOfRange`] / [`ScheduleError::DegenerateBetaTable`] only if
    /// rounding makes two consecutive rescaled ᾱ equal, which a valid table cannot do in
    /// practice.
    pub fn rescale_zero_terminal_snr(&self) -> Result<Self, ScheduleError> {
        Self::from_betas(rescale_zero_terminal_snr(&self.betas))
    }

    /// N, the number of training timesteps.
    pub fn num_train_timesteps(&self) -> usize {
        self.betas.len()
    }

    /// β₀ … β_{N−1}.
    pub fn betas(&self) -> &[f64] {
        &self.betas
    }

    /// ᾱ_n = Π_{i≤n}(1 − β_i) (Ho et al. 2020, eq. (4)), as a running product like
    /// diffusers' `torch.cumprod`.
    pub fn alphas_cumprod(&self) -> &[f64] {
        &self.alphas_cumprod
    }

    /// σ_n = √((1 − ᾱ_n)/ᾱ_n), the noise level of the equivalent α = 1 process
    /// (Karras et al. 2022, eq. (4); k-diffusion `DiscreteSchedule`). The last entry is +∞
    /// for a zero-terminal-SNR table.
    pub fn sigmas(&self) -> Vec<f64> {
        self.alphas_cumprod
            .iter()
            .map(|&a| ((1.0 - a) / a).sqrt())
            .collect()
    }

    /// Whether ᾱ_{N−1} = 0 (terminal SNR zero).
    pub fn is_zero_terminal_snr(&self) -> bool {
        self.alphas_cumprod.last() == Some(&0.0)
    }

    /// Continuous time of a (possibly fractional) table index: t = (n + 1)/N
    /// (Lu et al. 2022, DPM-Solver reference code).
    pub fn t_from_timestep(&self, timestep: f64) -> f64 {
        (timestep + 1.0) / self.num_train_timesteps() as f64
    }

    /// Inverse of [`t_from_timestep`](Self::t_from_timestep): n = tN − 1.
    pub fn timestep_from_t(&self, t: f64) -> f64 {
        t * self.num_train_timesteps() as f64 - 1.0
    }

    fn node(&self, j: usize) -> f64 {
        node_times(self.num_train_timesteps())(j)
    }

    /// Whether the last segment interpolates α linearly (ln α = −∞ at its right node).
    fn alpha_linear_tail(&self) -> bool {
        self.log_alpha.last() == Some(&f64::NEG_INFINITY)
    }

    fn segment(&self, t: f64) -> usize {
        let n = self.num_train_timesteps();
        let k = (t * n as f64).floor();
        if k >= 0.0 {
            // `as` saturates, and the min keeps t = 1 on the last segment.
            (k as usize).min(n - 1)
        } else {
            0
        }
    }

    fn local(&self, t: f64) -> Local {
        let t = t.clamp(0.0, 1.0);
        let n = self.num_train_timesteps();
        let k = self.segment(t);
        if k == n - 1 && self.alpha_linear_tail() {
            let h = self.node(n) - self.node(n - 1);
            let a = self.log_alpha[n - 1].exp();
            let alpha = a * (self.node(n) - t) / h;
            let d_alpha = -a / h;
            return Local {
                alpha,
                d_alpha,
                log_alpha: alpha.ln(),
                f: d_alpha / alpha,
            };
        }
        let slope = self.slopes[k];
        let log_alpha = self.log_alpha[k] + (t - self.node(k)) * slope;
        let alpha = log_alpha.exp();
        Local {
            alpha,
            d_alpha: alpha * slope,
            log_alpha,
            f: slope,
        }
    }

    fn sigma_sq(log_alpha: f64) -> f64 {
        -(2.0 * log_alpha).exp_m1()
    }
}

/// Node j of the interpolation grid, t = j/N, computed the same way everywhere so that the
/// table nodes (t_n = (n + 1)/N) are hit exactly.
fn node_times(n: usize) -> impl Fn(usize) -> f64 {
    move |j| j as f64 / n as f64
}

impl Default for Discrete {
    /// DDPM's linear table with N = 1000 (Ho et al. 2020, §4).
    fn default() -> Self {
        Self::new(BetaSchedule::DDPM_LINEAR, 1000)
            .expect("the DDPM linear table with N = 1000 is valid")
    }
}

impl fmt::Debug for Discrete {
    /// A summary: printing all N betas would swamp logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Discrete")
            .field("num_train_timesteps", &self.num_train_timesteps())
            .field("beta_first", &self.betas.first())
            .field("beta_last", &self.betas.last())
            .field("alpha_cumprod_last", &self.alphas_cumprod.last())
            .finish_non_exhaustive()
    }
}

impl NoiseSchedule for Discrete {
    fn alpha(&self, t: f64) -> f64 {
        self.local(t).alpha
    }

    /// σ = √(1 − α²) = √(−expm1(2 ln α)).
    fn sigma(&self, t: f64) -> f64 {
        Self::sigma_sq(self.local(t).log_alpha).sqrt()
    }

    fn d_alpha(&self, t: f64) -> f64 {
        self.local(t).d_alpha
    }

    /// σσ' = −αα'.
    fn d_sigma(&self, t: f64) -> f64 {
        let l = self.local(t);
        -l.alpha * l.d_alpha / Self::sigma_sq(l.log_alpha).sqrt()
    }

    /// λ = ln α − ½ ln(1 − α²).
    fn lambda(&self, t: f64) -> f64 {
        let la = self.local(t).log_alpha;
        la - 0.5 * Self::sigma_sq(la).ln()
    }

    /// dλ/dt = (d ln α/dt)/σ².
    fn d_lambda(&self, t: f64) -> f64 {
        let l = self.local(t);
        l.f / Self::sigma_sq(l.log_alpha)
    }

    /// ln α = −½ ln(1 + e^{−2λ}); the monotone piecewise-linear ln α is inverted on the
    /// segment found by bisection over the nodes.
    fn t_from_lambda(&self, lambda: f64) -> Result<f64, ScheduleError> {
        validate::lambda_in(lambda, self.lambda(1.0), f64::INFINITY)?;
        let target = -0.5 * vp_integral_from_lambda(lambda);
        let n = self.num_train_timesteps();
        // First node strictly below the target; the segment starts one node earlier.
        let j = self.log_alpha.partition_point(|&v| v >= target);
        let k = j.saturating_sub(1).min(n - 1);
        let (lo, hi) = (self.node(k), self.node(k + 1));
        let t = if k == n - 1 && self.alpha_linear_tail() {
            let a = self.log_alpha[n - 1].exp();
            hi - (hi - lo) * target.exp() / a
        } else {
            self.node(k) + (target - self.log_alpha[k]) / self.slopes[k]
        };
        Ok(t.clamp(lo, hi))
    }

    /// f = d ln α/dt, the segment slope.
    fn f(&self, t: f64) -> f64 {
        self.local(t).f
    }

    /// g² = −2 d ln α/dt (the VP identity g² = β(t) with α = e^{−∫β/2}).
    fn g2(&self, t: f64) -> f64 {
        -2.0 * self.local(t).f
    }

    fn t_range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }

    fn data_end(&self) -> DataEnd {
        DataEnd::AtZero
    }
}
