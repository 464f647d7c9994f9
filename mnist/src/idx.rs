//! A reader for the IDX files MNIST is published in: a big-endian header (two zero bytes, a
//! type code, the number of dimensions, then each dimension as a u32) followed by the raw
//! values. Everything the header promises is checked against what the file holds, so a
//! corrupt or truncated file is an error that says what is wrong, never a panic or a silent
//! short dataset.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use flate2::read::GzDecoder;

use crate::input::{CLASSES, PIXELS, SIDE};

/// Magic number of an IDX file of unsigned bytes with three dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with one dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The largest decompressed file accepted: the training images are 47,040,016 bytes, so this
/// leaves room while stopping a gzip bomb from filling memory.
const MAX_DECOMPRESSED_BYTES: u64 = 64 << 20;

/// Reads and gunzips a `.gz` file, refusing anything that decompresses beyond the limit.
pub fn read_gzip(path: &Path) -> Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    decompress(file).with_context(|| path.display().to_string())
}

/// Gunzips bytes already read, with the same limit as [`read_gzip`].
pub fn gunzip(bytes: &[u8]) -> Result<Vec<u8>> {
    decompress(bytes)
}

fn decompress(compressed: impl Read) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    GzDecoder::new(compressed)
        .take(MAX_DECOMPRESSED_BYTES + 1)
        .read_to_end(&mut bytes)
        .context("not a readable gzip file")?;
    if bytes.len() as u64 > MAX_DECOMPRESSED_BYTES {
        bail!("decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes; it is not an MNIST file");
    }
    Ok(bytes)
}

/// Parses an IDX image file: 28x28 unsigned bytes per image.
pub fn parse_images(bytes: &[u8]) -> Result<Vec<[u8; PIXELS]>> {
    let dims = parse_header(bytes, IMAGES_MAGIC, 3, "images")?;
    let [count, rows, cols] = [dims[0], dims[1], dims[2]];
    if rows != SIDE || cols != SIDE {
        bail!("images are {rows}x{cols}, not {SIDE}x{SIDE}");
    }
    let body = body(bytes, 3, count, PIXELS)?;
    Ok(body
        .chunks_exact(PIXELS)
        .map(|chunk| {
            let mut image = [0u8; PIXELS];
            image.copy_from_slice(chunk);
            image
        })
        .collect())
}

/// Parses an IDX label file: one byte per image, each a digit 0-9.
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>> {
    let dims = parse_header(bytes, LABELS_MAGIC, 1, "labels")?;
    let labels = body(bytes, 1, dims[0], 1)?;
    if let Some((index, label)) = labels
        .iter()
        .enumerate()
        .find(|(_, label)| usize::from(**label) >= CLASSES.len())
    {
        bail!("label {index} is {label}, not a digit 0-9");
    }
    Ok(labels.to_vec())
}

/// Checks the magic number and returns the dimensions.
fn parse_header(bytes: &[u8], magic: u32, num_dims: usize, what: &str) -> Result<Vec<usize>> {
    let header_len = 4 + 4 * num_dims;
    let truncated = || {
        anyhow!(
            "truncated: {} bytes, shorter than the {header_len}-byte IDX header of {what}",
            bytes.len()
        )
    };
    if bytes.len() < 4 {
        return Err(truncated());
    }
    let found = read_u32(bytes, 0);
    if found != magic {
        bail!(
            "magic number is 0x{found:08x}, not 0x{magic:08x} (IDX {what}); is this the right file?"
        );
    }
    if bytes.len() < header_len {
        return Err(truncated());
    }
    Ok((0..num_dims)
        .map(|i| read_u32(bytes, 4 + 4 * i) as usize)
        .collect())
}

