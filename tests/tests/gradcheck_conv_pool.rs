//! Convolution and pooling: gradient checks (finite differences in f64) over many
//! geometries, forward values against naive loops written here, error cases, and
//! run-to-run determinism of the f32 backward.

use engine::{Conv2dParams, DType, Device, Rng, Tensor};
use tests::{assert_all_fail, assert_close, backward_sum, check, leaf};

fn dims4(t: &Tensor) -> [usize; 4] {
    [t.dim(0), t.dim(1), t.dim(2), t.dim(3)]
}

/// Direct 7-loop convolution (plus the bias), the reference for `conv2d`.
fn naive_conv(x: &Tensor, w: &Tensor, b: Option<&Tensor>, p: Conv2dParams) -> Vec<f64> {
    let [n, c_in, h, wd] = dims4(x);
    let [c_out, cg_in, kh, kw] = dims4(w);
    let (xv, wv) = (x.to_vec_f64().unwrap(), w.to_vec_f64().unwrap());
    let bv = b.map(|b| b.to_vec_f64().unwrap());
    let oh = (h + 2 * p.padding.0 - p.dilation.0 * (kh - 1) - 1) / p.stride.0 + 1;
    let ow = (wd + 2 * p.padding.1 - p.dilation.1 * (kw - 1) - 1) / p.stride.1 + 1;
    let cg_out = c_out / p.groups;
    let mut out = vec![0.0; n * c_out * oh * ow];
    for ni in 0..n {
        for co in 0..c_out {
            let grp = co / cg_out;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = bv.as_ref().map_or(0.0, |b| b[co]);
                    for ci in 0..cg_in {
                        let c = grp * cg_in + ci;
                        for ki in 0..kh {
                            for kj in 0..kw {
                                let iy = (oy * p.stride.0 + ki * p.dilation.0) as isize
                                    - p.padding.0 as isize;
                                let ix = (ox * p.stride.1 + kj * p.dilation.1) as isize
                                    - p.padding.1 as isize;
                                if iy < 0 || ix < 0 || iy as usize >= h || ix as usize >= wd {
                                    continue;
                                }
                                let xi = ((ni * c_in + c) * h + iy as usize) * wd + ix as usize;
                                let wi = ((co * cg_in + ci) * kh + ki) * kw + kj;
                                s += xv[xi] * wv[wi];
                            }
                        }
                    }
                    out[((ni * c_out + co) * oh + oy) * ow + ox] = s;
                }
            }
        }
    }
    out
}

struct Case {
    x: [usize; 4],
    w: [usize; 4],
    bias: bool,
    p: Conv2dParams,
}

fn params(
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    groups: usize,
) -> Conv2dParams {
    Conv2dParams {
        stride,
        padding,
        dilation,
        groups,
    }
}

#[rustfmt::skip] // one case a line reads as a table
fn cases() -> Vec<Case> {
    let d = Conv2dParams::default();
    let case = |x, w, bias, p| Case { x, w, bias, p };
    vec![
        // odd sizes
        case([2, 3, 7, 5], [4, 3, 3, 3], true, d),
        // stride 2, padding 1
        case([1, 2, 7, 6], [3, 2, 3, 3], true, params((2, 2), (1, 1), (1, 1), 1)),
        // padding 2, non-square kernel, mixed stride
        case([1, 2, 5, 5], [2, 2, 3, 2], true, params((1, 2), (2, 2), (1, 1), 1)),
        // dilation 2
        case([2, 2, 7, 7], [2, 2, 3, 3], true, params((1, 1), (1, 1), (2, 2), 1)),
        // groups 2
        case([1, 4, 5, 6], [6, 2, 3, 3], true, params((1, 1), (1, 1), (1, 1), 2)),
        // batch 3, no bias, 2x2 kernel
        case([3, 2, 5, 5], [3, 2, 2, 2], false, d),
        // 1x1 fast path, with and without groups
        case([2, 3, 4, 5], [2, 3, 1, 1], true, d),
        case([2, 4, 3, 3], [4, 2, 1, 1], false, params((1, 1), (0, 0), (1, 1), 2)),
        // 1x1 strided (not the fast path)
        case([1, 2, 5, 5], [2, 2, 1, 1], false, params((2, 2), (0, 0), (1, 1), 1)),
        // a batch larger than the backward's chunk count, stride 3 with padding
        case([17, 1, 4, 4], [2, 1, 3, 3], true, params((3, 3), (1, 1), (1, 1), 1)),
    ]
}

