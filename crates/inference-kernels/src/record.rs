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

use minicbor::Decoder;
use minicbor::data::Type;
use minicbor::decode::Error as CborError;

/// "BURN", little-endian.
const MAGIC: u32 = 0x4255_524E;
/// The burnpack format version this reader knows (burn-pack 0.22's `FORMAT_VERSION`).
const FORMAT_VERSION: u16 = 1;
const HEADER_BYTES: usize = 10;
const TENSOR_ALIGNMENT: usize = 256;

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

/// One tensor's entry in the metadata (burn-pack's `TensorDescriptor`; its other fields, such
/// as `param_id`, are skipped).
#[derive(Debug)]
struct Descriptor {
    /// burn's `DType` name: the text `"F32"` for the tensors read here; other dtypes
    /// (quantized ones are maps, named by their one key) are named in the error.
    dtype: String,
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
        let tensors = read_metadata(&bytes[HEADER_BYTES..metadata_end])
            .map_err(|e| RecordError::Metadata(e.to_string()))?;
        let data_start = metadata_end.div_ceil(TENSOR_ALIGNMENT) * TENSOR_ALIGNMENT;
        Ok(Self {
            data: bytes.get(data_start..).unwrap_or_default(),
            tensors,
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
        if descriptor.dtype != "F32" {
            return Err(RecordError::DType {
                name: name.to_owned(),
                found: descriptor.dtype.clone(),
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

/// burn-pack's `Metadata` (a CBOR map): its `tensors` map; other entries are skipped.
fn read_metadata(bytes: &[u8]) -> Result<BTreeMap<String, Descriptor>, CborError> {
    let mut decoder = Decoder::new(bytes);
    let mut tensors = None;
    for_each_entry(&mut decoder, |d| {
        if d.str()? != "tensors" {
            return d.skip();
        }
        let mut found = BTreeMap::new();
        for_each_entry(d, |d| {
            let name = d.str()?.to_owned();
            found.insert(name, read_descriptor(d)?);
            Ok(())
        })?;
        tensors = Some(found);
        Ok(())
    })?;
    tensors.ok_or_else(|| CborError::message("missing field `tensors`"))
}

fn read_descriptor(d: &mut Decoder<'_>) -> Result<Descriptor, CborError> {
    let (mut dtype, mut shape, mut data_offsets) = (None, None, None);
    for_each_entry(d, |d| {
        match d.str()? {
            "dtype" => dtype = Some(read_dtype(d)?),
            "shape" => shape = Some(d.array_iter::<u64>()?.collect::<Result<Vec<_>, _>>()?),
            "data_offsets" => {
                let offsets = d.array_iter::<u64>()?.collect::<Result<Vec<_>, _>>()?;
                let [start, end] = offsets[..] else {
                    return Err(CborError::message("data_offsets is not a pair"));
                };
                data_offsets = Some((start, end));
            }
            _ => d.skip()?,
        }
        Ok(())
    })?;
    let missing = |field| CborError::message(format!("missing field `{field}`"));
    Ok(Descriptor {
        dtype: dtype.ok_or_else(|| missing("dtype"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
        data_offsets: data_offsets.ok_or_else(|| missing("data_offsets"))?,
    })
}

/// burn's `DType`, externally tagged: a unit variant is its name as text, a variant with data
/// (the quantized types) a map whose one key is its name.
fn read_dtype(d: &mut Decoder<'_>) -> Result<String, CborError> {
    let name = match d.datatype()? {
        Type::String => return Ok(d.str()?.to_owned()),
        Type::Map | Type::MapIndef => {
            let mut probe = d.clone();
            probe.map()?;
            probe.str().map(str::to_owned).ok()
        }
        _ => None,
    };
    d.skip()?;
    Ok(name.unwrap_or_else(|| "an unknown dtype".to_owned()))
}

/// Calls `entry` once per key-value pair of the map at the decoder's position (of definite or
/// indefinite length); `entry` reads the key and the value.
fn for_each_entry<'b>(
    d: &mut Decoder<'b>,
    mut entry: impl FnMut(&mut Decoder<'b>) -> Result<(), CborError>,
) -> Result<(), CborError> {
    match d.map()? {
        Some(entries) => {
            // Each entry reads at least one byte, so a forged length ends at the input's end.
            for _ in 0..entries {
                entry(d)?;
            }
        }
        None => {
            while d.datatype()? != Type::Break {
                entry(d)?;
            }
            d.set_position(d.position() + 1);
        }
    }
    Ok(())
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
            .enumerate()
            .map(|(i, (name, dtype, shape, bytes))| {
                burn_pack::Tensor::new(
                    name.to_owned(),
                    dtype,
                    shape,
                    // Training's records carry parameter ids: fields this reader skips.
                    Some(i as u64 + 11),
                    burn_pack::Bytes::from_bytes_vec(bytes),
                )
            })
            .collect();
        burn_pack::Writer::new(tensors)
            .with_metadata("written_by", "the kernels tests")
            .into_bytes()
            .unwrap()
            .to_vec()
    }

    /// A record with hand-written CBOR metadata and `data` at the first aligned offset.
    fn record_with_metadata(metadata: &[u8], data: &[u8]) -> Vec<u8> {
        let mut bytes = MAGIC.to_le_bytes().to_vec();
        bytes.extend(FORMAT_VERSION.to_le_bytes());
        bytes.extend(u32::try_from(metadata.len()).unwrap().to_le_bytes());
        bytes.extend(metadata);
        bytes.resize(bytes.len().div_ceil(TENSOR_ALIGNMENT) * TENSOR_ALIGNMENT, 0);
        bytes.extend(data);
        bytes
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
    fn reads_indefinite_lengths_and_names_a_dtype_written_as_a_map() {
        // What another CBOR writer may produce for the same metadata: indefinite-length maps
        // and arrays, fields in another order, an unknown field, a quantized dtype (a map).
        let mut metadata = Vec::new();
        let mut e = minicbor::Encoder::new(&mut metadata);
        e.begin_map()
            .unwrap()
            .str("scalars")
            .unwrap()
            .map(0)
            .unwrap();
        e.str("tensors").unwrap().begin_map().unwrap();
        e.str("w").unwrap().begin_map().unwrap();
        e.str("data_offsets").unwrap().begin_array().unwrap();
        e.u64(0).unwrap().u64(8).unwrap().end().unwrap();
        e.str("future_field")
            .unwrap()
            .array(1)
            .unwrap()
            .str("x")
            .unwrap();
        e.str("shape")
            .unwrap()
            .begin_array()
            .unwrap()
            .u64(2)
            .unwrap()
            .end()
            .unwrap();
        e.str("dtype").unwrap().str("F32").unwrap();
        e.end().unwrap();
        e.str("q").unwrap().map(3).unwrap();
        e.str("dtype")
            .unwrap()
            .map(1)
            .unwrap()
            .str("QFloat")
            .unwrap();
        e.map(1).unwrap().str("value").unwrap().str("Q8S").unwrap();
        e.str("shape").unwrap().array(1).unwrap().u64(4).unwrap();
        e.str("data_offsets")
            .unwrap()
            .array(2)
            .unwrap()
            .u64(8)
            .unwrap()
            .u64(12)
            .unwrap();
        e.end().unwrap().end().unwrap();
        let bytes = record_with_metadata(&metadata, &f32_bytes(&[1.5, -2.5, 0.0]));
        let record = Record::parse(&bytes).unwrap();
        assert_eq!(record.f32s("w", &[2]).unwrap(), [1.5, -2.5]);
        assert_eq!(
            record.f32s("q", &[4]).unwrap_err().to_string(),
            "model.bpk's tensor 'q' is QFloat; this network reads F32"
        );
    }

    /// `{"tensors": {"w": {...}}}`, the innermost map of `entries` pairs written by `fields`.
    fn tensor_w(
        entries: u64,
        fields: impl FnOnce(&mut minicbor::Encoder<&mut Vec<u8>>),
    ) -> Vec<u8> {
        let mut metadata = Vec::new();
        let mut e = minicbor::Encoder::new(&mut metadata);
        e.map(1).unwrap().str("tensors").unwrap().map(1).unwrap();
        e.str("w").unwrap().map(entries).unwrap();
        fields(&mut e);
        metadata
    }

    #[test]
    fn names_what_the_metadata_lacks() {
        let message = |metadata: &[u8]| {
            Record::parse(&record_with_metadata(metadata, &[]))
                .unwrap_err()
                .to_string()
        };
        // {} and {"tensors": {"w": {"dtype": "F32", "shape": [1]}}}
        assert!(message(&[0xa0]).contains("missing field `tensors`"));
        let no_offsets = tensor_w(2, |e| {
            e.str("dtype").unwrap().str("F32").unwrap();
            e.str("shape").unwrap().array(1).unwrap().u64(1).unwrap();
        });
        assert!(message(&no_offsets).contains("missing field `data_offsets`"));
        // data_offsets of three numbers; a map claiming 2^63 entries over a few bytes.
        let three_offsets = tensor_w(1, |e| {
            e.str("data_offsets").unwrap().array(3).unwrap();
            e.u64(0).unwrap().u64(4).unwrap().u64(8).unwrap();
        });
        assert!(message(&three_offsets).contains("data_offsets is not a pair"));
        let forged = [0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x61, b'a', 0x01];
        assert!(message(&forged).starts_with("model.bpk's metadata is invalid"));
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
