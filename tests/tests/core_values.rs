//! Forward values of the core ops against hand-computed results, and autograd mechanics.

use engine::{no_grad, DType, Device, Tensor};
use tests::assert_close;

fn t(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

#[test]
fn matmul_values() {
    let a = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
    let b = t(&[7., 8., 9., 10., 11., 12.], &[3, 2]);
    let c = a.matmul(&b).unwrap();
    assert_eq!(c.dims(), &[2, 2]);
    assert_close(&c.to_vec_f64().unwrap(), &[58., 64., 139., 154.], 0.0);
    // Through a transposed view: (b^T)^T = b.
    let c2 = a.matmul(&b.t().unwrap().t().unwrap()).unwrap();
    assert_close(&c2.to_vec_f64().unwrap(), &[58., 64., 139., 154.], 0.0);
}

#[test]
fn reductions_and_broadcasting() {
    let x = t(&[1., 5., 3., 4., 2., 6.], &[2, 3]);
    assert_close(
        &x.sum(&[0], false).unwrap().to_vec_f64().unwrap(),
        &[5., 7., 9.],
        0.0,
    );
    assert_close(
        &x.mean(&[1], true).unwrap().to_vec_f64().unwrap(),
        &[3., 4.],
        1e-12,
    );
    assert_close(
        &x.max(&[1], false).unwrap().to_vec_f64().unwrap(),
        &[5., 6.],
        0.0,
    );
    assert_close(
        &x.argmax(1, false).unwrap().to_vec_f64().unwrap(),
        &[1., 2.],
        0.0,
    );
    let row = t(&[10., 20., 30.], &[3]);
    assert_close(
        &x.add(&row).unwrap().to_vec_f64().unwrap(),
        &[11., 25., 33., 14., 22., 36.],
        0.0,
    );
    assert!(
        x.add(&t(&[1., 2.], &[2])).is_err(),
        "[2,3] + [2] must not broadcast"
    );
}

#[test]
fn gradient_accumulates_over_uses_and_calls() {
    let x = t(&[2.0], &[1]).requires_grad_(true);
    // y = x * x + x: dy/dx = 2x + 1 = 5.
    let y = x.mul(&x).unwrap().add(&x).unwrap().sum_all().unwrap();
    y.backward().unwrap();
    assert_close(&x.grad().unwrap().to_vec_f64().unwrap(), &[5.0], 0.0);
    // A second backward (new graph) accumulates, like PyTorch.
    x.mul_scalar(3.0)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert_close(&x.grad().unwrap().to_vec_f64().unwrap(), &[8.0], 0.0);
    x.zero_grad();
    assert!(x.grad().is_none());
}

#[test]
fn backward_twice_through_a_graph_is_an_error() {
    let x = t(&[1.0, 2.0], &[2]).requires_grad_(true);
    let y = x.exp().unwrap().sum_all().unwrap();
    y.backward().unwrap();
    assert!(
        y.backward().is_err(),
        "the graph is freed after the first backward"
    );
}

#[test]
fn no_grad_records_nothing_and_detach_cuts() {
    let x = t(&[1.0, 2.0], &[2]).requires_grad_(true);
    {
        let _g = no_grad();
        let y = x.exp().unwrap();
        assert!(!y.requires_grad());
    }
    let z = x.detach().exp().unwrap();
    assert!(!z.requires_grad());
    assert!(x.exp().unwrap().requires_grad());
}

#[test]
fn non_scalar_backward_is_an_error() {
    let x = t(&[1.0, 2.0], &[2]).requires_grad_(true);
    let err = x.exp().unwrap().backward().unwrap_err().to_string();
    assert!(err.contains("scalar"), "{err}");
}

#[test]
fn shape_errors_name_the_op() {
    let a = Tensor::zeros([2, 3], DType::F32, Device::Cpu).unwrap();
    let b = Tensor::zeros([4, 5], DType::F32, Device::Cpu).unwrap();
    let err = a.matmul(&b).unwrap_err().to_string();
    assert!(err.starts_with("matmul"), "{err}");
    assert!(a.reshape([7]).is_err());
    let c = Tensor::zeros([2, 3], DType::F64, Device::Cpu).unwrap();
    assert!(a.add(&c).unwrap_err().to_string().contains("dtype"));
}

#[test]
fn graph_memory_is_released_after_backward() {
    let x = t(&[1.0, 2.0, 3.0], &[3]).requires_grad_(true);
    let h = x.exp().unwrap();
    let weak_probe = h.detach(); // shares storage only
    let y = h.mul(&h).unwrap().sum_all().unwrap();
    drop(h);
    y.backward().unwrap();
    // After backward, y no longer holds its node (and so no saved tensors).
    assert!(y.is_leaf());
    drop(weak_probe);
}
