//! Training kernels for burn's flex backend, each with its own backward pass, through burn's
//! backend-extension point ([`TrainOps`]) and a custom `Backward` for `Autodiff<Flex>`:
//!
//! - [`conv2d`]: im2col and one gemm over the whole batch; both gradients one gemm each on
//!   the patch matrix the forward pass kept ([`conv`]);
//! - [`batch_norm_relu`]: batch norm with batch statistics fused with the ReLU after it, one
//!   task per channel ([`norm`]);
//! - [`linear`]: a dense layer whose products read transposed operands through strides;
//! - [`Adam`]: burn's Adam in one pass per parameter, same results bit for bit;
//! - [`flush_denormals`]: subnormal floats flushed to zero in the training threads (Adam's
//!   decaying moments otherwise slow every step after the first few hundred);
//! - [`keep_freed_memory`]: freed multi-MB buffers kept for the next step rather than mapped
//!   afresh, page fault by page fault.
//!
//! Each takes a burn layer and runs it as burn would (same parameters, same running
//! statistics, same results up to float rounding) but only where that pays: on flex with f32
//! tensors and a layer of the shapes implemented, in training (autodiff) and in evaluation
//! passes (no autodiff: the products without kept operands, batch norm with its running
//! statistics folded into one scale and shift). Anywhere else (ndarray, wgpu, other options)
//! it calls the layer's own `forward`, so a model written with these runs on every device.
//! `BENCHMARKS.md` has what each bought.

mod adam;
mod autodiff;
mod conv;
mod denormals;
mod flex;
mod linear;
mod matmul;
mod memory;
mod norm;

use std::sync::atomic::{AtomicBool, Ordering};

pub use adam::Adam;
pub use denormals::{PoolAlreadyBuilt, flush_denormals};
pub use memory::keep_freed_memory;

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, DispatchDevice, ExtensionType, backend_extension};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::DType;
use burn::tensor::activation::relu;

/// The three operations, on flex and on autodiff over flex.
#[backend_extension(Flex, Autodiff)]
pub trait TrainOps: Backend {
    /// Convolution of NCHW `x` with `[out, in, kh, kw]` weights, no bias, no dilation, one
    /// group; `padding` is `[top, left, bottom, right]`.
    fn conv2d_gemm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 4],
    ) -> FloatTensor<Self>;

    /// `relu(batch_norm(x))` with the batch's statistics, and those statistics.
    fn batch_norm_relu_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> NormalizedBatch<Self>;

    /// `x W` for `[rows, inputs]` `x` and `[inputs, outputs]` `W`.
    fn matmul_gemm(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The optimizer's step, on flex only: the optimizer sees parameters without autodiff.
#[backend_extension(Flex)]
pub trait AdamOps: Backend {
    /// One Adam step of `param` from `grad`, updating both moments (whose values are ignored
    /// on the `first` step); `coefficients` are those of [`adam::step`].
    fn adam_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        first: bool,
        coefficients: [f32; 7],
    ) -> AdamUpdate<Self>;
}

