//! Adam (`torch.optim.Adam`, L2 weight decay added to the gradient) and AdamW
//! (`torch.optim.AdamW`, decoupled decay `p -= lr * wd * p` first), one implementation:
//!
//! ```text
//! t += 1;  g = g + wd * p (Adam)  |  p = p * (1 - lr * wd) (AdamW)
//! m = b1 * m + (1 - b1) * g;   v = b2 * v + (1 - b2) * g^2
//! amsgrad: v_max = max(v_max, v), and v_max replaces v below (the maximum of the raw
//! second moments, bias-corrected after, as PyTorch places it)
//! p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//! ```

use super::{
    apply_updates, params_and_lr_methods, parse_state_name, state_copy, unexpected_state_entry,
    zeros_like, CudaUpdate, FusedUpdate, Optimizer, Update,
};
use crate::dtype::{DType, Float};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Adam or AdamW (see [`AdamW::new`]); state per parameter: step, exp_avg, exp_avg_sq, and
/// with AMSGrad max_exp_avg_sq.
pub struct Adam {
    params: Vec<Tensor>,
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
    amsgrad: bool,
    steps: Vec<u64>,
    moments: Vec<Option<(Tensor, Tensor)>>,
    /// AMSGrad's running maximum of exp_avg_sq, per parameter.
    max_sq: Vec<Option<Tensor>>,
}

/// `torch.optim.AdamW`: an [`Adam`] with decoupled weight decay, default 0.01.
pub struct AdamW;

impl AdamW {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(params: Vec<Tensor>, lr: f64) -> Adam {
        Adam::new(params, lr).decoupled(true).weight_decay(0.01)
    }
}

impl Adam {
    /// betas (0.9, 0.999), eps 1e-8, no weight decay.
    pub fn new(params: Vec<Tensor>, lr: f64) -> Adam {
        let n = params.len();
        Adam {
            params,
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            amsgrad: false,
            steps: vec![0; n],
            moments: vec![None; n],
            max_sq: vec![None; n],
        }
    }
    pub fn betas(mut self, b1: f64, b2: f64) -> Adam {
        self.betas = (b1, b2);
        self
    }
    pub fn eps(mut self, e: f64) -> Adam {
        self.eps = e;
        self
    }
    pub fn weight_decay(mut self, wd: f64) -> Adam {
        self.weight_decay = wd;
        self
    }
    /// Decoupled (AdamW) instead of L2 (Adam) weight decay.
    pub fn decoupled(mut self, on: bool) -> Adam {
        self.decoupled = on;
        self
    }
    /// AMSGrad (`amsgrad=True`): the denominator uses the maximum of all second moments so
    /// far.
    pub fn amsgrad(mut self, on: bool) -> Adam {
        self.amsgrad = on;
        self
    }
    pub fn is_amsgrad(&self) -> bool {
        self.amsgrad
    }
    pub fn is_decoupled(&self) -> bool {
        self.decoupled
    }
    pub fn params(&self) -> &[Tensor] {
        &self.params
    }
    fn name(&self) -> &'static str {
        if self.decoupled {
            "adamw"
        } else {
            "adam"
        }
    }
}

/// Per-step coefficients, computed in f64 like PyTorch's Python scalars.
struct AdamKernel {
    lr: f64,
    weight_decay: f64,
    decoupled: bool,
    amsgrad: bool,
    /// `1 - beta^t` for both moments.
    bias_corrections: (f64, f64),
    l2: f64,
    shrink: f64,
    b1: f64,
    b2: f64,
    step_size: f64,
    bc2_sqrt: f64,
    eps: f64,
}

impl FusedUpdate for AdamKernel {
    fn apply<F: Float>(&self, p: &mut [F], g: &[F], s: &mut [&mut [F]]) {
        let c = |x: f64| F::from_f64(x);
        let (l2, shrink, b1, b2) = (c(self.l2), c(self.shrink), c(self.b1), c(self.b2));
        let (one_b1, one_b2) = (c(1.0 - self.b1), c(1.0 - self.b2));
        let (step_size, bc2_sqrt, eps) = (c(self.step_size), c(self.bc2_sqrt), c(self.eps));
        let [m, v, rest @ ..] = s else {
            return; // `step` always passes exp_avg and exp_avg_sq
        };
        let mut vmax = rest.first_mut();
        for (i, ((p, &g), (m, v))) in p
            .iter_mut()
            .zip(g)
            .zip(m.iter_mut().zip(v.iter_mut()))
            .enumerate()
        {
            let g = g + l2 * *p;
            *p *= shrink;
            *m = b1 * *m + one_b1 * g;
            *v = b2 * *v + one_b2 * g * g;
            let mut vhat = *v;
            if let Some(vmax) = vmax.as_deref_mut() {
                // The CUDA kernel's expression: a NaN v propagates, like torch.maximum.
                vhat = if vmax[i] >= vhat { vmax[i] } else { vhat };
                vmax[i] = vhat;
            }
            *p -= step_size * *m / (vhat.sqrt() / bc2_sqrt + eps);
        }
    }

