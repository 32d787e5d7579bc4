//! Pooling options: max_pool2d `ceil_mode` and `dilation`, avg_pool2d `ceil_mode` and
//! `count_include_pad`. Output sizes and values against reference loops written here from
//! PyTorch's rules (and hand-derived corners), f64 gradient checks on odd shapes, argument
//! errors, and CPU vs cuda-sim agreement.

use engine::{AvgPool2dOptions, DType, Device, MaxPool2dOptions, Rng, Tensor};
use tests::agree::{assert_agrees, inputs, F32_TOL};
use tests::{assert_close, check};

/// One axis of a pool: kernel, stride, padding, dilation.
#[derive(Clone, Copy, Debug)]
struct Axis {
    k: usize,
    s: usize,
    p: usize,
    d: usize,
}

/// PyTorch's `pooling_output_shape`, in signed arithmetic.
fn out_len(size: usize, a: Axis, ceil: bool) -> i64 {
    let (size, k, s, p, d) = (size as i64, a.k as i64, a.s as i64, a.p as i64, a.d as i64);
    let num = size + 2 * p - d * (k - 1) - 1 + if ceil { s - 1 } else { 0 };
    let mut out = num.div_euclid(s) + 1;
    if ceil && (out - 1) * s >= size + p {
        out -= 1;
    }
    out
}

/// Max pool by loops over every kernel tap (padding skipped), first maximum kept.
fn ref_max(x: &[f64], [n, c, h, w]: [usize; 4], ay: Axis, ax: Axis, ceil: bool) -> Vec<f64> {
    let (oh, ow) = (out_len(h, ay, ceil) as usize, out_len(w, ax, ceil) as usize);
    let mut out = Vec::new();
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut best = f64::NEG_INFINITY;
                for ky in 0..ay.k {
                    for kx in 0..ax.k {
                        let iy = (oy * ay.s + ky * ay.d) as i64 - ay.p as i64;
                        let ix = (ox * ax.s + kx * ax.d) as i64 - ax.p as i64;
                        if iy < 0 || ix < 0 || iy >= h as i64 || ix >= w as i64 {
                            continue;
                        }
                        best = best.max(x[(plane * h + iy as usize) * w + ix as usize]);
                    }
                }
                out.push(best);
            }
        }
    }
    out
}

/// Average pool by loops, with PyTorch's divisor: the window clipped to the padded input
/// (`count_include_pad`) or to the input.
fn ref_avg(
    x: &[f64],
    [n, c, h, w]: [usize; 4],
    ay: Axis,
    ax: Axis,
    ceil: bool,
    count_pad: bool,
) -> Vec<f64> {
    let (oh, ow) = (out_len(h, ay, ceil) as usize, out_len(w, ax, ceil) as usize);
    let mut out = Vec::new();
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let (y0, x0) = (
                    (oy * ay.s) as i64 - ay.p as i64,
                    (ox * ax.s) as i64 - ax.p as i64,
                );
                let (mut sum, mut inside, mut padded) = (0.0, 0usize, 0usize);
                for iy in y0..y0 + ay.k as i64 {
                    for ix in x0..x0 + ax.k as i64 {
                        let in_padded = iy < (h + ay.p) as i64 && ix < (w + ax.p) as i64;
                        padded += in_padded as usize;
                        if iy >= 0 && ix >= 0 && iy < h as i64 && ix < w as i64 {
                            sum += x[(plane * h + iy as usize) * w + ix as usize];
                            inside += 1;
                        }
                    }
                }
                out.push(sum / if count_pad { padded } else { inside } as f64);
            }
        }
    }
    out
}

/// Distinct values (no ties, so max pool's gradient is well defined).
fn distinct(shape: [usize; 4], rng: &mut Rng) -> Tensor {
    let n: usize = shape.iter().product();
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let v: Vec<f64> = order.iter().map(|&i| i as f64 / n as f64 - 0.5).collect();
    Tensor::from_vec(v, shape).unwrap().requires_grad_(true)
}

/// (input, rows axis, cols axis, ceil_mode) cases with odd sizes; every case has a non-empty
/// output in both modes.
fn cases() -> Vec<([usize; 4], Axis, Axis, bool)> {
    let a = |k, s, p, d| Axis { k, s, p, d };
    let mut out = Vec::new();
    for ceil in [false, true] {
        out.push(([2, 3, 5, 7], a(2, 2, 0, 1), a(3, 2, 1, 1), ceil));
        out.push(([1, 2, 5, 5], a(2, 2, 1, 1), a(2, 2, 1, 1), ceil));
        out.push(([1, 2, 9, 8], a(3, 2, 1, 2), a(2, 3, 0, 3), ceil));
        out.push(([2, 1, 6, 7], a(3, 3, 1, 1), a(3, 2, 0, 2), ceil));
        out.push(([1, 1, 4, 11], a(1, 2, 0, 1), a(4, 3, 2, 1), ceil));
    }
    out
}

