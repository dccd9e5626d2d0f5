//! The 2-D toys and mixtures: determinism per seed, and sample statistics against each toy's
//! definition (exact moments within 5 standard errors, geometric residuals within the noise).

use std::f64::consts::PI;

use scoreflow_train::data::{DataKind, DataOptions, DataSpec, Toy, open};

const N: usize = 100_000;

/// Mean of `v` and its standard error.
fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Asserts E[v] = `expected` within 5 standard errors.
fn assert_mean(what: &str, v: &[f64], expected: f64) {
    let (mean, se) = mean_se(v);
    assert!(
        (mean - expected).abs() <= 5.0 * se,
        "{what}: sample mean {mean} vs exact {expected} (5 SE = {})",
        5.0 * se
    );
}

fn points(toy: Toy, seed: u64) -> Vec<[f64; 2]> {
    toy.sample(N, seed)
        .chunks_exact(2)
        .map(|p| [f64::from(p[0]), f64::from(p[1])])
        .collect()
}

fn rms(v: &[f64]) -> f64 {
    (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt()
}

#[test]
fn toys_are_deterministic_per_seed_and_differ_across_seeds() {
    for toy in Toy::ALL {
        let a = toy.sample(1000, 7);
        assert_eq!(a.len(), 2000, "{toy}");
        assert_eq!(a, toy.sample(1000, 7), "{toy}: same seed, different points");
        assert_ne!(
            a,
            toy.sample(1000, 8),
            "{toy}: different seeds, same points"
        );
        assert!(a.iter().all(|v| v.is_finite()), "{toy}");
    }
}

#[test]
fn toy_names_round_trip_and_open_gives_points() {
    for toy in Toy::ALL {
        assert_eq!(toy.name().parse::<Toy>().unwrap(), toy);
        let spec: DataSpec = format!("toy:{toy}").parse().unwrap();
        let options = DataOptions {
            toy_points: 500,
            seed: 3,
            ..DataOptions::default()
        };
        let ds = open(&spec, &options).unwrap();
        assert_eq!(ds.len(), 500);
        assert_eq!(ds.sample_shape(), &[2]);
        assert_eq!(ds.kind(), DataKind::Points);
        assert_eq!(ds.num_classes(), None);
        let mut out = [0.0f32; 2];
        assert_eq!(ds.read(499, &mut out).unwrap(), None);
        assert_eq!(&out[..], &toy.sample(500, 3)[998..]);
    }
}

#[test]
fn eight_gaussians_has_eight_equal_clusters_of_the_stated_radius_and_width() {
    let radius = 4.0 / 1.414;
    let sigma = 0.5 / 1.414;
    let centres: Vec<[f64; 2]> = (0..8)
        .map(|k| {
            let a = f64::from(k) * PI / 4.0;
            [radius * a.cos(), radius * a.sin()]
        })
        .collect();
    let mut clusters: Vec<Vec<[f64; 2]>> = vec![Vec::new(); 8];
    let pts = points(Toy::EightGaussians, 1);
    for p in &pts {
        let k = (0..8)
            .min_by(|&i, &j| {
                let d = |c: [f64; 2]| (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2);
                d(centres[i]).total_cmp(&d(centres[j]))
            })
            .unwrap();
        clusters[k].push(*p);
    }
    let count_se = (N as f64 * (1.0 / 8.0) * (7.0 / 8.0)).sqrt();
    for (k, c) in clusters.iter().enumerate() {
        let count = c.len() as f64;
        assert!(
            (count - N as f64 / 8.0).abs() < 5.0 * count_se,
            "cluster {k}: {count} points"
        );
        for axis in 0..2 {
            let v: Vec<f64> = c.iter().map(|p| p[axis]).collect();
            assert_mean(
                &format!("cluster {k} axis {axis} mean"),
                &v,
                centres[k][axis],
            );
            // Second central moment: the variance estimate has SE σ²·√(2/n); cutting the
            // clusters at the Voronoi boundaries (3σ away) biases it by < 1 %.
            let sq: Vec<f64> = v.iter().map(|x| (x - centres[k][axis]).powi(2)).collect();
            assert_mean(
                &format!("cluster {k} axis {axis} variance"),
                &sq,
                sigma * sigma,
            );
        }
    }
    // Overall second moment r² + 2σ².
    let r2: Vec<f64> = pts.iter().map(|p| p[0] * p[0] + p[1] * p[1]).collect();
    assert_mean("E|x|²", &r2, radius * radius + 2.0 * sigma * sigma);
}

/// Distance from `p` to the half-circle of centre `c`, radius 2, above (`upper`) or below its
/// centre: signed radial distance where `p` projects onto the arc, else the distance to the
/// nearer end.
fn arc_distance(p: [f64; 2], c: [f64; 2], upper: bool) -> f64 {
    let (dx, dy) = (p[0] - c[0], p[1] - c[1]);
    let on_half = if upper { dy >= 0.0 } else { dy <= 0.0 };
    if on_half {
        (dx * dx + dy * dy).sqrt() - 2.0
    } else {
        let end = |ex: f64| ((dx - ex).powi(2) + dy * dy).sqrt();
        end(2.0).min(end(-2.0))
    }
}

#[test]
fn moons_lie_on_their_two_half_circles_up_to_the_noise() {
    let pts = points(Toy::Moons, 2);
    let mut residuals = Vec::new();
    let mut outer = 0usize;
    for p in &pts {
        let a = arc_distance(*p, [-1.0, -0.2], true);
        let b = arc_distance(*p, [1.0, 0.8], false);
        if a.abs() <= b.abs() {
            outer += 1;
            residuals.push(a);
        } else {
            residuals.push(b);
        }
    }
    let fraction = outer as f64 / N as f64;
    assert!((fraction - 0.5).abs() < 0.01, "outer fraction {fraction}");
    // The distance is the normal component of N(0, 0.2²·I) noise (plus curvature, O(σ²/R));
    // at the arcs' ends the distance to the end point is a little shorter.
    let s = rms(&residuals);
    eprintln!("moons: outer fraction {fraction}, rms distance {s}");
    assert!(
        (s - 0.2).abs() < 0.01,
        "rms distance to the arcs {s}, noise 0.2"
    );
    assert!(
        residuals.iter().all(|r| r.abs() < 1.2),
        "a point 6σ off the arcs"
    );
}

#[test]
fn circles_lie_on_radii_three_and_one_and_a_half_up_to_the_noise() {
    let pts = points(Toy::Circles, 3);
    let (mut outer, mut inner) = (Vec::new(), Vec::new());
    for p in &pts {
        let r = (p[0] * p[0] + p[1] * p[1]).sqrt();
        if r > 2.25 {
            outer.push(r - 3.0);
        } else {
            inner.push(r - 1.5);
        }
    }
    // Exactly N/2 per circle before noise; 0.75 = 3.1σ separates them.
    for (name, v, radius) in [("outer", &outer, 3.0), ("inner", &inner, 1.5)] {
        assert!(
            (v.len() as f64 - N as f64 / 2.0).abs() < 0.005 * N as f64,
            "{name}: {} points",
            v.len()
        );
        let (mean, _) = mean_se(v);
        let s = rms(v);
        eprintln!("circles {name}: {} points, mean {mean}, rms {s}", v.len());
        // E|Rθ + ε| − R = σ²/(2R) + O(σ⁴/R³) for isotropic 2-D noise ε of std σ = 0.24;
        // the SE of the mean is 0.24/√50,000 ≈ 0.001.
        let bias = 0.24f64.powi(2) / (2.0 * radius);
        assert!(
            (mean - bias).abs() < 0.006,
            "{name}: mean radial residual {mean}, expected {bias}"
        );
        assert!(
            (s - 0.24).abs() < 0.012,
            "{name}: rms radial residual {s}, noise 0.24"
        );
    }
    // Angles are evenly spread: the mean point is the origin.
    for axis in 0..2 {
        let v: Vec<f64> = pts.iter().map(|p| p[axis]).collect();
        assert_mean(&format!("circles axis {axis}"), &v, 0.0);
    }
}

#[test]
fn checkerboard_fills_only_the_black_squares_evenly() {
    let pts = points(Toy::Checkerboard, 4);
    let mut counts = std::collections::BTreeMap::new();
    let (mut fx, mut fy) = (Vec::new(), Vec::new());
    for p in &pts {
        assert!(
            (-4.0..4.0).contains(&p[0]) && (-4.0..4.0).contains(&p[1]),
            "{p:?} outside [-4, 4)²"
        );
        let (i, j) = ((p[0] / 2.0).floor() as i64, (p[1] / 2.0).floor() as i64);
        assert_eq!((i + j).rem_euclid(2), 0, "{p:?} lies in a white square");
        *counts.entry((i, j)).or_insert(0usize) += 1;
        fx.push(p[0] / 2.0 - i as f64);
        fy.push(p[1] / 2.0 - j as f64);
    }
    assert_eq!(counts.len(), 8, "occupied squares: {counts:?}");
    let se = (N as f64 / 8.0 * 7.0 / 8.0).sqrt();
    for (cell, &c) in &counts {
        assert!(
            (c as f64 - N as f64 / 8.0).abs() < 5.0 * se,
            "square {cell:?}: {c} points"
        );
    }
    // Uniform within a square.
    assert_mean("x within square", &fx, 0.5);
    assert_mean("y within square", &fy, 0.5);
}

#[test]
fn swiss_roll_has_the_documented_mean_and_scale() {
    let pts = points(Toy::SwissRoll, 5);
    let x: Vec<f64> = pts.iter().map(|p| p[0]).collect();
    let y: Vec<f64> = pts.iter().map(|p| p[1]).collect();
    let r2: Vec<f64> = pts.iter().map(|p| p[0] * p[0] + p[1] * p[1]).collect();
    assert_mean("swissroll x", &x, 2.0 / 5.0);
    assert_mean("swissroll y", &y, 2.0 / (15.0 * PI));
    assert_mean("swissroll E|x|²", &r2, (9.75 * PI * PI + 2.0) / 25.0);
}

#[test]
fn pinwheel_has_isotropic_moments_and_five_log_spiral_arms() {
    let pts = points(Toy::Pinwheel, 6);
    let col = |f: &dyn Fn(&[f64; 2]) -> f64| pts.iter().map(f).collect::<Vec<f64>>();
    assert_mean("pinwheel x", &col(&|p| p[0]), 0.0);
    assert_mean("pinwheel y", &col(&|p| p[1]), 0.0);
    assert_mean("pinwheel E x²", &col(&|p| p[0] * p[0]), 2.2);
    assert_mean("pinwheel E y²", &col(&|p| p[1] * p[1]), 2.2);
    assert_mean("pinwheel E xy", &col(&|p| p[0] * p[1]), 0.0);
    // Each point sits at angle −(2πc/5 + 0.25·e^{|x|/2}) up to the tangential noise
    // (≈ 0.1 rad): the residual modulo 2π/5 is small, where a wrong law would spread it
    // uniformly (rms 0.36).
    let period = 2.0 * PI / 5.0;
    let residuals = col(&|p| {
        let r = (p[0] * p[0] + p[1] * p[1]).sqrt();
        let d = -p[1].atan2(p[0]) - 0.25 * (r / 2.0).exp();
        d - period * (d / period).round()
    });
    let s = rms(&residuals);
    eprintln!("pinwheel: rms angular residual {s}");
    assert!(s < 0.15, "rms angular residual to the arms {s}");
}

#[test]
fn two_spirals_have_the_exact_mean_and_second_moment() {
    let pts = points(Toy::TwoSpirals, 7);
    let x: Vec<f64> = pts.iter().map(|p| p[0]).collect();
    let y: Vec<f64> = pts.iter().map(|p| p[1]).collect();
    let r2: Vec<f64> = pts.iter().map(|p| p[0] * p[0] + p[1] * p[1]).collect();
    assert_mean("2spirals x", &x, 0.0);
    assert_mean("2spirals y", &y, 0.0);
    // s = 3π√u has density 2s/(3π)²: E s² = 9π²/2, E[s cos s] = −4/(3π),
    // E[s sin s] = 2(9π² − 4)/(9π²); the uniform offsets add 2·E[a]·(…) + 2·E[a²].
    let e_s2 = 9.0 * PI * PI / 2.0;
    let e_cos = -4.0 / (3.0 * PI);
    let e_sin = 2.0 * (9.0 * PI * PI - 4.0) / (9.0 * PI * PI);
    let e_d2 = e_s2 + 0.5 * (-e_cos) + 0.5 * e_sin + 2.0 / 12.0;
    assert_mean("2spirals E|x|²", &r2, e_d2 / 9.0 + 2.0 * 0.01);
    let max = r2.iter().cloned().fold(0.0, f64::max).sqrt();
    assert!(max < PI + 0.3 + 0.6, "largest radius {max}");
}

#[test]
fn mixture_ring8_has_the_exact_mean_and_covariance() {
    let spec: DataSpec = "mixture:ring8".parse().unwrap();
    let options = DataOptions {
        toy_points: 40_000,
        seed: 11,
        ..DataOptions::default()
    };
    let ds = open(&spec, &options).unwrap();
    assert_eq!(ds.len(), 40_000);
    assert_eq!(ds.sample_shape(), &[2]);
    assert_eq!(ds.kind(), DataKind::Points);
    let mut pts = Vec::new();
    let mut out = [0.0f32; 2];
    for i in 0..ds.len() {
        ds.read(i, &mut out).unwrap();
        pts.push([f64::from(out[0]), f64::from(out[1])]);
    }
    let col = |f: &dyn Fn(&[f64; 2]) -> f64| pts.iter().map(f).collect::<Vec<f64>>();
    assert_mean("ring8 x", &col(&|p| p[0]), 0.0);
    assert_mean("ring8 y", &col(&|p| p[1]), 0.0);
    assert_mean("ring8 E x²", &col(&|p| p[0] * p[0]), 8.25);
    assert_mean("ring8 E y²", &col(&|p| p[1] * p[1]), 8.25);
    assert_mean("ring8 E xy", &col(&|p| p[0] * p[1]), 0.0);
    // Same seed, same points.
    let again = open(&spec, &options).unwrap();
    let mut b = [0.0f32; 2];
    again.read(123, &mut b).unwrap();
    ds.read(123, &mut out).unwrap();
    assert_eq!(out, b);
}

#[test]
fn mixture_gauss16d_has_dimension_sixteen() {
    let spec: DataSpec = "mixture:gauss16d".parse().unwrap();
    let options = DataOptions {
        toy_points: 10,
        ..DataOptions::default()
    };
    let ds = open(&spec, &options).unwrap();
    assert_eq!(ds.sample_shape(), &[16]);
    assert_eq!(ds.len(), 10);
}
