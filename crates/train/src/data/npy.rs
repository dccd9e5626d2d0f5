//! `npy:FILE`: a numpy array `(N, d…)` of float32 or float64, read with `ndarray-npy`.

use std::path::Path;

use ndarray::ArrayD;
use ndarray_npy::{ReadNpyError, ReadNpyExt, ReadableElement};

use super::{ArrayDataset, DataError, DataKind};

const FLOAT_DTYPES: &str = "need float32 ('<f4'/'>f4') or float64 ('<f8'/'>f8')";
const INT_DTYPES: &str = "labels need an integer dtype (int8…int64, uint8…uint64)";

/// Reads `path`, an array of shape `(N, d₁, …)` (rank ≥ 2, every dimension ≥ 1) of float32 or
/// float64, little- or big-endian, C- or Fortran-ordered; float64 is rounded to f32. The values
/// are used as they are — no centring or scaling — so whatever normalisation the model expects
/// must already be in the file.
///
/// The kind is [`DataKind::Images`] for rank 4 (`(N, C, H, W)`), [`DataKind::Points`]
/// otherwise. `labels`, when given, is a second `.npy` file: a rank-1 integer array of N
/// non-negative labels; the number of classes is then the largest label + 1.
pub fn npy_dataset(path: &Path, labels: Option<&Path>) -> Result<ArrayDataset, DataError> {
    let bytes = read_file(path)?;
    // ndarray-npy exposes no header reader, so the dtype is found by trying each element type:
    // a mismatch is a cheap WrongDescriptor before any data is read.
    let array = match ArrayD::<f32>::read_npy(&bytes[..]) {
        Ok(a) => a,
        Err(ReadNpyError::WrongDescriptor(_)) => match ArrayD::<f64>::read_npy(&bytes[..]) {
            Ok(a) => a.mapv(|v| v as f32),
            Err(ReadNpyError::WrongDescriptor(d)) => {
                return Err(DataError::Dtype {
                    path: path.to_owned(),
                    dtype: d.to_string(),
                    expected: FLOAT_DTYPES,
                });
            }
            Err(e) => return Err(npy_error(path, e)),
        },
        Err(e) => return Err(npy_error(path, e)),
    };
    let shape = array.shape().to_vec();
    if shape.len() < 2 {
        return Err(DataError::Rank {
            path: path.to_owned(),
            shape,
            expected: "need (N, d, …) with rank ≥ 2 (a 1-D array of scalars is (N, 1))",
        });
    }
    if shape.contains(&0) {
        return Err(DataError::format(
            path,
            format!("array of shape {shape:?} holds no samples"),
        ));
    }
    // Iteration is in logical (row-major) order whatever the memory order, which turns a
    // Fortran-ordered array into the row-major buffer the dataset stores.
    let data: Vec<f32> = match array.as_slice() {
        Some(s) => s.to_vec(),
        None => array.iter().copied().collect(),
    };
    let n = shape[0];
    let labels = match labels {
        Some(p) => Some(read_labels(p, n)?),
        None => None,
    };
    let kind = if shape.len() == 4 {
        DataKind::Images
    } else {
        DataKind::Points
    };
    Ok(ArrayDataset::new(data, shape[1..].to_vec(), labels, kind))
}

fn read_file(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|e| DataError::io(path, e))
}

fn npy_error(path: &Path, e: ReadNpyError) -> DataError {
    let problem = match e {
        // The bytes are already in memory, so an I/O error can only be the end of the data.
        ReadNpyError::Io(_) => "truncated .npy header".to_owned(),
        ReadNpyError::MissingData => {
            "truncated: the file ends before all the data its header announces".to_owned()
        }
        other => format!("not a valid .npy file: {other}"),
    };
    DataError::format(path, problem)
}

/// Reads labels of one element type, widened to i128; `Ok(None)` on a dtype mismatch.
type LabelReader = fn(&Path, &[u8]) -> Result<Option<Vec<i128>>, DataError>;

/// Tries one integer element type; `Ok(None)` on a dtype mismatch.
fn try_int<T>(path: &Path, bytes: &[u8]) -> Result<Option<Vec<i128>>, DataError>
where
    T: ReadableElement + Copy + Into<i128>,
{
    match ArrayD::<T>::read_npy(bytes) {
        Ok(a) => {
            if a.ndim() != 1 {
                return Err(DataError::Rank {
                    path: path.to_owned(),
                    shape: a.shape().to_vec(),
                    expected: "labels need a 1-D array (N,)",
                });
            }
            Ok(Some(a.iter().map(|&v| v.into()).collect()))
        }
        Err(ReadNpyError::WrongDescriptor(_)) => Ok(None),
        Err(e) => Err(npy_error(path, e)),
    }
}

fn read_labels(path: &Path, n: usize) -> Result<Vec<u32>, DataError> {
    let bytes = read_file(path)?;
    let readers: [LabelReader; 8] = [
        try_int::<i64>,
        try_int::<i32>,
        try_int::<u8>,
        try_int::<u16>,
        try_int::<u32>,
        try_int::<u64>,
        try_int::<i16>,
        try_int::<i8>,
    ];
    let mut values = None;
    for read in readers {
        if let Some(v) = read(path, &bytes)? {
            values = Some(v);
            break;
        }
    }
    let Some(values) = values else {
        // Read once more as f64 only to name the dtype found.
        let dtype = match ArrayD::<f64>::read_npy(&bytes[..]) {
            Err(ReadNpyError::WrongDescriptor(d)) => d.to_string(),
            _ => "'float'".to_owned(),
        };
        return Err(DataError::Dtype {
            path: path.to_owned(),
            dtype,
            expected: INT_DTYPES,
        });
    };
    if values.len() != n {
        return Err(DataError::format(
            path,
            format!("{} labels for {n} samples", values.len()),
        ));
    }
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            u32::try_from(v)
                .map_err(|_| DataError::format(path, format!("label {i} is {v}, outside 0..2³²")))
        })
        .collect()
}
