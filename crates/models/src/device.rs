//! Choosing a burn device by name, with an error rather than a panic when the build lacks it.
//!
//! burn 0.22 has no backend type parameter: every backend is a variant of one dispatch enum, and
//! a device whose backend was not compiled in does not exist. [`device_from_name`] turns the
//! names a user types (`--device cuda:1`) into a [`Device`], and reports a name this build cannot
//! serve as [`DeviceError::NotCompiled`], listing the backends it can ([`compiled_backends`]).
//!
//! | name | device | cargo feature |
//! | --- | --- | --- |
//! | `flex` | [`Device::flex()`], pure-Rust CPU | `flex` (default) |
//! | `ndarray` | `Device::ndarray()`, CPU (deprecated in burn 0.22) | `ndarray` |
//! | `wgpu` | `Device::wgpu(DeviceKind::DefaultDevice)`: the graphics API wgpu settles on | `wgpu` |
//! | `vulkan` | `Device::vulkan(DeviceKind::DefaultDevice)`: pinned to Vulkan (SPIR-V) | `vulkan` |
//! | `cuda`, `cuda:N` | `Device::cuda(N)`, `N = 0` for `cuda` | `cuda` |
//!
//! Names are matched after trimming and ASCII lower-casing. Resolving a name does not touch the
//! hardware: burn initialises a GPU runtime at the first tensor placed on the device, so a
//! missing driver or an index past the last GPU shows up there, not here.

use burn::prelude::Device;
#[cfg(feature = "wgpu")]
use burn::prelude::DeviceKind;

/// Every device name [`device_from_name`] understands, in the order the docs list them.
pub const DEVICE_NAMES: &[&str] = &["flex", "ndarray", "wgpu", "vulkan", "cuda", "cuda:N"];

/// Backends compiled into this build (cargo features of `scoreflow-models`).
const COMPILED: &[&str] = &[
    #[cfg(feature = "flex")]
    "flex",
    #[cfg(feature = "ndarray")]
    "ndarray",
    #[cfg(feature = "wgpu")]
    "wgpu",
    #[cfg(feature = "vulkan")]
    "vulkan",
    #[cfg(feature = "cuda")]
    "cuda",
];

/// The backends this build can run on, as device names: `["flex"]` for the default build.
pub fn compiled_backends() -> &'static [&'static str] {
    COMPILED
}

/// Why a device name did not give a device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// Not one of [`DEVICE_NAMES`].
    #[error("unknown device `{name}`: expected one of flex, ndarray, wgpu, vulkan, cuda, cuda:N")]
    Unknown {
        /// The name as given.
        name: String,
    },
    /// A known backend whose cargo feature this build was compiled without.
    #[error(
        "device `{name}` needs the `{backend}` backend, which this build does not include \
         (compiled in: {}); rebuild with `--features {backend}`",
        list(compiled)
    )]
    NotCompiled {
        /// The name as given.
        name: String,
        /// The backend (and cargo feature) it needs.
        backend: &'static str,
        /// What this build has: [`compiled_backends`].
        compiled: &'static [&'static str],
    },
    /// `cuda:` followed by something other than a device index.
    #[error(
        "malformed CUDA device `{name}`: expected `cuda` or `cuda:N` with N a GPU index (0, 1, …)"
    )]
    BadCudaIndex {
        /// The name as given.
        name: String,
    },
}

fn list(backends: &[&str]) -> String {
    if backends.is_empty() {
        "none".to_owned()
    } else {
        backends.join(", ")
    }
}

/// What a name asks for, before looking at what this build has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    Flex,
    NdArray,
    Wgpu,
    Vulkan,
    Cuda(usize),
}

fn parse(name: &str) -> Result<Request, DeviceError> {
    let key = name.trim().to_ascii_lowercase();
    let request = match key.as_str() {
        "flex" => Request::Flex,
        "ndarray" => Request::NdArray,
        "wgpu" => Request::Wgpu,
        "vulkan" => Request::Vulkan,
        "cuda" => Request::Cuda(0),
        other => match other.strip_prefix("cuda:") {
            Some(index) => {
                let bad = || DeviceError::BadCudaIndex {
                    name: name.to_owned(),
                };
                // Digits only: `usize::from_str` would also take a leading `+`.
                if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                Request::Cuda(index.parse().map_err(|_| bad())?)
            }
            None => {
                return Err(DeviceError::Unknown {
                    name: name.to_owned(),
                });
            }
        },
    };
    Ok(request)
}

/// The device a name stands for (see the [module docs](self) for the names).
///
/// Never panics: an unknown or malformed name, or a backend this build lacks, is a
/// [`DeviceError`]. The device is not initialised here (see the module docs).
///
/// ```
/// use scoreflow_models::device::{DeviceError, device_from_name};
///
/// # #[cfg(feature = "flex")]
/// let device = device_from_name("flex").unwrap();
/// assert!(matches!(device_from_name("tpu"), Err(DeviceError::Unknown { .. })));
/// ```
pub fn device_from_name(name: &str) -> Result<Device, DeviceError> {
    let not_compiled = |backend: &'static str| DeviceError::NotCompiled {
        name: name.to_owned(),
        backend,
        compiled: compiled_backends(),
    };
    match parse(name)? {
        Request::Flex => flex().ok_or_else(|| not_compiled("flex")),
        Request::NdArray => ndarray().ok_or_else(|| not_compiled("ndarray")),
        Request::Wgpu => wgpu().ok_or_else(|| not_compiled("wgpu")),
        Request::Vulkan => vulkan().ok_or_else(|| not_compiled("vulkan")),
        Request::Cuda(index) => cuda(index).ok_or_else(|| not_compiled("cuda")),
    }
}

