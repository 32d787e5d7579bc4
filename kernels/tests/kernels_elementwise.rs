//! The elementwise kernels (cuda/elementwise.cu) on the simulator, f32 and f64: every unary op
//! forward and backward, broadcasting binary ops (fast path, broadcast, strided and offset
//! inputs, rank 8), against f64 reference loops, on odd sizes with NaN-poisoned outputs.

mod kernels_util;

use kernels::ptx::{elementwise as ew, ptx, Bcast, Module, MAX_RANK};
use kernels::sim::{Context, KernelArg, LaunchStats};
use kernels_util::*;

fn sig(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// erf from its Taylor series `2/√π Σ (-1)ⁿ x^(2n+1) / (n! (2n+1))` (|x| <= 3 here).
fn erf_series(x: f64) -> f64 {
    let (mut term, mut sum) = (x, x);
    for n in 1..200 {
        term *= -x * x / n as f64;
        let t = term / (2 * n + 1) as f64;
        sum += t;
        if t.abs() < 1e-20 {
            break;
        }
    }
    sum * std::f64::consts::FRAC_2_SQRT_PI
}

fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + erf_series(x / std::f64::consts::SQRT_2))
}

/// d/dx of x Φ(x): Φ(x) + x φ(x).
fn gelu_df(x: f64) -> f64 {
    let phi = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    0.5 * (1.0 + erf_series(x / std::f64::consts::SQRT_2)) + x * phi
}

const TANH_BETA: f64 = 0.797_884_560_802_865_4; // sqrt(2 / pi)

fn gelu_tanh(x: f64) -> f64 {
    0.5 * x * (1.0 + (TANH_BETA * (x + 0.044715 * x.powi(3))).tanh())
}

/// The derivative of `gelu_tanh` by the chain rule.
fn gelu_tanh_df(x: f64) -> f64 {
    let u = TANH_BETA * (x + 0.044715 * x.powi(3));
    let du = TANH_BETA * (1.0 + 3.0 * 0.044715 * x * x);
    0.5 * (1.0 + u.tanh()) + 0.5 * x * (1.0 - u.tanh().powi(2)) * du
}