#[test]
fn conv2d_forward_matches_naive() {
    let mut rng = Rng::new(10);
    for c in cases() {
        let x = leaf(&c.x, &mut rng);
        let w = leaf(&c.w, &mut rng);
        let b = leaf(&[c.w[0]], &mut rng);
        let b = c.bias.then_some(&b);
        let y = x.conv2d(&w, b, c.p).unwrap();
        let expected = naive_conv(&x, &w, b, c.p);
        let got = y.to_vec_f64().unwrap();
        assert_eq!(got.len(), expected.len(), "{:?} {:?}", c.x, c.w);
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert!(
                (g - e).abs() < 1e-10,
                "{:?} {:?} elem {i}: {g} vs {e}",
                c.x,
                c.w
            );
        }
    }
}

#[test]
fn conv2d_gradcheck() {
    let mut rng = Rng::new(11);
    for c in cases() {
        let x = leaf(&c.x, &mut rng);
        let w = leaf(&c.w, &mut rng);
        let p = c.p;
        if c.bias {
            let b = leaf(&[c.w[0]], &mut rng);
            check(&[x, w, b], |t| t[0].conv2d(&t[1], Some(&t[2]), p));
        } else {
            check(&[x, w], |t| t[0].conv2d(&t[1], None, p));
        }
    }
}

#[test]
fn conv2d_non_contiguous_input() {
    let mut rng = Rng::new(12);
    // The leaf is NHWC; the convolution sees its NCHW permutation (a strided view).
    let nhwc = leaf(&[2, 6, 5, 3], &mut rng);
    let w = leaf(&[4, 3, 3, 3], &mut rng);
    let b = leaf(&[4], &mut rng);
    let p = params((2, 1), (1, 1), (1, 1), 1);
    let x = nhwc.permute(&[0, 3, 1, 2]).unwrap();
    assert!(!x.is_contiguous());
    let y = x.conv2d(&w, Some(&b), p).unwrap();
    let dense = Tensor::from_vec(x.to_vec_f64().unwrap(), x.shape()).unwrap();
    let expected = naive_conv(&dense, &w, Some(&b), p);
    assert_close(&y.to_vec_f64().unwrap(), &expected, 1e-10);
    check(&[nhwc, w, b], |t| {
        t[0].permute(&[0, 3, 1, 2])?.conv2d(&t[1], Some(&t[2]), p)
    });
}

