//! The data SPEC of the command line: `KIND:VALUE`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::{DataError, Toy};

/// Where the training data comes from, as written on the command line:
///
/// | spec | dataset |
/// |------|---------|
/// | `npy:FILE` | a float32/float64 array (N, d…), used as is |
/// | `mnist:DIR` | MNIST IDX files (raw or gzip), scaled to [−1, 1] |
/// | `cifar10:DIR` | CIFAR-10 binary batches, scaled to [−1, 1] |
/// | `images:DIR` | a folder of PNG/JPEG images, RGB, scaled to [−1, 1] |
/// | `toy:NAME` | a 2-D toy ([`Toy`]: moons, circles, 8gaussians, …) |
/// | `mixture:NAME` or `mixture:FILE.json` | draws from a Gaussian mixture (builtin or JSON) |
///
/// Parsing splits at the first `:`, so the value may itself contain colons. [`fmt::Display`]
/// writes the same syntax back (exactly, for UTF-8 paths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSpec {
    /// `npy:FILE`.
    Npy(PathBuf),
    /// `mnist:DIR`.
    Mnist(PathBuf),
    /// `cifar10:DIR`.
    Cifar10(PathBuf),
    /// `images:DIR`.
    Images(PathBuf),
    /// `toy:NAME`, the name already checked.
    Toy(Toy),
    /// `mixture:NAME|FILE.json`, resolved by `GaussianMixture::load` when opened.
    Mixture(String),
}

/// The kinds of spec, for messages.
const KINDS: &str = "npy, mnist, cifar10, images, toy, mixture";

impl FromStr for DataSpec {
    type Err = DataError;

    /// Parses `KIND:VALUE`. A missing `:`, an unknown kind or an empty value is
    /// [`DataError::Spec`]; an unknown toy name is [`DataError::UnknownToy`].
    fn from_str(s: &str) -> Result<Self, DataError> {
        let spec_error = |problem: String| DataError::Spec {
            spec: s.to_owned(),
            problem,
        };
        let Some((kind, value)) = s.split_once(':') else {
            return Err(spec_error(format!(
                "expected KIND:VALUE with KIND one of {KINDS}"
            )));
        };
        if value.is_empty() {
            return Err(spec_error(format!("nothing after \"{kind}:\"")));
        }
        Ok(match kind {
            "npy" => DataSpec::Npy(value.into()),
            "mnist" => DataSpec::Mnist(value.into()),
            "cifar10" => DataSpec::Cifar10(value.into()),
            "images" => DataSpec::Images(value.into()),
            "toy" => DataSpec::Toy(value.parse()?),
            "mixture" => DataSpec::Mixture(value.to_owned()),
            other => {
                return Err(spec_error(format!(
                    "unknown kind {other:?}; known kinds: {KINDS}"
                )));
            }
        })
    }
}

impl fmt::Display for DataSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataSpec::Npy(p) => write!(f, "npy:{}", p.display()),
            DataSpec::Mnist(p) => write!(f, "mnist:{}", p.display()),
            DataSpec::Cifar10(p) => write!(f, "cifar10:{}", p.display()),
            DataSpec::Images(p) => write!(f, "images:{}", p.display()),
            DataSpec::Toy(t) => write!(f, "toy:{t}"),
            DataSpec::Mixture(m) => write!(f, "mixture:{m}"),
        }
    }
}
