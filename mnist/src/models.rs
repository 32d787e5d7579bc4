//! The model zoo: the three architectures of DESIGN.md, built as `nn::Sequential` so their
//! state_dict keys match PyTorch's (`"0.weight"`, `"2.running_mean"`, ...).

use std::fmt;
use std::str::FromStr;

use engine::nn::{
    AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential,
};
use engine::Rng;

/// Which architecture to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// 784-256-128-10 with dropout 0.2 (235,146 parameters).
    Mlp,
    /// conv32-relu-bn-pool, conv64-relu-bn-pool, fc128, dropout 0.5, fc10 (421,834 parameters).
    Cnn,
    /// Under 20,000 parameters: conv-BN-ReLU blocks and global average pooling.
    Small,
}

impl ModelKind {
    pub const ALL: [ModelKind; 3] = [ModelKind::Mlp, ModelKind::Cnn, ModelKind::Small];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Mlp => "mlp",
            ModelKind::Cnn => "cnn",
            ModelKind::Small => "small",
        }
    }

    /// A freshly initialised model; `seed` fixes both the weights and the dropout stream.
    pub fn build(self, seed: u64) -> Sequential {
        let mut rng = Rng::new(seed);
        let dropout_seed = rng.fork_seed();
        match self {
            ModelKind::Mlp => Sequential::new()
                .push(Flatten)
                .push(Linear::new(784, 256, &mut rng))
                .push(ReLU)
                .push(Dropout::new(0.2, dropout_seed))
                .push(Linear::new(256, 128, &mut rng))
                .push(ReLU)
                .push(Dropout::new(0.2, dropout_seed ^ 1))
                .push(Linear::new(128, 10, &mut rng)),
            ModelKind::Cnn => Sequential::new()
                .push(Conv2d::new(1, 32, 3, &mut rng).padding(1))
                .push(ReLU)
                .push(BatchNorm2d::new(32))
                .push(MaxPool2d::new(2))
                .push(Conv2d::new(32, 64, 3, &mut rng).padding(1))
                .push(ReLU)
                .push(BatchNorm2d::new(64))
                .push(MaxPool2d::new(2))
                .push(Flatten)
                .push(Linear::new(64 * 7 * 7, 128, &mut rng))
                .push(ReLU)
                .push(Dropout::new(0.5, dropout_seed))
                .push(Linear::new(128, 10, &mut rng)),
            ModelKind::Small => {
                // (in, out) of each 3x3 conv-BN-ReLU block; a 2x2 max-pool after the second.
                let blocks = [(1, 12), (12, 16), (16, 24), (24, 24), (24, 32)];
                let mut model = Sequential::new();
                for (i, (cin, cout)) in blocks.into_iter().enumerate() {
                    model = model
                        .push(Conv2d::new(cin, cout, 3, &mut rng).bias(false))
                        .push(BatchNorm2d::new(cout))
                        .push(ReLU);
                    if i == 1 {
                        model = model.push(MaxPool2d::new(2));
                    }
                }
                model
                    .push(AdaptiveAvgPool2d::new((1, 1)))
                    .push(Flatten)
                    .push(Dropout::new(0.1, dropout_seed))
                    .push(Linear::new(32, 10, &mut rng))
            }
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ModelKind::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown model '{s}' (expected mlp, cnn or small)"))
    }
}
