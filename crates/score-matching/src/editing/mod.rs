//! Editing with the samplers themselves: every method is a denoiser wrapper or a short loop
//! around the σ-grid samplers of `scoreflow-ode-sde-solvers`, so it works with all of them.
//!
//! | item | what | source |
//! |---|---|---|
//! | [`Inpaint`] | known values held (noised to σ in the model's input, pasted in its output) | Song et al. 2021, App. I.2 (replacement); as a denoiser wrapper |
//! | [`repaint`] | replacement with resampling: each step undone and redone r times | Lugmayr et al. 2022 (RePaint) |
//! | [`sdedit`] | noise an input to σ₀ and sample from there | Meng et al. 2022 (SDEdit) |
//! | [`invert`] / [`decode`] | the probability-flow ODE integrated up to noise and back with one method | Song et al. 2021, §4.3; Song et al. 2020 (DDIM inversion) |

mod error;
mod inpaint;
mod inversion;
mod repaint;
mod sdedit;

pub use error::EditError;
pub use inpaint::Inpaint;
pub use inversion::{InversionMethod, decode, invert};
pub use repaint::repaint;
pub use sdedit::sdedit;
