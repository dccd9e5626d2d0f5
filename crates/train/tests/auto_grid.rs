//! `scoreflow sample`'s default sampler, `auto`, brings its own grid on trained models: uniform in
//! CondOT time from the model's σ_max to 0, N steps for N calls, whatever `grid` says.

use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_train::config::ObjectiveConfig;
use scoreflow_train::objective::Objective;
use scoreflow_train::sampling::{GridKind, SampleRequest, default_sigma_range, sigma_grid};

fn request(sampler: &str, sigma_max: Option<f64>) -> SampleRequest {
    SampleRequest {
        sampler: sampler.into(),
        steps: 10,
        grid: GridKind::Karras { rho: 7.0 },
        sigma_min: None,
        sigma_max,
        seed: 0,
        options: Default::default(),
        chunk: 16,
        first_sample: 0,
        guidance: None,
        moments: None,
    }
}

#[test]
fn auto_uses_the_condot_grid_to_zero_for_any_objective() {
    for kind in ["edm", "i-cfm"] {
        let view = Objective::build(&ObjectiveConfig::from_kind(kind).unwrap())
            .unwrap()
            .view();
        let (_, sigma_max) = default_sigma_range(&view);
        let grid = sigma_grid(&view, &request("auto", None)).unwrap();
        assert_eq!(
            grid,
            SigmaGrid::condot_to_zero(10, sigma_max).unwrap(),
            "{kind}"
        );
        // An extrapolated end around auto keeps its grid; other samplers take the requested one.
        assert_eq!(sigma_grid(&view, &request("auto+x2", None)).unwrap(), grid);
        let karras = sigma_grid(&view, &request("dpmpp-2m", None)).unwrap();
        assert_ne!(karras, grid);
        let bounded = sigma_grid(&view, &request("auto", Some(5.0))).unwrap();
        assert_eq!(bounded.as_slice()[0], 5.0);
        assert_eq!(bounded.len(), 11);
    }
}
