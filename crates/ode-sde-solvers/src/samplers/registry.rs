//! The sampler table: every σ-grid sampler by name, for the CLI, benchmarks and training.
//!
//! [`SAMPLERS`] is the single source: [`SAMPLER_NAMES`], [`by_name`], [`find`] and the
//! unknown-name error are generated from it, so a sampler added to the table is known
//! everywhere at once. A row names the sampler, its aliases, how it is built from
//! [`SamplerOptions`], the noise source it draws from by default and a one-line summary; its
//! order is the built sampler's [`Sampler::order`].

use super::auto::GridRecipe;
use super::{
    Churn, Ddim, Ddpm, Deis, Dpm2, DpmAdaptive, DpmPP2M, DpmPP2MSde, DpmPP2MSdeSolver,
    DpmPP2SAncestral, DpmPP3M, DpmPP3MSde, DpmPPSde, DpmSolver, Euler, EulerAncestral,
    ExpMultistep, ExtrapolatedEnd, Extrapolation, Heun, Ipndm, Lms, Pc, PcPredictor, PolyVariable,
    Rk45, Sampler, UniPc, UniPcVariant,
};
use crate::SolveError;
use crate::state::State;

/// Options a sampler may read; each ignores those it does not use.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerOptions {
    /// η of ancestral / SDE samplers and DDIM; `None` takes each sampler's own default: 1 for the
    /// ancestral and SDE samplers (k-diffusion's), 0 for `ddim` (diffusers' `DDIMScheduler`,
    /// deterministic).
    pub eta: Option<f64>,
    /// Churn for `euler`, `heun`, `dpm2`.
    pub churn: Churn,
    /// Relative tolerance of `rk45`. (`dpm-adaptive` keeps k-diffusion's rtol = 0.05, atol =
    /// 0.0078, which suit its error norm; set [`DpmAdaptive`](super::DpmAdaptive)'s fields
    /// to change them.)
    pub rtol: f64,
    /// Absolute tolerance of adaptive samplers (`rk45`).
    pub atol: f64,
    /// Langevin signal-to-noise ratio r of `pc` (score_sde's `snr`).
    pub snr: f64,
    /// Langevin corrector steps per predictor step of `pc`.
    pub corrector_steps: usize,
}

impl Default for SamplerOptions {
    fn default() -> Self {
        Self {
            eta: None,
            churn: Churn::default(),
            rtol: 1e-5,
            atol: 1e-5,
            snr: 0.16,
            corrector_steps: 1,
        }
    }
}

impl SamplerOptions {
    /// η, or `default` when none was given.
    fn eta_or(&self, default: f64) -> f64 {
        self.eta.unwrap_or(default)
    }
}

/// Where a sampler draws its fresh noise from by default (when it draws any: `ddim` only with
/// η > 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoiseSource {
    /// A sampler that never draws noise.
    None,
    /// Independent per-step Gaussians ([`GaussianNoise`](super::GaussianNoise)).
    Gaussian,
    /// A Brownian tree ([`BrownianTreeNoise`](super::BrownianTreeNoise)), as k-diffusion's SDE
    /// samplers use, so that results converge as the grid is refined.
    BrownianTree,
}

/// How a row of the table is built; one variant per sampler type and fixed setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Euler,
    Heun,
    Dpm2,
    Lms,
    DpmPP2M,
    DpmPP3M,
    DpmSolver(u8),
    UniPc(UniPcVariant, u8),
    Rk45,
    Ipndm(usize, bool),
    Deis(usize),
    DpmAdaptive,
    Exp(usize, PolyVariable, bool),
    EulerAncestral,
    Ddim,
    Ddpm,
    DpmPP2SAncestral,
    DpmPPSde,
    DpmPP2MSde,
    DpmPP3MSde,
    Pc,
}

/// One row of the sampler table.
#[derive(Clone, Copy, Debug)]
pub struct SamplerInfo {
    /// The canonical name.
    pub name: &'static str,
    /// Other names [`by_name`] accepts for the same sampler and settings.
    pub aliases: &'static [&'static str],
    /// The noise source the sampler draws from by default.
    pub noise: NoiseSource,
    /// One line: what it is and where it comes from.
    pub summary: &'static str,
    /// Where its σ grid comes from (`auto` brings its own).
    pub grid: GridRecipe,
    kind: Kind,
}

