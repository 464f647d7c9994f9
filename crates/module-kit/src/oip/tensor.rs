//! One input tensor decoded from the request: its datatype, its element count, and its
//! elements from JSON data or from the binary tensor extension's bytes.

use serde_json::{Number, Value};

use super::types::RequestInput;

/// Largest number of elements a request may declare: far beyond any input a module accepts,
/// and small enough that no count overflows.
const MAX_ELEMENTS: u64 = 1 << 32;

/// A decoded input tensor.
#[derive(Debug)]
pub(super) struct Tensor {
    pub(super) name: String,
    pub(super) shape: Vec<usize>,
    pub(super) elements: Elements,
}

/// A tensor's elements, decoded from any datatype into what JSON can hold.
#[derive(Debug)]
pub(super) enum Elements {
    Numbers(Vec<f64>),
    Bools(Vec<bool>),
    Texts(Vec<String>),
}

impl Elements {
    fn len(&self) -> usize {
        match self {
            Elements::Numbers(v) => v.len(),
            Elements::Bools(v) => v.len(),
            Elements::Texts(v) => v.len(),
        }
    }

    /// Element `i` as the JSON value the model's input parser reads.
    pub(super) fn json(&self, i: usize, tensor: &str) -> Result<Value, String> {
        match self {
            Elements::Numbers(v) => Number::from_f64(v[i]).map(Value::Number).ok_or_else(|| {
                format!("input '{tensor}' element {i} is not a finite number; give finite numbers")
            }),
            Elements::Bools(v) => Ok(Value::Bool(v[i])),
            Elements::Texts(v) => Ok(Value::String(v[i].clone())),
        }
    }
}

/// An element type of the protocol: its size in the binary encoding and how it decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Datatype {
    Bool,
    Unsigned(usize),
    Signed(usize),
    Float(usize),
    Bytes,
}

impl Datatype {
    fn parse(name: &str, tensor: &str) -> Result<Self, String> {
        Ok(match name {
            "BOOL" => Datatype::Bool,
            "UINT8" => Datatype::Unsigned(1),
            "UINT16" => Datatype::Unsigned(2),
            "UINT32" => Datatype::Unsigned(4),
            "UINT64" => Datatype::Unsigned(8),
            "INT8" => Datatype::Signed(1),
            "INT16" => Datatype::Signed(2),
            "INT32" => Datatype::Signed(4),
            "INT64" => Datatype::Signed(8),
            "FP32" => Datatype::Float(4),
            "FP64" => Datatype::Float(8),
            "BYTES" => Datatype::Bytes,
            "FP16" | "BF16" => {
                return Err(format!(
                    "input '{tensor}' has datatype {name}, which this server does not read; send FP32"
                ));
            }
            other => {
                return Err(format!(
                    "input '{tensor}' has unknown datatype '{other}' (BOOL, UINT8-64, INT8-64, FP32, FP64, BYTES)"
                ));
            }
        })
    }

    /// Bytes per element in the binary encoding; `None` for BYTES (length-prefixed).
    fn width(self) -> Option<usize> {
        match self {
            Datatype::Bool => Some(1),
            Datatype::Unsigned(w) | Datatype::Signed(w) | Datatype::Float(w) => Some(w),
            Datatype::Bytes => None,
        }
    }
}

/// The element count of a shape, refusing negative dimensions and counts that overflow.
fn element_count(shape: &[i64], tensor: &str) -> Result<usize, String> {
    let mut count: u64 = 1;
    for &dim in shape {
        let dim = u64::try_from(dim).map_err(|_| {
            format!("input '{tensor}' has a negative dimension in its shape {shape:?}")
        })?;
        count = count
            .checked_mul(dim)
            .filter(|&c| c <= MAX_ELEMENTS)
            .ok_or_else(|| {
                format!("input '{tensor}' shape {shape:?} has more than {MAX_ELEMENTS} elements")
            })?;
    }
    usize::try_from(count).map_err(|_| format!("input '{tensor}' shape {shape:?} is too large"))
}

