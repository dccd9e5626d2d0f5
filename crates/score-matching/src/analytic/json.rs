//! Reading and writing mixtures as JSON: `{"weights": [...], "means": [[...]], "covs": [[[...]]]}`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::MixtureError;
use super::mixture::GaussianMixture;

/// The on-disk shape. Unknown fields are rejected so that a misspelt key ("cov") is an error
/// instead of a silently different mixture.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MixtureSpec {
    weights: Vec<f64>,
    means: Vec<Vec<f64>>,
    covs: Vec<Vec<Vec<f64>>>,
}

impl GaussianMixture {
    /// Parses `{"weights": [w…], "means": [[μ…]…], "covs": [[[Σ…]…]…]}` and validates it as
    /// [`Self::new`] does. JSON has no NaN or infinity, so non-finite values surface as a
    /// [`MixtureError::Json`] parse error.
    pub fn from_json_str(s: &str) -> Result<Self, MixtureError> {
        let spec: MixtureSpec = serde_json::from_str(s).map_err(|e| MixtureError::Json {
            path: None,
            message: e.to_string(),
        })?;
        Self::new(spec.weights, spec.means, spec.covs)
    }

    /// Reads and parses a JSON mixture file (format of [`Self::from_json_str`]). Read and
    /// parse errors name the file.
    pub fn from_json_file(path: &Path) -> Result<Self, MixtureError> {
        let text = std::fs::read_to_string(path).map_err(|source| MixtureError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let spec: MixtureSpec = serde_json::from_str(&text).map_err(|e| MixtureError::Json {
            path: Some(path.to_path_buf()),
            message: e.to_string(),
        })?;
        Self::new(spec.weights, spec.means, spec.covs)
    }

    /// The mixture as JSON in the format [`Self::from_json_str`] reads; the round trip is
    /// exact because serde_json prints f64 in shortest round-trip form.
    pub fn to_json_string(&self) -> String {
        let spec = MixtureSpec {
            weights: self.weights().to_vec(),
            means: self.means().to_vec(),
            covs: self.covs().to_vec(),
        };
        serde_json::to_string(&spec).expect("a validated mixture holds only finite numbers")
    }

    /// A builtin name (see [`Self::builtin_names`]) if `spec` is one, otherwise a path to a
    /// JSON file. A missing "file" whose name has no path separator and no dot is reported as
    /// [`MixtureError::UnknownBuiltin`], since it was most likely a misspelt builtin.
    pub fn load(spec: &str) -> Result<Self, MixtureError> {
        if Self::builtin_names().contains(&spec) {
            return Self::builtin(spec);
        }
        let path = Path::new(spec);
        let looks_like_name = !spec.contains(['/', '\\', '.']);
        if looks_like_name && !path.exists() {
            return Self::builtin(spec);
        }
        Self::from_json_file(path)
    }
}
