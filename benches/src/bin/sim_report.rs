//! The CUDA backend's efficiency on the PTX simulator, while no GPU is at hand: for one
//! training step of each model (after two warm-up steps: the second is the first whose forward runs while the previous gradients still live, so the pool reaches its peak) the kernel launches, device
//! allocations, host<->device copies and synchronisations, and per kernel the simulator's
//! global sectors per request (against the ideal for its element size), shared-memory bank
//! conflicts, and for the GEMM the FMAs per global load.
//!
//!     cargo run --release -p benches --bin sim_report [-- --batch 16]

use std::collections::BTreeMap;

use engine::backend::cuda::{CudaDevice, GpuCounters};
use engine::metrics::RunningMetrics;
use engine::nn::Module;
use engine::optim::{Adam, Optimizer};
use engine::resident::ResidentImages;
use engine::{DType, Device, Rng, Tensor};
use kernels::sim::LaunchStats;
use mnist::dataset::{MNIST_MEAN, MNIST_STD};
use mnist::models::ModelKind;

fn main() {
    let batch: usize = std::env::args()
        .skip_while(|a| a != "--batch")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let dev = CudaDevice::get(Device::CudaSim).expect("the simulator is always available");
    println!("one training step on cuda-sim (batch {batch}, after two warm-up steps)\n");
    println!("| model | launches | device allocs | htod | dtoh | syncs |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut per_kernel = BTreeMap::<String, LaunchStats>::new();
    for kind in [ModelKind::Mlp, ModelKind::Small, ModelKind::Cnn] {
        let (d, stats) = step_counts(kind, batch, &dev);
        println!(
            "| {kind} | {} | {} | {} | {} | {} |",
            d.launches, d.device_allocs, d.htod, d.dtoh, d.syncs
        );
        for (k, s) in stats {
            per_kernel.entry(k).or_default().merge(&s);
        }
    }
    println!("\nper kernel over the three steps (ideal sectors per request: 4 for f32, 8 for f64 accesses by a full warp)\n");
    println!("| kernel | launches-weighted requests | sectors / request | bank conflicts / shared request | SIMD efficiency |");
    println!("| --- | --- | --- | --- | --- |");
    for (k, s) in &per_kernel {
        let req = s.global_load_requests + s.global_store_requests;
        let conflicts = s.shared_bank_conflicts as f64 / s.shared_requests.max(1) as f64;
        println!(
            "| {k} | {req} | {:.2} | {conflicts:.3} | {:.2} |",
            s.sectors_per_request(),
            s.simd_efficiency()
        );
    }
    gemm_intensity(&dev);
}

/// The counters of one training step (the third) of `kind`, and its per-kernel statistics.
fn step_counts(
    kind: ModelKind,
    batch: usize,
    dev: &CudaDevice,
) -> (GpuCounters, BTreeMap<String, LaunchStats>) {
    let device = Device::CudaSim;
    let mut rng = Rng::new(7);
    let n = 3 * batch;
    let images: Vec<u8> = (0..n * 784).map(|_| rng.below(256) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|_| rng.below(10) as u8).collect();
    let data = ResidentImages::new(device, &images, &labels).expect("upload");
    let order = data.epoch_order((0..n).collect()).expect("order");
    let mut model = kind.build(1);
    model.to_device(device).expect("model on the device");
    model.set_training(true);
    let mut opt = Adam::new(model.parameters(), 1e-3);
    let mut metrics = RunningMetrics::new(device, DType::F32).expect("metrics");
    let sim = dev.simulator().expect("simulator");
    let mut before = (GpuCounters::default(), BTreeMap::new());
    for step in 0..3 {
        if step == 2 {
            before = (
                dev.gpu().counters(),
                sim.launch_stats().into_iter().collect(),
            );
        }
        let norm = (MNIST_MEAN as f64, MNIST_STD as f64);
        let (x, y) = data
            .batch(&order, step * batch..(step + 1) * batch, norm, DType::F32)
            .expect("batch");
        let x: Tensor = x.reshape([batch, 1, 28, 28]).expect("reshape");
        let logits = model.forward(&x).expect("forward");
        let loss = logits.cross_entropy_labels(&y, 0.0).expect("loss");
        metrics
            .add(&logits.detach(), &y, &loss.detach())
            .expect("metrics");
        opt.zero_grad();
        loss.backward().expect("backward");
        opt.step().expect("step");
    }
    let after = dev.gpu().counters();
    let c = GpuCounters {
        launches: after.launches - before.0.launches,
        device_allocs: after.device_allocs - before.0.device_allocs,
        htod: after.htod - before.0.htod,
        dtoh: after.dtoh - before.0.dtoh,
        syncs: after.syncs - before.0.syncs,
    };
    let mut stats = BTreeMap::new();
    for (k, s) in sim.launch_stats() {
        let mut d = s.clone();
        if let Some(b) = before.1.get(&k) {
            d = s.since(b);
        }
        if d.thread_instructions > 0 {
            stats.insert(k, d);
        }
    }
    metrics.read().expect("one read per epoch");
    (c, stats)
}

/// FMAs per global load (thread-level) of one 192 x 192 x 192 f32 GEMM.
fn gemm_intensity(dev: &CudaDevice) {
    let sim = dev.simulator().expect("simulator");
    let mut rng = Rng::new(3);
    let a = Tensor::rand([192, 192], -1.0, 1.0, DType::F32, Device::CudaSim, &mut rng).expect("a");
    let b = Tensor::rand([192, 192], -1.0, 1.0, DType::F32, Device::CudaSim, &mut rng).expect("b");
    let before = sim
        .launch_stats()
        .get("sgemm_f32")
        .cloned()
        .unwrap_or_default();
    a.matmul(&b).expect("matmul");
    let s = sim
        .launch_stats()
        .get("sgemm_f32")
        .expect("ran")
        .since(&before);
    let fmas = 192f64 * 192.0 * 192.0;
    let loads = (s.global_load_requests * 32) as f64;
    println!(
        "\nsgemm_f32 192x192x192: {:.1} FMAs per global load (thread level), {:.2} sectors per request, {} bank conflicts in {} shared requests",
        fmas / loads,
        s.sectors_per_request(),
        s.shared_bank_conflicts,
        s.shared_requests
    );
}
