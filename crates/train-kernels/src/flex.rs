//! [`TrainOps`] on flex: the kernels on contiguous f32 buffers, and the conversions between
//! those and flex tensors.

use std::borrow::Cow;

use burn::backend::Flex;
use burn::backend::flex::{FlexTensor, Layout};
use burn::tensor::{Bytes, DType, Shape};

use crate::{
    AdamOps, AdamUpdate, InferenceOps, NormalizedBatch, TrainOps, adam, conv, linear, norm,
};

/// A tensor's elements in row-major order: borrowed when already laid out so.
pub(crate) fn values(tensor: &FlexTensor) -> Cow<'_, [f32]> {
    match tensor.as_slice::<f32>() {
        Some(values) => Cow::Borrowed(values),
        None => Cow::Owned(
            tensor
                .to_contiguous()
                .as_slice::<f32>()
                .expect("f32")
                .to_vec(),
        ),
    }
}

/// A contiguous f32 tensor of `shape` holding `values`.
pub(crate) fn tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    let shape = shape.into();
    assert_eq!(
        values.len(),
        shape.num_elements(),
        "a buffer of the wrong size"
    );
    FlexTensor::new(
        Bytes::from_elems(values),
        Layout::contiguous(shape),
        DType::F32,
    )
}

/// An NCHW-shaped tensor's values and their [`norm::Layout`]: borrowed when laid out NCHW
/// or channel-major (a convolution's output, or the gradient batch norm writes for it),
/// copied to NCHW otherwise.
pub(crate) fn planes(tensor: &FlexTensor) -> (Cow<'_, [f32]>, norm::Layout) {
    if let Some(values) = tensor.as_slice::<f32>() {
        return (Cow::Borrowed(values), norm::Layout::Nchw);
    }
    let [batch, channels, height, width] = dims(tensor);
    let elements = batch * channels * height * width;
    let layout = tensor.layout();
    if layout.strides() == channel_major_strides([batch, channels, height, width])
        && layout.start_offset() == 0
        && tensor.storage::<f32>().len() == elements
    {
        return (
            Cow::Borrowed(tensor.storage::<f32>()),
            norm::Layout::ChannelMajor,
        );
    }
    (values(tensor), norm::Layout::Nchw)
}

/// The strides of an NCHW-shaped tensor stored channel by channel (`[channels, batch, h, w]`).
fn channel_major_strides([batch, _, height, width]: [usize; 4]) -> Vec<isize> {
    let plane = height * width;
    [plane, batch * plane, width, 1]
        .iter()
        .map(|&stride| stride as isize)
        .collect()
}

/// An NCHW-shaped f32 tensor of `dims` holding `values` laid out as `layout`.
pub(crate) fn planes_tensor(
    values: Vec<f32>,
    dims: [usize; 4],
    layout: norm::Layout,
) -> FlexTensor {
    match layout {
        norm::Layout::Nchw => tensor(values, dims),
        norm::Layout::ChannelMajor => {
            assert_eq!(
                values.len(),
                dims.iter().product::<usize>(),
                "a buffer of the wrong size"
            );
            FlexTensor::new(
                Bytes::from_elems(values),
                Layout::new(Shape::from(dims), channel_major_strides(dims), 0),
                DType::F32,
            )
        }
    }
}

pub(crate) fn dims<const D: usize>(tensor: &FlexTensor) -> [usize; D] {
    let shape = tensor.layout().shape();
    std::array::from_fn(|i| shape[i])
}

/// The geometry of a convolution of `x` by `weight`.
///
/// # Panics
/// When the shapes do not make a convolution: a bug in the caller, as burn's own conv panics.
pub(crate) fn conv_geometry(
    x: &FlexTensor,
    weight: &FlexTensor,
    stride: [usize; 2],
    [top, left, bottom, right]: [usize; 4],
) -> conv::Geometry {
    let [batch, channels_in, height, width] = dims(x);
    let [channels_out, weight_in, kh, kw] = dims(weight);
    assert_eq!(
        channels_in, weight_in,
        "conv2d: {channels_in} input channels, weights for {weight_in}"
    );
    let geometry = conv::Geometry {
        batch,
        channels_in,
        input: [height, width],
        channels_out,
        kernel: [kh, kw],
        stride,
        padding_start: [top, left],
        padding_end: [bottom, right],
    };
    assert!(
        u32::try_from(height * width).is_ok_and(|plane| plane < u32::MAX),
        "conv2d: input planes of {height}x{width} values exceed the u32 indices of the tap table"
    );
    assert!(
        geometry.output().is_some(),
        "conv2d: a {kh}x{kw} kernel with stride {stride:?} does not fit a {height}x{width} input"
    );
    geometry
}

