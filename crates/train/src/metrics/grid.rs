//! Sample pictures: image grids and scatter plots of points, as PNG.

use std::path::Path;

use image::{GrayImage, ImageBuffer, Luma, Rgb, RgbImage};

use crate::error::TrainError;

/// Tiles `n` images of shape [C, H, W] (values in [−1, 1], clamped) into a PNG grid of `cols`
/// columns with a 2-pixel border; 1 channel gives grayscale, 3 RGB.
///
/// # Errors
/// [`TrainError::Sampling`] for a shape that is not [1|3, H, W] or data of the wrong length,
/// [`TrainError::Io`] when the file cannot be written.
pub fn write_image_grid(
    path: &Path,
    x: &[f64],
    shape: &[usize],
    cols: usize,
) -> Result<(), TrainError> {
    let [c, h, w] = match shape {
        [c, h, w] if (*c == 1 || *c == 3) && *h > 0 && *w > 0 => [*c, *h, *w],
        _ => {
            return Err(TrainError::Sampling(format!(
                "an image grid needs samples of shape [1 or 3, H, W], not {shape:?}"
            )));
        }
    };
    let numel = c * h * w;
    if x.is_empty() || !x.len().is_multiple_of(numel) {
        return Err(TrainError::Sampling("no whole images to draw".into()));
    }
    let n = x.len() / numel;
    let cols = cols.clamp(1, n);
    let rows = n.div_ceil(cols);
    let pad = 2;
    let (width, height) = (
        (cols * (w + pad) + pad) as u32,
        (rows * (h + pad) + pad) as u32,
    );
    let byte = |v: f64| ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8;
    let origin = |k: usize| ((k % cols) * (w + pad) + pad, (k / cols) * (h + pad) + pad);
    let saved = if c == 1 {
        let mut img: GrayImage = ImageBuffer::from_pixel(width, height, Luma([255]));
        for k in 0..n {
            let (ox, oy) = origin(k);
            for yy in 0..h {
                for xx in 0..w {
                    let v = x[k * numel + yy * w + xx];
                    img.put_pixel((ox + xx) as u32, (oy + yy) as u32, Luma([byte(v)]));
                }
            }
        }
        img.save(path)
    } else {
        let mut img: RgbImage = ImageBuffer::from_pixel(width, height, Rgb([255, 255, 255]));
        for k in 0..n {
            let (ox, oy) = origin(k);
            for yy in 0..h {
                for xx in 0..w {
                    let at = |ch: usize| byte(x[k * numel + ch * h * w + yy * w + xx]);
                    img.put_pixel(
                        (ox + xx) as u32,
                        (oy + yy) as u32,
                        Rgb([at(0), at(1), at(2)]),
                    );
                }
            }
        }
        img.save(path)
    };
    saved.map_err(|e| TrainError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// A scatter plot of the first two coordinates of `n × dim` points, `size` pixels square, the
/// axes spanning the points' range plus 5 %: `points` in blue over `reference` (e.g. data) in
/// light grey.
///
/// # Errors
/// [`TrainError::Sampling`] for dim < 2 or no points, [`TrainError::Io`] when the file cannot
/// be written.
pub fn write_scatter(
    path: &Path,
    points: &[f64],
    reference: Option<&[f64]>,
    dim: usize,
    size: u32,
) -> Result<(), TrainError> {
    if dim < 2 || points.len() < dim {
        return Err(TrainError::Sampling(format!(
            "a scatter plot needs points of dimension ≥ 2, not {dim}"
        )));
    }
    let pairs = |v: &[f64]| -> Vec<(f64, f64)> {
        v.chunks_exact(dim)
            .map(|p| (p[0], p[1]))
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .collect()
    };
    let ours = pairs(points);
    let theirs = reference.map(pairs).unwrap_or_default();
    let all = ours.iter().chain(&theirs);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(a, b) in all {
        lo = lo.min(a).min(b);
        hi = hi.max(a).max(b);
    }
    if !(lo.is_finite() && hi.is_finite()) {
        return Err(TrainError::Sampling("no finite points to plot".into()));
    }
    let margin = 0.05 * (hi - lo).max(1e-9);
    let (lo, hi) = (lo - margin, hi + margin);
    let mut img: RgbImage = ImageBuffer::from_pixel(size, size, Rgb([255, 255, 255]));
    let mut dot = |(a, b): (f64, f64), colour: Rgb<u8>| {
        let px = ((a - lo) / (hi - lo) * f64::from(size - 1)).round() as i64;
        let py = ((hi - b) / (hi - lo) * f64::from(size - 1)).round() as i64;
        for dx in -1..=1 {
            for dy in -1..=1 {
                let (x, y) = (px + dx, py + dy);
                if (0..i64::from(size)).contains(&x) && (0..i64::from(size)).contains(&y) {
                    img.put_pixel(x as u32, y as u32, colour);
                }
            }
        }
    };
    for &p in &theirs {
        dot(p, Rgb([200, 200, 200]));
    }
    for &p in &ours {
        dot(p, Rgb([31, 119, 180]));
    }
    img.save(path).map_err(|e| TrainError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}
