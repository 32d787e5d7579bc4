//! The simulator on real NVRTC 11.8 output (compute_70): saxpy, tiled SGEMM, a reduction
//! with shuffles/ballot/bar.red/dynamic shared/local arrays, and a kernel with .func calls,
//! .const/.global initialisers and generic addressing.

use kernels::sim::*;

pub const SAXPY_SGEMM_RED: &str = include_str!("ptx_nvrtc/saxpy_sgemm_red.ptx");

pub const FUNCS: &str = include_str!("ptx_nvrtc/funcs.ptx");

fn ctx(checks: bool, parallel: bool) -> Context {
    Context::new(SimOptions { checks, parallel })
}

fn upload_f32(c: &Context, v: &[f32]) -> DevicePtr {
    let p = c.alloc(v.len() * 4).unwrap();
    let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    c.copy_htod(p, &b).unwrap();
    p
}
fn download_f32(c: &Context, p: DevicePtr, n: usize) -> Vec<f32> {
    let mut b = vec![0u8; n * 4];
    c.copy_dtoh(&mut b, p).unwrap();
    b.chunks(4)
        .map(|x| f32::from_le_bytes(x.try_into().unwrap()))
        .collect()
}

#[test]
fn saxpy() {
    for (checks, par) in [(true, true), (false, false)] {
        let c = ctx(checks, par);
        let m = c.load_module(SAXPY_SGEMM_RED).unwrap();
        let f = m.function("saxpy").unwrap();
        let n = 1000;
        let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let y: Vec<f32> = (0..n).map(|i| 2.0 * i as f32 + 1.0).collect();
        let (px, py) = (upload_f32(&c, &x), upload_f32(&c, &y));
        let cfg = LaunchConfig {
            grid: (3, 1, 1),
            block: (128, 1, 1),
            shared_bytes: 0,
        };
        let args = [
            KernelArg::I32(n as i32),
            KernelArg::F32(0.5),
            KernelArg::Ptr(px),
            KernelArg::Ptr(py),
        ];
        let st = c.launch(&f, cfg, &args).unwrap();
        let out = download_f32(&c, py, n);
        for i in 0..n {
            assert_eq!(out[i], 0.5f32.mul_add(x[i], y[i]));
        }
        assert!(st.thread_instructions > 0);
        assert_eq!(st.global_load_requests, 2 * st.global_store_requests);
        assert!((st.sectors_per_request() - 4.0).abs() < 0.2, "{st}");
    }
}

#[test]
fn sgemm() {
    let c = ctx(true, true);
    let m = c.load_module(SAXPY_SGEMM_RED).unwrap();
    let f = m.function("sgemm").unwrap();
    let (mm, nn, kk) = (37usize, 29usize, 45usize);
    let a: Vec<f32> = (0..mm * kk).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
    let b: Vec<f32> = (0..kk * nn).map(|i| ((i * 5) % 11) as f32 - 5.0).collect();
    let (pa, pb, pc) = (
        upload_f32(&c, &a),
        upload_f32(&c, &b),
        c.alloc(mm * nn * 4).unwrap(),
    );
    let cfg = LaunchConfig {
        grid: (nn.div_ceil(16) as u32, mm.div_ceil(16) as u32, 1),
        block: (16, 16, 1),
        shared_bytes: 0,
    };
    let args = [
        KernelArg::I32(mm as i32),
        KernelArg::I32(nn as i32),
        KernelArg::I32(kk as i32),
        KernelArg::Ptr(pa),
        KernelArg::Ptr(pb),
        KernelArg::Ptr(pc),
    ];
    let st = c.launch(&f, cfg, &args).unwrap();
    let out = download_f32(&c, pc, mm * nn);
    for i in 0..mm {
        for j in 0..nn {
            let mut s = 0f32;
            for k in 0..kk {
                s = a[i * kk + k].mul_add(b[k * nn + j], s);
            }
            assert_eq!(out[i * nn + j], s, "C[{i}][{j}]");
        }
    }
    assert!(st.barriers > 0);
    assert!(st.shared_requests > 0);
}

#[test]
fn reduction_shuffles_ballot_local() {
    for par in [false, true] {
        let c = ctx(true, par);
        let m = c.load_module(SAXPY_SGEMM_RED).unwrap();
        let f = m.function("red").unwrap();
        let x: Vec<f32> = (1..=32).map(|i| i as f32).collect();
        let px = upload_f32(&c, &x);
        let po = upload_f32(&c, &[0.0; 8]);
        let n = 20;
        let args = [KernelArg::Ptr(px), KernelArg::Ptr(po), KernelArg::I32(n)];
        // __shfl_up_sync(0xff, ...) executed by lanes outside the mask: an error
        let cfg = LaunchConfig {
            grid: (1, 1, 1),
            block: (32, 1, 1),
            shared_bytes: 128,
        };
        let e = c.launch(&f, cfg, &args).unwrap_err();
        assert_eq!(e.kind(), "shuffle-mismatch", "{e}");
        assert!(e.to_string().contains("line 339"), "{e}");
        let cfg = LaunchConfig {
            grid: (1, 1, 1),
            block: (8, 1, 1),
            shared_bytes: 32,
        };
        c.launch(&f, cfg, &args).unwrap();
        let out = download_f32(&c, po, 8);
        assert_eq!(out[2], (1.0f64 / 3.0) as f32);
        assert_eq!(out[4], x[((4 * n) % 7) as usize]);
        // lanes 0..19 hold x, 20..31 hold 0; width-16 segments summed with shfl.down
        let seg0: f32 = (1..=16).map(|i| i as f32).sum();
        let count = 32 - 12; // v > 0 for lanes whose segment sum > 0: lanes 0..19 (seg 1 lanes 16..19 hold x)
        let _ = (seg0, count);
        // out[0] = atomicAdd of sm[5]
        assert!(out[0] > 0.0);
    }
}