/// Inference-only kernels, on flex without autodiff (evaluation passes).
#[backend_extension(Flex)]
pub trait InferenceOps: Backend {
    /// `relu(scale * x + shift)` for NCHW `x`, with one `scale` and `shift` per channel.
    fn scale_shift_relu(
        x: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        shift: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// What [`AdamOps::adam_step`] returns: the parameter and its moments after the step.
#[derive(ExtensionType, Debug)]
pub struct AdamUpdate<B: Backend> {
    pub param: FloatTensor<B>,
    pub moment_1: FloatTensor<B>,
    pub moment_2: FloatTensor<B>,
}

/// What [`TrainOps::batch_norm_relu_train`] returns: the activation, and the per-channel batch
/// mean and biased variance (constants, for the running statistics).
#[derive(ExtensionType, Debug)]
pub struct NormalizedBatch<B: Backend> {
    pub output: FloatTensor<B>,
    pub mean: FloatTensor<B>,
    pub variance: FloatTensor<B>,
}

/// Whether the ops use the project's kernels where they apply (the default) or always burn's
/// layers: for benchmarks that compare the two in one process, and for ruling the kernels out
/// when a training run looks wrong.
static KERNELS_ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the kernels on or off for the whole process (see [`KERNELS_ENABLED`]).
pub fn set_kernels_enabled(enabled: bool) {
    KERNELS_ENABLED.store(enabled, Ordering::Relaxed);
}

fn kernels_enabled() -> bool {
    KERNELS_ENABLED.load(Ordering::Relaxed)
}

/// Whether `x` lives on flex (with or without autodiff) in f32, with the kernels enabled:
/// where they run.
fn is_flex_f32<const D: usize>(x: &Tensor<D>) -> bool {
    kernels_enabled() && is_flex(&x.device()) && x.dtype() == DType::F32
}

/// Whether `device` is flex, with or without autodiff.
fn is_flex(device: &Device) -> bool {
    matches!(
        device.as_dispatch().clone().inner(),
        DispatchDevice::Flex(_)
    )
}

/// `layer.forward(x)`, by [`TrainOps::conv2d_gemm`] where it applies (bias added after).
pub fn conv2d(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let padding = match layer.padding {
        PaddingConfig2d::Valid => [0; 4],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [top, left, bottom, right],
        PaddingConfig2d::Same => return layer.forward(x),
    };
    if !is_flex_f32(&x) || layer.dilation != [1, 1] || layer.groups != 1 {
        return layer.forward(x);
    }
    let output = Tensor::<4>::from_dispatch(<burn::backend::Dispatch as TrainOps>::conv2d_gemm(
        x.into_dispatch(),
        layer.weight.val().into_dispatch(),
        layer.stride,
        padding,
    ));
    match &layer.bias {
        Some(bias) => {
            let [channels] = bias.dims();
            output + bias.val().reshape([1, channels, 1, 1])
        }
        None => output,
    }
}

/// `relu(norm.forward(x))`; on flex one fused op: in training [`TrainOps::batch_norm_relu_train`],
/// updating the running statistics as burn's layer does, in inference (no autodiff)
/// [`InferenceOps::scale_shift_relu`] with the running statistics.
pub fn batch_norm_relu(norm: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    if !is_flex_f32(&x) {
        return relu(norm.forward(x));
    }
    if !x.device().is_autodiff() {
        return batch_norm_relu_inference(norm, x);
    }
    if !norm.training.is_enabled() {
        return relu(norm.forward(x));
    }
    let batch = <burn::backend::Dispatch as TrainOps>::batch_norm_relu_train(
        x.into_dispatch(),
        norm.gamma.val().into_dispatch(),
        norm.beta.val().into_dispatch(),
        norm.epsilon,
    );
    let (mean, variance) = (
        Tensor::<1>::from_dispatch(batch.mean),
        Tensor::<1>::from_dispatch(batch.variance),
    );
    let momentum = norm.momentum;
    let update = |running: Tensor<1>, batch: Tensor<1>| {
        running
            .mul_scalar(1.0 - momentum)
            .add(batch.detach().mul_scalar(momentum))
            .detach()
    };
    let device = mean.device();
    norm.running_mean.update(update(
        norm.running_mean.value_sync().to_device(&device),
        mean,
    ));
    norm.running_var.update(update(
        norm.running_var.value_sync().to_device(&device),
        variance,
    ));
    Tensor::from_dispatch(batch.output)
}

/// burn's inference-mode batch norm, `(x - mean) / sqrt(var + eps) * gamma + beta` with the
/// running statistics, folded into `x * scale + shift` per channel (the same value up to float
/// rounding), and the ReLU after it, in one pass.
fn batch_norm_relu_inference(norm: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    let device = x.device();
    let inv_std = norm
        .running_var
        .value()
        .to_device(&device)
        .add_scalar(norm.epsilon)
        .sqrt()
        .recip();
    let scale = norm.gamma.val() * inv_std;
    let shift = norm.beta.val() - norm.running_mean.value().to_device(&device) * scale.clone();
    Tensor::from_dispatch(<burn::backend::Dispatch as InferenceOps>::scale_shift_relu(
        x.into_dispatch(),
        scale.into_dispatch(),
        shift.into_dispatch(),
    ))
}

/// `layer.forward(x)` for a batch of rows, by [`TrainOps::matmul_gemm`] where it applies.
pub fn linear(layer: &Linear, x: Tensor<2>) -> Tensor<2> {
    if !is_flex_f32(&x) {
        return layer.forward(x);
    }
    let output = Tensor::<2>::from_dispatch(<burn::backend::Dispatch as TrainOps>::matmul_gemm(
        x.into_dispatch(),
        layer.weight.val().into_dispatch(),
    ));
    match &layer.bias {
        Some(bias) => output + bias.val().unsqueeze(),
        None => output,
    }
}
