//! Benchmarks live in `benches/`; this crate holds what they share: the devices each
//! benchmark runs on.

use engine::backend::cuda::{gpu_count, CudaDevice};
use engine::Device;

/// The devices a benchmark runs on, with their ids (`cpu`, `cuda`): the CPU, and the first GPU
/// when a driver sees one. Without one the CUDA entry is skipped with a printed reason (the
/// simulator is not timed: `cargo run --release -p benches --bin sim_report` reports its
/// statistics instead).
pub fn devices(bench: &str) -> Vec<(&'static str, Device)> {
    let mut d = vec![("cpu", Device::Cpu)];
    if gpu_count() > 0 && Device::Cuda(0).ensure_available().is_ok() {
        d.push(("cuda", Device::Cuda(0)));
    } else {
        eprintln!("{bench}/cuda: skipped: no NVIDIA GPU or driver on this machine");
    }
    d
}

/// Waits for the work queued on `device`, so a CUDA iteration is timed to its end.
pub fn sync(device: Device) {
    if device.is_cuda() {
        CudaDevice::get(device)
            .and_then(|d| d.synchronize())
            .expect("synchronize");
    }
}
