//! Crash-safe, self-checking checkpoints of any burn [`Module`].
//!
//! # Format
//!
//! The tensors are serialised with burn's native **burnpack** format (burn-core's
//! [`ModuleRecord`]), chosen over safetensors (burn-store) because
//!
//! * it needs no extra burn feature or crate: it is what `Module::save_file` writes;
//! * it stores every tensor's dtype and bytes verbatim and re-applies them by module path with a
//!   shape check, so a save → load round trip is bit-exact (f32, f16, bf16 alike);
//! * it keeps each parameter's [`ParamId`](burn::module::ParamId), and optimiser state is keyed
//!   by `ParamId`, so a resumed run finds its Adam moments again. Safetensors is an interchange
//!   format (PyTorch); our own checkpoints do not need it.
//!
//! Burnpack carries no checksum, and a crash or a full disk can leave any prefix of a file
//! behind, so the burnpack bytes are wrapped in a small envelope (all integers little-endian):
//!
//! ```text
//! offset  size  field
//! 0       8     magic  b"SFLWCKPT"
//! 8       4     format version (u32) = 1
//! 12      4     reserved (u32) = 0
//! 16      8     metadata length m (u64)
//! 24      8     payload length p (u64)
//! 32      4     CRC-32 of bytes 0..32            (so the lengths can be trusted)
//! 36      m     metadata: JSON of [`CheckpointMeta`]
//! 36+m    p     payload: burnpack bytes of the module record
//! 36+m+p  4     CRC-32 of bytes 36..36+m+p
//! ```
//!
//! The checksum is CRC-32 (IEEE 802.3) through the `crc32fast` crate: already in burn's
//! dependency tree, SIMD-accelerated (GB/s, so negligible next to the disk), and it detects
//! every burst error up to 32 bits and any other corruption with probability 1 − 2⁻³². It is
//! an integrity check, not an authenticity one. The whole file is verified *before* burn sees
//! any byte, so burn's decoder never runs on garbage; decoding is additionally guarded with
//! `catch_unwind`, so a panic inside burn still becomes a [`CheckpointError::Corrupt`].
//!
//! # Atomicity
//!
//! [`save`] never modifies the target in place: it writes a temporary file in the same directory,
//! fsyncs it, renames it over the target (atomic on POSIX file systems within one directory) and
//! fsyncs the directory so the rename itself is durable. A crash at any point leaves either the
//! previous checkpoint or the new one, never a mixture; at worst a stray hidden temporary file
//! (`.NAME.tmp-…`) remains, which [`load`] never reads. [`stage`] exposes the two phases
//! separately.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use burn::module::Module;
use burn::prelude::Device;
use burn::store::{ModuleRecord, RecordError};
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};

/// The 8 magic bytes that open every checkpoint written by this module.
pub const MAGIC: [u8; 8] = *b"SFLWCKPT";
/// The envelope version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Size of the fixed header: magic, version, reserved, two lengths, header CRC.
pub const HEADER_LEN: usize = 36;
/// Size of the trailing CRC-32.
pub const TRAILER_LEN: usize = 4;

/// Training metadata stored next to the weights.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Optimiser steps taken.
    pub step: u64,
    /// Training images seen (EDM's `cur_nimg`; feeds the EMA ramp-up on resume).
    pub nimg: u64,
    /// Free-form configuration of the run (network, optimiser, schedule…), as JSON.
    pub config: Option<serde_json::Value>,
    /// Extra byte sections stored after the module's burnpack bytes in the payload (e.g. the
    /// optimiser state), in order; written by [`save_with_sections`]. Absent in files without
    /// any, so older files read unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<Section>,
}

/// A named byte section of a checkpoint's payload (see [`CheckpointMeta::sections`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// The section's name, e.g. `optimizer`.
    pub name: String,
    /// Its length in bytes.
    pub len: u64,
}

