//! MRS, the semi-analytic ODE and SDE samplers of mean-reverting diffusion.

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};
use scoreflow_noise_schedules::{MeanReverting, NoiseSchedule};

use super::grid::check_times;
use super::model::predict_centred;
use super::{MrError, MrModel};

/// Probability-flow ODE or reverse SDE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrsKind {
    /// The PF-ODE dy/dt = −θy − ½g²∇ ln p (deterministic).
    Ode,
    /// The reverse SDE dy = [−θy − g²∇ ln p]dt + g dW̄.
    Sde,
}

/// Which prediction the exponential integrator approximates; the model's own
/// [`MrPrediction`](super::MrPrediction) is converted to it first (MRS §3.3: velocity
/// prediction is solved through its data or noise conversion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrsForm {
    /// ε̂ in the integral (MRS's noise-prediction solvers; DPM-Solver's form).
    Noise,
    /// x̂₀ in the integral (MRS's data-prediction solvers; DPM-Solver++'s form), which Li et al.
    /// find numerically more stable at few steps.
    Data,
}

/// MRS (Li et al. 2025, "MRS: A Fast Sampler for Mean Reverting Diffusion based on ODE and SDE
/// Solvers", §3–4): in y = x − μ, with α_t = e^{−θ̄_t}, σ_t = λ√(1 − e^{−2θ̄_t}),
/// λ_t = ln(α_t/σ_t) and h = λ_t − λ_s > 0 for a step s → t < s, the exact solutions of the
/// PF-ODE and reverse SDE are (variation of constants in λ, MRS eqs. for the ODE and SDE
/// solutions):
///
/// - ODE, noise: y_t = (α_t/α_s) y_s − α_t ∫ e^{−λ} ε̂ dλ;
/// - ODE, data: y_t = (σ_t/σ_s) y_s + σ_t ∫ e^{λ} x̃₀ dλ  (x̃₀ = x̂₀ − μ);
/// - SDE, noise: y_t = (α_t/α_s) y_s − 2α_t ∫ e^{−λ} ε̂ dλ + σ_t√(e^{2h} − 1) z;
/// - SDE, data: y_t = (σ_t/σ_s)e^{−h} y_s + 2α_t ∫ e^{−2(λ_t−λ)} x̃₀ dλ + σ_t√(1 − e^{−2h}) z,
///
/// integrals over [λ_s, λ_t]. The linear part is exact; the network integral is approximated
/// by holding the prediction constant (order 1) or by its linear extrapolation through the
/// previous step's prediction (order 2, multistep, one model call per step; the first step is
/// order 1), giving with r = h_prev/h, Δ = (P_s − P_prev)/r and P the prediction in `form`:
///
/// | kind, form | update |
/// |---|---|
/// | ODE, noise | y_t = (α_t/α_s)y_s − σ_t(e^h − 1)(ε̂ + ½Δ) |
/// | ODE, data | y_t = (σ_t/σ_s)y_s + α_t(1 − e^{−h})(x̃₀ + ½Δ) |
/// | SDE, noise | y_t = (α_t/α_s)y_s − 2σ_t(e^h − 1)(ε̂ + ½Δ) + σ_t√(e^{2h} − 1) z |
/// | SDE, data | y_t = (σ_t/σ_s)e^{−h}y_s + α_t(1 − e^{−2h})(x̃₀ + ½Δ) + σ_t√(1 − e^{−2h}) z |
///
/// — DPM-Solver(-2M) and DPM-Solver++(2M) and their SDE variants (Lu et al. 2022a, 2022b)
/// transplanted to the mean-reverting SDE, as MRS does. The ODE solvers have global order
/// `order`; the SDE solvers converge in distribution (weakly). The sampler ends at the grid's
/// last time t_min > 0 and returns x(t_min) (no final denoising).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mrs {
    kind: MrsKind,
    form: MrsForm,
    order: usize,
}

impl Mrs {
    /// MRS of `order` 1 or 2.
    ///
    /// # Errors
    /// [`MrError::Order`] for any other order.
    pub fn new(kind: MrsKind, form: MrsForm, order: usize) -> Result<Self, MrError> {
        if !(1..=2).contains(&order) {
            return Err(MrError::Order(order));
        }
        Ok(Self { kind, form, order })
    }

    /// Parses `mrs-{ode|sde}-{1|2}[-{data|noise}]` (data form by default), e.g.
    /// `mrs-ode-2`, `mrs-sde-1-noise`; `None` for anything else.
    pub fn from_name(name: &str) -> Option<Self> {
        let rest = name.strip_prefix("mrs-")?;
        let mut parts = rest.split('-');
        let kind = match parts.next()? {
            "ode" => MrsKind::Ode,
            "sde" => MrsKind::Sde,
            _ => return None,
        };
        let order = match parts.next()? {
            "1" => 1,
            "2" => 2,
            _ => return None,
        };
        let form = match parts.next() {
            None | Some("data") => MrsForm::Data,
            Some("noise") => MrsForm::Noise,
            Some(_) => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Self { kind, form, order })
    }

