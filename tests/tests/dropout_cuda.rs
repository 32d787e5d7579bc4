//! The CPU dropout must equal the CUDA kernel `dropout_fwd_f32` bit for bit (same kept
//! elements, same f32 scale), checked by running that kernel's PTX on the simulator.
//! Before issue 17 the CPU computed the threshold and scale from `p` in f64, so p = 0.45
//! and p = 0.7 kept different elements (or scaled by a different f32).

use engine::{DType, Device, Rng, Tensor};
use kernels::ptx::{philox, ptx, Module};
use kernels::sim::{Context, KernelArg, LaunchConfig, SimOptions};

fn bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// `dropout_fwd_f32` on the simulator: the output values and the keep mask.
fn cuda_dropout(x: &[f32], p: f32, seed: u64, offset: u64) -> (Vec<f32>, Vec<u8>) {
    let ctx = Context::new(SimOptions::default());
    let m = ctx.load_module(ptx(Module::Philox)).unwrap();
    let f = m.function(philox::DROPOUT_FWD_F32).unwrap();
    let n = x.len();
    let (dx, dy, mask) = (
        ctx.alloc(4 * n).unwrap(),
        ctx.alloc(4 * n).unwrap(),
        ctx.alloc(n).unwrap(),
    );
    ctx.copy_htod(dx, &bytes(x)).unwrap();
    // dropout_fwd_f32(x, y, mask, n, p, seed, offset)
    let mut args = [dx, dy, mask].map(KernelArg::Ptr).to_vec();
    args.extend([KernelArg::U32(n as u32), KernelArg::F32(p)]);
    args.extend([seed, offset].map(KernelArg::U64));
    ctx.launch(&f, LaunchConfig::linear(4, 128), &args).unwrap();
    let mut out = vec![0u8; 4 * n];
    ctx.copy_dtoh(&mut out, dy).unwrap();
    let y = out
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut keep = vec![0u8; n];
    ctx.copy_dtoh(&mut keep, mask).unwrap();
    (y, keep)
}

#[test]
fn cpu_dropout_equals_the_cuda_kernel() {
    let n = 4099;
    let mut rng = Rng::new(17);
    let x = Tensor::rand([n], -3.0, 3.0, DType::F32, Device::Cpu, &mut rng).unwrap();
    let xv = x.to_vec_f32().unwrap();
    for (p, seed, offset) in [
        (0.45, 1, 0),
        (0.7, 2, 5),
        (0.1, 3, 1 << 33),
        (0.5, 4, 7),
        (0.3, 5, 0),
        (0.95, 6, 11),
    ] {
        let cpu = x
            .dropout(p, true, seed, offset)
            .unwrap()
            .to_vec_f32()
            .unwrap();
        let (gpu, keep) = cuda_dropout(&xv, p as f32, seed, offset);
        for i in 0..n {
            // Kept: the same f32 product, bit for bit. Dropped: zero (the CPU multiplies
            // by the zero mask, like PyTorch, so a negative x gives -0 there).
            let same = if keep[i] == 1 {
                cpu[i].to_bits() == gpu[i].to_bits()
            } else {
                cpu[i] == 0.0 && gpu[i] == 0.0
            };
            assert!(
                same,
                "p {p}, element {i} (kept by cuda: {}): cpu {} vs cuda {}",
                keep[i], cpu[i], gpu[i]
            );
        }
    }
}

/// A random word equal to the threshold is rare (2^-24), so random inputs hardly test the
/// keep rule's boundary: find a block holding the exact boundary word and drop out there.
#[test]
fn the_boundary_word_is_kept_as_by_the_cuda_kernel() {
    let seed = 9;
    for p in [0.45f64, 0.7, 0.95] {
        let t = kernels::philox::DropoutRule::new(p as f32).threshold;
        let (g, j) = (0u64..)
            .find_map(|g| {
                let w = kernels::philox::block(seed, g);
                w.iter().position(|&w| w >> 8 == t).map(|j| (g, j))
            })
            .unwrap();
        let x = Tensor::ones([4], DType::F32, Device::Cpu).unwrap();
        let cpu = x.dropout(p, true, seed, g).unwrap().to_vec_f32().unwrap();
        let (gpu, keep) = cuda_dropout(&[1.0; 4], p as f32, seed, g);
        assert_eq!(
            keep[j], 1,
            "p {p}: the kernel keeps word {t} (unit >= p in f32)"
        );
        assert_eq!(
            cpu[j].to_bits(),
            gpu[j].to_bits(),
            "p {p}: cpu {cpu:?} cuda {gpu:?}"
        );
    }
}
