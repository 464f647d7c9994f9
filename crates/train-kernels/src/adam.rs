//! Adam in one pass over each parameter, bit for bit burn's Adam.
//!
//! burn's `Adam` updates a parameter with eight elementwise tensor ops (the two moments, their
//! bias corrections, the square root, the division, the scaled step), each reading and
//! writing whole buffers, a noticeable share of an MNIST CNN step. Here the same
//! arithmetic, in the same order and the same f32 roundings, runs once per element over
//! buffers updated in place, so the parameters and moments come out identical to burn's and
//! the optimizer state is burn's own [`AdamState`] (checkpoints written by one load in the
//! other).

use burn::optim::{
    AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
};
use burn::prelude::*;
use burn::tensor::DType;
use rayon::prelude::*;

use crate::{AdamOps, kernels_enabled};

/// Adam with burn's defaults and semantics (no weight decay, no AMSGrad), one fused pass per
/// parameter on flex; elsewhere burn's `Adam`.
#[derive(Clone)]
pub struct Adam {
    coefficients: Betas,
    /// burn's Adam with the same settings: where the fused pass does not apply.
    burn: burn::optim::Adam,
}

impl std::fmt::Debug for Adam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adam")
            .field("coefficients", &self.coefficients)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug)]
struct Betas {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
}

impl Adam {
    /// Adam with these settings (burn's `AdamConfig` defaults are 0.9, 0.999 and 1e-5).
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32) -> Self {
        let burn = AdamConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .build();
        let coefficients = Betas {
            beta_1,
            beta_2,
            epsilon,
        };
        Self { coefficients, burn }
    }

    /// The optimizer for a whole module, as `AdamConfig::init` makes burn's.
    pub fn init(self) -> ModuleOptimizer {
        ModuleOptimizer::from(self)
    }

    /// Whether a parameter like `param` (as the optimizer sees it: without autodiff) is
    /// updated by the fused pass rather than by burn's Adam.
    pub fn fuses<const D: usize>(param: &Tensor<D>) -> bool {
        fusable(param, param, None)
    }
}

impl Optimizer for Adam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if !fusable(&tensor, &grad, state.as_ref()) {
            return self.burn.step(lr, tensor, grad, state);
        }
        let (moment_1, moment_2, time) = match state {
            Some(AdamState { momentum }) => {
                (momentum.moment_1, momentum.moment_2, momentum.time + 1)
            }
            // Buffers for the moments, which the first step fills from its gradient alone.
            None => (tensor.zeros_like(), tensor.zeros_like(), 1),
        };
        let step = <burn::backend::Dispatch as AdamOps>::adam_step(
            tensor.into_dispatch(),
            grad.into_dispatch(),
            moment_1.into_dispatch(),
            moment_2.into_dispatch(),
            time == 1,
            self.coefficients.at(time, lr),
        );
        let momentum = AdaptiveMomentumState::new(
            time,
            Tensor::from_dispatch(step.moment_1),
            Tensor::from_dispatch(step.moment_2),
        );
        (
            Tensor::from_dispatch(step.param),
            Some(AdamState::new(momentum)),
        )
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <burn::optim::Adam as Optimizer>::to_device(state, device)
    }
}

/// Whether the fused pass applies: f32 tensors of one shape on flex (the optimizer sees the
/// parameters without autodiff), and a state without AMSGrad's extra moment.
fn fusable<const D: usize>(
    tensor: &Tensor<D>,
    grad: &Tensor<D>,
    state: Option<&AdamState<D>>,
) -> bool {
    let device = tensor.device();
    let f32_like = |t: &Tensor<D>| t.dtype() == DType::F32 && t.shape() == tensor.shape();
    let state_fits = state.is_none_or(|state| {
        let momentum = &state.momentum;
        momentum.max_moment_2.is_none()
            && f32_like(&momentum.moment_1)
            && f32_like(&momentum.moment_2)
            && momentum.moment_1.device() == device
    });
    kernels_enabled()
        && !device.is_autodiff()
        && crate::is_flex(&device)
        && f32_like(grad)
        && grad.device() == device
        && state_fits
}

impl Betas {
    /// The scalars of step `time` at learning rate `lr`, each rounded to f32 as burn's ops
    /// round them.
    fn at(self, time: usize, lr: LearningRate) -> [f32; 7] {
        let Self {
            beta_1,
            beta_2,
            epsilon,
        } = self;
        let time = time as i32;
        let bias_correction_2_sqrt = (1.0 - beta_2.powi(time)).sqrt();
        let combined = bias_correction_2_sqrt / (1.0 - beta_1.powi(time));
        [
            beta_1,
            1.0 - beta_1,
            beta_2,
            1.0 - beta_2,
            combined,
            epsilon * bias_correction_2_sqrt,
            lr as f32,
        ]
    }
}

/// Elements per parallel task: large enough that a task outweighs its scheduling.
const CHUNK: usize = 16 * 1024;

/// One Adam step over contiguous buffers, in place: `param`, `moment_1` and `moment_2` are
/// updated from `grad`. `first` means the moments hold nothing yet (burn starts them from the
/// first gradient rather than from zeros).
pub(crate) fn step(
    param: &mut [f32],
    grad: &[f32],
    moment_1: &mut [f32],
    moment_2: &mut [f32],
    first: bool,
    coefficients: [f32; 7],
) {
    param
        .par_chunks_mut(CHUNK)
        .zip(grad.par_chunks(CHUNK))
        .zip(moment_1.par_chunks_mut(CHUNK))
        .zip(moment_2.par_chunks_mut(CHUNK))
        .for_each(|(((param, grad), moment_1), moment_2)| {
            if first {
                step_chunk::<true>(param, grad, moment_1, moment_2, coefficients);
            } else {
                step_chunk::<false>(param, grad, moment_1, moment_2, coefficients);
            }
        });
}

/// [`step`] on one chunk: an indexed loop over slices cut to one length, which the compiler
/// turns into vector code (square roots and divisions included).
#[inline]
fn step_chunk<const FIRST: bool>(
    param: &mut [f32],
    grad: &[f32],
    moment_1: &mut [f32],
    moment_2: &mut [f32],
    [beta_1, rest_1, beta_2, rest_2, combined, epsilon, lr]: [f32; 7],
) {
    let n = param.len();
    let (grad, moment_1, moment_2) = (&grad[..n], &mut moment_1[..n], &mut moment_2[..n]);
    for i in 0..n {
        let g = grad[i];
        // The order of burn's ops: `m * beta + g * (1 - beta)`, `g * g` squared first.
        let (m1, m2) = if FIRST {
            (g * rest_1, (g * g) * rest_2)
        } else {
            (
                moment_1[i] * beta_1 + g * rest_1,
                moment_2[i] * beta_2 + (g * g) * rest_2,
            )
        };
        let update = (m1 * combined) / (m2.sqrt() + epsilon);
        param[i] -= update * lr;
        moment_1[i] = m1;
        moment_2[i] = m2;
    }
}