/// (code, name, scalar p, f(x, p), f'(x, p), positive inputs only) written from the math, not
/// from the kernels.
type Ref = fn(f64, f64) -> f64;
fn ops() -> Vec<(u32, &'static str, f64, Ref, Ref, bool)> {
    vec![
        (ew::UNARY_NEG, "neg", 0.0, |x, _| -x, |_, _| -1.0, false),
        (
            ew::UNARY_EXP,
            "exp",
            0.0,
            |x, _| x.exp(),
            |x, _| x.exp(),
            false,
        ),
        (
            ew::UNARY_LOG,
            "log",
            0.0,
            |x, _| x.ln(),
            |x, _| 1.0 / x,
            true,
        ),
        (
            ew::UNARY_SQRT,
            "sqrt",
            0.0,
            |x, _| x.sqrt(),
            |x, _| 0.5 / x.sqrt(),
            true,
        ),
        (
            ew::UNARY_ABS,
            "abs",
            0.0,
            |x, _| x.abs(),
            |x, _| x.signum() * (x != 0.0) as i32 as f64,
            false,
        ),
        (
            ew::UNARY_RELU,
            "relu",
            0.0,
            |x, _| x.max(0.0),
            |x, _| (x > 0.0) as i32 as f64,
            false,
        ),
        (
            ew::UNARY_SIGMOID,
            "sigmoid",
            0.0,
            |x, _| sig(x),
            |x, _| sig(x) * (1.0 - sig(x)),
            false,
        ),
        (
            ew::UNARY_TANH,
            "tanh",
            0.0,
            |x, _| x.tanh(),
            |x, _| 1.0 - x.tanh().powi(2),
            false,
        ),
        (
            ew::UNARY_POWF,
            "powf",
            2.5,
            |x, p| x.powf(p),
            |x, p| p * x.powf(p - 1.0),
            true,
        ),
        // An integer exponent of negative bases (odd: negative results).
        (
            ew::UNARY_POWF,
            "powf_int",
            3.0,
            |x, p| x.powf(p),
            |x, p| p * x.powf(p - 1.0),
            false,
        ),
        (
            ew::UNARY_ADD_SCALAR,
            "add_scalar",
            0.75,
            |x, p| x + p,
            |_, _| 1.0,
            false,
        ),
        (
            ew::UNARY_MUL_SCALAR,
            "mul_scalar",
            -1.5,
            |x, p| x * p,
            |_, p| p,
            false,
        ),
        (
            ew::UNARY_LEAKY_RELU,
            "leaky_relu",
            0.1,
            |x, p| if x > 0.0 { x } else { p * x },
            |x, p| if x > 0.0 { 1.0 } else { p },
            false,
        ),
        (
            ew::UNARY_GELU,
            "gelu",
            0.0,
            |x, _| gelu(x),
            |x, _| gelu_df(x),
            false,
        ),
        (
            ew::UNARY_GELU_TANH,
            "gelu_tanh",
            0.0,
            |x, _| gelu_tanh(x),
            |x, _| gelu_tanh_df(x),
            false,
        ),
        (
            ew::UNARY_SILU,
            "silu",
            0.0,
            |x, _| x * sig(x),
            |x, _| sig(x) + x * sig(x) * (1.0 - sig(x)),
            false,
        ),
        (
            ew::UNARY_CLAMP_MIN,
            "clamp_min",
            -0.5,
            |x, p| x.max(p),
            |x, p| if x >= p { 1.0 } else { 0.0 },
            false,
        ),
        (
            ew::UNARY_CLAMP_MAX,
            "clamp_max",
            0.7,
            |x, p| x.min(p),
            |x, p| if x <= p { 1.0 } else { 0.0 },
            false,
        ),
    ]
}

fn unary_case<T: Elem>(ctx: &Context, rng: &mut Rng, n: usize, grid: u32) {
    let fwd = function(ctx, ptx(Module::Elementwise), &entry::<T>("unary_fwd"));
    let bwd = function(ctx, ptx(Module::Elementwise), &entry::<T>("unary_bwd"));
    let mut codes: Vec<u32> = ops().iter().map(|o| o.0).collect();
    codes.dedup();
    assert_eq!(
        codes,
        (0..ew::UNARY_COUNT).collect::<Vec<_>>(),
        "every code is tested"
    );
    for (code, name, p, f, df, positive) in ops() {
        let mut x: Vec<T> = vec_t(rng, n, if positive { 0.2 } else { -3.0 }, 3.0);
        if !positive && n > 1 {
            x[1] = T::from_f64(0.0); // the kinks of abs and relu
        }
        let y_ref: Vec<f64> = x.iter().map(|&v| f(v.to_f64(), p)).collect();
        let (dx_in, dy_out) = (upload_t(ctx, &x), poisoned_t::<T>(ctx, n));
        let c = cfg1(grid, ew::THREADS);
        let args = [
            KernelArg::U32(code),
            T::from_f64(p).arg(),
            KernelArg::Ptr(dx_in),
            KernelArg::Ptr(dy_out),
            KernelArg::U32(n as u32),
        ];
        launch(ctx, &fwd, c, &args);
        let what = format!("unary_fwd {name} n={n} grid={grid}");
        assert_rel(&what, &download_t::<T>(ctx, dy_out, n), &y_ref);

        let y: Vec<T> = y_ref.iter().map(|&v| T::from_f64(v)).collect();
        let dy: Vec<T> = vec_t(rng, n, -1.0, 1.0);
        let want: Vec<f64> = x
            .iter()
            .zip(&dy)
            .map(|(&x, &g)| g.to_f64() * df(x.to_f64(), p))
            .collect();
        let (py, pdy, pdx) = (
            upload_t(ctx, &y),
            upload_t(ctx, &dy),
            poisoned_t::<T>(ctx, n),
        );
        let args = [
            KernelArg::U32(code),
            T::from_f64(p).arg(),
            KernelArg::Ptr(dx_in),
            KernelArg::Ptr(py),
            KernelArg::Ptr(pdy),
            KernelArg::Ptr(pdx),
            KernelArg::U32(n as u32),
        ];
        launch(ctx, &bwd, c, &args);
        let what = format!("unary_bwd {name} n={n} grid={grid}");
        assert_rel(&what, &download_t::<T>(ctx, pdx, n), &want);
        for q in [dx_in, dy_out, py, pdy, pdx] {
            ctx.free(q).unwrap();
        }
    }
}

