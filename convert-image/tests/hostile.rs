//! Hostile pictures: each one gives the 784 levels of a correct answer or one error line with
//! exit code 2, with the process held by the kernel (prlimit) to the documented bound of
//! 512 MiB of address space and 20 s of CPU time. A run that needed more would be killed or
//! fail to allocate, and the test would see a signal or an abort instead of the contract.

use std::io::{Cursor, Write};
use std::path::Path;
use std::process::{Command, Output};

use flate2::Crc;
use flate2::write::ZlibEncoder;
use image::codecs::gif::GifEncoder;
use image::{DynamicImage, Frame, GrayImage, ImageFormat, Luma, Rgb, RgbImage, Rgba, RgbaImage};

const BINARY: &str = env!("CARGO_BIN_EXE_convert-image");
/// The memory bound README promises, enforced as the address-space limit.
const MEMORY_BOUND: u64 = 512 << 20;
const CPU_SECONDS: u64 = 20;

fn pictures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pictures"))
}

/// convert-image on `path`, under the memory and CPU bounds.
fn run_bounded(path: &Path) -> Output {
    Command::new("prlimit")
        .arg(format!("--as={MEMORY_BOUND}"))
        .arg(format!("--cpu={CPU_SECONDS}"))
        .arg(BINARY)
        .arg(path)
        .output()
        .expect("prlimit (util-linux) runs convert-image")
}

/// The contract: 784 levels, or exit 2 with one line naming the problem. Returns the levels,
/// or the error line.
fn contract(path: &Path) -> Result<Vec<u8>, String> {
    let output = run_bounded(path);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let name = path.file_name().unwrap().to_string_lossy();
    if output.status.success() {
        let levels: Vec<u8> = serde_json::from_slice(&output.stdout).expect("a JSON array");
        assert_eq!(levels.len(), 784, "{name}");
        return Ok(levels);
    }
    assert_eq!(
        output.status.code(),
        Some(2),
        "{name}: {:?} {stderr}",
        output.status
    );
    assert!(output.stdout.is_empty(), "{name}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{name}: one line: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    Err(stderr)
}

fn answer(path: &Path) -> Vec<u8> {
    contract(path).unwrap_or_else(|e| panic!("{} is answered, not: {e}", path.display()))
}

fn refused(path: &Path, expected: &str) {
    let message = contract(path)
        .err()
        .unwrap_or_else(|| panic!("{} is refused", path.display()));
    assert!(message.contains(expected), "{expected}: {message}");
}

/// Mean absolute difference of two 28x28 results, in grey levels.
fn distance(a: &[u8], b: &[u8]) -> f64 {
    let sum: u32 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| u32::from(x.abs_diff(y)))
        .sum();
    f64::from(sum) / a.len() as f64
}

/// Asserts two answers are within `bar` of each other; `context` begins the message.
fn assert_near(a: &[u8], b: &[u8], bar: f64, context: &str) {
    let distance = distance(a, b);
    assert!(distance < bar, "{context}{distance}");
}

fn save(dir: &Path, name: &str, picture: &DynamicImage, format: ImageFormat) -> std::path::PathBuf {
    let path = dir.join(name);
    picture.save_with_format(&path, format).unwrap();
    path
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    out.extend(kind);
    out.extend(data);
    let mut crc = Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend(crc.sum().to_be_bytes());
}

/// A PNG of `width` x `height` 8-bit pixels of `channels` (1 grey, 4 RGBA) whose rows come
/// from `row`, compressed as it is written: a picture of hundreds of megapixels in a file of
/// a few hundred KiB, made without holding the picture.
fn streamed_png(width: u32, height: u32, channels: u8, row: impl Fn(u32, &mut [u8])) -> Vec<u8> {
    let colour_type = if channels == 1 { 0 } else { 6 };
    let mut header = Vec::new();
    header.extend(width.to_be_bytes());
    header.extend(height.to_be_bytes());
    header.extend([8, colour_type, 0, 0, 0]);
    let mut pixels = vec![0u8; width as usize * channels as usize];
    let mut encoder = ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    for y in 0..height {
        pixels.fill(0);
        row(y, &mut pixels);
        encoder.write_all(&[0]).unwrap();
        encoder.write_all(&pixels).unwrap();
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &encoder.finish().unwrap());
    chunk(&mut png, b"IEND", &[]);
    png
}

/// A light vertical bar (a "1") on black, `width` x `height`, as rows.
fn bar(width: u32, height: u32) -> impl Fn(u32, &mut [u8]) {
    move |y, row| {
        if (height / 4..height * 3 / 4).contains(&y) {
            let (left, right) = (width * 45 / 100, width * 55 / 100);
            row[left as usize..right as usize].fill(255);
        }
    }
}

#[test]
fn dimensions_far_beyond_any_photo_are_refused_from_the_header() {
    let dir = tempfile::tempdir().unwrap();
    // A PNG header claiming 100,000 x 100,000 pixels, with no pixels behind it.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend(100_000u32.to_be_bytes());
    header.extend(100_000u32.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IEND", &[]);
    let path = dir.path().join("huge.png");
    std::fs::write(&path, png).unwrap();
    refused(&path, "cannot decode the picture");

    // A BMP header claiming 60,000 x 60,000 24-bit pixels.
    let mut bmp = b"BM".to_vec();
    bmp.extend(54u32.to_le_bytes());
    bmp.extend([0; 4]);
    bmp.extend(54u32.to_le_bytes());
    bmp.extend(40u32.to_le_bytes());
    bmp.extend(60_000i32.to_le_bytes());
    bmp.extend(60_000i32.to_le_bytes());
    bmp.extend(1u16.to_le_bytes());
    bmp.extend(24u16.to_le_bytes());
    bmp.extend([0; 24]);
    let path = dir.path().join("huge.bmp");
    std::fs::write(&path, bmp).unwrap();
    refused(&path, "cannot decode the picture");
}

#[test]
fn a_decompression_bomb_beyond_the_decoder_budget_is_refused_before_it_expands() {
    let dir = tempfile::tempdir().unwrap();
    // 16,384 x 16,384 RGBA: 1 GiB decoded, about 1 MiB on disk.
    let path = dir.path().join("bomb.png");
    std::fs::write(&path, streamed_png(16_384, 16_384, 4, |_, _| {})).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 4 << 20);
    refused(&path, "cannot decode the picture");
}

