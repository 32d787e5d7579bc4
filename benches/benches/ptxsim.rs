//! Throughput of the PTX simulator in simulated thread-instructions per second:
//! a tiled 16x16 SGEMM (shared memory, barriers) and a grid-stride saxpy, checks on and off,
//! blocks run on one host thread (`parallel: false`) so the figure is per core.
//!
//! `cargo bench -p benches --bench ptxsim`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kernels::sim::*;

/// The NVRTC 11.8 module `kernels/tests/sim_nvrtc.rs` runs (saxpy, tiled SGEMM, reduction).
const PTX: &str = include_str!("../../kernels/tests/ptx_nvrtc/saxpy_sgemm_red.ptx");

fn upload(c: &Context, v: &[f32]) -> DevicePtr {
    let p = c.alloc(v.len() * 4).unwrap();
    let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    c.copy_htod(p, &b).unwrap();
    p
}

fn bench(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("ptxsim");
    g.sample_size(10);
    for checks in [true, false] {
        let c = Context::new(SimOptions {
            checks,
            parallel: false,
        });
        let m = c.load_module(PTX).unwrap();
        let tag = if checks { "checks_on" } else { "checks_off" };

        // SGEMM 128x128x128, 16x16 tiles: 64 blocks of 256 threads
        let n = 128usize;
        let a: Vec<f32> = (0..n * n).map(|i| (i % 7) as f32).collect();
        let (pa, pb, pc) = (upload(&c, &a), upload(&c, &a), c.alloc(n * n * 4).unwrap());
        let f = m.function("sgemm").unwrap();
        let cfg = LaunchConfig {
            grid: (8, 8, 1),
            block: (16, 16, 1),
            shared_bytes: 0,
        };
        let args = [
            KernelArg::I32(n as i32),
            KernelArg::I32(n as i32),
            KernelArg::I32(n as i32),
            KernelArg::Ptr(pa),
            KernelArg::Ptr(pb),
            KernelArg::Ptr(pc),
        ];
        let st = c.launch(&f, cfg, &args).unwrap();
        println!(
            "sgemm {tag}: {} thread-instructions per launch",
            st.thread_instructions
        );
        g.throughput(Throughput::Elements(st.thread_instructions));
        g.bench_function(format!("sgemm128_{tag}"), |b| {
            b.iter(|| c.launch(&f, cfg, &args).unwrap())
        });

        // saxpy, 1M elements, grid-stride over 64 blocks of 256
        let len = 1 << 20;
        let x: Vec<f32> = (0..len).map(|i| i as f32).collect();
        let (px, py) = (upload(&c, &x), upload(&c, &x));
        let f = m.function("saxpy").unwrap();
        let cfg = LaunchConfig {
            grid: (64, 1, 1),
            block: (256, 1, 1),
            shared_bytes: 0,
        };
        let args = [
            KernelArg::I32(len),
            KernelArg::F32(0.5),
            KernelArg::Ptr(px),
            KernelArg::Ptr(py),
        ];
        let st = c.launch(&f, cfg, &args).unwrap();
        println!(
            "saxpy {tag}: {} thread-instructions per launch",
            st.thread_instructions
        );
        g.throughput(Throughput::Elements(st.thread_instructions));
        g.bench_function(format!("saxpy1m_{tag}"), |b| {
            b.iter(|| c.launch(&f, cfg, &args).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
