//! Choosing the Burn device a native forward pass or a training run uses: burn's flex CPU
//! backend, or a wgpu adapter (feature `wgpu`), acquired up front so that a machine without
//! one gets a message instead of a panic at the first tensor operation.

/// Which wgpu adapter to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Adapter {
    /// the best adapter the system offers (a discrete GPU first)
    #[default]
    Best,
    /// the first discrete GPU
    Discrete,
    /// the first integrated GPU
    Integrated,
    /// a software adapter (lavapipe / llvmpipe), for machines without a GPU
    Cpu,
}

impl Adapter {
    /// The option value that names it (`best`, `cpu`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Adapter::Best => "best",
            Adapter::Discrete => "discrete",
            Adapter::Integrated => "integrated",
            Adapter::Cpu => "cpu",
        }
    }
}

impl std::str::FromStr for Adapter {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        [
            Adapter::Best,
            Adapter::Discrete,
            Adapter::Integrated,
            Adapter::Cpu,
        ]
        .into_iter()
        .find(|adapter| adapter.name() == text)
        .ok_or_else(|| format!("'{text}' is not a wgpu adapter: best, discrete, integrated or cpu"))
    }
}

/// An acquired wgpu device and what it is.
#[cfg(feature = "wgpu")]
#[derive(Debug, Clone)]
pub struct WgpuDevice {
    pub device: burn::tensor::Device,
    /// `wgpu (NAME, BACKEND, TYPE)`, for logs and `metrics.json`.
    pub description: String,
    /// A software adapter answered though a hardware one was asked for.
    pub fell_back_to_software: bool,
}

/// Acquires the wgpu adapter `adapter`; the error says what is missing and how to get it.
#[cfg(feature = "wgpu")]
pub fn wgpu_device(adapter: Adapter) -> Result<WgpuDevice, String> {
    use burn::tensor::{Device, DeviceKind};

    let kind = match adapter {
        Adapter::Best => DeviceKind::DefaultDevice,
        Adapter::Discrete => DeviceKind::DiscreteGpu(0),
        Adapter::Integrated => DeviceKind::IntegratedGpu(0),
        Adapter::Cpu => DeviceKind::Cpu,
    };
    let (device, setup) = Device::wgpu_options()
        .device_kind(kind)
        .init_with_setup()
        .map_err(|e| {
            format!(
                "no usable wgpu adapter '{}' ({e}); install a GPU driver (Vulkan, Metal or \
                 DX12), or use the 'cpu' adapter with a software Vulkan device (Debian: \
                 apt-get install mesa-vulkan-drivers)",
                adapter.name()
            )
        })?;
    let info = setup.adapter.get_info();
    let software = info.device_type == burn::tensor::wgpu::wgpu::DeviceType::Cpu;
    Ok(WgpuDevice {
        device,
        description: format!(
            "wgpu ({}, {:?}, {:?})",
            info.name, info.backend, info.device_type
        ),
        fell_back_to_software: software && adapter != Adapter::Cpu,
    })
}