#[test]
fn unary_fwd_bwd_every_op_f32_f64() {
    let ctx = context();
    let mut rng = Rng::fresh("unary_fwd_bwd_every_op_f32_f64");
    for &(n, grid) in &[(1usize, 1u32), (37, 1), (1003, 3), (4099, 40)] {
        unary_case::<f32>(&ctx, &mut rng, n, grid);
        unary_case::<f64>(&ctx, &mut rng, n, grid);
    }
}

#[test]
fn unknown_unary_code_writes_nothing() {
    let ctx = context();
    let f = function(&ctx, ptx(Module::Elementwise), ew::UNARY_FWD_F32);
    let x = upload_f32(&ctx, &[1.0; 40]);
    let y = upload_f32(&ctx, &[7.0; 40]);
    let args = [
        KernelArg::U32(ew::UNARY_COUNT),
        KernelArg::F32(0.0),
        KernelArg::Ptr(x),
        KernelArg::Ptr(y),
        KernelArg::U32(40),
    ];
    launch(&ctx, &f, cfg1(1, ew::THREADS), &args);
    assert_eq!(download_f32(&ctx, y, 40), vec![7.0; 40]);
}

/// A strided operand: its own dims (1 where broadcast), element strides and offset.
#[derive(Clone, Debug)]
struct View {
    dims: Vec<usize>,
    strides: Vec<i64>,
    offset: i64,
}

impl View {
    fn dense(dims: &[usize], offset: i64) -> View {
        let mut strides = vec![0i64; dims.len()];
        let mut s = 1i64;
        for d in (0..dims.len()).rev() {
            strides[d] = s;
            s *= dims[d] as i64;
        }
        View {
            dims: dims.to_vec(),
            strides,
            offset,
        }
    }
    /// Buffer length that holds every element.
    fn extent(&self) -> usize {
        let last: i64 = self
            .dims
            .iter()
            .zip(&self.strides)
            .map(|(&d, &s)| (d as i64 - 1).max(0) * s)
            .sum();
        (self.offset + last + 1) as usize
    }
    /// Strides seen from the output shape (0 along broadcast dims; right-aligned ranks).
    fn out_strides(&self, out: &[usize]) -> Vec<i64> {
        let lead = out.len() - self.dims.len();
        (0..out.len())
            .map(|d| {
                if d < lead || self.dims[d - lead] == 1 {
                    0
                } else {
                    self.strides[d - lead]
                }
            })
            .collect()
    }
}

fn bcast(out: &[usize], a: &View, b: &View, contiguous: bool) -> Bcast {
    let mut g = Bcast {
        rank: out.len() as u32,
        contiguous: contiguous as u32,
        a_offset: a.offset,
        b_offset: b.offset,
        ..Bcast::default()
    };
    let (sa, sb) = (a.out_strides(out), b.out_strides(out));
    for d in 0..out.len() {
        g.dims[d] = out[d] as u32;
        g.a_strides[d] = sa[d];
        g.b_strides[d] = sb[d];
    }
    g
}

/// Offsets of output element i (row-major over out) into the two views.
fn ref_offsets(i: usize, out: &[usize], sa: &[i64], sb: &[i64]) -> (i64, i64) {
    let (mut rem, mut oa, mut ob) = (i, 0i64, 0i64);
    for d in (0..out.len()).rev() {
        let c = (rem % out[d]) as i64;
        rem /= out[d];
        oa += c * sa[d];
        ob += c * sb[d];
    }
    (oa, ob)
}

