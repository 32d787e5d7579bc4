//! The model zoo: the three architectures of DESIGN.md and `wide`, the top of the zoo, built as
//! `nn::Sequential` so their state_dict keys match PyTorch's (`"0.weight"`, `"2.running_mean"`, ...).

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
    /// The top of the zoo: `small` widened and one block deeper (six conv-BN-ReLU blocks, 24 to
    /// 96 channels, a max-pool after the second), global average pooling, dropout 0.2, fc10.
    Wide,
}

impl ModelKind {
    pub const ALL: [ModelKind; 4] = [
        ModelKind::Mlp,
        ModelKind::Cnn,
        ModelKind::Small,
        ModelKind::Wide,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Mlp => "mlp",
            ModelKind::Cnn => "cnn",
            ModelKind::Small => "small",
            ModelKind::Wide => "wide",
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
            // (in, out) of each 3x3 conv-BN-ReLU block, and the blocks a 2x2 max-pool follows.
            ModelKind::Small => conv_net(
                &[(1, 12), (12, 16), (16, 24), (24, 24), (24, 32)],
                &[1],
                0.1,
                dropout_seed,
                &mut rng,
            ),
            ModelKind::Wide => conv_net(
                &[(1, 24), (24, 32), (32, 48), (48, 64), (64, 96), (96, 96)],
                &[1],
                0.2,
                dropout_seed,
                &mut rng,
            ),
        }
    }
}

/// 3x3 conv-BN-ReLU `blocks` (a 2x2 max-pool after those listed in `pool_after`), then global
/// average pooling, dropout and one linear layer to the ten classes.
fn conv_net(
    blocks: &[(usize, usize)],
    pool_after: &[usize],
    dropout: f64,
    dropout_seed: u64,
    rng: &mut Rng,
) -> Sequential {
    let mut model = Sequential::new();
    for (i, &(cin, cout)) in blocks.iter().enumerate() {
        model = model
            .push(Conv2d::new(cin, cout, 3, rng).bias(false))
            .push(BatchNorm2d::new(cout))
            .push(ReLU);
        if pool_after.contains(&i) {
            model = model.push(MaxPool2d::new(2));
        }
    }
    let features = blocks.last().map_or(1, |b| b.1);
    model
        .push(AdaptiveAvgPool2d::new((1, 1)))
        .push(Flatten)
        .push(Dropout::new(dropout, dropout_seed))
        .push(Linear::new(features, 10, rng))
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
            .ok_or_else(|| format!("unknown model '{s}' (expected mlp, cnn, small or wide)"))
    }
}