impl SamplerInfo {
    /// Whether `name` is this row's name or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }

    /// The sampler of this row, configured from `options`.
    pub fn build<S: State + 'static>(&self, options: &SamplerOptions) -> Box<dyn Sampler<S>> {
        let churn = options.churn;
        match self.kind {
            Kind::Euler => Box::new(Euler { churn }),
            Kind::Heun => Box::new(Heun { churn }),
            Kind::Dpm2 => Box::new(Dpm2 { churn }),
            Kind::Lms => Box::new(Lms { order: 4 }),
            Kind::DpmPP2M => Box::new(DpmPP2M::default()),
            Kind::DpmPP3M => Box::new(DpmPP3M::default()),
            Kind::DpmSolver(order) => Box::new(DpmSolver { order }),
            Kind::UniPc(variant, order) => Box::new(UniPc { variant, order }),
            Kind::Rk45 => Box::new(Rk45 {
                rtol: options.rtol,
                atol: options.atol,
            }),
            Kind::Ipndm(order, afs) => Box::new(Ipndm { order, afs }),
            Kind::Deis(order) => Box::new(Deis { order }),
            // k-diffusion's tolerances, not `options.rtol`/`atol` (see `DpmAdaptive`).
            Kind::DpmAdaptive => Box::new(DpmAdaptive::default()),
            Kind::Exp(order, variable, corrector) => Box::new(ExpMultistep {
                order,
                variable,
                corrector,
                end: Extrapolation::DENOISE,
            }),
            Kind::EulerAncestral => Box::new(EulerAncestral {
                eta: options.eta_or(1.0),
                s_noise: 1.0,
            }),
            Kind::Ddim => Box::new(Ddim {
                eta: options.eta_or(0.0),
            }),
            Kind::Ddpm => Box::new(Ddpm),
            Kind::DpmPP2SAncestral => Box::new(DpmPP2SAncestral {
                eta: options.eta_or(1.0),
                s_noise: 1.0,
            }),
            Kind::DpmPPSde => Box::new(DpmPPSde {
                eta: options.eta_or(1.0),
                s_noise: 1.0,
                r: 0.5,
            }),
            Kind::DpmPP2MSde => Box::new(DpmPP2MSde {
                eta: options.eta_or(1.0),
                s_noise: 1.0,
                solver: DpmPP2MSdeSolver::Midpoint,
            }),
            Kind::DpmPP3MSde => Box::new(DpmPP3MSde {
                eta: options.eta_or(1.0),
                s_noise: 1.0,
            }),
            Kind::Pc => Box::new(Pc {
                predictor: PcPredictor::ReverseDiffusion,
                snr: options.snr,
                corrector_steps: options.corrector_steps,
            }),
        }
    }
}

const fn row(
    name: &'static str,
    aliases: &'static [&'static str],
    kind: Kind,
    noise: NoiseSource,
    summary: &'static str,
) -> SamplerInfo {
    SamplerInfo {
        name,
        aliases,
        noise,
        summary,
        grid: GridRecipe::Given,
        kind,
    }
}

use NoiseSource::{BrownianTree, Gaussian, None as Deterministic};