fn binary_case<T: Elem>(
    ctx: &Context,
    rng: &mut Rng,
    out: &[usize],
    a: &View,
    b: &View,
    contiguous: bool,
) -> LaunchStats {
    let f = function(ctx, ptx(Module::Elementwise), &entry::<T>("binary_fwd"));
    let n: usize = out.iter().product();
    let av: Vec<T> = vec_t(rng, a.extent(), -2.0, 2.0);
    // b away from 0 so division is well conditioned.
    let bv: Vec<T> = vec_t::<T>(rng, b.extent(), 0.5, 2.0)
        .into_iter()
        .map(|v| {
            if rng.below(2) == 0 {
                v
            } else {
                T::from_f64(-v.to_f64())
            }
        })
        .collect();
    let (pa, pb) = (upload_t(ctx, &av), upload_t(ctx, &bv));
    let g = bcast(out, a, b, contiguous);
    let (sa, sb) = (a.out_strides(out), b.out_strides(out));
    let mut stats = LaunchStats::default();
    // The pow rows need positive bases: tested by the engine's suites (tests/tests/).
    let refs: [(u32, Ref); 13] = [
        (ew::BINARY_ADD, |x, y| x + y),
        (ew::BINARY_SUB, |x, y| x - y),
        (ew::BINARY_MUL, |x, y| x * y),
        (ew::BINARY_DIV, |x, y| x / y),
        (ew::BINARY_MINIMUM, |x, y| x.min(y)),
        (ew::BINARY_MAXIMUM, |x, y| x.max(y)),
        (ew::BINARY_MAX_SHARE, |x, y| {
            if x == y {
                0.5
            } else if x < y {
                0.0
            } else {
                1.0
            }
        }),
        (ew::BINARY_GT, |x, y| (x > y) as u8 as f64),
        (ew::BINARY_GE, |x, y| (x >= y) as u8 as f64),
        (ew::BINARY_LT, |x, y| (x < y) as u8 as f64),
        (ew::BINARY_LE, |x, y| (x <= y) as u8 as f64),
        (ew::BINARY_EQ, |x, y| (x == y) as u8 as f64),
        (ew::BINARY_NE, |x, y| (x != y) as u8 as f64),
    ];
    for (code, op) in refs {
        let want: Vec<f64> = (0..n)
            .map(|i| {
                let (oa, ob) = if contiguous {
                    (i as i64, i as i64)
                } else {
                    ref_offsets(i, out, &sa, &sb)
                };
                op(
                    av[(a.offset + oa) as usize].to_f64(),
                    bv[(b.offset + ob) as usize].to_f64(),
                )
            })
            .collect();
        let po = poisoned_t::<T>(ctx, n);
        stats = launch_args(
            ctx,
            &f,
            cfg1(5, ew::THREADS),
            &[
                KernelArg::U32(code).into(),
                KernelArg::Ptr(pa).into(),
                KernelArg::Ptr(pb).into(),
                KernelArg::Ptr(po).into(),
                KernelArg::U32(n as u32).into(),
                Arg::Bytes(g.to_bytes()),
            ],
        );
        let what = format!("binary op {code} out={out:?} a={a:?} b={b:?}");
        assert_rel(&what, &download_t::<T>(ctx, po, n), &want);
        ctx.free(po).unwrap();
    }
    ctx.free(pa).unwrap();
    ctx.free(pb).unwrap();
    stats
}