fn max_opts(ay: Axis, ax: Axis, ceil: bool) -> MaxPool2dOptions {
    MaxPool2dOptions {
        stride: Some((ay.s, ax.s)),
        padding: (ay.p, ax.p),
        dilation: Some((ay.d, ax.d)),
        ceil_mode: ceil,
    }
}

fn avg_opts(ay: Axis, ax: Axis, ceil: bool, count_include_pad: bool) -> AvgPool2dOptions {
    AvgPool2dOptions {
        stride: Some((ay.s, ax.s)),
        padding: (ay.p, ax.p),
        ceil_mode: ceil,
        count_include_pad,
    }
}

#[test]
fn output_sizes_follow_pytorch() {
    let x = Tensor::zeros([1, 1, 5, 5], DType::F64, Device::Cpu).unwrap();
    let dims = |o: MaxPool2dOptions, k| x.max_pool2d_with((k, k), &o).unwrap().dims().to_vec();
    let mut o = MaxPool2dOptions::default();
    assert_eq!(dims(o, 2), [1, 1, 2, 2]);
    o.ceil_mode = true;
    assert_eq!(dims(o, 2), [1, 1, 3, 3]);
    // Padding 1, ceil: (5 + 2 - 2 + 1) / 2 + 1 = 4, but window 3 would start at 6 = H + pad,
    // in the right padding: dropped, 3 (PyTorch's MaxPool2d(2, 2, 1, ceil_mode=True) on 5x5).
    o.padding = (1, 1);
    assert_eq!(dims(o, 2), [1, 1, 3, 3]);
    // Dilation 2 of a 3-kernel spans 5: stride 1 gives 1 output on 5.
    let o = MaxPool2dOptions {
        stride: Some((1, 1)),
        dilation: Some((2, 2)),
        ..Default::default()
    };
    assert_eq!(dims(o, 3), [1, 1, 1, 1]);
}

#[test]
fn hand_derived_corners() {
    let row = |v: Vec<f64>| {
        let n = v.len();
        Tensor::from_vec(v, [1, 1, 1, n]).unwrap()
    };
    // avg, ceil: [1, 2, 3] with k 2 s 2: windows [1, 2] / 2 and [3] / 1 (clipped to the
    // input since it runs past the padded end).
    let o = AvgPool2dOptions {
        ceil_mode: true,
        ..Default::default()
    };
    let y = row(vec![1.0, 2.0, 3.0])
        .avg_pool2d_with((1, 2), &o)
        .unwrap();
    assert_close(&y.to_vec_f64().unwrap(), &[1.5, 3.0], 1e-15);
    // k 3 s 2 p 1 ceil on [1, 2, 3, 4]: windows at -1, 1, 3; the last covers 3..6 of which
    // 3..5 is inside the padded input: divisor 2 with padding counted, 1 without.
    let mut o = AvgPool2dOptions {
        stride: Some((1, 2)),
        padding: (0, 1),
        ceil_mode: true,
        count_include_pad: true,
    };
    let x = row(vec![1.0, 2.0, 3.0, 4.0]);
    let y = x.avg_pool2d_with((1, 3), &o).unwrap();
    assert_close(&y.to_vec_f64().unwrap(), &[1.0, 3.0, 2.0], 1e-15);
    o.count_include_pad = false;
    let y = x.avg_pool2d_with((1, 3), &o).unwrap();
    assert_close(&y.to_vec_f64().unwrap(), &[1.5, 3.0, 4.0], 1e-15);
    // max, dilation 2: taps {0, 2, 4}, {1, 3, 5}, {2, 4, 6}.
    let x = row(vec![5.0, 0.0, 1.0, 9.0, 2.0, -1.0, 7.0]);
    let o = MaxPool2dOptions {
        stride: Some((1, 1)),
        dilation: Some((1, 2)),
        ..Default::default()
    };
    let y = x.max_pool2d_with((1, 3), &o).unwrap();
    assert_close(&y.to_vec_f64().unwrap(), &[5.0, 9.0, 7.0], 1e-15);
}

#[test]
fn values_match_reference_loops() {
    let mut rng = Rng::new(201);
    for (shape, ay, ax, ceil) in cases() {
        let x = distinct(shape, &mut rng);
        let xv = x.to_vec_f64().unwrap();
        let what = format!("{shape:?} {ay:?} {ax:?} ceil={ceil}");
        let y = x
            .max_pool2d_with((ay.k, ax.k), &max_opts(ay, ax, ceil))
            .unwrap();
        assert_eq!(y.dim(2) as i64, out_len(shape[2], ay, ceil), "{what}");
        assert_eq!(y.dim(3) as i64, out_len(shape[3], ax, ceil), "{what}");
        assert_close(
            &y.to_vec_f64().unwrap(),
            &ref_max(&xv, shape, ay, ax, ceil),
            1e-15,
        );
        let (ay1, ax1) = (Axis { d: 1, ..ay }, Axis { d: 1, ..ax });
        for count_pad in [true, false] {
            let o = avg_opts(ay1, ax1, ceil, count_pad);
            let y = x.avg_pool2d_with((ay.k, ax.k), &o).unwrap();
            let want = ref_avg(&xv, shape, ay1, ax1, ceil, count_pad);
            assert_close(&y.to_vec_f64().unwrap(), &want, 1e-14);
        }
    }
}