/// Errors from saving or loading a checkpoint; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The checkpoint file does not exist.
    #[error("checkpoint {} not found", path.display())]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// An operating-system I/O failure.
    #[error("checkpoint {}: I/O error while {action}: {source}", path.display())]
    Io {
        /// The file (or directory, for the directory fsync) involved.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        source: io::Error,
    },
    /// The file does not start with [`MAGIC`].
    #[error("{} is not a scoreflow checkpoint (bad magic bytes)", path.display())]
    NotACheckpoint {
        /// The file.
        path: PathBuf,
    },
    /// The envelope version is not [`FORMAT_VERSION`].
    #[error("checkpoint {}: unsupported format version {version} (this build reads {FORMAT_VERSION})", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        version: u32,
    },
    /// The file is shorter than its header says (e.g. an interrupted copy).
    #[error("checkpoint {} is truncated: expected {expected} bytes, found {actual}", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header announces (or the header size, if even that is incomplete).
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// A checksum mismatch, trailing bytes, or undecodable contents.
    #[error("checkpoint {} is corrupt: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was found wrong.
        reason: String,
    },
    /// The file is intact but its tensors do not fit the given model (names or shapes).
    #[error("checkpoint {} does not fit the model: {reason}", path.display())]
    Incompatible {
        /// The file.
        path: PathBuf,
        /// burn's description of the mismatch.
        reason: String,
    },
    /// Serialising the model or the metadata failed.
    #[error("checkpoint {}: cannot encode: {reason}", path.display())]
    Encode {
        /// The target file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

impl CheckpointError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::NotFound { path }
            | Self::Io { path, .. }
            | Self::NotACheckpoint { path }
            | Self::UnsupportedVersion { path, .. }
            | Self::Truncated { path, .. }
            | Self::Corrupt { path, .. }
            | Self::Incompatible { path, .. }
            | Self::Encode { path, .. } => path,
        }
    }
}

fn io_err(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> CheckpointError {
    let path = path.to_path_buf();
    move |source| CheckpointError::Io {
        path,
        action,
        source,
    }
}

/// Saves `model` (all its tensors) and `meta` to `path` atomically: temp file in the same
/// directory → fsync → rename over `path` → fsync of the directory. See the module docs for the
/// format. The model is cloned (cheap: tensors are reference-counted) because burn's record
/// consumes the module.
pub fn save<M: Module>(
    model: &M,
    meta: &CheckpointMeta,
    path: &Path,
) -> Result<(), CheckpointError> {
    stage(model, meta, path)?.commit()
}

/// [`save`] with extra named byte sections after the module (e.g. an optimiser's state from
/// `ModuleOptimizer::into_bytes`), all in the one atomic, checksummed file; their names and
/// lengths go into the metadata. Read them back with [`load_with_sections`].
pub fn save_with_sections<M: Module>(
    model: &M,
    meta: &CheckpointMeta,
    sections: &[(&str, &[u8])],
    path: &Path,
) -> Result<(), CheckpointError> {
    let mut meta = meta.clone();
    meta.sections = sections
        .iter()
        .map(|(name, bytes)| Section {
            name: (*name).to_owned(),
            len: bytes.len() as u64,
        })
        .collect();
    let bytes = encode_sections(model, &meta, sections, path)?;
    write_staged(bytes, path)?.commit()
}

/// First phase of [`save`]: encodes the checkpoint and writes it, fsynced, to a hidden temporary
/// file next to `path`; `path` itself is untouched until [`StagedCheckpoint::commit`].
///
/// Useful to write several files (model, EMA, optimiser) and commit them only once all are on
/// disk. Dropping the result without committing deletes the temporary file.
pub fn stage<M: Module>(
    model: &M,
    meta: &CheckpointMeta,
    path: &Path,
) -> Result<StagedCheckpoint, CheckpointError> {
    let mut meta = meta.clone();
    meta.sections.clear();
    write_staged(encode_sections(model, &meta, &[], path)?, path)
}

/// Writes the encoded file to a fresh temporary name next to `path`, fsynced.
fn write_staged(bytes: Vec<u8>, path: &Path) -> Result<StagedCheckpoint, CheckpointError> {
    let tmp = temp_path(path)?;
    // Create-new: never reuse (and so never truncate) a file another writer may be filling.
    let write = || -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(&bytes)?;
        // The data must be durable before the rename publishes it, or a crash could leave the
        // target name pointing at an empty or partial file.
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(&tmp, "writing the temporary file")(e));
    }
    Ok(StagedCheckpoint {
        tmp,
        target: path.to_path_buf(),
        committed: false,
    })
}

