//! Few-step study: endpoint error of the exponential multistep sampler (and of the peers with an
//! extrapolated end) on several σ grids and endings, against the best peer on the Karras grid,
//! on the built-in Gaussian mixtures; and the flow samplers at equal NFE.
//!
//! `cargo run -p scoreflow-flow-matching --example few_step_study -- [targets] [samples]`
//! (default `ring8,grid25,gauss16d 1000`). The noise z is the same as `scoreflow bench-analytic
//! --seed 0`'s; the reference is the exact ODE solution x(0) (Dopri5 at tolerance 1e-10 down to
//! σ = 1e-5, then D(·; 1e-5), within ~1e-9 of x(0)); error = RMS over samples of ‖x − x*‖₂. Every
//! model call counts towards the NFE. The peers are run exactly as `bench-analytic` runs them
//! (their errors agree with its table to the printed digits).
//!
//! Measured (n = 1000, seed 0): `exp-2-lambda` on `SigmaGrid::condot_to_zero(N, 80)` with the ordinary
//! final step had 0.15 / 0.20 / 0.30 × the best peer's error at 10 NFE on ring8 / grid25 /
//! gauss16d, and at most 0.31 × at every NFE in 5, 6, 8, 10.

use ndarray::Array2;
use scoreflow_flow_matching::sampling::{FlowSolver, sample_flow};
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::ode::{Dopri5, SolveOptions, integrate};
use scoreflow_ode_sde_solvers::samplers::{
    EndVariable, ExpMultistep, ExtrapolatedEnd, Extrapolation, PolyVariable, SampleContext,
    Sampler, SamplerOptions, by_name,
};
use scoreflow_ode_sde_solvers::{CountingDenoiser, Denoiser};
use scoreflow_score_matching::analytic::GaussianMixture;

const SIGMA_MAX: f64 = 80.0;
const PEERS: [&str; 5] = ["euler", "lms", "dpmpp-2m", "dpmpp-3m", "unipc-bh2"];
const NFES: [usize; 4] = [5, 6, 8, 10];

fn batch(target: &GaussianMixture, x: &Array2<f64>, f: impl Fn(&[f64], &mut [f64])) -> Array2<f64> {
    let _ = target;
    let mut out = Array2::zeros(x.raw_dim());
    f(x.as_slice().unwrap(), out.as_slice_mut().unwrap());
    out
}

fn rms(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    ((a - b).iter().map(|v| v * v).sum::<f64>() / a.nrows() as f64).sqrt()
}

/// A grid of `n` model calls: n positive σ from σ_max, then 0.
fn grid(family: &str, n: usize, sigma_last: f64) -> SigmaGrid {
    let pos: Vec<f64> = match family {
        "karras5" | "karras7" | "karras10" => {
            let rho: f64 = family[6..].parse().unwrap();
            if n == 1 {
                vec![SIGMA_MAX]
            } else {
                let (a, b) = (SIGMA_MAX.powf(1.0 / rho), sigma_last.powf(1.0 / rho));
                (0..n)
                    .map(|i| (a + i as f64 / (n - 1) as f64 * (b - a)).powf(rho))
                    .collect()
            }
        }
        "logsnr" => (0..n)
            .map(|i| {
                let f = if n == 1 {
                    0.0
                } else {
                    i as f64 / (n - 1) as f64
                };
                (SIGMA_MAX.ln() + f * (sigma_last.ln() - SIGMA_MAX.ln())).exp()
            })
            .collect(),
        // Uniform in CondOT time t = 1/(1 + σ) from t(σ_max) to 1, the last call at t_{n−1}.
        "condot" => {
            let t0 = 1.0 / (1.0 + SIGMA_MAX);
            (0..n)
                .map(|i| {
                    let t = t0 + i as f64 * (1.0 - t0) / n as f64;
                    (1.0 - t) / t
                })
                .collect()
        }
        _ => panic!("unknown grid {family}"),
    };
    let mut v = pos;
    v[0] = SIGMA_MAX;
    v.push(0.0);
    SigmaGrid::new(v).unwrap()
}

fn sampler(name: &str) -> Box<dyn Sampler<Array2<f64>>> {
    let exp = |order, variable, corrector| -> Box<dyn Sampler<Array2<f64>>> {
        Box::new(ExpMultistep {
            order,
            variable,
            corrector,
            end: Extrapolation::DENOISE,
        })
    };
    match name {
        "E1" => exp(1, PolyVariable::V, true),
        "E2" => exp(2, PolyVariable::V, true),
        "E3" => exp(3, PolyVariable::V, true),
        "E2p" => exp(2, PolyVariable::V, false),
        "E3p" => exp(3, PolyVariable::V, false),
        "L2" => exp(2, PolyVariable::Lambda, true),
        "L3" => exp(3, PolyVariable::Lambda, true),
        "L2p" => exp(2, PolyVariable::Lambda, false),
        "L3p" => exp(3, PolyVariable::Lambda, false),
        other => by_name(other, &SamplerOptions::default()).unwrap(),
    }
}