#[test]
fn conv2d_only_needed_grads() {
    let mut rng = Rng::new(13);
    let x = Tensor::rand([2, 1, 6, 6], -1.0, 1.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let w = leaf(&[3, 1, 3, 3], &mut rng);
    let b = Tensor::zeros([3], DType::F64, Device::Cpu).unwrap();
    let p = params((1, 1), (1, 1), (1, 1), 1);
    // Input is data (no grad), as for a network's first layer.
    check(&[x.clone(), w.clone()], |t| t[0].conv2d(&t[1], Some(&b), p));
    backward_sum(&x.conv2d(&w, Some(&b), p).unwrap());
    assert!(x.grad().is_none() && b.grad().is_none() && w.grad().is_some());
}

#[test]
fn conv2d_f32_matches_f64_and_is_deterministic() {
    let mut rng = Rng::new(14);
    let x64 = leaf(&[5, 8, 14, 14], &mut rng);
    let w64 = leaf(&[16, 8, 3, 3], &mut rng);
    let p = params((1, 1), (1, 1), (1, 1), 1);
    let expected = naive_conv(&x64, &w64, None, p);
    let run = || {
        let x = x64
            .detach()
            .to_dtype(DType::F32)
            .unwrap()
            .requires_grad_(true);
        let w = w64
            .detach()
            .to_dtype(DType::F32)
            .unwrap()
            .requires_grad_(true);
        let y = x.conv2d(&w, None, p).unwrap();
        y.mul(&y).unwrap().sum_all().unwrap().backward().unwrap();
        let grads = (
            x.grad().unwrap().to_vec_f32().unwrap(),
            w.grad().unwrap().to_vec_f32().unwrap(),
        );
        (y.to_vec_f64().unwrap(), grads)
    };
    let (y1, g1) = run();
    let (_, g2) = run();
    assert_close(&y1, &expected, 1e-5);
    assert!(g1 == g2, "f32 conv2d backward differs between runs");
}

#[test]
fn conv2d_errors_name_the_op() {
    let mut rng = Rng::new(15);
    let x = leaf(&[1, 3, 4, 4], &mut rng);
    let d = Conv2dParams::default();
    let bad = [
        x.conv2d(&leaf(&[2, 3, 5, 5], &mut rng), None, d), // kernel bigger than input
        x.conv2d(&leaf(&[2, 2, 3, 3], &mut rng), None, d), // channel mismatch
        x.conv2d(
            &leaf(&[2, 1, 3, 3], &mut rng),
            None,
            params((1, 1), (0, 0), (1, 1), 2),
        ), // groups
        x.conv2d(
            &leaf(&[2, 3, 3, 3], &mut rng),
            None,
            params((0, 1), (0, 0), (1, 1), 1),
        ), // stride 0
        x.conv2d(
            &leaf(&[2, 3, 3, 3], &mut rng),
            Some(&leaf(&[3], &mut rng)),
            d,
        ), // bias size
        x.conv2d(
            &leaf(&[2, 3, 3, 3], &mut rng),
            None,
            params((1, 1), (0, 0), (2, 2), 1),
        ), // dilated too big
        leaf(&[3, 4, 4], &mut rng).conv2d(&leaf(&[2, 3, 3, 3], &mut rng), None, d), // rank
    ];
    assert_all_fail(bad, "conv2d");
    // Padding makes room for the kernel: not an error.
    assert!(x
        .conv2d(
            &leaf(&[2, 3, 5, 5], &mut rng),
            None,
            params((1, 1), (1, 1), (1, 1), 1)
        )
        .is_ok());
}

// ------------------------------------------------------------------ pooling

/// Naive pools over padded windows: max (first maximum) or average (padding counted).
fn naive_pool(
    x: &Tensor,
    k: (usize, usize),
    s: (usize, usize),
    p: (usize, usize),
    max: bool,
) -> Vec<f64> {
    let [n, c, h, w] = dims4(x);
    let xv = x.to_vec_f64().unwrap();
    let oh = (h + 2 * p.0 - k.0) / s.0 + 1;
    let ow = (w + 2 * p.1 - k.1) / s.1 + 1;
    let mut out = Vec::new();
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = if max { f64::NEG_INFINITY } else { 0.0 };
                for ki in 0..k.0 {
                    for kj in 0..k.1 {
                        let iy = (oy * s.0 + ki) as isize - p.0 as isize;
                        let ix = (ox * s.1 + kj) as isize - p.1 as isize;
                        if iy < 0 || ix < 0 || iy as usize >= h || ix as usize >= w {
                            continue;
                        }
                        let v = xv[(plane * h + iy as usize) * w + ix as usize];
                        acc = if max { acc.max(v) } else { acc + v };
                    }
                }
                out.push(if max { acc } else { acc / (k.0 * k.1) as f64 });
            }
        }
    }
    out
}

