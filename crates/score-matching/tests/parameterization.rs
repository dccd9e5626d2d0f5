//! Parameterisation adapters against exact posteriors of a Gaussian.

use ndarray::{Array1, array};
use scoreflow_noise_schedules::{NoiseSchedule, Ve, VpCosine, VpLinear};
use scoreflow_ode_sde_solvers::Denoiser;
use scoreflow_score_matching::parameterization::{
    EdmPreconditioned, Parameterization, ScheduleDenoiser, TimeInput,
};

const ALL: [Parameterization; 4] = [
    Parameterization::Epsilon,
    Parameterization::Sample,
    Parameterization::Velocity,
    Parameterization::Score,
];

fn max_rel(a: &Array1<f64>, b: &Array1<f64>) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// Every pair of parameterisations converts both ways back to the original to 1e-12.
#[test]
fn conversions_round_trip() {
    let x_t = array![0.3, -1.7, 2.5, 0.01];
    let pred = array![-0.8, 0.4, 1.1, -2.0];
    for (alpha, sigma) in [
        (0.99, 0.14),
        (0.6, 0.8),
        (0.05, 0.998),
        (1.0, 3.0),
        (0.7, 0.2),
    ] {
        for from in ALL {
            for to in ALL {
                let there = from.convert(pred.clone(), to, &x_t, alpha, sigma);
                let back = to.convert(there, from, &x_t, alpha, sigma);
                assert!(
                    max_rel(&back, &pred) < 1e-12,
                    "{from:?} → {to:?} at α={alpha}, σ={sigma}"
                );
            }
        }
    }
}

/// Data N(m, s²): the exact posterior mean of x₀ given x_t = αx₀ + σε is
/// m + αs²(x_t − αm)/(α²s² + σ²); every exact prediction follows from it.
const M: f64 = 0.7;
const S2: f64 = 0.36;

fn posterior_x0(x_t: &Array1<f64>, alpha: f64, sigma: f64) -> Array1<f64> {
    x_t.mapv(|x| M + alpha * S2 * (x - alpha * M) / (alpha * alpha * S2 + sigma * sigma))
}

/// The EDM denoiser of N(m, s²): (s²x + σ̃²m)/(s² + σ̃²).
fn exact_denoiser(x: &Array1<f64>, sigma: f64) -> Array1<f64> {
    x.mapv(|v| (S2 * v + sigma * sigma * M) / (S2 + sigma * sigma))
}

/// An ideal network of each kind on `schedule`, then the adapter: it must give the exact D.
fn check_schedule(schedule: &dyn NoiseSchedule, time_input: TimeInput, sigmas: &[f64]) {
    let x = array![-2.0, -0.3, 0.0, 0.9, 4.0];
    for kind in ALL {
        let network = |x_t: &Array1<f64>, c: f64| {
            // Invert the time input to find t, as an ideal network conditioned on c would.
            let t = match time_input {
                TimeInput::Continuous => c,
                TimeInput::Scaled(k) => c / k,
                TimeInput::DiscreteIndex {
                    num_train_timesteps,
                } => (c + 1.0) / num_train_timesteps as f64,
            };
            let (a, s) = (schedule.alpha(t), schedule.sigma(t));
            kind.from_x0(posterior_x0(x_t, a, s), x_t, a, s)
        };
        let d = ScheduleDenoiser {
            network,
            schedule,
            parameterization: kind,
            time_input,
        };
        for &sigma in sigmas {
            let got = d.denoise(&x, sigma);
            assert!(
                max_rel(&got, &exact_denoiser(&x, sigma)) < 1e-10,
                "{kind:?} on {schedule:?} at σ̃ = {sigma}"
            );
        }
    }
}

#[test]
fn adapters_give_the_exact_denoiser_on_every_schedule() {
    let sigmas = [0.01, 0.3, 1.0, 5.0, 40.0];
    check_schedule(&VpLinear::default(), TimeInput::Scaled(999.0), &sigmas);
    check_schedule(&VpCosine::default(), TimeInput::Continuous, &sigmas);
    check_schedule(
        &Ve::new(0.005, 50.0).unwrap(),
        TimeInput::Continuous,
        &sigmas,
    );
}

/// An ideal raw network F = (D − c_skip x)/c_out under EDM preconditioning reproduces D.
#[test]
fn edm_preconditioning_is_exact() {
    let x = array![-2.0, 0.1, 3.0];
    let pre = EdmPreconditioned {
        network: (),
        sigma_data: 0.5,
    };
    for sigma in [0.002, 0.5, 80.0] {
        let (c_skip, c_out, c_in, c_noise) = pre.coefficients(sigma);
        assert!((c_noise - sigma.ln() / 4.0).abs() < 1e-15);
        // Karras et al. 2022 eq. (8): c_skip and c_out give the effective training target unit variance.
        assert!((c_skip - 0.25 / (sigma * sigma + 0.25)).abs() < 1e-15);
        let network = move |x_in: &Array1<f64>, _: f64| {
            let x = x_in / c_in;
            (exact_denoiser(&x, sigma) - &x * c_skip) / c_out
        };
        let d = EdmPreconditioned {
            network,
            sigma_data: 0.5,
        };
        assert!(max_rel(&d.denoise(&x, sigma), &exact_denoiser(&x, sigma)) < 1e-12);
    }
}