/// A checkpoint written and fsynced to a temporary file, not yet renamed over its target.
#[derive(Debug)]
pub struct StagedCheckpoint {
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl StagedCheckpoint {
    /// The temporary file holding the complete checkpoint.
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// The file the checkpoint will replace.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Second phase of [`save`]: renames the temporary file over the target (atomic within one
    /// directory on POSIX) and fsyncs the directory so the new name survives a crash.
    pub fn commit(mut self) -> Result<(), CheckpointError> {
        fs::rename(&self.tmp, &self.target)
            .map_err(io_err(&self.target, "renaming the temporary file over"))?;
        self.committed = true;
        sync_dir(&self.target)
    }
}

impl Drop for StagedCheckpoint {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: an abandoned stage must not litter the directory. A crash skips this,
            // which is harmless since `load` never reads temporary files.
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Fsyncs the directory containing `path` so a rename into it is durable (POSIX: the rename is
/// recorded in the directory's own data). Windows has no directory fsync; it is skipped there.
fn sync_dir(path: &Path) -> Result<(), CheckpointError> {
    #[cfg(unix)]
    {
        let dir = parent_dir(path);
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir, "syncing the directory of"))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A fresh hidden name in the target's directory (same file system, so the rename is atomic):
/// `.NAME.tmp-PID-N`, unique per process by a counter.
fn temp_path(path: &Path) -> Result<PathBuf, CheckpointError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| CheckpointError::Encode {
        path: path.to_path_buf(),
        reason: "the path has no file name".into(),
    })?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}-{n}", std::process::id()));
    Ok(parent_dir(path).join(tmp_name))
}

/// Builds the complete file contents (header, metadata, burnpack payload and sections, CRC).
fn encode_sections<M: Module>(
    model: &M,
    meta: &CheckpointMeta,
    sections: &[(&str, &[u8])],
    path: &Path,
) -> Result<Vec<u8>, CheckpointError> {
    let enc = |reason: String| CheckpointError::Encode {
        path: path.to_path_buf(),
        reason,
    };
    let meta_json = serde_json::to_vec(meta).map_err(|e| enc(format!("metadata: {e}")))?;
    let mut payload = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| enc(format!("burnpack: {e}")))?
        .to_vec();
    for (_, bytes) in sections {
        payload.extend_from_slice(bytes);
    }

    let mut out = Vec::with_capacity(HEADER_LEN + meta_json.len() + payload.len() + TRAILER_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(meta_json.len() as u64).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    let header_crc = crc32fast::hash(&out);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(&meta_json);
    out.extend_from_slice(&payload);
    let body_crc = crc32fast::hash(&out[HEADER_LEN..]);
    out.extend_from_slice(&body_crc.to_le_bytes());
    Ok(out)
}

/// A verified file: its metadata and the burnpack payload.
struct Verified {
    meta: CheckpointMeta,
    payload: Vec<u8>,
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4-byte slice"))
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8-byte slice"))
}

/// Reads `path` and checks magic, version, header CRC, length and body CRC, in that order, so
/// each kind of damage gets its own error.
fn read_verified(path: &Path) -> Result<Verified, CheckpointError> {
    let bytes = fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => CheckpointError::NotFound {
            path: path.to_path_buf(),
        },
        _ => io_err(path, "reading")(e),
    })?;
    let p = || path.to_path_buf();
    let actual = bytes.len() as u64;

    // Magic first (on whatever prefix exists): a short file of something else is "not a
    // checkpoint", a short prefix of ours is "truncated".
    let m = bytes.len().min(MAGIC.len());
    if bytes[..m] != MAGIC[..m] {
        return Err(CheckpointError::NotACheckpoint { path: p() });
    }
    if bytes.len() < HEADER_LEN {
        return Err(CheckpointError::Truncated {
            path: p(),
            expected: HEADER_LEN as u64,
            actual,
        });
    }
    let header_crc = read_u32(&bytes, 32);
    if crc32fast::hash(&bytes[..32]) != header_crc {
        return Err(CheckpointError::Corrupt {
            path: p(),
            reason: "header checksum mismatch".into(),
        });
    }
    let version = read_u32(&bytes, 8);
    if version != FORMAT_VERSION {
        return Err(CheckpointError::UnsupportedVersion { path: p(), version });
    }
    let meta_len = read_u64(&bytes, 16);
    let payload_len = read_u64(&bytes, 24);
    // Checked arithmetic: the header CRC passed, but a hostile file could still hold huge values.
    let expected = meta_len
        .checked_add(payload_len)
        .and_then(|n| n.checked_add((HEADER_LEN + TRAILER_LEN) as u64))
        .ok_or_else(|| CheckpointError::Corrupt {
            path: p(),
            reason: "section lengths overflow".into(),
        })?;
    if actual < expected {
        return Err(CheckpointError::Truncated {
            path: p(),
            expected,
            actual,
        });
    }
    if actual > expected {
        return Err(CheckpointError::Corrupt {
            path: p(),
            reason: format!("{} unexpected trailing bytes", actual - expected),
        });
    }
    let body_end = bytes.len() - TRAILER_LEN;
    let body_crc = read_u32(&bytes, body_end);
    let computed = crc32fast::hash(&bytes[HEADER_LEN..body_end]);
    if computed != body_crc {
        return Err(CheckpointError::Corrupt {
            path: p(),
            reason: format!(
                "checksum mismatch (stored {body_crc:#010x}, computed {computed:#010x})"
            ),
        });
    }
    let meta_end = HEADER_LEN + meta_len as usize;
    let meta: CheckpointMeta =
        serde_json::from_slice(&bytes[HEADER_LEN..meta_end]).map_err(|e| {
            CheckpointError::Corrupt {
                path: p(),
                reason: format!("metadata: {e}"),
            }
        })?;
    Ok(Verified {
        meta,
        payload: bytes[meta_end..body_end].to_vec(),
    })
}