// One constructor per backend, `None` where the feature is off.

#[cfg(feature = "flex")]
fn flex() -> Option<Device> {
    Some(Device::flex())
}
#[cfg(not(feature = "flex"))]
fn flex() -> Option<Device> {
    None
}

#[cfg(feature = "ndarray")]
#[allow(deprecated)] // burn 0.22 deprecates ndarray in favour of flex; still offered by name
fn ndarray() -> Option<Device> {
    Some(Device::ndarray())
}
#[cfg(not(feature = "ndarray"))]
fn ndarray() -> Option<Device> {
    None
}

#[cfg(feature = "wgpu")]
fn wgpu() -> Option<Device> {
    Some(Device::wgpu(DeviceKind::DefaultDevice))
}
#[cfg(not(feature = "wgpu"))]
fn wgpu() -> Option<Device> {
    None
}

#[cfg(feature = "vulkan")]
fn vulkan() -> Option<Device> {
    Some(Device::vulkan(DeviceKind::DefaultDevice))
}
#[cfg(not(feature = "vulkan"))]
fn vulkan() -> Option<Device> {
    None
}

#[cfg(feature = "cuda")]
fn cuda(index: usize) -> Option<Device> {
    Some(Device::cuda(index))
}
#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize) -> Option<Device> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(parse("flex"), Ok(Request::Flex));
        assert_eq!(parse(" NdArray "), Ok(Request::NdArray));
        assert_eq!(parse("wgpu"), Ok(Request::Wgpu));
        assert_eq!(parse("vulkan"), Ok(Request::Vulkan));
        assert_eq!(parse("cuda"), Ok(Request::Cuda(0)));
        assert_eq!(parse("cuda:0"), Ok(Request::Cuda(0)));
        assert_eq!(parse("CUDA:3"), Ok(Request::Cuda(3)));
    }

    #[test]
    fn malformed_cuda_indices_are_errors() {
        for name in [
            "cuda:abc",
            "cuda:",
            "cuda:-1",
            "cuda:+1",
            "cuda:1.5",
            "cuda:99999999999999999999999",
        ] {
            assert_eq!(
                device_from_name(name).err(),
                Some(DeviceError::BadCudaIndex {
                    name: name.to_owned()
                }),
                "{name}"
            );
        }
    }

    #[test]
    fn unknown_names_are_errors() {
        for name in ["tpu", "", "cpu", "cuda0", "metal"] {
            let err = device_from_name(name).err();
            assert_eq!(
                err,
                Some(DeviceError::Unknown {
                    name: name.to_owned()
                }),
                "{name}"
            );
        }
        let message = device_from_name("tpu").unwrap_err().to_string();
        assert!(
            message.contains("`tpu`") && message.contains("cuda:N"),
            "{message}"
        );
    }

    #[test]
    fn compiled_backends_follow_the_features() {
        let compiled = compiled_backends();
        assert_eq!(compiled.contains(&"flex"), cfg!(feature = "flex"));
        assert_eq!(compiled.contains(&"ndarray"), cfg!(feature = "ndarray"));
        assert_eq!(compiled.contains(&"wgpu"), cfg!(feature = "wgpu"));
        assert_eq!(compiled.contains(&"vulkan"), cfg!(feature = "vulkan"));
        assert_eq!(compiled.contains(&"cuda"), cfg!(feature = "cuda"));
        if cfg!(feature = "vulkan") {
            assert!(compiled.contains(&"wgpu"), "vulkan implies wgpu");
        }
    }

    #[test]
    fn missing_backends_are_reported_with_what_is_compiled() {
        for (name, backend) in [
            ("ndarray", "ndarray"),
            ("wgpu", "wgpu"),
            ("vulkan", "vulkan"),
            ("cuda", "cuda"),
            ("cuda:1", "cuda"),
        ] {
            if compiled_backends().contains(&backend) {
                continue;
            }
            let err = device_from_name(name).unwrap_err();
            assert_eq!(
                err,
                DeviceError::NotCompiled {
                    name: name.to_owned(),
                    backend,
                    compiled: compiled_backends(),
                }
            );
            let message = err.to_string();
            assert!(
                message.contains(&format!("--features {backend}")),
                "{message}"
            );
            for compiled in compiled_backends() {
                assert!(message.contains(compiled), "{message}");
            }
        }
    }

    #[test]
    fn an_empty_build_says_none() {
        assert_eq!(list(&[]), "none");
        assert_eq!(list(&["flex", "cuda"]), "flex, cuda");
    }

    #[cfg(feature = "flex")]
    #[test]
    fn flex_resolves_and_computes() {
        use burn::prelude::{Tensor, TensorData};

        let device = device_from_name("flex").unwrap();
        let a = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0], [3]), &device);
        let b = (a.clone() * a).sum();
        let value = b.into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(value, vec![14.0]);
    }

    /// The default build: flex only, so every GPU name reports what is missing and lists flex.
    #[cfg(all(feature = "flex", not(feature = "cuda"), not(feature = "wgpu")))]
    #[test]
    fn gpu_names_on_a_cpu_build_list_flex() {
        for name in ["cuda", "cuda:0", "wgpu", "vulkan"] {
            match device_from_name(name) {
                Err(err @ DeviceError::NotCompiled { compiled, .. }) => {
                    assert!(compiled.contains(&"flex"));
                    assert!(err.to_string().contains("flex"), "{err}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