fn naive_adaptive(x: &Tensor, o: (usize, usize)) -> Vec<f64> {
    let [n, c, h, w] = dims4(x);
    let xv = x.to_vec_f64().unwrap();
    let mut out = Vec::new();
    for plane in 0..n * c {
        for i in 0..o.0 {
            let (y0, y1) = (
                (i * h) as f64 / o.0 as f64,
                ((i + 1) * h) as f64 / o.0 as f64,
            );
            for j in 0..o.1 {
                let (x0, x1) = (
                    (j * w) as f64 / o.1 as f64,
                    ((j + 1) * w) as f64 / o.1 as f64,
                );
                let (mut s, mut cnt) = (0.0, 0.0);
                for y in y0.floor() as usize..y1.ceil() as usize {
                    for xx in x0.floor() as usize..x1.ceil() as usize {
                        s += xv[(plane * h + y) * w + xx];
                        cnt += 1.0;
                    }
                }
                out.push(s / cnt);
            }
        }
    }
    out
}

type Pool = ([usize; 4], (usize, usize), (usize, usize), (usize, usize));

fn pool_cases() -> Vec<Pool> {
    vec![
        ([2, 3, 6, 6], (2, 2), (2, 2), (0, 0)),
        ([1, 2, 7, 7], (3, 3), (2, 2), (1, 1)),
        ([2, 2, 7, 6], (3, 2), (2, 1), (1, 1)),
        ([1, 3, 5, 8], (2, 4), (3, 2), (1, 2)),
        ([3, 1, 9, 5], (3, 3), (1, 1), (0, 1)),
    ]
}

#[test]
fn pool_forward_matches_naive() {
    let mut rng = Rng::new(20);
    for (shape, k, s, p) in pool_cases() {
        let x = leaf(&shape, &mut rng);
        let y = x.max_pool2d(k, s, p).unwrap();
        assert_close(
            &y.to_vec_f64().unwrap(),
            &naive_pool(&x, k, s, p, true),
            1e-12,
        );
        let y = x.avg_pool2d(k, s, p).unwrap();
        assert_eq!(
            y.dims()[2..],
            [
                (shape[2] + 2 * p.0 - k.0) / s.0 + 1,
                (shape[3] + 2 * p.1 - k.1) / s.1 + 1
            ]
        );
        assert_close(
            &y.to_vec_f64().unwrap(),
            &naive_pool(&x, k, s, p, false),
            1e-12,
        );
    }
    for (shape, o) in [
        ([2, 3, 7, 7], (3, 3)),
        ([1, 2, 5, 7], (2, 4)),
        ([1, 1, 4, 6], (4, 6)),
        ([2, 2, 3, 3], (5, 4)),
    ] {
        let x = leaf(&shape, &mut rng);
        let y = x.adaptive_avg_pool2d(o).unwrap();
        assert_eq!(y.dims(), [shape[0], shape[1], o.0, o.1]);
        assert_close(&y.to_vec_f64().unwrap(), &naive_adaptive(&x, o), 1e-12);
    }
    let x = leaf(&[2, 3, 5, 4], &mut rng);
    let g = x.global_avg_pool2d().unwrap();
    assert_eq!(g.dims(), [2, 3, 1, 1]);
    assert_close(
        &g.to_vec_f64().unwrap(),
        &x.mean(&[2, 3], false).unwrap().to_vec_f64().unwrap(),
        1e-12,
    );
}

#[test]
fn max_pool2d_gradcheck() {
    let mut rng = Rng::new(21);
    for (shape, k, s, p) in pool_cases() {
        check(&[leaf(&shape, &mut rng)], |t| t[0].max_pool2d(k, s, p));
    }
    // Non-contiguous input.
    let x = leaf(&[2, 6, 6, 3], &mut rng);
    check(&[x], |t| {
        t[0].permute(&[0, 3, 1, 2])?
            .max_pool2d((3, 3), (2, 2), (1, 1))
    });
}

