//! Offline stand-in for `cubecl-llvm` 0.11.3: no LLVM, no build script, no download.
//!
//! `cubecl-cuda` 0.11.3 always depends on `cubecl-llvm`, whose build script (through
//! `tracel-llvm-bundler`) downloads a prebuilt LLVM from GitHub. Built with its `cpp` feature,
//! `cubecl-cuda` hands every kernel to NVRTC as CUDA C++ and never lowers anything through LLVM,
//! but it still names a handful of `cubecl-llvm` items. This crate defines exactly those:
//!
//! | item | used by `cubecl-cuda` | here |
//! | --- | --- | --- |
//! | [`nvptx::ptx_version::PtxVersion`] | `PtxVersion::for_driver` at every device start-up, `Display` for cache names | the real table (it must not fail) |
//! | [`shared::lowered_features::GpuTarget`], [`shared::lowered_features::restrict_features`] | only when the LLVM backend is selected | panics |
//! | [`PlironCompiler`], [`LlvmTarget`] | the `CudaCompiler::Llvm` variant | plain data |
//! | [`PlironOptions`], [`PlironArtifact`], [`NvptxModule`] | the LLVM compile path | plain data |
//! | [`Compiler`] for [`PlironCompiler`] | the LLVM compile path | `compile` returns an error |
//!
//! Anything that would need LLVM either returns an error naming this crate or panics with a
//! message saying so; none of it is reached by a `cubecl-cuda` built with `cpp`. Other crates that
//! use the real `cubecl-llvm` (`cubecl-cpu`, `cubecl-hip`) do not compile against this one.

use cubecl_core::ir::amd::GfxArch;
use cubecl_core::ir::nvidia::SmArch;
use cubecl_core::{CompilationError, Compiler};
use cubecl_runtime::kernel::{BufferIOAttr, KernelDefinition};

/// Why nothing here compiles a kernel.
const NO_LLVM: &str = "cubecl-llvm is replaced by an offline stand-in without LLVM \
    (patches/cubecl-llvm in the scoreflow workspace); build cubecl-cuda with its `cpp` \
    feature so that NVRTC compiles kernels, or build against the real cubecl-llvm";

/// LLVM compilation targets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LlvmTarget {
    /// The host CPU.
    #[default]
    Cpu,
    /// NVIDIA GPUs through PTX.
    Nvptx,
}

impl LlvmTarget {
    /// Whether the target provides a hardware launch grid.
    pub fn is_gpu(self) -> bool {
        !matches!(self, LlvmTarget::Cpu)
    }
}

pub mod nvptx {
    //! NVPTX target.

    pub mod ptx_version {
        //! The PTX ISA version emitted for the installed driver — the real code: `cubecl-cuda`
        //! calls [`PtxVersion::for_driver`] whenever it starts a device, whichever backend
        //! compiles.

        use core::fmt;
        use std::ffi::CString;

        /// A PTX ISA version, as the NVPTX target feature spells it: 8.7 is `87`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct PtxVersion(u32);

        impl PtxVersion {
            /// The newest version a driver of CUDA `driver` loads, as `cuDriverGetVersion`
            /// reports it (12.8 is `12080`). `None` below CUDA 10.0.
            pub fn for_driver(driver: i32) -> Option<Self> {
                DRIVER_PTX
                    .iter()
                    .find(|(first_driver, _)| driver >= *first_driver)
                    .map(|(_, ptx)| Self(*ptx))
            }

            /// The NVPTX target feature that selects this version.
            pub fn target_feature(self) -> CString {
                CString::new(format!("+{self}")).expect("the feature has no NUL")
            }
        }

        impl fmt::Display for PtxVersion {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "ptx{}", self.0)
            }
        }

        /// The first CUDA release to load each PTX version, newest first (cubecl-llvm 0.11.3).
        const DRIVER_PTX: &[(i32, u32)] = &[
            (13030, 93),
            (13020, 92),
            (13010, 91),
            (13000, 90),
            (12090, 88),
            (12080, 87),
            (12050, 85),
            (12040, 84),
            (12030, 83),
            (12020, 82),
            (12010, 81),
            (12000, 80),
            (11080, 78),
            (11070, 77),
            (11060, 76),
            (11050, 75),
            (11040, 74),
            (11030, 73),
            (11020, 72),
            (11010, 71),
            (11000, 70),
            (10020, 65),
            (10010, 64),
            (10000, 63),
        ];

        #[cfg(test)]
        mod tests {
            use super::*;

            #[test]
            fn a_driver_gets_the_newest_version_it_loads() {
                assert_eq!(PtxVersion::for_driver(12080), Some(PtxVersion(87)));
                assert_eq!(PtxVersion::for_driver(12060), Some(PtxVersion(85)));
                assert_eq!(PtxVersion::for_driver(13000), Some(PtxVersion(90)));
                assert_eq!(PtxVersion::for_driver(13050), Some(PtxVersion(93)));
                assert_eq!(PtxVersion::for_driver(8000), None);
                assert_eq!(PtxVersion(87).to_string(), "ptx87");
            }
        }
    }
}

