//! The optimizer kernels (cuda/optim.cu) on the simulator, f32 and f64: several Adam / AdamW
//! steps (bias corrections, L2 vs decoupled decay) and SGD steps (plain, momentum with
//! dampening, Nesterov), in place, against f64 reference loops of PyTorch's update rules, on
//! odd sizes with small grids.

mod kernels_util;

use kernels::ptx::{optim, ptx, Module};
use kernels::sim::{Context, DevicePtr, KernelArg, LaunchStats};
use kernels_util::*;

struct Adam {
    lr: f64,
    b1: f64,
    b2: f64,
    eps: f64,
    wd: f64,
    decoupled: bool,
    amsgrad: bool,
}

/// One step of torch.optim.Adam / AdamW in f64, given the step's bias corrections; `vmax`
/// is AMSGrad's running maximum of the raw second moment.
fn ref_adam(
    h: &Adam,
    (bc1, bc2): (f64, f64),
    p: &mut [f64],
    g: &[f64],
    (m, v, vmax): (&mut [f64], &mut [f64], &mut [f64]),
) {
    for i in 0..p.len() {
        let mut gi = g[i];
        if h.decoupled {
            p[i] *= 1.0 - h.lr * h.wd;
        } else {
            gi += h.wd * p[i];
        }
        m[i] = h.b1 * m[i] + (1.0 - h.b1) * gi;
        v[i] = h.b2 * v[i] + (1.0 - h.b2) * gi * gi;
        let m_hat = m[i] / bc1;
        if h.amsgrad {
            vmax[i] = vmax[i].max(v[i]);
        }
        let v_hat = if h.amsgrad { vmax[i] } else { v[i] } / bc2;
        p[i] -= h.lr * m_hat / (v_hat.sqrt() + h.eps);
    }
}

fn to64<T: Elem>(v: &[T]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64()).collect()
}