#[test]
fn max_pool2d_ties_go_to_the_first_maximum() {
    let x = Tensor::ones([1, 1, 4, 4], DType::F64, Device::Cpu)
        .unwrap()
        .requires_grad_(true);
    backward_sum(&x.max_pool2d((2, 2), (2, 2), (0, 0)).unwrap());
    let g = x.grad().unwrap().to_vec_f64().unwrap();
    let mut expected = vec![0.0; 16];
    for i in [0, 2, 8, 10] {
        expected[i] = 1.0;
    }
    assert_eq!(g, expected);
    // Overlapping windows that share a maximum send it all their gradients.
    let x = Tensor::from_vec(vec![0.0f64, 5.0, 0.0, 0.0, 0.0, 0.0], [1, 1, 1, 6])
        .unwrap()
        .requires_grad_(true);
    backward_sum(&x.max_pool2d((1, 3), (1, 1), (0, 1)).unwrap());
    assert_eq!(
        x.grad().unwrap().to_vec_f64().unwrap(),
        vec![0.0, 3.0, 1.0, 1.0, 1.0, 0.0]
    );
}

#[test]
fn avg_pool2d_gradcheck() {
    let mut rng = Rng::new(22);
    for (shape, k, s, p) in pool_cases() {
        check(&[leaf(&shape, &mut rng)], |t| t[0].avg_pool2d(k, s, p));
    }
    let x = leaf(&[2, 5, 5, 2], &mut rng);
    check(&[x], |t| {
        t[0].permute(&[0, 3, 1, 2])?
            .avg_pool2d((2, 3), (1, 2), (1, 1))
    });
}

#[test]
fn adaptive_avg_pool2d_gradcheck() {
    let mut rng = Rng::new(23);
    for (shape, o) in [
        ([2, 2, 7, 7], (3, 3)),
        ([1, 3, 5, 7], (2, 4)),
        ([1, 1, 3, 2], (4, 3)),
    ] {
        check(&[leaf(&shape, &mut rng)], |t| t[0].adaptive_avg_pool2d(o));
    }
    check(&[leaf(&[2, 3, 4, 5], &mut rng)], |t| {
        t[0].global_avg_pool2d()
    });
}

#[test]
fn pool_errors_name_the_op() {
    let mut rng = Rng::new(24);
    let x = leaf(&[1, 2, 4, 4], &mut rng);
    let cases = [
        ("max_pool2d", x.max_pool2d((5, 5), (1, 1), (0, 0))),
        ("max_pool2d", x.max_pool2d((2, 2), (2, 2), (2, 0))),
        ("max_pool2d", x.max_pool2d((2, 2), (0, 2), (0, 0))),
        ("avg_pool2d", x.avg_pool2d((3, 3), (1, 1), (2, 1))),
        (
            "avg_pool2d",
            leaf(&[2, 4, 4], &mut rng).avg_pool2d((2, 2), (2, 2), (0, 0)),
        ),
        ("adaptive_avg_pool2d", x.adaptive_avg_pool2d((0, 2))),
    ];
    for (op, r) in cases {
        let msg = r
            .err()
            .unwrap_or_else(|| panic!("{op} should fail"))
            .to_string();
        assert!(msg.contains(op), "{msg}");
    }
}

#[test]
fn max_pool2d_propagates_nan() {
    let mut v: Vec<f64> = (0..32).map(|i| i as f64).collect();
    v[5] = f64::NAN;
    let x = Tensor::from_vec(v, [2, 1, 4, 4])
        .unwrap()
        .requires_grad_(true);
    for (k, s) in [((2, 2), (2, 2)), ((3, 3), (1, 1))] {
        x.zero_grad();
        let y = x.max_pool2d(k, s, (0, 0)).unwrap();
        assert!(y.to_vec_f64().unwrap()[0].is_nan(), "{k:?}");
        y.sum_all().unwrap().backward().unwrap();
        assert!(x.grad().unwrap().to_vec_f64().unwrap()[5] >= 1.0, "{k:?}");
    }
}
