//! A burnpack record (`model.bpk`, what Burn's training writes) read in place: a 10-byte header
//! (magic, version, metadata length), CBOR metadata naming each tensor's dtype, shape and byte
//! range, then the tensors' little-endian bytes from a 256-byte boundary.
//!
//! Read here rather than through `burn-pack`'s reader because that one takes ownership of the
//! buffer in Burn's allocation types: a module would copy its embedded record (AG News: 5.7 MB)
//! into fresh memory on every run and link burn-std's code to do it. Here a tensor is a slice
//! of the embedded bytes, and an embedding row is read only when a token asks for it. The
//! tests check this reader against `burn-pack`'s writer.

use std::collections::BTreeMap;

use serde::Deserialize;

/// "BURN", little-endian.
const MAGIC: u32 = 0x4255_524E;
/// The burnpack format version this reader knows (burn-pack 0.22's `FORMAT_VERSION`).
const FORMAT_VERSION: u16 = 1;
const HEADER_BYTES: usize = 10;
const TENSOR_ALIGNMENT: usize = 256;
/// Deeper CBOR than any record's metadata: a corrupt file cannot exhaust the stack.
const MAX_CBOR_DEPTH: usize = 32;

/// Why a record could not be read, or does not hold what a network needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("model.bpk is not a burnpack record ({0})")]
    NotBurnpack(&'static str),
    #[error("model.bpk is burnpack version {0}; this build reads version {FORMAT_VERSION}")]
    Version(u16),
    #[error("model.bpk's metadata is invalid: {0}")]
    Metadata(String),
    #[error("model.bpk has no tensor '{0}'")]
    Missing(String),
    #[error("model.bpk's tensor '{name}' is {found}; this network reads F32")]
    DType { name: String, found: String },
    #[error("model.bpk's tensor '{name}' has shape {found:?}; this network needs {expected:?}")]
    Shape {
        name: String,
        found: Vec<u64>,
        expected: Vec<usize>,
    },
    #[error("model.bpk's tensor '{0}' lies outside the file or does not fill its shape")]
    Bounds(String),
}

#[derive(Debug, Deserialize)]
struct Metadata {
    tensors: BTreeMap<String, Descriptor>,
}

#[derive(Debug, Deserialize)]
struct Descriptor {
    /// burn's `DType`, externally tagged: the text `"F32"` for the tensors read here; other
    /// dtypes (quantized ones are maps) are named in the error.
    dtype: ciborium::Value,
    shape: Vec<u64>,
    data_offsets: (u64, u64),
}

/// The tensors of a record, each a slice of the record's bytes.
#[derive(Debug)]
pub struct Record<'a> {
    data: &'a [u8],
    tensors: BTreeMap<String, Descriptor>,
}

impl<'a> Record<'a> {
    /// Reads the header and the metadata; tensor bytes are checked when a tensor is taken.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, RecordError> {
        let header = bytes
            .get(..HEADER_BYTES)
            .ok_or(RecordError::NotBurnpack("shorter than its header"))?;
        if u32::from_le_bytes([header[0], header[1], header[2], header[3]]) != MAGIC {
            return Err(RecordError::NotBurnpack("no BURN magic number"));
        }
        let version = u16::from_le_bytes([header[4], header[5]]);
        if version != FORMAT_VERSION {
            return Err(RecordError::Version(version));
        }
        let metadata_len = u32::from_le_bytes([header[6], header[7], header[8], header[9]]);
        let metadata_end = usize::try_from(metadata_len)
            .ok()
            .and_then(|len| HEADER_BYTES.checked_add(len))
            .filter(|&end| end <= bytes.len())
            .ok_or(RecordError::NotBurnpack("metadata runs past the end"))?;
        let metadata: Metadata = ciborium::de::from_reader_with_recursion_limit(
            &bytes[HEADER_BYTES..metadata_end],
            MAX_CBOR_DEPTH,
        )
        .map_err(|e| RecordError::Metadata(e.to_string()))?;
        let data_start = metadata_end.div_ceil(TENSOR_ALIGNMENT) * TENSOR_ALIGNMENT;
        Ok(Self {
            data: bytes.get(data_start..).unwrap_or_default(),
            tensors: metadata.tensors,
        })
    }

    /// The names of the record's tensors, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Tensor `name`, which must be F32 of exactly `shape`, as values.
    pub fn f32s(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, RecordError> {
        Ok(self.f32_view(name, shape)?.to_vec())
    }

    /// Tensor `name`, which must be F32 of exactly `shape`, left in the record's bytes.
    pub fn f32_view(&self, name: &str, shape: &[usize]) -> Result<F32View<'a>, RecordError> {
        let descriptor = self
            .tensors
            .get(name)
            .ok_or_else(|| RecordError::Missing(name.to_owned()))?;
        if descriptor.dtype.as_text() != Some("F32") {
            return Err(RecordError::DType {
                name: name.to_owned(),
                found: dtype_name(&descriptor.dtype),
            });
        }
        let same_shape = descriptor.shape.len() == shape.len()
            && descriptor
                .shape
                .iter()
                .zip(shape)
                .all(|(&found, &expected)| u64::try_from(expected) == Ok(found));
        if !same_shape {
            return Err(RecordError::Shape {
                name: name.to_owned(),
                found: descriptor.shape.clone(),
                expected: shape.to_vec(),
            });
        }
        let bounds = || RecordError::Bounds(name.to_owned());
        let (start, end) = descriptor.data_offsets;
        let start = usize::try_from(start).map_err(|_| bounds())?;
        let end = usize::try_from(end).map_err(|_| bounds())?;
        let bytes = self.data.get(start..end).ok_or_else(bounds)?;
        let elements = shape
            .iter()
            .try_fold(1usize, |n, &axis| n.checked_mul(axis));
        if elements.and_then(|n| n.checked_mul(4)) != Some(bytes.len()) {
            return Err(bounds());
        }
        Ok(F32View { bytes })
    }
}