    fn cuda_kernel(&self) -> CudaUpdate {
        let (bc1, bc2) = self.bias_corrections;
        CudaUpdate {
            base: "adam_step",
            scalars: vec![
                self.lr,
                self.b1,
                self.b2,
                self.eps,
                self.weight_decay,
                bc1,
                bc2,
            ],
            flags: vec![self.decoupled as u32, self.amsgrad as u32],
        }
    }
}

impl Optimizer for Adam {
    fn step(&mut self) -> Result<()> {
        let (b1, b2) = self.betas;
        if !(0.0..1.0).contains(&b1) || !(0.0..1.0).contains(&b2) {
            return Err(Error::argument(
                self.name(),
                format!("betas must be in [0, 1), got ({b1}, {b2})"),
            ));
        }
        let mut kernels = Vec::new();
        for i in 0..self.params.len() {
            let param = &self.params[i];
            let Some(grad) = param.grad() else { continue };
            if self.moments[i].is_none() {
                self.moments[i] = Some((zeros_like(param)?, zeros_like(param)?));
            }
            if self.amsgrad && self.max_sq[i].is_none() {
                self.max_sq[i] = Some(zeros_like(param)?);
            }
            self.steps[i] += 1;
            let t = self.steps[i] as i32;
            let (l2, shrink) = if self.decoupled {
                (0.0, 1.0 - self.lr * self.weight_decay)
            } else {
                (self.weight_decay, 1.0)
            };
            let k = AdamKernel {
                lr: self.lr,
                weight_decay: self.weight_decay,
                decoupled: self.decoupled,
                amsgrad: self.amsgrad,
                bias_corrections: (1.0 - b1.powi(t), 1.0 - b2.powi(t)),
                l2,
                shrink,
                b1,
                b2,
                step_size: self.lr / (1.0 - b1.powi(t)),
                bc2_sqrt: (1.0 - b2.powi(t)).sqrt(),
                eps: self.eps,
            };
            kernels.push((i, grad, k));
        }
        let updates: Vec<Update<AdamKernel>> = kernels
            .into_iter()
            .filter_map(|(i, grad, kernel)| {
                let (m, v) = self.moments[i].as_ref()?;
                let mut states = vec![m, v];
                if self.amsgrad {
                    states.push(self.max_sq[i].as_ref()?);
                }
                Some(Update {
                    param: &self.params[i],
                    grad,
                    states,
                    kernel,
                })
            })
            .collect();
        apply_updates(self.name(), &updates)
    }

    params_and_lr_methods!();

    /// Sets beta1.
    fn set_momentum(&mut self, momentum: f64) {
        self.betas.0 = momentum;
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, mv) in self.moments.iter().enumerate() {
            let Some((m, v)) = mv else { continue };
            let step =
                Tensor::scalar(self.steps[i] as f64, DType::F64, m.device()).expect("a CPU scalar");
            out.push((format!("{i}.step"), step));
            out.push((format!("{i}.exp_avg"), m.clone()));
            out.push((format!("{i}.exp_avg_sq"), v.clone()));
            if let Some(vmax) = &self.max_sq[i] {
                out.push((format!("{i}.max_exp_avg_sq"), vmax.clone()));
            }
        }
        out
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let n = self.params.len();
        let op = self.name();
        let (mut steps, mut ms, mut vs) = (vec![None; n], vec![None; n], vec![None; n]);
        let mut maxes = vec![None; n];
        for (name, t) in state {
            let (i, field) = parse_state_name(op, name, n)?;
            match field {
                "step" => {
                    let s = t.item()?;
                    if s < 0.0 || s.fract() != 0.0 {
                        return Err(Error::Checkpoint(format!(
                            "{op} state {name} = {s} is not a step count"
                        )));
                    }
                    steps[i] = Some(s as u64);
                }
                "exp_avg" => ms[i] = Some(state_copy(op, name, t, &self.params[i])?),
                "exp_avg_sq" => vs[i] = Some(state_copy(op, name, t, &self.params[i])?),
                "max_exp_avg_sq" if self.amsgrad => {
                    maxes[i] = Some(state_copy(op, name, t, &self.params[i])?)
                }
                _ => return Err(unexpected_state_entry(op, name)),
            }
        }
        let mut moments = vec![None; n];
        let mut counts = vec![0; n];
        for i in 0..n {
            if self.amsgrad && steps[i].is_some() != maxes[i].is_some() {
                return Err(Error::Checkpoint(format!(
                    "{op} state for parameter {i} needs max_exp_avg_sq with amsgrad"
                )));
            }
            match (steps[i], ms[i].take(), vs[i].take()) {
                (Some(s), Some(m), Some(v)) => {
                    counts[i] = s;
                    moments[i] = Some((m, v));
                }
                (None, None, None) => {}
                _ => {
                    return Err(Error::Checkpoint(format!(
                        "{op} state for parameter {i} needs step, exp_avg and exp_avg_sq together"
                    )))
                }
            }
        }
        self.steps = counts;
        self.moments = moments;
        self.max_sq = maxes;
        Ok(())
    }
}