pub(super) fn decode_input(input: RequestInput, binary: &mut &[u8]) -> Result<Tensor, String> {
    let name = input.name;
    let datatype = Datatype::parse(&input.datatype, &name)?;
    let count = element_count(&input.shape, &name)?;
    let binary_size = input
        .parameters
        .as_ref()
        .and_then(|p| p.get("binary_data_size"))
        .map(|size| {
            size.as_u64()
                .and_then(|s| usize::try_from(s).ok())
                .ok_or_else(|| format!("input '{name}' binary_data_size is not a byte count"))
        })
        .transpose()?;
    let elements = match (binary_size, input.data) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "input '{name}' has both data and binary_data_size; give one"
            ));
        }
        (Some(size), None) => {
            if size > binary.len() {
                return Err(format!(
                    "input '{name}' claims {size} bytes of binary data but only {} follow",
                    binary.len()
                ));
            }
            let (bytes, rest) = binary.split_at(size);
            *binary = rest;
            decode_binary(bytes, datatype, count, &name)?
        }
        (None, Some(data)) => decode_json(data, datatype, &name)?,
        (None, None) => return Err(format!("input '{name}' has no data")),
    };
    if elements.len() != count {
        return Err(format!(
            "input '{name}' has {} elements but its shape {:?} holds {count}",
            elements.len(),
            input.shape
        ));
    }
    let shape = input.shape.iter().map(|&d| d as usize).collect();
    Ok(Tensor {
        name,
        shape,
        elements,
    })
}

fn decode_binary(
    bytes: &[u8],
    datatype: Datatype,
    count: usize,
    name: &str,
) -> Result<Elements, String> {
    let Some(width) = datatype.width() else {
        return decode_binary_strings(bytes, name).map(Elements::Texts);
    };
    if bytes.len() != count * width {
        return Err(format!(
            "input '{name}' has {} bytes of binary data; its shape and datatype need {}",
            bytes.len(),
            count * width
        ));
    }
    let chunks = bytes.chunks_exact(width);
    Ok(match datatype {
        Datatype::Bool => Elements::Bools(chunks.map(|c| c[0] != 0).collect()),
        Datatype::Unsigned(_) => Elements::Numbers(chunks.map(|c| le_unsigned(c) as f64).collect()),
        Datatype::Signed(_) => Elements::Numbers(chunks.map(le_signed).collect()),
        Datatype::Float(4) => Elements::Numbers(
            chunks
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        ),
        Datatype::Float(_) => {
            Elements::Numbers(chunks.map(|c| f64::from_bits(le_unsigned(c))).collect())
        }
        Datatype::Bytes => unreachable!("BYTES has no fixed width"),
    })
}

pub(super) fn le_unsigned(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |value, &b| (value << 8) | u64::from(b))
}

/// A little-endian two's-complement integer of 1 to 8 bytes.
pub(super) fn le_signed(bytes: &[u8]) -> f64 {
    let bits = bytes.len() * 8;
    let value = le_unsigned(bytes);
    let shift = 64 - bits;
    (((value << shift) as i64) >> shift) as f64
}

fn decode_binary_strings(mut bytes: &[u8], name: &str) -> Result<Vec<String>, String> {
    let mut texts = Vec::new();
    while !bytes.is_empty() {
        let Some((length, rest)) = bytes.split_first_chunk::<4>() else {
            return Err(format!(
                "input '{name}' ends inside a BYTES element's length"
            ));
        };
        let length = u32::from_le_bytes(*length) as usize;
        if length > rest.len() {
            return Err(format!(
                "input '{name}' has a BYTES element longer than its data"
            ));
        }
        let (text, rest) = rest.split_at(length);
        let text = std::str::from_utf8(text)
            .map_err(|_| format!("input '{name}' has a BYTES element that is not UTF-8 text"))?;
        texts.push(text.to_owned());
        bytes = rest;
    }
    Ok(texts)
}

fn decode_json(data: Value, datatype: Datatype, name: &str) -> Result<Elements, String> {
    let mut flat = Vec::new();
    flatten(data, &mut flat);
    let wrong = |i: usize, what: &str| {
        format!("input '{name}' element {i} is not {what}; its datatype says so")
    };
    Ok(match datatype {
        Datatype::Bool => Elements::Bools(
            flat.iter()
                .enumerate()
                .map(|(i, v)| v.as_bool().ok_or_else(|| wrong(i, "true or false")))
                .collect::<Result<_, _>>()?,
        ),
        Datatype::Bytes => Elements::Texts(
            flat.into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(wrong(i, "a string")),
                })
                .collect::<Result<_, _>>()?,
        ),
        Datatype::Float(_) => Elements::Numbers(
            flat.iter()
                .enumerate()
                .map(|(i, v)| v.as_f64().ok_or_else(|| wrong(i, "a number")))
                .collect::<Result<_, _>>()?,
        ),
        Datatype::Unsigned(_) | Datatype::Signed(_) => Elements::Numbers(
            flat.iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_i64()
                        .map(|n| n as f64)
                        .or_else(|| v.as_u64().map(|n| n as f64))
                        .ok_or_else(|| wrong(i, "an integer"))
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Row-major elements of nested arrays (the protocol allows flat or nested data).
fn flatten(value: Value, out: &mut Vec<Value>) {
    match value {
        Value::Array(items) => items.into_iter().for_each(|item| flatten(item, out)),
        other => out.push(other),
    }
}
