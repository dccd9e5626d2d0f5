//! The sampler table: names and aliases are unique, every one builds the sampler it names, and
//! aliases are the same sampler as their canonical name.

mod common;

use std::collections::HashSet;

use common::gaussian::{karras, max_abs, start};
use ndarray::Array2;
use scoreflow_ode_sde_solvers::SolveError;
use scoreflow_ode_sde_solvers::samplers::{
    NoiseSource, SAMPLER_NAMES, SAMPLERS, SampleContext, SamplerOptions, by_name, find,
};

#[test]
fn names_and_aliases_are_unique_and_resolve_to_their_row() {
    let mut seen = HashSet::new();
    for info in SAMPLERS {
        for name in std::iter::once(&info.name).chain(info.aliases) {
            assert!(seen.insert(*name), "{name} appears twice in the table");
            assert_eq!(find(name).unwrap().name, info.name);
        }
    }
    assert_eq!(
        SAMPLER_NAMES,
        SAMPLERS.iter().map(|i| i.name).collect::<Vec<_>>()
    );
}

/// Every row builds a sampler reporting the row's name (aliases of a fixed order may report the
/// family's name, so only canonical names are checked), and stochastic rows name a noise source.
#[test]
fn every_row_builds_its_sampler() {
    let options = SamplerOptions::default();
    for info in SAMPLERS {
        let sampler = by_name::<Array2<f64>>(info.name, &options).unwrap();
        let name = if info.name == "auto" {
            "exp-2-lambda"
        } else {
            info.name
        };
        assert!(
            name.starts_with(sampler.name()),
            "{} built {}",
            info.name,
            sampler.name()
        );
        if sampler.is_stochastic() {
            assert_ne!(info.noise, NoiseSource::None, "{}", info.name);
        }
    }
}

/// `unipc` is diffusers' default UniPC: B(h) = expm1(h), order 2, i.e. `unipc-bh2`.
#[test]
fn aliases_run_the_same_sampler() {
    let grid = karras(9);
    let options = SamplerOptions::default();
    for info in SAMPLERS.iter().filter(|i| !i.aliases.is_empty()) {
        let canonical = by_name::<Array2<f64>>(info.name, &options).unwrap();
        for alias in info.aliases {
            let aliased = by_name::<Array2<f64>>(alias, &options).unwrap();
            let run = |s: &dyn scoreflow_ode_sde_solvers::samplers::Sampler<Array2<f64>>| {
                s.sample(
                    &common::gaussian::denoise,
                    start(80.0),
                    &grid,
                    &mut SampleContext::default(),
                )
                .unwrap()
            };
            assert_eq!(
                max_abs(&(run(canonical.as_ref()) - run(aliased.as_ref()))),
                0.0
            );
        }
    }
    assert_eq!(find("unipc").unwrap().name, "unipc-bh2");
}

#[test]
fn unknown_name_lists_every_sampler() {
    let err = by_name::<Array2<f64>>("dpmpp-9m", &SamplerOptions::default()).err();
    let Some(SolveError::UnknownSampler(name)) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(name, "dpmpp-9m");
    let message = err.unwrap().to_string();
    for name in SAMPLER_NAMES {
        assert!(message.contains(name), "{message}");
    }
}

/// `auto` is exp-2-lambda on the CondOT grid to 0: N steps, N calls, the last at the natural
/// σ_{N−1} unless --sigma-min asks for more; a σ_min above σ_max is an error.
#[test]
fn auto_brings_its_grid() {
    use scoreflow_noise_schedules::SigmaGrid;
    use scoreflow_ode_sde_solvers::samplers::{GridRecipe, auto_grid};
    assert_eq!(find("auto").unwrap().grid, GridRecipe::Auto);
    assert!(
        SAMPLERS
            .iter()
            .filter(|i| i.name != "auto")
            .all(|i| i.grid == GridRecipe::Given)
    );
    let g = auto_grid(10, 0.002, 80.0).unwrap();
    assert_eq!(g, SigmaGrid::condot_to_zero(10, 80.0).unwrap());
    assert_eq!(g.len(), 11);
    let bounded = auto_grid(10, 0.5, 80.0).unwrap();
    assert_eq!(bounded, SigmaGrid::condot_uniform(10, 0.5, 80.0).unwrap());
    assert!(auto_grid(10, 90.0, 80.0).is_err());
    assert!(auto_grid(0, 0.002, 80.0).is_err());
}
