//! Shared helpers for the cross-crate suites: the finite-difference gradient checker and
//! random-input builders.

use engine::{no_grad, DType, Device, Result, Rng, Tensor};

/// Tolerances like `torch.autograd.gradcheck`'s defaults.
pub const EPS: f64 = 1e-6;
pub const ATOL: f64 = 1e-5;
pub const RTOL: f64 = 1e-3;

/// Backpropagates `sum(y)`: every element of `y` gets gradient 1.
pub fn backward_sum(y: &Tensor) {
    y.sum_all().unwrap().backward().unwrap();
}

/// A random f64 leaf tensor that requires grad, values in [-1, 1).
pub fn leaf(shape: &[usize], rng: &mut Rng) -> Tensor {
    Tensor::rand(shape, -1.0, 1.0, DType::F64, Device::Cpu, rng)
        .expect("rand")
        .requires_grad_(true)
}

/// Like [`leaf`] with values kept away from zero (for log, sqrt, div).
pub fn positive_leaf(shape: &[usize], rng: &mut Rng) -> Tensor {
    Tensor::rand(shape, 0.5, 2.0, DType::F64, Device::Cpu, rng)
        .expect("rand")
        .requires_grad_(true)
}

/// Checks the analytic gradient of `f` with respect to every input against central
/// finite differences in f64. `f`'s output is reduced with fixed random weights, so
/// the upstream gradient is not all ones. Runs on the inputs' device (the CPU, or the CUDA
/// backend's f64 kernels). Returns a message naming the first bad element.
pub fn gradcheck(
    inputs: &[Tensor],
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
) -> std::result::Result<(), String> {
    let err = |e: engine::Error| e.to_string();
    let out = f(inputs).map_err(err)?;
    let mut rng = Rng::new(0xC0FFEE);
    let weights = Tensor::rand(out.shape(), -1.0, 1.0, DType::F64, Device::Cpu, &mut rng)
        .and_then(|w| w.to_device(out.device()))
        .map_err(err)?;
    let loss = |y: &Tensor| -> Result<Tensor> { y.mul(&weights)?.sum_all() };
    for t in inputs {
        t.zero_grad();
    }
    loss(&out).map_err(err)?.backward().map_err(err)?;

    let _guard = no_grad();
    for (which, input) in inputs.iter().enumerate() {
        if !input.requires_grad() {
            continue;
        }
        let analytic = match input.grad() {
            Some(g) => g.to_vec_f64().map_err(err)?,
            None => vec![0.0; input.numel()],
        };
        let base = input.to_vec_f64().map_err(err)?;
        for i in 0..base.len() {
            let eval = |delta: f64| -> Result<f64> {
                let mut v = base.clone();
                v[i] += delta;
                let mut args: Vec<Tensor> = inputs.to_vec();
                args[which] = Tensor::from_vec(v, input.shape())?.to_device(input.device())?;
                loss(&f(&args)?)?.item()
            };
            let numeric = (eval(EPS).map_err(err)? - eval(-EPS).map_err(err)?) / (2.0 * EPS);
            let a = analytic[i];
            if (a - numeric).abs() > ATOL + RTOL * numeric.abs() {
                return Err(format!(
                    "input {which} (shape {:?}), element {i}: analytic {a:.8} vs numeric {numeric:.8}",
                    input.shape()
                ));
            }
        }
    }
    Ok(())
}

/// [`gradcheck`] that panics with its message (the form every gradcheck test uses).
pub fn check(inputs: &[Tensor], f: impl Fn(&[Tensor]) -> Result<Tensor>) {
    if let Err(msg) = gradcheck(inputs, f) {
        panic!("{msg}");
    }
}

/// Asserts two slices agree elementwise within `tol` (absolute + relative).
pub fn assert_close(actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len(), "length mismatch");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tol * (1.0 + e.abs()),
            "element {i}: {a} vs expected {e}"
        );
    }
}

/// The message of a call that must fail; panics naming `what` when it succeeded.
pub fn error_text<T>(result: Result<T>, what: &str) -> String {
    match result {
        Ok(_) => panic!("{what} should fail"),
        Err(e) => e.to_string(),
    }
}

/// Asserts that every result is an error whose message contains `needle` (case `i` is the
/// result's position, named in the failure).
pub fn assert_all_fail<T>(results: impl IntoIterator<Item = Result<T>>, needle: &str) {
    for (i, r) in results.into_iter().enumerate() {
        let msg = error_text(r, &format!("case {i}"));
        assert!(msg.contains(needle), "case {i}: {msg}");
    }
}

/// A sample of the unary table, scalar ops included: the ops the gradcheck and the
/// CPU-vs-CUDA suites both sweep.
pub fn sample_unary_ops() -> [engine::UnaryOp; 8] {
    use engine::UnaryOp::*;
    [
        Neg,
        Exp,
        Abs,
        Relu,
        Sigmoid,
        Tanh,
        AddScalar(0.75),
        MulScalar(-1.5),
    ]
}

pub mod agree;
pub mod fuzz;
