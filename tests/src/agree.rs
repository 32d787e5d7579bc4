//! CPU-vs-CUDA agreement: the same op run on the CPU and on each CUDA device (the PTX simulator
//! always, a real GPU when one is present), forward and backward, on the same random inputs.

use engine::backend::cuda::{gpu_count, CudaDevice};
use engine::{DType, Device, Result, Rng, Tensor};

/// f32 kernels must agree with the CPU to this relative error (||gpu - cpu|| / ||cpu||).
pub const F32_TOL: f64 = 1e-5;

/// The CUDA devices to compare against the CPU, with new buffers poisoned (NaN) so that an
/// element a kernel never writes fails the comparison. Says once why a real GPU is skipped.
pub fn cuda_devices() -> Vec<Device> {
    let mut devices = vec![Device::CudaSim];
    match gpu_count() {
        0 => {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                eprintln!("note: no GPU (or no NVIDIA driver): CUDA checks run on cuda-sim only")
            });
        }
        _ => devices.push(Device::Cuda(0)),
    }
    for &d in &devices {
        CudaDevice::get(d).expect("cuda device").set_poison(true);
    }
    devices
}

/// `||a - b|| / ||b||` (0 when both are zero); NaN anywhere gives infinity.
pub fn rel_error(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    if a.iter().chain(b).any(|v| v.is_nan()) {
        return f64::INFINITY;
    }
    let diff: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let norm: f64 = b.iter().map(|y| y * y).sum();
    if norm == 0.0 {
        diff.sqrt()
    } else {
        (diff / norm).sqrt()
    }
}

/// Fresh random f32 inputs of the given shapes, values in [-1, 1), requiring grad.
pub fn inputs(shapes: &[&[usize]], rng: &mut Rng) -> Vec<Tensor> {
    shapes
        .iter()
        .map(|s| {
            Tensor::rand(*s, -1.0, 1.0, DType::F32, Device::Cpu, rng)
                .expect("rand")
                .requires_grad_(true)
        })
        .collect()
}

/// Runs `f` on `cpu_inputs` and on copies of them on every CUDA device; checks that outputs
/// and the gradients of every input that requires one agree within `tol`. The upstream
/// gradient is a fixed random tensor, not all ones.
pub fn assert_agrees(
    name: &str,
    cpu_inputs: &[Tensor],
    tol: f64,
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
) {
    let (cpu_out, cpu_grads) =
        run(cpu_inputs, &f, Device::Cpu).unwrap_or_else(|e| panic!("{name} on cpu: {e}"));
    for dev in cuda_devices() {
        let moved: Vec<Tensor> = cpu_inputs
            .iter()
            .map(|t| {
                let d = t.detach().to_device(dev).expect("to_device");
                d.requires_grad_(t.requires_grad())
            })
            .collect();
        let (out, grads) = run(&moved, &f, dev).unwrap_or_else(|e| panic!("{name} on {dev}: {e}"));
        let e = rel_error(&out, &cpu_out);
        assert!(
            e < tol,
            "{name} forward on {dev}: relative error {e:.3e} >= {tol:.0e}"
        );
        for (i, (g, cg)) in grads.iter().zip(&cpu_grads).enumerate() {
            match (g, cg) {
                (Some(g), Some(cg)) => {
                    let e = rel_error(g, cg);
                    assert!(
                        e < tol,
                        "{name} grad of input {i} on {dev}: relative error {e:.3e} >= {tol:.0e}"
                    );
                }
                (None, None) => {}
                _ => panic!("{name} on {dev}: input {i} has a gradient on one device only"),
            }
        }
    }
}

type Outcome = (Vec<f64>, Vec<Option<Vec<f64>>>);

fn run(
    inputs: &[Tensor],
    f: &impl Fn(&[Tensor]) -> Result<Tensor>,
    dev: Device,
) -> Result<Outcome> {
    for t in inputs {
        t.zero_grad();
    }
    let out = f(inputs)?;
    assert_eq!(out.device(), dev, "output stays on the inputs' device");
    let mut rng = Rng::new(0xA11CE);
    let w =
        Tensor::rand(out.shape(), -1.0, 1.0, out.dtype(), Device::Cpu, &mut rng)?.to_device(dev)?;
    if inputs.iter().any(|t| t.requires_grad()) {
        out.mul(&w)?.sum_all()?.backward()?;
    }
    let grads = inputs
        .iter()
        .map(|t| t.grad().map(|g| g.to_vec_f64()).transpose())
        .collect::<Result<Vec<_>>>()?;
    Ok((out.to_vec_f64()?, grads))
}