#[test]
fn funcs_consts_generic() {
    let c = ctx(false, false);
    let m = c.load_module(FUNCS).unwrap();
    assert_eq!(m.function_names(), vec!["k".to_string()]);
    let f = m.function("k").unwrap();
    let mut o = vec![0f32; 32];
    o[0] = 1.5;
    o[1] = 2.0;
    let po = upload_f32(&c, &o);
    let pd = c.alloc(16 * 8).unwrap();
    let pu = c.alloc(16 * 8).unwrap();
    let mut u = [0u64; 16];
    u[3] = 0xff;
    u[8] = 100;
    u[9] = 7;
    u[10] = 3;
    let ub: Vec<u8> = u.iter().flat_map(|v| v.to_le_bytes()).collect();
    c.copy_htod(pu, &ub).unwrap();
    let mut dd = [0f64; 16];
    dd[1] = 2.0;
    dd[2] = 3.0;
    dd[3] = 4.0;
    dd[5] = f64::NAN;
    dd[6] = -1.0;
    let db: Vec<u8> = dd.iter().flat_map(|v| v.to_le_bytes()).collect();
    c.copy_htod(pd, &db).unwrap();
    let n = 5i32;
    let args = [
        KernelArg::Ptr(po),
        KernelArg::Ptr(pd),
        KernelArg::Ptr(pu),
        KernelArg::I32(n),
    ];
    c.launch(&f, LaunchConfig::linear(1, 1), &args).unwrap();
    let out = download_f32(&c, po, 32);
    assert_eq!(out[2], 1.5 * 5.0 + 2.0 + (1.5 - 5.0) + 2.0 + 9.0);
    assert_eq!(out[3], 1.0);
    assert_eq!(
        out[0],
        2.0f32.mul_add(0.0, 0.0) + f32::from_bits(0x4000_0000) - 2.0 + 2.0
    );
    let mut db2 = vec![0u8; 16 * 8];
    c.copy_dtoh(&mut db2, pd).unwrap();
    let d: Vec<f64> = db2
        .chunks(8)
        .map(|x| f64::from_le_bytes(x.try_into().unwrap()))
        .collect();
    assert_eq!(d[0], 2.0f64.mul_add(3.0, 0.25));
    assert_eq!(d[4], -1.0); // fmin(NaN, -1) = -1
    assert_eq!(d[9], 1.0); // atomicAdd(dd+9, 1.0)
    let mut ub2 = vec![0u8; 16 * 8];
    c.copy_dtoh(&mut ub2, pu).unwrap();
    let u2: Vec<u64> = ub2
        .chunks(8)
        .map(|x| u64::from_le_bytes(x.try_into().unwrap()))
        .collect();
    let nn = n as u32;
    let perm = nn; // __byte_perm(n, 7, 0x3210) == n
    let expect2 = 8u32
        .wrapping_add(nn.leading_zeros())
        .wrapping_add(nn.reverse_bits())
        .wrapping_add(perm);
    assert_eq!(u2[2], expect2 as u64);
    assert_eq!(u2[0], 3); // max(0,5) -> 5, -3 -> 2, exch -> 3
    assert_eq!(u2[7], 100 / 7 + (5 / 3) as u64);
    // with checks: one thread reads s[1] that nobody wrote; 64 threads: odd threads all
    // store to the same shared word (a race)
    let c2 = ctx(true, false);
    let m2 = c2.load_module(FUNCS).unwrap();
    let po2 = c2.alloc(32 * 4).unwrap();
    let pd2 = c2.alloc(16 * 8).unwrap();
    let pu2 = c2.alloc(16 * 8).unwrap();
    c2.copy_htod(pu2, &ub).unwrap();
    let args2 = [
        KernelArg::Ptr(po2),
        KernelArg::Ptr(pd2),
        KernelArg::Ptr(pu2),
        KernelArg::I32(n),
    ];
    let f2 = m2.function("k").unwrap();
    let e = c2
        .launch(&f2, LaunchConfig::linear(1, 1), &args2)
        .unwrap_err();
    assert_eq!(e.kind(), "uninitialized", "{e}");
    let e = c2
        .launch(&f2, LaunchConfig::linear(1, 64), &args2)
        .unwrap_err();
    assert_eq!(e.kind(), "shared-race", "{e}");
}
