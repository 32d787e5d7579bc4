//! `Sequential`: children applied in order, named "0", "1", ... as in PyTorch, so
//! state_dict keys read "0.weight", "2.running_mean", and a `summary` table.

use super::{prefixed, Counter, Module};
use crate::autograd::no_grad;
use crate::device::Device;
use crate::dtype::DType;
use crate::error::Result;
use crate::tensor::Tensor;

/// A chain of modules (`torch.nn.Sequential`).
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
    /// Per layer, the device it runs on when the model spans devices ([`Sequential::place`]);
    /// activations (and, backward, their gradients) move between them.
    placement: Option<Vec<Device>>,
}

/// One row of [`Sequential::summary`].
#[derive(Clone, Debug, PartialEq)]
pub struct LayerSummary {
    /// The child's name ("0", "1", ...).
    pub name: String,
    /// Its [`Module::describe`] line.
    pub description: String,
    /// The output shape for the summary's input, batch dim included.
    pub output_shape: Vec<usize>,
    /// Trainable scalars in this child.
    pub params: usize,
}

impl LayerSummary {
    /// The rows as an aligned text table with a total line.
    pub fn table(rows: &[LayerSummary]) -> String {
        let shapes: Vec<String> = rows
            .iter()
            .map(|r| format!("{:?}", r.output_shape))
            .collect();
        let w_desc = rows
            .iter()
            .map(|r| r.description.len())
            .max()
            .unwrap_or(0)
            .max(5);
        let w_shape = shapes.iter().map(|s| s.len()).max().unwrap_or(0).max(12);
        let mut out = format!(
            "{:<4} {:<w_desc$} {:<w_shape$} {:>10}\n",
            "#", "Layer", "Output shape", "Params"
        );
        for (r, s) in rows.iter().zip(&shapes) {
            out += &format!(
                "{:<4} {:<w_desc$} {:<w_shape$} {:>10}\n",
                r.name, r.description, s, r.params
            );
        }
        let total: usize = rows.iter().map(|r| r.params).sum();
        out += &format!("Total trainable parameters: {total}\n");
        out
    }
}

impl Sequential {
    pub fn new() -> Sequential {
        Sequential {
            layers: Vec::new(),
            placement: None,
        }
    }

    /// Appends a layer (builder style).
    pub fn push(mut self, layer: impl Module + 'static) -> Sequential {
        self.layers.push(Box::new(layer));
        self
    }

    /// Appends an already boxed layer.
    pub fn add(&mut self, layer: Box<dyn Module>) {
        self.layers.push(layer);
    }