/// Every σ-grid sampler, deterministic ones first.
#[rustfmt::skip]
pub const SAMPLERS: &[SamplerInfo] = &[
    SamplerInfo {
        grid: GridRecipe::Auto,
        ..row("auto", &[], Kind::Exp(2, PolyVariable::Lambda, true), Deterministic, "the few-step configuration without the data's moments: exp-2-lambda on a grid uniform in CondOT time to σ = 0, N steps = N calls; with them the CLI runs gauss-2 (docs/samplers.md)")
    },
    row("euler", &[], Kind::Euler, Deterministic, "Euler on the PF-ODE in σ (Karras et al. 2022, Alg. 2 without churn)"),
    row("heun", &[], Kind::Heun, Deterministic, "Heun's second-order method in σ (Karras et al. 2022, Alg. 1/2)"),
    row("dpm2", &[], Kind::Dpm2, Deterministic, "k-diffusion's DPM-2: midpoint in log σ (Karras et al. 2022, after Lu et al. 2022a)"),
    row("lms", &[], Kind::Lms, Deterministic, "variable-step Adams–Bashforth order 4 in σ (k-diffusion sample_lms)"),
    row("dpmpp-2m", &[], Kind::DpmPP2M, Deterministic, "DPM-Solver++(2M), data prediction, multistep in λ (Lu et al. 2022b)"),
    row("dpmpp-3m", &[], Kind::DpmPP3M, Deterministic, "DPM-Solver++(3M) with diffusers' lower_order_final (Lu et al. 2022b)"),
    row("dpm-solver-1", &[], Kind::DpmSolver(1), Deterministic, "DPM-Solver-1 = DDIM, noise prediction (Lu et al. 2022a)"),
    row("dpm-solver-2", &[], Kind::DpmSolver(2), Deterministic, "DPM-Solver-2, single-step noise prediction (Lu et al. 2022a)"),
    row("dpm-solver-3", &["dpm-solver"], Kind::DpmSolver(3), Deterministic, "DPM-Solver-3, single-step noise prediction (Lu et al. 2022a)"),
    row("unipc-bh1-1", &[], Kind::UniPc(UniPcVariant::Bh1, 1), Deterministic, "UniPC B(h) = h, order 1 (Zhao et al. 2023)"),
    row("unipc-bh1", &["unipc-bh1-2"], Kind::UniPc(UniPcVariant::Bh1, 2), Deterministic, "UniPC B(h) = h, order 2 (Zhao et al. 2023)"),
    row("unipc-bh1-3", &[], Kind::UniPc(UniPcVariant::Bh1, 3), Deterministic, "UniPC B(h) = h, order 3 (Zhao et al. 2023)"),
    row("unipc-bh2-1", &[], Kind::UniPc(UniPcVariant::Bh2, 1), Deterministic, "UniPC B(h) = expm1(h), order 1 (Zhao et al. 2023)"),
    row("unipc-bh2", &["unipc", "unipc-bh2-2"], Kind::UniPc(UniPcVariant::Bh2, 2), Deterministic, "UniPC B(h) = expm1(h), order 2: diffusers' UniPCMultistepScheduler default (Zhao et al. 2023)"),
    row("unipc-bh2-3", &[], Kind::UniPc(UniPcVariant::Bh2, 3), Deterministic, "UniPC B(h) = expm1(h), order 3 (Zhao et al. 2023)"),
    row("rk45", &[], Kind::Rk45, Deterministic, "adaptive Dormand–Prince 5(4) in σ at --rtol/--atol"),
    row("ipndm", &["ipndm-4"], Kind::Ipndm(4, false), Deterministic, "improved PNDM: fixed Adams–Bashforth 4 on dx/dσ with warm-up (Zhang & Chen 2023)"),
    row("ipndm-2", &[], Kind::Ipndm(2, false), Deterministic, "improved PNDM, order 2 (Zhang & Chen 2023)"),
    row("ipndm-3", &[], Kind::Ipndm(3, false), Deterministic, "improved PNDM, order 3 (Zhang & Chen 2023)"),
    row("ipndm-afs", &[], Kind::Ipndm(4, true), Deterministic, "iPNDM with the analytic first step: no call at σ_max (Zhou et al. 2024)"),
    row("deis", &["deis-3"], Kind::Deis(3), Deterministic, "DEIS tAB order 3: Lagrange nodes in VP time (Zhang & Chen 2023)"),
    row("deis-2", &[], Kind::Deis(2), Deterministic, "DEIS tAB order 2 (Zhang & Chen 2023)"),
    row("dpm-adaptive", &[], Kind::DpmAdaptive, Deterministic, "DPM-Solver-12/23 adaptive in λ with k-diffusion's PID controller (Lu et al. 2022a)"),
    row("exp-2-lambda", &["exp"], Kind::Exp(2, PolyVariable::Lambda, true), Deterministic, "exponential multistep, data prediction, exact coefficients of the order-2 polynomial in λ, free corrector"),
    row("exp-3-lambda", &[], Kind::Exp(3, PolyVariable::Lambda, true), Deterministic, "exponential multistep, order-3 polynomial in λ, free corrector"),
    row("exp-1", &[], Kind::Exp(1, PolyVariable::V, true), Deterministic, "exponential multistep in v = 1/σ, order 1 + free corrector"),
    row("exp-2", &[], Kind::Exp(2, PolyVariable::V, true), Deterministic, "exponential multistep, order-2 polynomial in v = 1/σ, free corrector (unstable on few-step Karras grids)"),
    row("exp-3", &[], Kind::Exp(3, PolyVariable::V, true), Deterministic, "exponential multistep, order-3 polynomial in v = 1/σ, free corrector"),
    row("exp-3-pred", &[], Kind::Exp(3, PolyVariable::V, false), Deterministic, "exponential multistep, order 3 in v, predictor only"),
    row("euler-ancestral", &[], Kind::EulerAncestral, Gaussian, "Euler with ancestral noise, η = 1 unless --eta (k-diffusion)"),
    row("ddim", &[], Kind::Ddim, Gaussian, "DDIM (Song et al. 2021a): deterministic unless --eta > 0"),
    row("ddpm", &[], Kind::Ddpm, Gaussian, "DDPM ancestral sampling on the σ grid (Ho et al. 2020)"),
    row("dpmpp-2s-ancestral", &[], Kind::DpmPP2SAncestral, Gaussian, "DPM-Solver++(2S) with ancestral noise (k-diffusion)"),
    row("dpmpp-sde", &[], Kind::DpmPPSde, BrownianTree, "DPM-Solver++ SDE, single-step, r = 1/2 (k-diffusion)"),
    row("dpmpp-2m-sde", &[], Kind::DpmPP2MSde, BrownianTree, "DPM-Solver++(2M) SDE, midpoint (k-diffusion)"),
    row("dpmpp-3m-sde", &[], Kind::DpmPP3MSde, BrownianTree, "DPM-Solver++(3M) SDE (k-diffusion)"),
    row("pc", &[], Kind::Pc, Gaussian, "predictor–corrector: reverse diffusion + Langevin (Song et al. 2021b)"),
];