pub(crate) fn norm_shape(x: &FlexTensor) -> norm::Shape {
    let [batch, channels, height, width] = dims(x);
    norm::Shape {
        batch,
        channels,
        plane: height * width,
    }
}

pub(crate) fn linear_sizes(x: &FlexTensor, weight: &FlexTensor) -> [usize; 3] {
    let [rows, inputs] = dims(x);
    let [weight_inputs, outputs] = dims(weight);
    assert_eq!(
        inputs, weight_inputs,
        "linear: rows of {inputs} values, weights for {weight_inputs}"
    );
    [rows, inputs, outputs]
}

/// A convolution's output, from [`conv::forward`]'s channel-major product.
pub(crate) fn conv_output(values: Vec<f32>, geometry: &conv::Geometry) -> FlexTensor {
    let [oh, ow] = geometry.output().expect("checked");
    planes_tensor(
        values,
        [geometry.batch, geometry.channels_out, oh, ow],
        norm::Layout::ChannelMajor,
    )
}

impl TrainOps for Flex {
    fn conv2d_gemm(
        x: FlexTensor,
        weight: FlexTensor,
        stride: [usize; 2],
        padding: [usize; 4],
    ) -> FlexTensor {
        let geometry = conv_geometry(&x, &weight, stride, padding);
        let (output, _) = conv::forward(&values(&x), &values(&weight), &geometry);
        conv_output(output, &geometry)
    }

    fn batch_norm_relu_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
    ) -> NormalizedBatch<Self> {
        let shape = norm_shape(&x);
        let (data, layout) = planes(&x);
        let forward = norm::forward(
            norm::Planes {
                data: &data,
                layout,
            },
            &values(&gamma),
            &values(&beta),
            epsilon,
            &shape,
        );
        NormalizedBatch {
            output: tensor(forward.output, dims::<4>(&x)),
            mean: tensor(forward.mean, [shape.channels]),
            variance: tensor(forward.variance, [shape.channels]),
        }
    }

    fn matmul_gemm(x: FlexTensor, weight: FlexTensor) -> FlexTensor {
        let sizes = linear_sizes(&x, &weight);
        let [rows, _, outputs] = sizes;
        tensor(
            linear::forward(&values(&x), &values(&weight), sizes),
            [rows, outputs],
        )
    }
}

/// `tensor` as a contiguous buffer of its own elements, offset 0, that `storage_mut` may
/// update in place (copied only when shared or laid out otherwise).
fn contiguous(tensor: FlexTensor) -> FlexTensor {
    let elements = tensor.layout().shape().num_elements();
    let exact = tensor.layout().contiguous_offsets() == Some((0, elements))
        && tensor.storage::<f32>().len() == elements;
    if exact {
        tensor
    } else {
        tensor.to_contiguous()
    }
}

impl InferenceOps for Flex {
    fn scale_shift_relu(x: FlexTensor, scale: FlexTensor, shift: FlexTensor) -> FlexTensor {
        let shape = norm_shape(&x);
        let (data, layout) = planes(&x);
        let x_planes = norm::Planes {
            data: &data,
            layout,
        };
        tensor(
            norm::scale_shift_relu(x_planes, &values(&scale), &values(&shift), &shape),
            dims::<4>(&x),
        )
    }
}

impl AdamOps for Flex {
    fn adam_step(
        param: FlexTensor,
        grad: FlexTensor,
        moment_1: FlexTensor,
        moment_2: FlexTensor,
        first: bool,
        coefficients: [f32; 7],
    ) -> AdamUpdate<Self> {
        let mut param = contiguous(param);
        let (mut moment_1, mut moment_2) = (contiguous(moment_1), contiguous(moment_2));
        adam::step(
            param.storage_mut(),
            &values(&grad),
            moment_1.storage_mut(),
            moment_2.storage_mut(),
            first,
            coefficients,
        );
        AdamUpdate {
            param,
            moment_1,
            moment_2,
        }
    }
}
