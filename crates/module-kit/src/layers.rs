//! How a model's layers are made: with their initialisers, to train, or empty, to be filled
//! by a trained record. Every model builds its layers through [`Layers`], once; loading a
//! trained model builds them [`Empty`], so no initial weights (random draws, orthogonal init's
//! QR) are computed only to be overwritten by the record.

use burn::module::{Param, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Embedding, EmbeddingConfig, Linear, LinearConfig, LinearLayout,
};
use burn::tensor::{Device, Tensor};

/// Makes a model's layers from their configs.
pub trait Layers {
    fn linear(&self, config: &LinearConfig) -> Linear;
    fn conv2d(&self, config: &Conv2dConfig) -> Conv2d;
    fn batch_norm(&self, config: &BatchNormConfig) -> BatchNorm;
    fn embedding(&self, config: &EmbeddingConfig) -> Embedding;
}

/// Layers as burn initialises them (for training).
#[derive(Debug, Clone, Copy)]
pub struct Initialized<'a>(pub &'a Device);

impl Layers for Initialized<'_> {
    fn linear(&self, config: &LinearConfig) -> Linear {
        config.init(self.0)
    }

    fn conv2d(&self, config: &Conv2dConfig) -> Conv2d {
        config.init(self.0)
    }

    fn batch_norm(&self, config: &BatchNormConfig) -> BatchNorm {
        config.init(self.0)
    }

    fn embedding(&self, config: &EmbeddingConfig) -> Embedding {
        config.init(self.0)
    }
}

/// Layers of the right shapes holding zeros, for a record to be loaded over (loading checks
/// every shape, so a layer built wrong is an error, not a wrong answer).
#[derive(Debug, Clone, Copy)]
pub struct Empty<'a>(pub &'a Device);

impl Empty<'_> {
    fn zeros<const D: usize>(&self, shape: [usize; D]) -> Param<Tensor<D>> {
        Param::from_tensor(Tensor::zeros(shape, self.0))
    }

    fn bias(&self, present: bool, size: usize) -> Option<Param<Tensor<1>>> {
        present.then(|| self.zeros([size]))
    }
}

impl Layers for Empty<'_> {
    fn linear(&self, config: &LinearConfig) -> Linear {
        // A column-major layer's record holds the weight transposed, and loading transposes it
        // back (as burn's own layer does).
        let weight = match config.layout {
            LinearLayout::Row => self.zeros([config.d_input, config.d_output]),
            LinearLayout::Col => self
                .zeros([config.d_output, config.d_input])
                .save_mapper(|tensor| tensor.transpose())
                .load_mapper(|tensor| tensor.transpose()),
        };
        Linear {
            weight,
            bias: self.bias(config.bias, config.d_output),
        }
    }

    fn conv2d(&self, config: &Conv2dConfig) -> Conv2d {
        let [inputs, outputs] = config.channels;
        let [height, width] = config.kernel_size;
        Conv2d {
            weight: self.zeros([outputs, inputs / config.groups, height, width]),
            bias: self.bias(config.bias, outputs),
            stride: config.stride,
            kernel_size: config.kernel_size,
            dilation: config.dilation,
            groups: config.groups,
            padding: config.padding.clone(),
        }
    }

    fn batch_norm(&self, config: &BatchNormConfig) -> BatchNorm {
        let size = [config.num_features];
        BatchNorm {
            gamma: self.zeros(size),
            beta: self.zeros(size),
            training: Param::from_bool(true),
            running_mean: RunningState::new(Tensor::zeros(size, self.0)),
            running_var: RunningState::new(Tensor::zeros(size, self.0)),
            momentum: config.momentum,
            epsilon: config.epsilon,
        }
    }

    fn embedding(&self, config: &EmbeddingConfig) -> Embedding {
        Embedding {
            weight: self.zeros([config.n_embedding, config.d_model]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::nn::PaddingConfig2d;
    use burn::tensor::{Distribution, Int};

    /// The empty layer of the same config with the initialised layer's record loaded.
    fn loaded<M: Module + Clone>(initialised: &M, empty: M) -> M {
        empty
            .try_load_record(initialised.clone().into_record())
            .expect("the record fits the empty layer")
    }

    fn assert_same<const D: usize>(a: Tensor<D>, b: Tensor<D>) {
        assert_eq!(a.into_data(), b.into_data());
    }

    /// An initialised layer's record loaded into the empty layer of its config answers as the
    /// initialised layer does.
    #[test]
    fn an_initialised_layers_record_loads_into_the_empty_layer_of_its_config() {
        let device = Device::flex();
        let (init, empty) = (Initialized(&device), Empty(&device));
        for config in [
            LinearConfig::new(4, 16),
            LinearConfig::new(4, 5).with_bias(false),
            LinearConfig::new(4, 5).with_layout(LinearLayout::Col),
        ] {
            let layer = init.linear(&config);
            let x = Tensor::<2>::random([3, 4], Distribution::Default, &device);
            let copy = loaded(&layer, empty.linear(&config));
            assert_same(layer.forward(x.clone()), copy.forward(x));
        }
        let conv = Conv2dConfig::new([4, 8], [3, 5])
            .with_groups(2)
            .with_stride([2, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 2, 1, 2));
        let layer = init.conv2d(&conv);
        let x = Tensor::<4>::random([2, 4, 6, 7], Distribution::Default, &device);
        let copy = loaded(&layer, empty.conv2d(&conv));
        assert_same(layer.forward(x.clone()), copy.forward(x));

        let norm = BatchNormConfig::new(6);
        let layer = init.batch_norm(&norm);
        let x = Tensor::<3>::random([2, 6, 3], Distribution::Default, &device);
        let copy = loaded(&layer, empty.batch_norm(&norm));
        assert_same(layer.forward(x.clone()), copy.forward(x));

        let embedding = EmbeddingConfig::new(10, 3);
        let layer = init.embedding(&embedding);
        let ids = Tensor::<2, Int>::from_data([[1, 9, 4]], &device);
        let copy = loaded(&layer, empty.embedding(&embedding));
        assert_same(layer.forward(ids.clone()), copy.forward(ids));
    }

    #[test]
    fn a_record_of_another_shape_is_refused() {
        let device = Device::flex();
        let record = Initialized(&device)
            .linear(&LinearConfig::new(4, 16))
            .into_record();
        let wrong = Empty(&device).linear(&LinearConfig::new(4, 8));
        assert!(wrong.try_load_record(record).is_err());
    }
}
