//! The weight gradient of a 2-D convolution as one matrix product (groups = 1):
//!
//! ```text
//! cols[(b, oh, ow), (ci, kh, kw)] = x[b, ci, oh·s_h − p_h + kh·d_h, ow·s_w − p_w + kw·d_w]   (0 outside)
//! ∂L/∂W[co, (ci, kh, kw)]        = Σ_(b, oh, ow) ∂L/∂y[b, co, oh, ow] · cols[(b, oh, ow), (ci, kh, kw)]
//! ```
//!
//! (Chellapilla et al. 2006's unrolling, applied to the weight gradient.) These are the loops
//! that build the two operands; the product itself is the backend's matmul.

/// Geometry of one convolution.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    /// Batch, input channels, input height and width.
    pub input: [usize; 4],
    /// Output height and width.
    pub output: [usize; 2],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride per spatial axis.
    pub stride: [usize; 2],
    /// Padding before each spatial axis (what lies after only shortens the output).
    pub padding: [usize; 2],
    /// Dilation per spatial axis.
    pub dilation: [usize; 2],
}

impl Geometry {
    /// Rows of `cols`: one per output position of every sample.
    pub fn rows(&self) -> usize {
        self.input[0] * self.output[0] * self.output[1]
    }

    /// Columns of `cols`: one per weight of one output channel.
    pub fn cols(&self) -> usize {
        self.input[1] * self.kernel[0] * self.kernel[1]
    }
}

/// `cols` (row-major, `rows × cols`) from `x` (row-major `[B, C, H, W]`).
pub fn unfold(x: &[f32], g: &Geometry, cols: &mut [f32]) {
    let [_, channels, height, width] = g.input;
    let [out_h, out_w] = g.output;
    let [k_h, k_w] = g.kernel;
    let n_cols = g.cols();
    assert_eq!(cols.len(), g.rows() * n_cols);
    let per_sample = out_h * out_w;
    let fill = |row: usize, out: &mut [f32]| {
        let b = row / per_sample;
        let oh = (row % per_sample) / out_w;
        let ow = row % out_w;
        let mut j = 0;
        for ci in 0..channels {
            let plane = &x[(b * channels + ci) * height * width..][..height * width];
            for kh in 0..k_h {
                let ih = (oh * g.stride[0] + kh * g.dilation[0]) as isize - g.padding[0] as isize;
                for kw in 0..k_w {
                    let iw =
                        (ow * g.stride[1] + kw * g.dilation[1]) as isize - g.padding[1] as isize;
                    out[j] = if (0..height as isize).contains(&ih)
                        && (0..width as isize).contains(&iw)
                    {
                        plane[ih as usize * width + iw as usize]
                    } else {
                        0.0
                    };
                    j += 1;
                }
            }
        }
    };
    use rayon::prelude::*;
    cols.par_chunks_mut(n_cols)
        .enumerate()
        .for_each(|(row, out)| fill(row, out));
}

/// `[C_out, B·H_o·W_o]` (row-major) from the output gradient `[B, C_out, H_o, W_o]`.
pub fn channels_first(
    dy: &[f32],
    batch: usize,
    channels: usize,
    positions: usize,
    out: &mut [f32],
) {
    assert_eq!(dy.len(), batch * channels * positions);
    assert_eq!(out.len(), dy.len());
    use rayon::prelude::*;
    out.par_chunks_mut(batch * positions)
        .enumerate()
        .for_each(|(co, row)| {
            for b in 0..batch {
                row[b * positions..][..positions]
                    .copy_from_slice(&dy[(b * channels + co) * positions..][..positions]);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gradient from the unfolded product equals the direct sum over output positions.
    #[test]
    fn unfolded_product_is_the_weight_gradient() {
        let g = Geometry {
            input: [2, 3, 5, 4],
            output: [3, 2],
            kernel: [3, 2],
            stride: [2, 2],
            padding: [1, 0],
            dilation: [1, 2],
        };
        let c_out = 2;
        let x: Vec<f32> = (0..2 * 3 * 5 * 4)
            .map(|i| ((i * 37) % 11) as f32 - 5.0)
            .collect();
        let dy: Vec<f32> = (0..2 * c_out * 3 * 2)
            .map(|i| ((i * 13) % 7) as f32 - 3.0)
            .collect();
        let mut cols = vec![0.0; g.rows() * g.cols()];
        unfold(&x, &g, &mut cols);
        let mut dyt = vec![0.0; dy.len()];
        channels_first(&dy, 2, c_out, 6, &mut dyt);
        for co in 0..c_out {
            for j in 0..g.cols() {
                let via_cols: f32 = (0..g.rows())
                    .map(|r| dyt[co * g.rows() + r] * cols[r * g.cols() + j])
                    .sum();
                let (ci, kh, kw) = (j / 6, (j % 6) / 2, j % 2);
                let mut direct = 0.0;
                for b in 0..2 {
                    for oh in 0..3 {
                        for ow in 0..2 {
                            let ih = (oh * 2 + kh) as isize - 1;
                            let iw = (ow * 2 + kw * 2) as isize;
                            if (0..5).contains(&ih) && (0..4).contains(&iw) {
                                direct += dy[((b * c_out + co) * 3 + oh) * 2 + ow]
                                    * x[((b * 3 + ci) * 5 + ih as usize) * 4 + iw as usize];
                            }
                        }
                    }
                }
                assert_eq!(via_cols, direct, "co {co}, column {j}");
            }
        }
    }
}
