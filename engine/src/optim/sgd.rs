//! Stochastic gradient descent with momentum, Nesterov, dampening and L2 weight decay,
//! following `torch.optim.SGD` exactly:
//!
//! ```text
//! d = g + wd * p
//! buf = d                                  (first step)
//! buf = momentum * buf + (1 - dampening) * d   (later steps)
//! d = nesterov ? d + momentum * buf : buf  (when momentum != 0)
//! p = p - lr * d
//! ```

use super::{
    apply_updates, params_and_lr_methods, parse_state_name, state_copy, unexpected_state_entry,
    zeros_like, CudaUpdate, FusedUpdate, Optimizer, Update,
};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// `torch.optim.SGD`.
pub struct Sgd {
    params: Vec<Tensor>,
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
    buffers: Vec<Option<Tensor>>,
}

impl Sgd {
    pub fn new(params: Vec<Tensor>, lr: f64) -> Sgd {
        let n = params.len();
        Sgd {
            params,
            lr,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            buffers: vec![None; n],
        }
    }
    pub fn momentum(mut self, m: f64) -> Sgd {
        self.momentum = m;
        self
    }
    pub fn nesterov(mut self, on: bool) -> Sgd {
        self.nesterov = on;
        self
    }
    pub fn weight_decay(mut self, wd: f64) -> Sgd {
        self.weight_decay = wd;
        self
    }
    pub fn dampening(mut self, d: f64) -> Sgd {
        self.dampening = d;
        self
    }
    pub fn params(&self) -> &[Tensor] {
        &self.params
    }
}

struct SgdKernel {
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
    /// The momentum buffer is new: it takes `d` as is (PyTorch's `clone(d_p)`).
    first: bool,
}

impl FusedUpdate for SgdKernel {
    fn apply<F: Float>(&self, p: &mut [F], g: &[F], s: &mut [&mut [F]]) {
        let buf: &mut [F] = match s {
            [buf, ..] => buf,
            [] => &mut [],
        };
        let (lr, wd) = (F::from_f64(self.lr), F::from_f64(self.weight_decay));
        let m = F::from_f64(self.momentum);
        let keep = F::from_f64(1.0 - self.dampening);
        if buf.is_empty() {
            for (p, &g) in p.iter_mut().zip(g) {
                let d = g + wd * *p;
                *p -= lr * d;
            }
            return;
        }
        for ((p, &g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
            let d = g + wd * *p;
            *b = if self.first { d } else { m * *b + keep * d };
            let step = if self.nesterov { d + m * *b } else { *b };
            *p -= lr * step;
        }
    }

    fn cuda_kernel(&self) -> CudaUpdate {
        CudaUpdate {
            base: "sgd_step",
            scalars: vec![self.lr, self.momentum, self.dampening, self.weight_decay],
            flags: vec![self.nesterov as u32, self.first as u32],
        }
    }
}

impl Optimizer for Sgd {
    fn step(&mut self) -> Result<()> {
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::argument(
                "sgd",
                "nesterov momentum requires a momentum > 0 and zero dampening",
            ));
        }
        let mut fresh = Vec::new();
        for (param, buf) in self.params.iter().zip(self.buffers.iter_mut()) {
            if self.momentum != 0.0 && buf.is_none() && param.grad().is_some() {
                *buf = Some(zeros_like(param)?);
                fresh.push(param.id());
            }
        }
        let updates: Vec<Update<SgdKernel>> = self
            .params
            .iter()
            .zip(&self.buffers)
            .filter_map(|(param, buf)| {
                let grad = param.grad()?;
                let kernel = SgdKernel {
                    lr: self.lr,
                    momentum: self.momentum,
                    dampening: self.dampening,
                    weight_decay: self.weight_decay,
                    nesterov: self.nesterov,
                    // A new momentum buffer takes `d` as is (PyTorch's `clone(d_p)`).
                    first: fresh.contains(&param.id()),
                };
                let states = match buf {
                    Some(b) if self.momentum != 0.0 => vec![b],
                    _ => vec![],
                };
                Some(Update {
                    param,
                    grad,
                    states,
                    kernel,
                })
            })
            .collect();
        apply_updates("sgd", &updates)
    }

    params_and_lr_methods!();

    fn set_momentum(&mut self, momentum: f64) {
        self.momentum = momentum;
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        self.buffers
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                b.as_ref()
                    .map(|b| (format!("{i}.momentum_buffer"), b.clone()))
            })
            .collect()
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let mut buffers = vec![None; self.params.len()];
        for (name, t) in state {
            let (i, field) = parse_state_name("sgd", name, self.params.len())?;
            if field != "momentum_buffer" {
                return Err(unexpected_state_entry("sgd", name));
            }
            buffers[i] = Some(state_copy("sgd", name, t, &self.params[i])?);
        }
        self.buffers = buffers;
        Ok(())
    }
}