/// Reads and verifies only the metadata of the checkpoint at `path` (the whole file is still
/// checksummed).
pub fn read_meta(path: &Path) -> Result<CheckpointMeta, CheckpointError> {
    Ok(read_verified(path)?.meta)
}

/// Loads the checkpoint at `path` into `model` (which supplies the structure; its values are
/// replaced) on `device`, returning the loaded model and the stored metadata.
///
/// Every tensor is restored with the dtype and bytes it was saved with, so save → load is
/// bit-exact. Errors: [`CheckpointError::NotFound`], `Truncated`, `Corrupt`, `NotACheckpoint`,
/// `UnsupportedVersion` for damaged files; `Incompatible` when the file is intact but was saved
/// from a different architecture.
pub fn load<M: Module>(
    model: M,
    path: &Path,
    device: &Device,
) -> Result<(M, CheckpointMeta), CheckpointError> {
    load_with_sections(model, path, device).map(|(m, meta, _)| (m, meta))
}

/// The named byte sections of a checkpoint, in the order they were written.
pub type Sections = Vec<(String, Vec<u8>)>;

/// [`load`], also returning the extra byte sections of [`save_with_sections`] by name, in the
/// order they were written.
pub fn load_with_sections<M: Module>(
    model: M,
    path: &Path,
    device: &Device,
) -> Result<(M, CheckpointMeta, Sections), CheckpointError> {
    let Verified { meta, mut payload } = read_verified(path)?;
    let extra = meta
        .sections
        .iter()
        .try_fold(0u64, |acc, s| acc.checked_add(s.len))
        .filter(|&n| n <= payload.len() as u64)
        .ok_or_else(|| CheckpointError::Corrupt {
            path: path.to_path_buf(),
            reason: "section lengths exceed the payload".into(),
        })? as usize;
    let mut tail = payload.split_off(payload.len() - extra);
    let mut sections = Vec::with_capacity(meta.sections.len());
    for s in &meta.sections {
        let rest = tail.split_off(s.len as usize);
        sections.push((s.name.clone(), std::mem::replace(&mut tail, rest)));
    }
    // Moving the (possibly still lazy) template first lets burn create each loaded tensor
    // directly on `device`.
    let model = model.to_device(device);
    let corrupt = |reason: String| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    // The checksum already vouches for the bytes; the unwind guard keeps even a burn bug on odd
    // input a typed error rather than an abort of the training run.
    let record = catch_unwind(AssertUnwindSafe(|| {
        ModuleRecord::from_bytes(Bytes::from_bytes_vec(payload))
    }))
    .map_err(|_| corrupt("the burnpack decoder panicked".into()))?
    .map_err(|e| corrupt(format!("burnpack: {e}")))?;
    let loaded = catch_unwind(AssertUnwindSafe(|| model.try_load_record(record)))
        .map_err(|_| corrupt("applying the record panicked".into()))?
        .map_err(|e| match e {
            // Validation: names or shapes differ — the file is fine, the model is not its own.
            RecordError::Validation(reason) => CheckpointError::Incompatible {
                path: path.to_path_buf(),
                reason,
            },
            RecordError::Io(reason) => corrupt(reason),
        })?;
    Ok((loaded, meta, sections))
}
