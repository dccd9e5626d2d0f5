//! `.npy` input and output with shape and finiteness checks.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use ndarray::{Array1, Array2};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

use crate::error::CliError;

fn file_error(path: &Path, message: impl ToString) -> CliError {
    CliError::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Reads an (n, d) float array — float64 or float32, little- or big-endian (ndarray-npy reads
/// either byte order), C- or Fortran-ordered — as float64, checking d and that every value is
/// finite.
pub fn read_matrix(path: &Path, dim: usize) -> Result<Array2<f64>, CliError> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
    let mut a = match Array2::<f64>::read_npy(bytes.as_slice()) {
        Ok(a) => a,
        // float32 widens exactly to float64; report the float64 error if that fails too.
        Err(e64) => Array2::<f32>::read_npy(bytes.as_slice())
            .map(|a| a.mapv(f64::from))
            .map_err(|_| file_error(path, format!("not an (n, d) float .npy array ({e64})")))?,
    };
    // A Fortran-ordered file (numpy's `order='F'`, `np.asfortranarray`) is valid: callers read
    // rows as contiguous slices, so store it row-major.
    if !a.is_standard_layout() {
        a = a.as_standard_layout().into_owned();
    }
    if a.ncols() != dim {
        return Err(file_error(
            path,
            format!("has {} columns, the target has dimension {dim}", a.ncols()),
        ));
    }
    if a.nrows() == 0 {
        return Err(file_error(path, "has no rows"));
    }
    if let Some(i) = a.iter().position(|v| !v.is_finite()) {
        return Err(file_error(
            path,
            format!(
                "value {} (row {}) is not finite",
                a.iter().nth(i).unwrap_or(&f64::NAN),
                i / dim
            ),
        ));
    }
    Ok(a)
}

/// Writes an array atomically: to a temporary file beside `path`, then renamed over it.
fn write_atomic(
    path: &Path,
    write: impl FnOnce(BufWriter<&File>) -> Result<(), String>,
) -> Result<(), CliError> {
    let tmp = path.with_extension("npy.tmp");
    let file = File::create(&tmp).map_err(|e| file_error(&tmp, e))?;
    write(BufWriter::new(&file)).map_err(|e| file_error(&tmp, e))?;
    file.sync_all().map_err(|e| file_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| file_error(path, e))
}

/// Writes an (n, d) float64 array.
pub fn write_matrix(path: &Path, a: &Array2<f64>) -> Result<(), CliError> {
    write_atomic(path, |w| a.write_npy(w).map_err(|e| e.to_string()))
}

/// Writes an (n,) float64 array.
pub fn write_vector(path: &Path, a: &Array1<f64>) -> Result<(), CliError> {
    write_atomic(path, |w| a.write_npy(w).map_err(|e| e.to_string()))
}