#[test]
fn pool_option_gradchecks() {
    let mut rng = Rng::new(202);
    for (shape, ay, ax, ceil) in cases() {
        let x = distinct(shape, &mut rng);
        let o = max_opts(ay, ax, ceil);
        check(std::slice::from_ref(&x), |a| {
            a[0].max_pool2d_with((ay.k, ax.k), &o)
        });
        for count_pad in [true, false] {
            let o = avg_opts(ay, ax, ceil, count_pad);
            check(std::slice::from_ref(&x), |a| {
                a[0].avg_pool2d_with((ay.k, ax.k), &o)
            });
        }
    }
}

#[test]
fn bad_pool_arguments_are_errors() {
    let x = Tensor::zeros([1, 1, 4, 4], DType::F64, Device::Cpu).unwrap();
    let o = MaxPool2dOptions {
        dilation: Some((0, 1)),
        ..Default::default()
    };
    let e = x.max_pool2d_with((2, 2), &o).unwrap_err().to_string();
    assert!(e.contains("max_pool2d") && e.contains("dilation"), "{e}");
    // A dilated kernel spanning 7 > 4: empty output.
    let o = MaxPool2dOptions {
        dilation: Some((3, 3)),
        ..Default::default()
    };
    let e = x.max_pool2d_with((3, 3), &o).unwrap_err().to_string();
    assert!(e.contains("max_pool2d") && e.contains("empty"), "{e}");
    let e = x
        .avg_pool2d_with((5, 5), &AvgPool2dOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("avg_pool2d") && e.contains("empty"), "{e}");
    let o = AvgPool2dOptions {
        padding: (2, 0),
        ..Default::default()
    };
    let e = x.avg_pool2d_with((3, 3), &o).unwrap_err().to_string();
    assert!(e.contains("avg_pool2d") && e.contains("padding"), "{e}");
    // Ceil mode, one output whose dilated taps all miss a 1-wide input: no element to pool.
    let x = Tensor::zeros([1, 1, 1, 1], DType::F64, Device::Cpu).unwrap();
    let o = MaxPool2dOptions {
        stride: Some((10, 10)),
        padding: (1, 1),
        dilation: Some((2, 2)),
        ceil_mode: true,
    };
    let e = x.max_pool2d_with((3, 3), &o).unwrap_err().to_string();
    assert!(
        e.contains("max_pool2d") && e.contains("no input element"),
        "{e}"
    );
}

#[test]
fn pool_options_agree_on_cuda_sim() {
    let mut rng = Rng::new(203);
    for (shape, ay, ax, ceil) in cases() {
        let x = inputs(&[&shape], &mut rng);
        let o = max_opts(ay, ax, ceil);
        assert_agrees("max_pool2d options", &x, F32_TOL, |t| {
            t[0].max_pool2d_with((ay.k, ax.k), &o)
        });
        for count_pad in [true, false] {
            let o = avg_opts(ay, ax, ceil, count_pad);
            assert_agrees("avg_pool2d options", &x, F32_TOL, |t| {
                t[0].avg_pool2d_with((ay.k, ax.k), &o)
            });
        }
    }
}

#[test]
fn pool_layers_take_the_options() {
    use engine::nn::{AvgPool2d, MaxPool2d, Module};
    let mut rng = Rng::new(204);
    let x = distinct([1, 2, 5, 7], &mut rng);
    let layer = MaxPool2d::new(3)
        .stride(2)
        .padding(1)
        .dilation(2)
        .ceil_mode(true);
    assert_eq!(
        layer.describe(),
        "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)"
    );
    let o = MaxPool2dOptions {
        stride: Some((2, 2)),
        padding: (1, 1),
        dilation: Some((2, 2)),
        ceil_mode: true,
    };
    let want = x.max_pool2d_with((3, 3), &o).unwrap().to_vec_f64().unwrap();
    assert_eq!(layer.forward(&x).unwrap().to_vec_f64().unwrap(), want);
    let layer = AvgPool2d::new(2)
        .padding(1)
        .ceil_mode(true)
        .count_include_pad(false);
    let o = AvgPool2dOptions {
        padding: (1, 1),
        ceil_mode: true,
        count_include_pad: false,
        ..Default::default()
    };
    let want = x.avg_pool2d_with((2, 2), &o).unwrap().to_vec_f64().unwrap();
    assert_eq!(layer.forward(&x).unwrap().to_vec_f64().unwrap(), want);
}