fn dtype_name(dtype: &ciborium::Value) -> String {
    match dtype {
        ciborium::Value::Text(text) => text.clone(),
        ciborium::Value::Map(entries) => entries
            .first()
            .and_then(|(key, _)| key.as_text())
            .unwrap_or("an unknown dtype")
            .to_owned(),
        _ => "an unknown dtype".to_owned(),
    }
}

/// F32 values left in a record's little-endian bytes, decoded on access.
#[derive(Debug, Clone, Copy)]
pub struct F32View<'a> {
    bytes: &'a [u8],
}

impl F32View<'_> {
    pub fn len(&self) -> usize {
        self.bytes.len() / 4
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Values `start..start + out.len()` into `out`.
    ///
    /// # Panics
    /// When the range is outside the view: callers index rows they checked.
    pub fn read_into(&self, start: usize, out: &mut [f32]) {
        let bytes = &self.bytes[start * 4..(start + out.len()) * 4];
        for (value, word) in out.iter_mut().zip(bytes.chunks_exact(4)) {
            *value = f32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        }
    }

    pub fn to_vec(&self) -> Vec<f32> {
        let mut values = vec![0.0; self.len()];
        self.read_into(0, &mut values);
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(tensors: Vec<(&str, burn_pack::DType, Vec<usize>, Vec<u8>)>) -> Vec<u8> {
        let tensors = tensors
            .into_iter()
            .map(|(name, dtype, shape, bytes)| {
                burn_pack::Tensor::new(
                    name.to_owned(),
                    dtype,
                    shape,
                    None,
                    burn_pack::Bytes::from_bytes_vec(bytes),
                )
            })
            .collect();
        burn_pack::Writer::new(tensors)
            .into_bytes()
            .unwrap()
            .to_vec()
    }

    fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn reads_what_burn_pack_writes() {
        let weight: Vec<f32> = (0..600).map(|i| i as f32 * 0.5 - 7.25).collect();
        let bias = [1.5f32, -2.0, 3.25];
        let bytes = pack(vec![
            (
                "layer.weight",
                burn_pack::DType::F32,
                vec![200, 3],
                f32_bytes(&weight),
            ),
            (
                "layer.bias",
                burn_pack::DType::F32,
                vec![3],
                f32_bytes(&bias),
            ),
        ]);
        let record = Record::parse(&bytes).unwrap();
        assert_eq!(
            record.names().collect::<Vec<_>>(),
            ["layer.bias", "layer.weight"]
        );
        assert_eq!(record.f32s("layer.weight", &[200, 3]).unwrap(), weight);
        assert_eq!(record.f32s("layer.bias", &[3]).unwrap(), bias);
        let view = record.f32_view("layer.weight", &[200, 3]).unwrap();
        let mut row = [0.0; 3];
        view.read_into(3 * 199, &mut row);
        assert_eq!(row, weight[597..600]);
    }

    #[test]
    fn names_what_a_network_does_not_find() {
        let bytes = pack(vec![
            ("w", burn_pack::DType::F32, vec![2, 2], f32_bytes(&[0.0; 4])),
            ("h", burn_pack::DType::F16, vec![2], vec![0; 4]),
        ]);
        let record = Record::parse(&bytes).unwrap();
        assert_eq!(
            record.f32s("b", &[2]),
            Err(RecordError::Missing("b".into()))
        );
        assert_eq!(
            record.f32s("w", &[4]).unwrap_err().to_string(),
            "model.bpk's tensor 'w' has shape [2, 2]; this network needs [4]"
        );
        assert_eq!(
            record.f32s("h", &[2]).unwrap_err().to_string(),
            "model.bpk's tensor 'h' is F16; this network reads F32"
        );
    }

    #[test]
    fn refuses_damaged_records_without_panicking() {
        let good = pack(vec![(
            "w",
            burn_pack::DType::F32,
            vec![64],
            f32_bytes(&[1.0; 64]),
        )]);
        assert!(matches!(
            Record::parse(b"BUR"),
            Err(RecordError::NotBurnpack(_))
        ));
        assert!(matches!(
            Record::parse(b"NOPE0000000000"),
            Err(RecordError::NotBurnpack(_))
        ));
        let mut newer = good.clone();
        newer[4] = 9;
        assert_eq!(Record::parse(&newer).unwrap_err(), RecordError::Version(9));
        let mut long_metadata = good.clone();
        long_metadata[6..10].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            Record::parse(&long_metadata),
            Err(RecordError::NotBurnpack(_))
        ));
        // Every truncation either fails to parse or fails to take the tensor.
        for len in 0..good.len() {
            let taken = Record::parse(&good[..len]).and_then(|r| r.f32s("w", &[64]));
            assert!(taken.is_err(), "a record cut to {len} bytes was read");
        }
        // Every single-byte corruption of the metadata is an error or a clean read.
        for at in HEADER_BYTES..HEADER_BYTES + 40 {
            let mut bad = good.clone();
            bad[at] ^= 0xff;
            let _ = Record::parse(&bad).and_then(|r| r.f32s("w", &[64]));
        }
    }
}
