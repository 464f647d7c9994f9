//! [`TrainOps`] on autodiff over flex: the forward pass runs the kernels once, keeps what the
//! backward pass reads (the patch matrix, the normalised activations, the operands), and
//! registers a `Backward` that computes only the gradients the graph asks for.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex};

use crate::flex::{
    conv_geometry, conv_output, dims, linear_sizes, norm_shape, planes, planes_tensor, tensor,
    values,
};
use crate::{NormalizedBatch, TrainOps, conv, linear, norm};

#[derive(Debug)]
struct ConvBackward;

#[derive(Clone, Debug)]
struct ConvState {
    patches: FlexTensor,
    weight: FlexTensor,
    geometry: conv::Geometry,
}

impl Backward<Flex, 2> for ConvBackward {
    type State = ConvState;

    fn backward(self, ops: Ops<ConvState, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_weight] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let ConvState {
            mut patches,
            weight,
            geometry,
        } = ops.state;
        let wanted = conv::Wanted {
            input: node_x.is_some(),
            weight: node_weight.is_some(),
        };
        let (grad_data, grad_layout) = planes(&grad);
        let grad_planes = norm::Planes {
            data: &grad_data,
            layout: grad_layout,
        };
        // The state's own buffer (copied only if something else still holds it).
        let (grad_x, grad_weight) = conv::backward(
            grad_planes,
            patches.storage_mut::<f32>(),
            &values(&weight),
            &geometry,
            wanted,
        );
        if let (Some(node), Some(grad_x)) = (node_x, grad_x) {
            let [height, width] = geometry.input;
            let shape = [geometry.batch, geometry.channels_in, height, width];
            grads.register::<Flex>(node.id, tensor(grad_x, shape));
        }
        if let (Some(node), Some(grad_weight)) = (node_weight, grad_weight) {
            grads.register::<Flex>(node.id, tensor(grad_weight, dims::<4>(&weight)));
        }
    }
}

#[derive(Debug)]
struct NormBackward;

#[derive(Clone, Debug)]
struct NormState {
    /// The forward pass's input (shared, not copied).
    x: FlexTensor,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    shape: norm::Shape,
}

impl Backward<Flex, 3> for NormBackward {
    type State = NormState;

    fn backward(self, ops: Ops<NormState, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let state = ops.state;
        let (x, layout) = planes(&state.x);
        let saved = norm::Saved {
            x: norm::Planes { data: &x, layout },
            mean: &state.mean,
            inv_std: &state.inv_std,
            gamma: &state.gamma,
            beta: &state.beta,
        };
        let (grad_data, grad_layout) = planes(&grad);
        let grad_planes = norm::Planes {
            data: &grad_data,
            layout: grad_layout,
        };
        let (grad_x, grad_gamma, grad_beta) = norm::backward(grad_planes, &saved, &state.shape);
        if let Some(node) = node_x {
            // In the input's layout: channel-major for a convolution's output, whose backward
            // pass then multiplies it as it is.
            let grad_x = planes_tensor(grad_x, dims::<4>(&state.x), layout);
            grads.register::<Flex>(node.id, grad_x);
        }
        let channels = [state.shape.channels];
        for (node, grad) in [(node_gamma, grad_gamma), (node_beta, grad_beta)] {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, tensor(grad, channels));
            }
        }
    }
}

#[derive(Debug)]
struct MatmulBackward;

#[derive(Clone, Debug)]
struct MatmulState {
    x: FlexTensor,
    weight: FlexTensor,
    sizes: [usize; 3],
}

impl Backward<Flex, 2> for MatmulBackward {
    type State = MatmulState;

    fn backward(self, ops: Ops<MatmulState, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_weight] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let MatmulState { x, weight, sizes } = ops.state;
        let wanted = [node_x.is_some(), node_weight.is_some()];
        let (grad_x, grad_weight) =
            linear::backward(&values(&grad), &values(&x), &values(&weight), sizes, wanted);
        let [rows, inputs, outputs] = sizes;
        if let (Some(node), Some(grad_x)) = (node_x, grad_x) {
            grads.register::<Flex>(node.id, tensor(grad_x, [rows, inputs]));
        }
        if let (Some(node), Some(grad_weight)) = (node_weight, grad_weight) {
            grads.register::<Flex>(node.id, tensor(grad_weight, [inputs, outputs]));
        }
    }
}

impl<C: CheckpointStrategy> TrainOps for Autodiff<Flex, C> {
    fn conv2d_gemm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 4],
    ) -> FloatTensor<Self> {
        let (x, x_node) = x.into_parts();
        let (weight, weight_node) = weight.into_parts();
        let geometry = conv_geometry(&x, &weight, stride, padding);
        let (output, patches) = conv::forward(&values(&x), &values(&weight), &geometry);
        let output = conv_output(output, &geometry);
        match ConvBackward
            .prepare::<C>([x_node, weight_node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let patches = tensor(patches, [geometry.patch(), geometry.columns()]);
                let state = ConvState {
                    patches,
                    weight,
                    geometry,
                };
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }

    fn batch_norm_relu_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> NormalizedBatch<Self> {
        let (x, x_node) = x.into_parts();
        let (gamma, gamma_node) = gamma.into_parts();
        let (beta, beta_node) = beta.into_parts();
        let shape = norm_shape(&x);
        let (gamma, beta) = (values(&gamma).into_owned(), values(&beta).into_owned());
        let (data, layout) = planes(&x);
        let x_planes = norm::Planes {
            data: &data,
            layout,
        };
        let forward = norm::forward(x_planes, &gamma, &beta, epsilon, &shape);
        let channels = [shape.channels];
        let mean = FloatTensor::<Self>::new(tensor(forward.mean.clone(), channels));
        let variance = FloatTensor::<Self>::new(tensor(forward.variance, channels));
        let output = tensor(forward.output, x.layout().shape().clone());
        let output = match NormBackward
            .prepare::<C>([x_node, gamma_node, beta_node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let state = NormState {
                    x,
                    gamma,
                    beta,
                    mean: forward.mean,
                    inv_std: forward.inv_std,
                    shape,
                };
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(output),
        };
        NormalizedBatch {
            output,
            mean,
            variance,
        }
    }

    fn matmul_gemm(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        let (x, x_node) = x.into_parts();
        let (weight, weight_node) = weight.into_parts();
        let sizes = linear_sizes(&x, &weight);
        let [rows, _, outputs] = sizes;
        let output = tensor(
            linear::forward(&values(&x), &values(&weight), sizes),
            [rows, outputs],
        );
        match MatmulBackward
            .prepare::<C>([x_node, weight_node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(MatmulState { x, weight, sizes }, output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }
}