pub mod shared {
    //! Items shared between targets.

    pub use super::{NvptxModule, PlironArtifact, PlironCompiler, PlironOptions};

    pub mod lowered_features {
        //! Narrowing device properties to what the LLVM backend lowers: LLVM-only, so absent.

        use cubecl_core::ir::DeviceProperties;

        /// The GPU target a device's features are narrowed for.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum GpuTarget {
            /// NVIDIA GPUs through PTX.
            Nvptx,
        }

        /// Called by `cubecl-cuda` only when the LLVM backend compiles its kernels.
        ///
        /// # Panics
        ///
        /// Always: this build has no LLVM backend.
        pub fn restrict_features(_props: &mut DeviceProperties, target: GpuTarget) {
            panic!("restrict_features({target:?}): {}", super::super::NO_LLVM);
        }
    }
}

/// The LLVM kernel compiler; here a value that only reports that it cannot compile.
#[derive(Clone, Debug, Default)]
pub struct PlironCompiler {
    /// What it would compile for.
    pub target: LlvmTarget,
}

/// Options of the LLVM compiler, with the fields `cubecl-cuda` fills in.
#[derive(Clone, Debug, Default)]
pub struct PlironOptions {
    /// Minimum CPU buffer alignment (CPU target only).
    pub cpu_buffer_alignment: Option<u32>,
    /// AMDGPU architecture, or `None` for other targets.
    pub arch: Option<GfxArch>,
    /// NVPTX architecture, or `None` for other targets.
    pub sm_arch: Option<SmArch>,
    /// PTX version to emit.
    pub ptx_version: Option<nvptx::ptx_version::PtxVersion>,
    /// Pass scalars and static metadata in the kernel parameter block.
    pub grid_constants: bool,
}

/// Compiled PTX module.
#[derive(Clone, Debug)]
pub struct NvptxModule {
    /// NUL-terminated PTX assembly.
    pub ptx: Vec<core::ffi::c_char>,
    /// Kernel entry point symbol.
    pub entrypoint: String,
    /// IR for logging and cache keys.
    pub ir: String,
    /// Shared memory required per launch, in bytes.
    pub shared_memory_size: usize,
    /// Buffer access modes in binding order.
    pub io: Vec<BufferIOAttr>,
}

/// Compiled kernel artifact. Never produced here.
#[derive(Clone, Debug)]
pub enum PlironArtifact {
    /// A PTX module.
    NvptxCode(NvptxModule),
}

impl core::fmt::Display for PlironArtifact {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PlironArtifact::NvptxCode(module) => write!(f, "{}", module.ir),
        }
    }
}

impl Compiler for PlironCompiler {
    type Representation = PlironArtifact;
    type CompilationOptions = PlironOptions;

    fn buffer_io(repr: &Self::Representation) -> Option<Vec<BufferIOAttr>> {
        match repr {
            PlironArtifact::NvptxCode(module) => Some(module.io.clone()),
        }
    }

    /// Always an error: there is no LLVM in this build.
    fn compile(
        &mut self,
        _kernel: KernelDefinition,
        _options: &Self::CompilationOptions,
    ) -> Result<Self::Representation, CompilationError> {
        Err(CompilationError::Generic {
            reason: format!("cannot compile for {:?}: {NO_LLVM}", self.target),
            backtrace: cubecl_core::environment::backtrace::BackTrace::capture(),
        })
    }

    fn extension(&self) -> &'static str {
        match self.target {
            LlvmTarget::Cpu => "plir",
            LlvmTarget::Nvptx => "ll",
        }
    }

    fn lang_tag(&self) -> &'static str {
        match self.target {
            LlvmTarget::Cpu => "mlir",
            LlvmTarget::Nvptx => "llvm",
        }
    }
}