#[test]
fn the_largest_picture_the_budget_admits_is_answered_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    // 15,000 x 15,000 grey: 215 MiB decoded, under the decoder's 256 MiB, then reduced.
    let side = 15_000;
    let path = dir.path().join("large.png");
    std::fs::write(&path, streamed_png(side, side, 1, bar(side, side))).unwrap();
    let large = answer(&path);
    // The same drawing at a size that is worked on directly gives the same digit.
    let small = GrayImage::from_fn(1_500, 1_500, |x, y| {
        let mut row = [0u8; 1_500];
        bar(1_500, 1_500)(y, &mut row);
        Luma([row[x as usize]])
    });
    let small = save(
        dir.path(),
        "small.png",
        &DynamicImage::ImageLuma8(small),
        ImageFormat::Png,
    );
    assert_near(&large, &answer(&small), 6.0, "");
}

#[test]
fn truncated_files_are_one_line_or_an_answer_never_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let seven = image::open(pictures().join("seven-rgb.png")).unwrap();
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::Bmp,
        ImageFormat::Tiff,
        ImageFormat::WebP,
    ] {
        let mut bytes = Vec::new();
        seven
            .write_to(&mut Cursor::new(&mut bytes), format)
            .unwrap();
        for keep in [bytes.len() / 2, bytes.len() - 1, 20, 1] {
            let path = dir
                .path()
                .join(format!("cut-{keep}.{}", format.extensions_str()[0]));
            std::fs::write(&path, &bytes[..keep]).unwrap();
            let _ = contract(&path);
        }
    }
}

#[test]
fn an_animated_picture_is_read_as_its_first_frame() {
    let dir = tempfile::tempdir().unwrap();
    let seven = image::open(pictures().join("seven-rgb.png"))
        .unwrap()
        .to_rgba8();
    let blank = RgbaImage::from_pixel(seven.width(), seven.height(), Rgba([235, 232, 225, 255]));
    let path = dir.path().join("animated.gif");
    {
        let file = std::fs::File::create(&path).unwrap();
        let mut encoder = GifEncoder::new(file);
        encoder
            .encode_frames([Frame::new(seven.clone()), Frame::new(blank)])
            .unwrap();
    }
    let still = save(
        dir.path(),
        "still.gif",
        &DynamicImage::ImageRgba8(seven),
        ImageFormat::Gif,
    );
    assert_eq!(answer(&path), answer(&still));
}

#[test]
fn sixteen_bit_and_cmyk_pictures_give_the_eight_bit_rgb_answer() {
    let dir = tempfile::tempdir().unwrap();
    let rgb_path = pictures().join("seven-rgb.png");
    let reference = answer(&rgb_path);
    let seven = image::open(&rgb_path).unwrap();
    let rgb16 = DynamicImage::ImageRgb16(seven.to_rgb16());
    let grey16 = DynamicImage::ImageLuma16(seven.to_luma16());
    let grey8 = DynamicImage::ImageLuma8(seven.to_luma8());
    for (name, picture) in [("rgb16.png", rgb16), ("grey16.png", grey16.clone())] {
        let path = save(dir.path(), name, &picture, ImageFormat::Png);
        assert_near(&answer(&path), &reference, 2.0, &format!("{name}: "));
    }
    // Grey pictures keep their exact levels: 16-bit grey gives what 8-bit grey gives.
    let grey8 = answer(&save(dir.path(), "grey8.png", &grey8, ImageFormat::Png));
    let grey16 = answer(&save(dir.path(), "grey16b.png", &grey16, ImageFormat::Png));
    assert!(distance(&grey8, &grey16) < 1.0);
    // CMYK as print workflows write it (made with Pillow from seven-rgb.png).
    for name in ["seven-cmyk.jpg", "seven-cmyk.tif"] {
        let levels = answer(&pictures().join(name));
        assert_near(&levels, &reference, 8.0, &format!("{name}: "));
    }
}

#[test]
fn an_rgb_bomb_within_the_dimension_limit_but_not_the_budget_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // 12,000 x 12,000 RGBA would be 549 MiB decoded: over the decoder's 256 MiB.
    let path = dir.path().join("wide.png");
    let png = streamed_png(12_000, 12_000, 4, |_, _| {});
    std::fs::write(&path, png).unwrap();
    refused(&path, "cannot decode the picture");
    // And an ordinary photo-sized picture goes through the reduction and is answered.
    let photo = RgbImage::from_fn(4_000, 3_000, |x, y| {
        let ink = (1_700..2_300).contains(&x) && (700..2_300).contains(&y);
        if ink {
            Rgb([25, 25, 40])
        } else {
            Rgb([230, 228, 220])
        }
    });
    let path = save(
        dir.path(),
        "photo.jpg",
        &DynamicImage::ImageRgb8(photo),
        ImageFormat::Jpeg,
    );
    let levels = answer(&path);
    assert!(levels.iter().any(|&v| v > 200), "the bar is found");
}
