//! Reverse-mode autograd: graph nodes, the backward pass and the no-grad guard.
//!
//! Each differentiable op attaches a [`Node`] (its inputs plus a [`BackwardOp`] holding
//! whatever else it saved) to its output. `Tensor::backward` orders the graph with an
//! explicit stack (no recursion), runs each node once with the summed gradient of its
//! output, and takes the node out of the tensor as it goes, so saved tensors are freed
//! as soon as they have been used.

mod no_grad;

pub use no_grad::{is_grad_enabled, no_grad, NoGradGuard};

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
pub use crate::tensor::{BackwardOp, Node};
use crate::tensor::{Tensor, TensorId};

/// Attaches a backward node to `output` when grad mode is on and some input needs a
/// gradient. `make_op` runs only then, so nothing is saved for inference.
pub(crate) fn record<Op: BackwardOp + 'static>(
    output: Tensor,
    inputs: &[&Tensor],
    make_op: impl FnOnce() -> Op,
) -> Tensor {
    if is_grad_enabled() && inputs.iter().any(|t| t.requires_grad()) {
        output.set_node(Node {
            inputs: inputs.iter().map(|t| (*t).clone()).collect(),
            op: Box::new(make_op()),
        });
    }
    output
}

impl Tensor {
    /// Backpropagates from this scalar, accumulating `.grad()` on every leaf that
    /// requires a gradient (like PyTorch: call `zero_grad` between steps).
    pub fn backward(&self) -> Result<()> {
        if self.numel() != 1 {
            return Err(Error::Autograd(format!(
                "backward needs a scalar output, got shape {:?}",
                self.shape()
            )));
        }
        self.backward_with(&self.ones_like()?)
    }

    /// Backpropagates with an explicit gradient of this tensor.
    pub fn backward_with(&self, grad: &Tensor) -> Result<()> {
        if !self.requires_grad() {
            return Err(Error::Autograd(
                "backward on a tensor that does not require grad (no input requires grad, or it was made under no_grad)".into(),
            ));
        }
        if grad.shape() != self.shape() {
            return Err(Error::Autograd(format!(
                "gradient shape {:?} does not match tensor shape {:?}",
                grad.shape(),
                self.shape()
            )));
        }
        if (grad.dtype(), grad.device()) != (self.dtype(), self.device()) {
            return Err(Error::Autograd(format!(
                "gradient has dtype {} on {}, the tensor dtype {} on {}",
                grad.dtype(),
                grad.device(),
                self.dtype(),
                self.device()
            )));
        }
        let _guard = no_grad();
        let order = topological_order(self);
        let mut grads: HashMap<TensorId, Tensor> = HashMap::new();
        grads.insert(self.id(), grad.clone());
        for tensor in order.iter().rev() {
            let Some(grad) = grads.remove(&tensor.id()) else {
                continue;
            };
            let Some(node) = tensor.take_node() else {
                if tensor.is_op_output() {
                    return Err(Error::Autograd(
                        "trying to backward through the graph a second time: its saved tensors were freed by the first backward".into(),
                    ));
                }
                accumulate_leaf(tensor, grad)?;
                continue;
            };
            let input_grads = node.op.backward(&node.inputs, &grad)?;
            if input_grads.len() != node.inputs.len() {
                return Err(Error::Autograd(format!(
                    "{} returned {} gradients for {} inputs",
                    node.op.name(),
                    input_grads.len(),
                    node.inputs.len()
                )));
            }
            for (input, g) in node.inputs.iter().zip(input_grads) {
                let Some(g) = g else { continue };
                if !input.requires_grad() {
                    continue;
                }
                if (g.dtype(), g.device()) != (input.dtype(), input.device()) {
                    return Err(Error::Autograd(format!(
                        "{} produced a gradient of dtype {} on {} for an input of dtype {} on {}",
                        node.op.name(),
                        g.dtype(),
                        g.device(),
                        input.dtype(),
                        input.device()
                    )));
                }
                if g.shape() != input.shape() {
                    return Err(Error::Autograd(format!(
                        "{} produced a gradient of shape {:?} for an input of shape {:?}",
                        node.op.name(),
                        g.shape(),
                        input.shape()
                    )));
                }
                let summed = match grads.remove(&input.id()) {
                    Some(prev) => prev.add(&g)?,
                    None => g,
                };
                grads.insert(input.id(), summed);
            }
            // `node` drops here: its saved tensors are released.
        }
        Ok(())
    }
}

fn accumulate_leaf(tensor: &Tensor, grad: Tensor) -> Result<()> {
    if !tensor.requires_grad() {
        return Ok(());
    }
    let total = match tensor.grad() {
        Some(prev) => prev.add(&grad)?,
        None => grad.contiguous()?,
    };
    tensor.set_grad(Some(total));
    Ok(())
}

/// Tensors reachable from `root` (through recorded nodes), inputs before outputs.
fn topological_order(root: &Tensor) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut visited = HashSet::new();
    // (tensor, inputs already pushed?) — the explicit-stack post-order DFS.
    let mut stack = vec![(root.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !visited.insert(t.id()) {
            continue;
        }
        let inputs = t.node_inputs().unwrap_or_default();
        stack.push((t, true));
        for input in inputs {
            if input.requires_grad() && !visited.contains(&input.id()) {
                stack.push((input, false));
            }
        }
    }
    order
}