/// The values after the header, which must be exactly `count` items of `item_len` bytes.
fn body(bytes: &[u8], num_dims: usize, count: usize, item_len: usize) -> Result<&[u8]> {
    let header_len = 4 + 4 * num_dims;
    let body = &bytes[header_len..];
    let expected = count.checked_mul(item_len);
    match expected {
        Some(expected) if body.len() == expected => Ok(body),
        Some(expected) if body.len() < expected => bail!(
            "truncated: the header announces {count} items ({expected} bytes) but only {} bytes follow",
            body.len()
        ),
        Some(expected) => bail!(
            "{} bytes follow the header, more than the {count} items ({expected} bytes) it announces",
            body.len()
        ),
        None => bail!("the header announces an impossible {count} items"),
    }
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An IDX image file holding `images`.
    pub(crate) fn images_file(images: &[[u8; PIXELS]]) -> Vec<u8> {
        let mut bytes = IMAGES_MAGIC.to_be_bytes().to_vec();
        for dim in [images.len() as u32, SIDE as u32, SIDE as u32] {
            bytes.extend(dim.to_be_bytes());
        }
        images.iter().for_each(|image| bytes.extend(image));
        bytes
    }

    /// An IDX label file holding `labels`.
    pub(crate) fn labels_file(labels: &[u8]) -> Vec<u8> {
        let mut bytes = LABELS_MAGIC.to_be_bytes().to_vec();
        bytes.extend((labels.len() as u32).to_be_bytes());
        bytes.extend(labels);
        bytes
    }

    fn error(result: Result<impl std::fmt::Debug>) -> String {
        format!("{:#}", result.unwrap_err())
    }

    #[test]
    fn reads_images_and_labels() {
        let mut image = [0u8; PIXELS];
        image[29] = 255;
        let images = parse_images(&images_file(&[image, [7; PIXELS]])).unwrap();
        assert_eq!(images.len(), 2);
        assert_eq!(images[0][29], 255);
        assert_eq!(images[1][PIXELS - 1], 7);
        assert_eq!(
            parse_labels(&labels_file(&[3, 9, 0])).unwrap(),
            vec![3, 9, 0]
        );
    }

    #[test]
    fn a_wrong_magic_number_is_named() {
        let message = error(parse_images(&labels_file(&[1, 2])));
        assert!(
            message.contains("magic number is 0x00000801, not 0x00000803"),
            "{message}"
        );
        let message = error(parse_labels(&images_file(&[[0; PIXELS]])));
        assert!(message.contains("not 0x00000801"), "{message}");
    }

    #[test]
    fn truncated_and_oversized_files_are_refused() {
        let file = images_file(&[[1; PIXELS], [2; PIXELS]]);
        let message = error(parse_images(&file[..file.len() - 1]));
        assert!(
            message.contains("truncated") && message.contains("2 items"),
            "{message}"
        );
        let message = error(parse_images(&file[..10]));
        assert!(
            message.contains("shorter than the 16-byte IDX header"),
            "{message}"
        );
        let mut longer = file;
        longer.push(0);
        assert!(error(parse_images(&longer)).contains("more than the 2 items"));
        let labels = labels_file(&[1, 2, 3]);
        assert!(error(parse_labels(&labels[..labels.len() - 2])).contains("truncated"));
    }

    #[test]
    fn wrong_image_sizes_and_labels_are_refused() {
        let mut file = images_file(&[[0; PIXELS]]);
        file[11] = 27;
        assert!(error(parse_images(&file)).contains("images are 27x28"));
        assert!(error(parse_labels(&labels_file(&[1, 10]))).contains("label 1 is 10"));
    }

    #[test]
    fn a_huge_announced_count_is_an_error_not_an_allocation() {
        let mut file = labels_file(&[]);
        file[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(error(parse_labels(&file)).contains("truncated"));
    }

    #[test]
    fn corrupt_gzip_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.gz");
        std::fs::write(&path, b"not gzip at all").unwrap();
        assert!(error(read_gzip(&path)).contains("not a readable gzip file"));
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, &labels_file(&[4, 2])).unwrap();
        let mut gz = encoder.finish().unwrap();
        std::fs::write(&path, &gz).unwrap();
        assert_eq!(
            parse_labels(&read_gzip(&path).unwrap()).unwrap(),
            vec![4, 2]
        );
        gz.truncate(gz.len() - 12);
        std::fs::write(&path, &gz).unwrap();
        assert!(error(read_gzip(&path)).contains("not a readable gzip file"));
    }
}
