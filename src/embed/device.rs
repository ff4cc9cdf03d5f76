//! Where the encoder runs: the CPU (xref's native encoder) or a CUDA GPU (candle's model,
//! with the `cuda` feature).

use anyhow::Result;
use candle_core::Device;

/// Sequences per batch on a GPU, and the largest activation tensor there.
pub(super) const GPU_BATCH: usize = 256;
pub(super) const GPU_MAX_ACTIVATION_BYTES: usize = 8 << 30;

/// Where the encoder runs (`--device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The first CUDA GPU when xref is built with the `cuda` feature and one is present,
    /// else the CPU.
    #[default]
    Auto,
    Cpu,
    /// CUDA GPU number `n` (needs the `cuda` feature).
    Cuda(usize),
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(|| {
                    format!("unknown device {s:?} (expected auto, cpu, cuda or cuda:N)")
                }),
        }
    }
}

impl DeviceChoice {
    /// The candle device; an error for a GPU this build or machine cannot use.
    pub fn device(self) -> Result<Device> {
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Auto if cfg!(feature = "cuda") => Ok(Device::cuda_if_available(0)?),
            Self::Auto => Ok(Device::Cpu),
            Self::Cuda(_) if !cfg!(feature = "cuda") => Err(crate::error::bad_input(
                "this xref was built without GPU support: build it with `cargo build --release --features cuda` (CUDA toolkit needed)",
            )),
            Self::Cuda(n) => Device::new_cuda(n)
                .map_err(|e| crate::error::bad_input(format!("CUDA device {n}: {e}"))),
        }
    }
}