    /// The canonical name, `mrs-{ode|sde}-{order}-{data|noise}`.
    pub fn name(&self) -> String {
        let kind = match self.kind {
            MrsKind::Ode => "ode",
            MrsKind::Sde => "sde",
        };
        let form = match self.form {
            MrsForm::Noise => "noise",
            MrsForm::Data => "data",
        };
        format!("mrs-{kind}-{}-{form}", self.order)
    }

    /// ODE or SDE.
    pub fn kind(&self) -> MrsKind {
        self.kind
    }

    /// Noise or data form.
    pub fn form(&self) -> MrsForm {
        self.form
    }

    /// 1 or 2.
    pub fn order(&self) -> usize {
        self.order
    }

    /// Runs the sampler from x at `times[0]` along the strictly decreasing `times` (in (0, 1])
    /// with per-row means `mu`. SDE noise is drawn from a ChaCha20 stream seeded with `seed`.
    /// Returns x at the last time and the number of model calls (one per step).
    ///
    /// # Errors
    /// [`MrError::Grid`] for a bad time grid, [`MrError::Shape`] if x and μ differ in shape or
    /// the model returns another shape, [`MrError::Model`] for a failed model call.
    pub fn sample(
        &self,
        model: &dyn MrModel,
        schedule: &MeanReverting,
        x: Array2<f64>,
        mu: &Array2<f64>,
        times: &[f64],
        seed: u64,
    ) -> Result<(Array2<f64>, usize), MrError> {
        check_times(times)?;
        if x.dim() != mu.dim() {
            return Err(MrError::Shape(format!(
                "x is {:?} but mu is {:?}",
                x.dim(),
                mu.dim()
            )));
        }
        // Host coefficients for the whole grid, once.
        let alpha: Vec<f64> = times.iter().map(|&t| schedule.alpha(t)).collect();
        let sigma: Vec<f64> = times.iter().map(|&t| schedule.sigma(t)).collect();
        let lambda: Vec<f64> = times.iter().map(|&t| schedule.lambda(t)).collect();
        let want_data = self.form == MrsForm::Data;
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut y = x - mu;
        let mut prev: Option<(Array2<f64>, f64)> = None;
        for i in 0..times.len() - 1 {
            let (s, t) = (i, i + 1);
            let h = lambda[t] - lambda[s];
            let out = predict_centred(model, &y, mu, times[s])?;
            let p = model
                .prediction()
                .convert(&out, &y, mu, alpha[s], sigma[s], want_data);
            // P_s + ½Δ with Δ = (P_s − P_prev)/r, r = h_prev/h (order 2 after the first step).
            let integrand = match (&prev, self.order) {
                (Some((p_prev, h_prev)), 2) => {
                    let r = h_prev / h;
                    &p + &((&p - p_prev) * (0.5 / r))
                }
                _ => p.clone(),
            };
            let (c_y, c_p, c_z) = self.coefficients(alpha[s], sigma[s], alpha[t], sigma[t], h);
            y = y * c_y + integrand * c_p;
            if c_z != 0.0 {
                y.mapv_inplace(|v: f64| {
                    v + c_z * Distribution::<f64>::sample(&StandardNormal, &mut rng)
                });
            }
            prev = Some((p, h));
        }
        Ok((y + mu, times.len() - 1))
    }

    /// (c_y, c_P, c_z) of y_t = c_y y_s + c_P (P + ½Δ) + c_z z, from the table in the type docs;
    /// expm1 keeps them accurate for small h.
    fn coefficients(&self, a_s: f64, s_s: f64, a_t: f64, s_t: f64, h: f64) -> (f64, f64, f64) {
        match (self.kind, self.form) {
            (MrsKind::Ode, MrsForm::Noise) => (a_t / a_s, -s_t * h.exp_m1(), 0.0),
            (MrsKind::Ode, MrsForm::Data) => (s_t / s_s, -a_t * (-h).exp_m1(), 0.0),
            (MrsKind::Sde, MrsForm::Noise) => (
                a_t / a_s,
                -2.0 * s_t * h.exp_m1(),
                s_t * (2.0 * h).exp_m1().sqrt(),
            ),
            (MrsKind::Sde, MrsForm::Data) => (
                s_t / s_s * (-h).exp(),
                -a_t * (-2.0 * h).exp_m1(),
                s_t * (-(-2.0 * h).exp_m1()).sqrt(),
            ),
        }
    }
}
