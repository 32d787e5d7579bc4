//! Safe-API soundness (issue 17): the storage-length invariant, zero-sized dims like
//! PyTorch (forward and backward), and dtype mismatches as errors rather than panics.

use engine::device::CpuStorage;
use engine::{Conv2dParams, DType, Device, Rng, Storage, Tensor};

fn t64(values: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap()
}

fn zeros(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape, DType::F64, Device::Cpu)
        .unwrap()
        .requires_grad_(true)
}

#[test]
fn storage_shorter_than_the_shape_is_an_error() {
    let short = Storage::Cpu(CpuStorage::F32(vec![0.0; 5]));
    let err = Tensor::from_storage(short, [2, 3]).unwrap_err().to_string();
    assert!(
        err.contains("needs 6 elements") && err.contains("holds 5"),
        "{err}"
    );
    let exact = Storage::Cpu(CpuStorage::F32(vec![0.0; 6]));
    assert_eq!(Tensor::from_storage(exact, [2, 3]).unwrap().numel(), 6);
}

#[test]
fn sum_over_an_empty_dim_is_zeros_and_feeds_matmul() {
    let x = zeros(&[2, 3, 0]);
    let s = x.sum(&[2], false).unwrap();
    assert_eq!(s.dims(), &[2, 3]);
    assert_eq!(s.to_vec_f64().unwrap(), vec![0.0; 6]);
    // The GEMM reads the full 2 x 3 buffer: it must exist.
    let y = s.matmul(&t64(&[1.0; 6], &[3, 2])).unwrap();
    assert_eq!(y.to_vec_f64().unwrap(), vec![0.0; 4]);
    y.sum_all().unwrap().backward().unwrap();
    assert_eq!(x.grad().unwrap().dims(), &[2, 3, 0]);
    // keepdim and sum of everything.
    assert_eq!(x.sum(&[2], true).unwrap().dims(), &[2, 3, 1]);
    assert_eq!(x.sum_all().unwrap().item().unwrap(), 0.0);
}

#[test]
fn mean_over_an_empty_dim_is_nan() {
    let x = zeros(&[2, 0]);
    let m = x.mean(&[1], false).unwrap();
    assert_eq!(m.dims(), &[2]);
    assert!(m.to_vec_f64().unwrap().iter().all(|v| v.is_nan()));
    assert!(x.mean_all().unwrap().item().unwrap().is_nan());
    m.sum_all().unwrap().backward().unwrap();
    assert_eq!(x.grad().unwrap().dims(), &[2, 0]);
}

#[test]
fn max_over_an_empty_dim_is_an_error_naming_the_op() {
    let x = zeros(&[2, 0]);
    assert!(x
        .max(&[1], false)
        .unwrap_err()
        .to_string()
        .starts_with("max:"));
    assert!(x
        .argmax(1, false)
        .unwrap_err()
        .to_string()
        .starts_with("argmax:"));
    // Reducing a non-empty dim of an empty tensor is fine: an empty result.
    let y = zeros(&[0, 3]);
    assert_eq!(y.max(&[1], false).unwrap().dims(), &[0]);
    assert_eq!(y.argmax(1, true).unwrap().dims(), &[0, 1]);
}

#[test]
fn matmul_with_zero_inner_size_is_zeros() {
    let (a, b) = (zeros(&[2, 0]), zeros(&[0, 3]));
    let c = a.matmul(&b).unwrap();
    assert_eq!(c.dims(), &[2, 3]);
    assert_eq!(c.to_vec_f64().unwrap(), vec![0.0; 6]);
    c.sum_all().unwrap().backward().unwrap();
    assert_eq!(a.grad().unwrap().dims(), &[2, 0]);
    assert_eq!(b.grad().unwrap().dims(), &[0, 3]);
    // Batched, with an empty batch.
    let e = zeros(&[0, 2, 4]).matmul(&zeros(&[4, 5])).unwrap();
    assert_eq!(e.dims(), &[0, 2, 5]);
}

#[test]
fn conv_and_pool_of_an_empty_batch_are_empty() {
    let mut rng = Rng::new(7);
    let x = zeros(&[0, 2, 5, 5]);
    let w = Tensor::randn([3, 2, 3, 3], 0.0, 1.0, DType::F64, Device::Cpu, &mut rng)
        .unwrap()
        .requires_grad_(true);
    let b = zeros(&[3]);
    let y = x.conv2d(&w, Some(&b), Conv2dParams::default()).unwrap();
    assert_eq!(y.dims(), &[0, 3, 3, 3]);
    y.sum_all().unwrap().backward().unwrap();
    assert_eq!(x.grad().unwrap().dims(), &[0, 2, 5, 5]);
    assert_eq!(w.grad().unwrap().to_vec_f64().unwrap(), vec![0.0; 54]);
    assert_eq!(b.grad().unwrap().to_vec_f64().unwrap(), vec![0.0; 3]);

    let p = x.max_pool2d((2, 2), (2, 2), (0, 0)).unwrap();
    assert_eq!(p.dims(), &[0, 2, 2, 2]);
    p.sum_all().unwrap().backward().unwrap();
    let a = x.avg_pool2d((2, 2), (2, 2), (0, 0)).unwrap();
    assert_eq!(a.dims(), &[0, 2, 2, 2]);
    a.sum_all().unwrap().backward().unwrap();
    assert_eq!(x.global_avg_pool2d().unwrap().dims(), &[0, 2, 1, 1]);
}

#[test]
fn to_dtype_is_differentiable() {
    let x = t64(&[1.0, -2.0, 3.0], &[3]).requires_grad_(true);
    let y = x.to_dtype(DType::F32).unwrap();
    assert!(y.requires_grad());
    y.mul(&y).unwrap().sum_all().unwrap().backward().unwrap();
    let g = x.grad().unwrap();
    assert_eq!(g.dtype(), DType::F64);
    assert_eq!(g.to_vec_f64().unwrap(), vec![2.0, -4.0, 6.0]);
}

#[test]
fn a_gradient_of_another_dtype_is_an_error() {
    let x = t64(&[0.5, 1.5], &[2]).requires_grad_(true);
    for y in [x.exp().unwrap(), x.mul(&x).unwrap(), x.softmax(0).unwrap()] {
        let g = Tensor::ones([2], DType::F32, Device::Cpu).unwrap();
        let err = y.backward_with(&g).unwrap_err().to_string();
        assert!(err.contains("dtype"), "{err}");
    }
}

#[test]
fn mixed_dtypes_are_errors_naming_the_op() {
    let a = t64(&[1.0, 2.0], &[1, 2]);
    let b = Tensor::ones([2, 1], DType::F32, Device::Cpu).unwrap();
    assert!(a.add(&b).unwrap_err().to_string().starts_with("add:"));
    assert!(a.matmul(&b).unwrap_err().to_string().starts_with("matmul:"));
}

#[test]
fn squaring_through_one_storage_reads_it_once() {
    // `x.mul(&x)` (and its backward, which reads `x` twice more) on a view and itself.
    let x = t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).requires_grad_(true);
    let y = x.mul(&x.t().unwrap()).unwrap();
    assert_eq!(y.to_vec_f64().unwrap(), vec![1.0, 6.0, 6.0, 16.0]);
    y.sum_all().unwrap().backward().unwrap();
    assert_eq!(
        x.grad().unwrap().to_vec_f64().unwrap(),
        vec![2.0, 6.0, 4.0, 8.0]
    );
}