struct Config {
    sampler: &'static str,
    grid: &'static str,
    sigma_last: f64,
    end: Extrapolation,
}

impl Config {
    fn label(&self) -> String {
        let v = match self.end.variable {
            EndVariable::Sigma => "s",
            EndVariable::SigmaSquared => "s2",
        };
        let last = if self.grid == "condot" {
            "nat".to_string()
        } else {
            format!("{}", self.sigma_last)
        };
        format!(
            "{:<10} {:<8} last={:<6} end={}{}",
            self.sampler, self.grid, last, self.end.points, v
        )
    }
}

fn run(
    target: &GaussianMixture,
    z: &Array2<f64>,
    reference: &Array2<f64>,
    cfg: &Config,
    nfe: usize,
) -> f64 {
    let d =
        |x: &Array2<f64>, sigma: f64| batch(target, x, |a, b| target.denoise_batch(a, sigma, b));
    let counting = CountingDenoiser::new(&d as &dyn Denoiser<Array2<f64>>);
    let wrapped = ExtrapolatedEnd {
        inner: sampler(cfg.sampler),
        extrapolation: cfg.end,
    };
    let g = grid(cfg.grid, nfe, cfg.sigma_last);
    let x = wrapped
        .sample(&counting, z * SIGMA_MAX, &g, &mut SampleContext::default())
        .unwrap();
    assert_eq!(counting.count(), nfe, "{}", cfg.label());
    rms(&x, reference)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let targets = args
        .get(1)
        .map_or("ring8,grid25,gauss16d", |s| s.as_str())
        .to_string();
    let n: usize = args.get(2).map_or(1000, |s| s.parse().unwrap());
    let targets: Vec<&str> = targets.split(',').collect();

    let mut configs: Vec<Config> = Vec::new();
    let samplers = [
        "E1",
        "E2",
        "E3",
        "E2p",
        "E3p",
        "L2",
        "L3",
        "L2p",
        "L3p",
        "euler",
        "lms",
        "dpmpp-2m",
        "dpmpp-3m",
        "unipc-bh2",
    ];
    let ends = [
        Extrapolation::DENOISE,
        Extrapolation::sigma_squared(2),
        Extrapolation::sigma_squared(3),
        Extrapolation {
            points: 2,
            variable: EndVariable::Sigma,
        },
        Extrapolation {
            points: 3,
            variable: EndVariable::Sigma,
        },
    ];
    let mut grids: Vec<(&'static str, f64)> = vec![("condot", 0.0)];
    for g in ["karras5", "karras7", "karras10", "logsnr"] {
        for last in [0.002, 0.02, 0.05, 0.1, 0.2, 0.4] {
            grids.push((g, last));
        }
    }
    for &s in &samplers {
        for &(g, last) in &grids {
            for &end in &ends {
                configs.push(Config {
                    sampler: s,
                    grid: g,
                    sigma_last: last,
                    end,
                });
            }
        }
    }

    // ratios[c][t][k]: error / best peer's error at NFES[k] on target t.
    let mut ratios = vec![vec![[0.0f64; NFES.len()]; targets.len()]; configs.len()];
    for (ti, name) in targets.iter().enumerate() {
        let target = GaussianMixture::load(name).unwrap();
        let dim = target.dim();
        let identity = (0..dim)
            .map(|i| (0..dim).map(|j| f64::from(u8::from(i == j))).collect())
            .collect();
        let normal = GaussianMixture::new(vec![1.0], vec![vec![0.0; dim]], vec![identity]).unwrap();
        let z = Array2::from_shape_vec((n, dim), normal.sample(n, 0)).unwrap();
        let d = |x: &Array2<f64>, sigma: f64| {
            batch(&target, x, |a, b| target.denoise_batch(a, sigma, b))
        };
        let field = |sigma: f64, x: &Array2<f64>| (x - &d(x, sigma)) / sigma;
        let tol = SolveOptions::adaptive(1e-10, 1e-10);
        let sol = integrate(&field, &Dopri5, SIGMA_MAX, 1e-5, &z * SIGMA_MAX, &tol).unwrap();
        let reference = d(sol.ys.last().unwrap(), 1e-5);
        // The bench's own reference, for the record: D(x(σ_min); σ_min) at σ_min = 0.002.
        let sol2 = integrate(&field, &Dopri5, SIGMA_MAX, 0.002, &z * SIGMA_MAX, &tol).unwrap();
        let bench_ref = d(sol2.ys.last().unwrap(), 0.002);
        println!(
            "== {name}: |x(0) − D(x(0.002); 0.002)| RMS = {:.2e}",
            rms(&reference, &bench_ref)
        );
        let mut best = [f64::INFINITY; NFES.len()];
        for (k, &nfe) in NFES.iter().enumerate() {
            let mut line = format!("peers at {nfe:>2} NFE (karras7, σ_min 0.002):");
            // The peers exactly as `bench-analytic` runs them: unwrapped, on the Karras grid.
            let g = SigmaGrid::karras(nfe, 0.002, SIGMA_MAX, 7.0).unwrap();
            for peer in PEERS {
                let s = by_name::<Array2<f64>>(peer, &SamplerOptions::default()).unwrap();
                let x = s
                    .sample(&d, &z * SIGMA_MAX, &g, &mut SampleContext::default())
                    .unwrap();
                let e = rms(&x, &reference);
                best[k] = best[k].min(e);
                line += &format!(" {peer} {e:.3e}");
            }
            // Heun: 2 calls per step but the last: 2s − 1 NFE.
            let steps = nfe.div_ceil(2);
            let g = SigmaGrid::karras(steps, 0.002, SIGMA_MAX, 7.0).unwrap();
            let heun = by_name::<Array2<f64>>("heun", &SamplerOptions::default()).unwrap();
            let x = heun
                .sample(&d, &z * SIGMA_MAX, &g, &mut SampleContext::default())
                .unwrap();
            let e = rms(&x, &reference);
            best[k] = best[k].min(e);
            line += &format!(" heun({steps} steps) {e:.3e}");
            println!("{line}");
        }
        let flow_only = std::env::var("FLOW_ONLY").is_ok();
        for (c, cfg) in configs.iter().enumerate() {
            if flow_only {
                break;
            }
            for (k, &nfe) in NFES.iter().enumerate() {
                let e = run(&target, &z, &reference, cfg, nfe);
                ratios[c][ti][k] = e / best[k];
            }
        }

        // Flow problem: uniform t grid from 0 to 1, exact velocity, equal NFE.
        let u = |x: &Array2<f64>, t: f64| {
            batch(&target, x, |a, b| target.condot_velocity_batch(a, t, b))
        };
        let (fref, _) = sample_flow(
            &u,
            z.clone(),
            FlowSolver::Dopri5 {
                rtol: 1e-10,
                atol: 1e-10,
            },
            0,
        )
        .unwrap();
        for &nfe in &NFES {
            let mut line = format!("flow {nfe:>2} NFE:");
            for (label, solver, steps) in [
                ("euler", FlowSolver::Euler, nfe),
                ("midpoint", FlowSolver::Midpoint, nfe / 2),
                ("rk4", FlowSolver::Rk4, nfe / 4),
            ] {
                let (x, s) = sample_flow(&u, z.clone(), solver, steps).unwrap();
                line += &format!(" {label}({}) {:.3e}", s.nfe, rms(&x, &fref));
            }
            for variable in [PolyVariable::V, PolyVariable::Lambda] {
                for order in 1..=3u8 {
                    for corrector in [false, true] {
                        for end_points in 1..=3u8 {
                            let solver = FlowSolver::ExpMultistep {
                                order,
                                variable,
                                corrector,
                                end_points,
                            };
                            let (x, s) = sample_flow(&u, z.clone(), solver, nfe).unwrap();
                            assert_eq!(s.nfe, nfe);
                            line += &format!(
                                " {}{order}{}x{end_points} {:.3e}",
                                if variable == PolyVariable::V {
                                    "v"
                                } else {
                                    "l"
                                },
                                if corrector { "c" } else { "" },
                                rms(&x, &fref)
                            );
                        }
                    }
                }
            }
            println!("{line}");
        }
    }

    // Rankings: worst ratio over targets at 10 NFE, and over every NFE.
    let worst = |c: usize, ks: &[usize]| {
        (0..targets.len())
            .flat_map(|t| ks.iter().map(move |&k| (t, k)))
            .map(|(t, k)| ratios[c][t][k])
            .fold(0.0f64, f64::max)
    };
    let k10 = NFES.len() - 1;
    let mut order: Vec<usize> = (0..configs.len()).collect();
    let show = |c: usize| {
        let mut s = format!("{}  ", configs[c].label());
        for per_target in &ratios[c] {
            s += &format!(
                " | {}",
                per_target
                    .iter()
                    .map(|r| format!("{r:.2}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        s
    };
    order.sort_by(|&a, &b| worst(a, &[k10]).total_cmp(&worst(b, &[k10])));
    println!(
        "\n-- best by worst ratio at 10 NFE (ratios at NFE {NFES:?} per target {targets:?}) --"
    );
    for &c in order.iter().take(40) {
        println!("{}", show(c));
    }
    let all: Vec<usize> = (0..NFES.len()).collect();
    order.sort_by(|&a, &b| worst(a, &all).total_cmp(&worst(b, &all)));
    println!("\n-- best by worst ratio over all NFE --");
    for &c in order.iter().take(40) {
        println!("{}", show(c));
    }
    println!("\n-- selected configurations --");
    for (c, cfg) in configs.iter().enumerate() {
        let interesting = (cfg.grid == "karras7" && cfg.sigma_last == 0.002 && cfg.end.points == 1)
            || (cfg.grid == "condot" && cfg.end.variable == EndVariable::SigmaSquared);
        if interesting {
            println!("{}", show(c));
        }
    }
}