/// The names of [`SAMPLERS`], in table order (aliases not included).
pub const SAMPLER_NAMES: &[&str] = &NAMES;

const NAMES: [&str; SAMPLERS.len()] = {
    let mut names = [""; SAMPLERS.len()];
    let mut i = 0;
    while i < SAMPLERS.len() {
        names[i] = SAMPLERS[i].name;
        i += 1;
    }
    names
};

/// The table row whose name or alias is `name`.
pub fn find(name: &str) -> Option<&'static SamplerInfo> {
    SAMPLERS.iter().find(|info| info.answers_to(name))
}

/// The row of the sampler `name` runs: [`find`] looking through an `+x<m>` suffix
/// ([`EXTRAPOLATED_END_SUFFIX`]), so that `auto+x2` keeps `auto`'s grid recipe.
pub fn find_base(name: &str) -> Option<&'static SamplerInfo> {
    find(split_extrapolated_end(name).map_or(name, |(base, _)| base))
}

/// `(base, m)` for a name ending in `+x<m>`, `None` for any other.
fn split_extrapolated_end(name: &str) -> Option<(&str, usize)> {
    let (base, points) = name.rsplit_once(EXTRAPOLATED_END_SUFFIX)?;
    Some((base, points.parse().ok()?))
}

/// The suffix `+x<m>` of a sampler name: the sampler in an [`ExtrapolatedEnd`] with an m-point
/// extrapolation in σ² ([`Extrapolation::sigma_squared`]), e.g. `lms+x2`.
pub const EXTRAPOLATED_END_SUFFIX: &str = "+x";

/// The sampler called `name` (or one of its aliases), configured from `options`; `name` may end
/// in `+x<m>` ([`EXTRAPOLATED_END_SUFFIX`]) to replace the final model call at σ_min by an
/// m-point extrapolation of the denoiser outputs to σ = 0.
///
/// # Errors
/// [`SolveError::UnknownSampler`] (listing every name) when no row answers to `name`; an invalid
/// number of extrapolation points.
pub fn by_name<S: State + 'static>(
    name: &str,
    options: &SamplerOptions,
) -> Result<Box<dyn Sampler<S>>, SolveError> {
    if let Some((base, points)) = split_extrapolated_end(name) {
        let extrapolation = Extrapolation::sigma_squared(points);
        extrapolation.validate()?;
        return Ok(Box::new(ExtrapolatedEnd {
            inner: by_name(base, options)?,
            extrapolation,
        }));
    }
    find(name)
        .map(|info| info.build(options))
        .ok_or_else(|| SolveError::UnknownSampler(name.to_string()))
}