fn binary_cases<T: Elem>(ctx: &Context, rng: &mut Rng) {
    // Contiguous same shape, fast path, with offsets.
    binary_case::<T>(
        ctx,
        rng,
        &[1001],
        &View::dense(&[1001], 3),
        &View::dense(&[1001], 0),
        true,
    );
    // The same through the general path.
    binary_case::<T>(
        ctx,
        rng,
        &[7, 143],
        &View::dense(&[7, 143], 0),
        &View::dense(&[7, 143], 5),
        false,
    );
    // Both broadcast: (3, 1, 5) op (4, 5) -> (3, 4, 5).
    binary_case::<T>(
        ctx,
        rng,
        &[3, 4, 5],
        &View::dense(&[3, 1, 5], 2),
        &View::dense(&[4, 5], 1),
        false,
    );
    // A scalar (rank 0) against a matrix.
    binary_case::<T>(
        ctx,
        rng,
        &[9, 33],
        &View::dense(&[], 4),
        &View::dense(&[9, 33], 0),
        false,
    );
    // A transposed (strided) a: dims (6, 11), strides (1, 6).
    let at = View {
        dims: vec![6, 11],
        strides: vec![1, 6],
        offset: 1,
    };
    binary_case::<T>(ctx, rng, &[6, 11], &at, &View::dense(&[1, 11], 0), false);
    // Rank 8 with broadcasting in several dims.
    let out = [2, 3, 1, 2, 3, 2, 2, 3];
    binary_case::<T>(
        ctx,
        rng,
        &out,
        &View::dense(&[2, 1, 1, 2, 3, 1, 2, 3], 0),
        &View::dense(&[3, 1, 2, 1, 2, 1], 7),
        false,
    );
    assert_eq!(out.len(), MAX_RANK);
}

#[test]
fn binary_fwd_broadcast_strided_f32_f64() {
    let ctx = context();
    let mut rng = Rng::fresh("binary_fwd_broadcast_strided_f32_f64");
    binary_cases::<f32>(&ctx, &mut rng);
    binary_cases::<f64>(&ctx, &mut rng);
}

fn coalescing<T: Elem>(ctx: &Context, rng: &mut Rng) {
    let n = 8191;
    let x: Vec<T> = vec_t(rng, n, -1.0, 1.0);
    let (px, py) = (upload_t(ctx, &x), poisoned_t::<T>(ctx, n));
    let f = function(ctx, ptx(Module::Elementwise), &entry::<T>("unary_fwd"));
    let args = [
        KernelArg::U32(ew::UNARY_EXP),
        T::from_f64(0.0).arg(),
        KernelArg::Ptr(px),
        KernelArg::Ptr(py),
        KernelArg::U32(n as u32),
    ];
    let s = launch(ctx, &f, cfg1(8, ew::THREADS), &args);
    let ideal = ideal_sectors::<T>();
    println!(
        "unary_fwd_{} exp n={n}: {:.2} sectors/request (ideal {ideal})\n{s}",
        T::SUFFIX,
        s.sectors_per_request()
    );
    assert!(
        s.sectors_per_request() <= 1.1 * ideal,
        "unary_fwd coalescing: {s}"
    );
    let d = View::dense(&[n], 0);
    let s = binary_case::<T>(ctx, rng, &[n], &d, &d, true);
    println!(
        "binary_fwd_{} contiguous: {:.2} sectors/request",
        T::SUFFIX,
        s.sectors_per_request()
    );
    assert!(
        s.sectors_per_request() <= 1.1 * ideal,
        "binary_fwd coalescing: {s}"
    );
    // Broadcast a row over a matrix: the general path stays coalesced too.
    let s = binary_case::<T>(
        ctx,
        rng,
        &[64, 96],
        &View::dense(&[64, 96], 0),
        &View::dense(&[96], 0),
        false,
    );
    println!(
        "binary_fwd_{} row broadcast: {:.2} sectors/request",
        T::SUFFIX,
        s.sectors_per_request()
    );
    assert!(
        s.sectors_per_request() <= 1.1 * ideal,
        "binary_fwd broadcast coalescing: {s}"
    );
}

#[test]
fn elementwise_launch_stats() {
    let ctx = context();
    let mut rng = Rng::fresh("elementwise_launch_stats");
    coalescing::<f32>(&ctx, &mut rng);
    coalescing::<f64>(&ctx, &mut rng);
}