    pub fn len(&self) -> usize {
        self.layers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The `i`-th child.
    pub fn get(&self, i: usize) -> Option<&dyn Module> {
        self.layers.get(i).map(|l| l.as_ref())
    }

    /// The `i`-th child, mutably (to switch one layer's mode, convert it, ...).
    pub fn get_mut(&mut self, i: usize) -> Option<&mut (dyn Module + 'static)> {
        self.layers.get_mut(i).map(|l| l.as_mut())
    }

    /// Spreads the model over devices: layer `i` (its parameters and buffers, and its
    /// forward) goes to `device_of(i)`. Activations are moved between layers with the
    /// differentiable `to_device`, so gradients cross back. Names are unchanged, so
    /// checkpoints load either way. Rebuild optimizers after.
    pub fn place(&mut self, device_of: impl Fn(usize) -> Device) -> Result<()> {
        let devices: Vec<Device> = (0..self.layers.len()).map(device_of).collect();
        for (layer, &d) in self.layers.iter_mut().zip(&devices) {
            layer.map_tensors(&mut |t| t.to_device(d))?;
        }
        self.placement = Some(devices);
        Ok(())
    }

    /// The device of the first layer's input (where batches should be), if placed.
    pub fn input_device(&self) -> Option<Device> {
        self.placement.as_ref().and_then(|p| p.first().copied())
    }

    /// Runs a forward pass on zeros of `input_shape` (batch dim included) under no_grad and
    /// reports each child's output shape and parameter count. Buffers (BatchNorm's running
    /// statistics) and Dropout offsets are restored afterwards, so the model is unchanged.
    pub fn summary(&self, input_shape: &[usize]) -> Result<Vec<LayerSummary>> {
        let dtype = self.parameters().first().map_or(DType::F32, |p| p.dtype());
        let _guard = no_grad();
        // Exact f64 copies (assign converts back); restored after the pass.
        let saved_buffers: Vec<(Tensor, Tensor)> = self
            .named_buffers()
            .into_iter()
            .map(|(_, b)| Ok((b.clone(), Tensor::from_vec(b.to_vec::<f64>()?, b.shape())?)))
            .collect::<Result<_>>()?;
        let saved_rng = self.rng_state();
        let saved_counts = self.counts();

        let device = self
            .parameters()
            .first()
            .map_or(Device::Cpu, |p| p.device());
        let mut x = Tensor::zeros(input_shape, dtype, device)?;
        let mut rows = Vec::with_capacity(self.layers.len());
        let result = (|| {
            for (i, layer) in self.layers.iter().enumerate() {
                x = layer.forward(&x)?;
                rows.push(LayerSummary {
                    name: i.to_string(),
                    description: layer.describe(),
                    output_shape: x.dims().to_vec(),
                    params: layer.num_parameters(),
                });
            }
            Ok(())
        })();

        for (buffer, copy) in &saved_buffers {
            buffer.assign(copy)?;
        }
        self.set_rng_state(&saved_rng);
        self.load_counts(&saved_counts)?;
        result.map(|()| rows)
    }
}

impl Module for Sequential {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut y = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            if let Some(p) = &self.placement {
                y = y.to_device(p[i])?;
            }
            y = layer.forward(&y)?;
        }
        Ok(y)
    }

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut all = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            all.extend(prefixed(&i.to_string(), layer.named_parameters()));
        }
        all
    }

    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let mut all = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            all.extend(prefixed(&i.to_string(), layer.named_buffers()));
        }
        all
    }

    fn named_counters(&self) -> Vec<(String, Counter)> {
        let mut all = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            all.extend(prefixed(&i.to_string(), layer.named_counters()));
        }
        all
    }

    /// PyTorch's order: each child's parameters then buffers ("2.weight", "2.bias",
    /// "2.running_mean", ...), child by child.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut all = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            all.extend(prefixed(&i.to_string(), layer.state_dict()));
        }
        all
    }

    fn set_training(&mut self, training: bool) {
        for layer in &mut self.layers {
            layer.set_training(training);
        }
    }

    fn rng_state(&self) -> Vec<(String, u64)> {
        let mut all = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            all.extend(prefixed(&i.to_string(), layer.rng_state()));
        }
        all
    }

    fn set_rng_state(&self, state: &[(String, u64)]) {
        for (i, layer) in self.layers.iter().enumerate() {
            let prefix = format!("{i}.");
            let mine: Vec<(String, u64)> = state
                .iter()
                .filter_map(|(n, v)| n.strip_prefix(&prefix).map(|rest| (rest.to_string(), *v)))
                .collect();
            if !mine.is_empty() {
                layer.set_rng_state(&mine);
            }
        }
    }

    /// Also ends a [`Sequential::place`] spread: the tensors decide where layers run again.
    fn map_tensors(&mut self, f: &mut dyn FnMut(&Tensor) -> Result<Tensor>) -> Result<()> {
        self.placement = None;
        for layer in &mut self.layers {
            layer.map_tensors(f)?;
        }
        Ok(())
    }

    /// PyTorch's multi-line repr.
    fn describe(&self) -> String {
        let mut s = String::from("Sequential(\n");
        for (i, layer) in self.layers.iter().enumerate() {
            let child = layer.describe().replace('\n', "\n  ");
            s += &format!("  ({i}): {child}\n");
        }
        s + ")"
    }
}