fn adam_case<T: Elem>(ctx: &Context, rng: &mut Rng, n: usize, h: &Adam, grid: u32) -> LaunchStats {
    let f = function(ctx, ptx(Module::Optim), &entry::<T>("adam_step"));
    let p0: Vec<T> = vec_t(rng, n, -1.0, 1.0);
    let (pp, pm, pv, pvmax) = (
        upload_t(ctx, &p0),
        upload_t(ctx, &vec![T::from_f64(0.0); n]),
        upload_t(ctx, &vec![T::from_f64(0.0); n]),
        upload_t(ctx, &vec![T::from_f64(0.0); n]),
    );
    let (mut p, mut m, mut v, mut vmax) = (to64(&p0), vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut stats = LaunchStats::default();
    for t in 1..=3 {
        let g: Vec<T> = vec_t(rng, n, -0.5, 0.5);
        let pg = upload_t(ctx, &g);
        // The kernel gets every hyperparameter as a T; the reference uses those same values.
        let r = |x: f64| T::from_f64(x).to_f64();
        let c = |x: f64| T::from_f64(x).arg();
        let rh = Adam {
            lr: r(h.lr),
            b1: r(h.b1),
            b2: r(h.b2),
            eps: r(h.eps),
            wd: r(h.wd),
            decoupled: h.decoupled,
            amsgrad: h.amsgrad,
        };
        let bc = (r(1.0 - h.b1.powi(t)), r(1.0 - h.b2.powi(t)));
        stats = launch(
            ctx,
            &f,
            cfg1(grid, optim::THREADS),
            &[
                KernelArg::Ptr(pp),
                KernelArg::Ptr(pg),
                KernelArg::Ptr(pm),
                KernelArg::Ptr(pv),
                KernelArg::U32(n as u32),
                c(h.lr),
                c(h.b1),
                c(h.b2),
                c(h.eps),
                c(h.wd),
                c(bc.0),
                c(bc.1),
                KernelArg::U32(h.decoupled as u32),
                KernelArg::Ptr(pvmax),
                KernelArg::U32(h.amsgrad as u32),
            ],
        );
        ref_adam(&rh, bc, &mut p, &to64(&g), (&mut m, &mut v, &mut vmax));
        let what = format!(
            "adam_step n={n} step {t} decoupled={} amsgrad={}",
            h.decoupled, h.amsgrad
        );
        assert_rel(&format!("{what} param"), &download_t::<T>(ctx, pp, n), &p);
        assert_rel(&format!("{what} m"), &download_t::<T>(ctx, pm, n), &m);
        assert_rel(&format!("{what} v"), &download_t::<T>(ctx, pv, n), &v);
        if h.amsgrad {
            assert_rel(
                &format!("{what} vmax"),
                &download_t::<T>(ctx, pvmax, n),
                &vmax,
            );
        }
        ctx.free(pg).unwrap();
    }
    for q in [pp, pm, pv, pvmax] {
        ctx.free(q).unwrap();
    }
    stats
}

#[test]
fn adam_and_adamw_steps_f32_f64() {
    let ctx = context();
    let mut rng = Rng::fresh("adam_and_adamw_steps_f32_f64");
    let adam = Adam {
        lr: 1e-2,
        b1: 0.9,
        b2: 0.999,
        eps: 1e-8,
        wd: 0.05,
        decoupled: false,
        amsgrad: false,
    };
    let adamw = Adam {
        lr: 3e-3,
        b1: 0.8,
        b2: 0.99,
        eps: 1e-6,
        wd: 0.01,
        decoupled: true,
        amsgrad: false,
    };
    // AMSGrad with a big beta2 step-to-step change: the maximum differs from v.
    let amsgrad = Adam {
        amsgrad: true,
        b2: 0.5,
        ..adamw
    };
    let adam_amsgrad = Adam {
        amsgrad: true,
        b2: 0.6,
        ..adam
    };
    for h in [&adam, &adamw, &amsgrad, &adam_amsgrad] {
        for &(n, grid) in &[(1usize, 1u32), (1001, 2), (4099, 3)] {
            adam_case::<f32>(&ctx, &mut rng, n, h, grid);
            adam_case::<f64>(&ctx, &mut rng, n, h, grid);
        }
    }
}

struct Sgd {
    lr: f64,
    momentum: f64,
    dampening: f64,
    wd: f64,
    nesterov: bool,
}

/// One torch.optim.SGD step in f64; `buf` None on the first step with momentum.
fn ref_sgd(h: &Sgd, p: &mut [f64], g: &[f64], buf: &mut Option<Vec<f64>>) {
    let first = buf.is_none();
    if h.momentum != 0.0 && first {
        *buf = Some(vec![0.0; p.len()]);
    }
    for i in 0..p.len() {
        let mut d = g[i] + h.wd * p[i];
        if h.momentum != 0.0 {
            let b = &mut buf.as_mut().unwrap()[i];
            *b = if first {
                d
            } else {
                h.momentum * *b + (1.0 - h.dampening) * d
            };
            d = if h.nesterov { d + h.momentum * *b } else { *b };
        }
        p[i] -= h.lr * d;
    }
}

fn sgd_case<T: Elem>(ctx: &Context, rng: &mut Rng, n: usize, h: &Sgd, grid: u32) -> LaunchStats {
    let f = function(ctx, ptx(Module::Optim), &entry::<T>("sgd_step"));
    let p0: Vec<T> = vec_t(rng, n, -1.0, 1.0);
    let pp = upload_t(ctx, &p0);
    // The buffer starts poisoned: the first momentum step must write it without reading it;
    // without momentum it must stay untouched.
    let pb: DevicePtr = poisoned_t::<T>(ctx, n);
    let mut p = to64(&p0);
    let mut buf = None;
    let mut stats = LaunchStats::default();
    for step in 0..3 {
        let g: Vec<T> = vec_t(rng, n, -0.5, 0.5);
        let pg = upload_t(ctx, &g);
        let c = |x: f64| T::from_f64(x).arg();
        let r = |x: f64| T::from_f64(x).to_f64();
        let rh = Sgd {
            lr: r(h.lr),
            momentum: r(h.momentum),
            dampening: r(h.dampening),
            wd: r(h.wd),
            nesterov: h.nesterov,
        };
        // Without momentum the buffer pointer is null.
        let bufarg = if h.momentum == 0.0 {
            KernelArg::U64(0)
        } else {
            KernelArg::Ptr(pb)
        };
        stats = launch(
            ctx,
            &f,
            cfg1(grid, optim::THREADS),
            &[
                KernelArg::Ptr(pp),
                KernelArg::Ptr(pg),
                bufarg,
                KernelArg::U32(n as u32),
                c(h.lr),
                c(h.momentum),
                c(h.dampening),
                c(h.wd),
                KernelArg::U32(h.nesterov as u32),
                KernelArg::U32((step == 0) as u32),
            ],
        );
        ref_sgd(&rh, &mut p, &to64(&g), &mut buf);
        let what = format!(
            "sgd_step n={n} step {step} momentum={} nesterov={}",
            h.momentum, h.nesterov
        );
        assert_rel(&format!("{what} param"), &download_t::<T>(ctx, pp, n), &p);
        if let Some(b) = &buf {
            assert_rel(&format!("{what} buf"), &download_t::<T>(ctx, pb, n), b);
        }
        ctx.free(pg).unwrap();
    }
    if h.momentum == 0.0 {
        assert!(
            download_t::<T>(ctx, pb, n)
                .iter()
                .all(|v| v.to_f64().is_nan()),
            "buffer touched"
        );
    }
    ctx.free(pp).unwrap();
    ctx.free(pb).unwrap();
    stats
}

#[test]
fn sgd_plain_momentum_nesterov_f32_f64() {
    let ctx = context();
    let mut rng = Rng::fresh("sgd_plain_momentum_nesterov_f32_f64");
    let cases = [
        Sgd {
            lr: 0.1,
            momentum: 0.0,
            dampening: 0.0,
            wd: 0.0,
            nesterov: false,
        },
        Sgd {
            lr: 0.05,
            momentum: 0.0,
            dampening: 0.0,
            wd: 1e-2,
            nesterov: false,
        },
        Sgd {
            lr: 0.05,
            momentum: 0.9,
            dampening: 0.1,
            wd: 1e-3,
            nesterov: false,
        },
        Sgd {
            lr: 0.02,
            momentum: 0.8,
            dampening: 0.0,
            wd: 5e-4,
            nesterov: true,
        },
    ];
    for h in &cases {
        for &(n, grid) in &[(1usize, 1u32), (777, 2), (2049, 3)] {
            sgd_case::<f32>(&ctx, &mut rng, n, h, grid);
            sgd_case::<f64>(&ctx, &mut rng, n, h, grid);
        }
    }
}

fn coalescing<T: Elem>(ctx: &Context, rng: &mut Rng) {
    let ideal = ideal_sectors::<T>();
    let h = Adam {
        lr: 1e-3,
        b1: 0.9,
        b2: 0.999,
        eps: 1e-8,
        wd: 0.0,
        decoupled: false,
        amsgrad: false,
    };
    let s = adam_case::<T>(ctx, rng, 8192, &h, 8);
    println!(
        "adam_step_{}: {:.2} sectors/request\n{s}",
        T::SUFFIX,
        s.sectors_per_request()
    );
    assert!(
        s.sectors_per_request() <= 1.1 * ideal,
        "adam_step coalescing: {s}"
    );
    let h = Sgd {
        lr: 0.1,
        momentum: 0.9,
        dampening: 0.0,
        wd: 0.0,
        nesterov: false,
    };
    let s = sgd_case::<T>(ctx, rng, 8192, &h, 8);
    println!(
        "sgd_step_{}: {:.2} sectors/request",
        T::SUFFIX,
        s.sectors_per_request()
    );
    assert!(
        s.sectors_per_request() <= 1.1 * ideal,
        "sgd_step coalescing: {s}"
    );
}

#[test]
fn optim_launch_stats() {
    let ctx = context();
    let mut rng = Rng::fresh("optim_launch_stats");
    coalescing::<f32>(&ctx, &mut rng);
    coalescing::<f64>(&ctx, &mut rng);
}
