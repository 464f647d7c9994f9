//! Prepares a picture of a handwritten digit the way MNIST's images were prepared, so that
//! `mnist-inference` sees what it was trained on:
//!
//! 1. **grey**: any format and colour the `image` crate reads becomes grey levels (a
//!    transparent background is filled with the colour opposite to the ink);
//! 2. **invert** (automatic): MNIST digits are light on dark, so a picture whose border is
//!    lighter than mid-grey is inverted;
//! 3. **levels** (automatic): the background (the border's median) becomes 0 and the ink 255,
//!    and the faintest quarter of that range (paper texture, shadows) is cleared; after
//!    scaling, the brightest pixel is brought back to 255;
//! 4. **fit** (automatic): the digit's bounding box is cropped and scaled, keeping its aspect
//!    ratio, so that its longer side is 20 pixels;
//! 5. **center** (automatic): the 20x20 digit is placed in the 28x28 field with its centre of
//!    mass in the middle.
//!
//! Each automatic step can be turned off. With all of them off, a 28x28 image is passed
//! through unchanged, and any other size is only scaled to fit 28x28.
//!
//! Hostile pictures are bounded: sides beyond 16,384 pixels are refused from the header, the
//! decoder may allocate at most 256 MiB (a decompression bomb is refused before it expands),
//! and a picture larger than 2,048 pixels on its longer side is first reduced to that, so the
//! work after decoding takes a few tens of MiB whatever the photo. An animated picture is
//! read as its first frame; 16-bit and CMYK pictures are converted like any other.

use image::imageops::FilterType;
use image::{DynamicImage, ImageBuffer, ImageFormat, ImageReader, Luma};
use std::io::Cursor;
use std::path::Path;

/// Side of the output image.
pub const SIDE: usize = 28;
/// Side of the box MNIST scaled each digit into.
pub const DIGIT_BOX: usize = 20;

/// Pictures larger than this in either direction are refused before decoding.
const MAX_DIMENSION: u32 = 16_384;
/// Memory the decoder may allocate: a 48-megapixel RGB photo takes 144 MiB.
const MAX_DECODER_BYTES: u64 = 256 << 20;
/// Longer side a picture is worked on at; larger pictures are reduced (area averaging) first.
/// A digit drawn into MNIST's 20-pixel box loses nothing at this size.
const WORK_SIDE: u32 = 2_048;
/// Levels: the share of the background-to-ink range cleared as background.
const LEVELS_CUT: f32 = 0.25;
/// Levels: the ink level is that of the pixel of this rank (0 = brightest).
const INK_RANK: usize = 4;
/// Cropping ignores this share of the ink at each side, so a stray speck far from the digit
/// does not stretch its box.
const CROP_TRIM: f32 = 0.005;
/// Less contrast than this between border and ink means there is no digit to find.
const MIN_CONTRAST: f32 = 0.05;

/// Which automatic steps run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps {
    pub invert: Invert,
    pub levels: bool,
    pub fit: bool,
    pub center: bool,
}

impl Default for Steps {
    fn default() -> Self {
        Self {
            invert: Invert::Auto,
            levels: true,
            fit: true,
            center: true,
        }
    }
}

/// When to turn dark-on-light into light-on-dark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invert {
    /// When the picture's border is lighter than mid-grey.
    Auto,
    Always,
    Never,
}

/// Why a picture could not be converted; the message is one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError(pub String);

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.replace('\n', " "))
    }
}

impl std::error::Error for ConvertError {}

/// Decodes a picture in any enabled format, recognised by its content or, for formats
/// without a signature (TGA), by the extension of `name`.
pub fn decode(bytes: &[u8], name: Option<&Path>) -> Result<DynamicImage, ConvertError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ConvertError(format!("cannot read the picture: {e}")))?;
    if reader.format().is_none()
        && let Some(format) = name.and_then(|name| ImageFormat::from_path(name).ok())
    {
        reader.set_format(format);
    }
    if reader.format().is_none() {
        return Err(ConvertError(
            "not a picture in a known format (png, jpeg, gif, bmp, tiff, webp, pnm, ico, tga, qoi)"
                .into(),
        ));
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODER_BYTES);
    reader.limits(limits);
    reader
        .decode()
        .map_err(|e| ConvertError(format!("cannot decode the picture: {e}")))
}

/// The 784 grey levels (0 background to 255 ink, row-major) of the digit in `picture`.
pub fn convert(picture: &DynamicImage, steps: Steps) -> Result<Vec<u8>, ConvertError> {
    let reduced;
    let picture = if picture.width().max(picture.height()) > WORK_SIDE {
        reduced = picture.thumbnail(WORK_SIDE, WORK_SIDE);
        &reduced
    } else {
        picture
    };
    let mut grey = Grey::from_picture(picture);
    if grey.width == 0 || grey.height == 0 {
        return Err(ConvertError("the picture is empty (0 pixels)".into()));
    }
    let invert = match steps.invert {
        Invert::Auto => grey.border_median() > 0.5,
        Invert::Always => true,
        Invert::Never => false,
    };
    if invert {
        grey.values.iter_mut().for_each(|v| *v = 1.0 - *v);
    }
    if steps.levels {
        grey.stretch_levels()?;
    }
    let mut field = if steps.fit {
        let digit = grey.crop_to_ink()?.scale_to_fit(DIGIT_BOX);
        digit.place(steps.center)
    } else {
        let scaled = grey.scale_to_fit(SIDE);
        let placed = scaled.place(false);
        if steps.center {
            placed.center_by_mass()
        } else {
            placed
        }
    };
    if steps.levels {
        // Scaling down blurs thin strokes; MNIST's strokes reach full intensity.
        field.stretch_to_full_intensity();
    }
    Ok(field.to_levels())
}

/// Grey levels in 0..1, row-major.
#[derive(Debug, Clone, PartialEq)]
struct Grey {
    width: usize,
    height: usize,
    values: Vec<f32>,
}

impl Grey {
    fn from_picture(picture: &DynamicImage) -> Self {
        let (width, height) = (picture.width() as usize, picture.height() as usize);
        let values = match picture {
            // Grey pictures keep their exact levels (MNIST's own PNGs pass through unchanged).
            DynamicImage::ImageLuma8(image) => image
                .as_raw()
                .iter()
                .map(|&v| f32::from(v) / 255.0)
                .collect(),
            DynamicImage::ImageLuma16(image) => image
                .as_raw()
                .iter()
                .map(|&v| f32::from(v) / 65535.0)
                .collect(),
            _ => flatten_alpha(picture),
        };
        Self {
            width,
            height,
            values,
        }
    }

    fn at(&self, x: usize, y: usize) -> f32 {
        self.values[y * self.width + x]
    }

    /// The median of the outermost ring of pixels (a 5% frame, at least one pixel): the
    /// background, for nearly every picture of a digit.
    fn border_median(&self) -> f32 {
        let frame_x = (self.width / 20).max(1);
        let frame_y = (self.height / 20).max(1);
        let mut border: Vec<f32> = Vec::new();
        for y in 0..self.height {
            for x in 0..self.width {
                let in_frame = x < frame_x
                    || y < frame_y
                    || x >= self.width.saturating_sub(frame_x)
                    || y >= self.height.saturating_sub(frame_y);
                if in_frame {
                    border.push(self.at(x, y));
                }
            }
        }
        median(&mut border)
    }

    /// Background to 0, ink to 1, the faint part of the range cleared.
    fn stretch_levels(&mut self) -> Result<(), ConvertError> {
        let background = self.border_median();
        // The fifth-brightest pixel rather than the brightest: a few hot pixels are not the
        // ink, while a thin digit in a large photo still has more than five.
        let mut sorted = self.values.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let ink = sorted[INK_RANK.min(sorted.len() - 1)];
        if ink - background < MIN_CONTRAST {
            return Err(ConvertError(
                "no digit found: the picture has no ink lighter than its background \
                 (try --invert or --no-invert)"
                    .into(),
            ));
        }
        let cut = background + LEVELS_CUT * (ink - background);
        for v in &mut self.values {
            *v = ((*v - cut) / (ink - cut)).clamp(0.0, 1.0);
        }
        Ok(())
    }

    /// The part of the picture that holds the ink, ignoring a sliver of ink at each side.
    fn crop_to_ink(&self) -> Result<Grey, ConvertError> {
        let rows: Vec<f32> = (0..self.height)
            .map(|y| (0..self.width).map(|x| self.at(x, y)).sum())
            .collect();
        let columns: Vec<f32> = (0..self.width)
            .map(|x| (0..self.height).map(|y| self.at(x, y)).sum())
            .collect();
        let (Some((top, bottom)), Some((left, right))) =
            (trimmed_span(&rows), trimmed_span(&columns))
        else {
            return Err(ConvertError("no digit found: the picture is blank".into()));
        };
        let (width, height) = (right - left + 1, bottom - top + 1);
        let mut values = Vec::with_capacity(width * height);
        for y in top..=bottom {
            values.extend_from_slice(&self.values[y * self.width + left..=y * self.width + right]);
        }
        Ok(Grey {
            width,
            height,
            values,
        })
    }

    /// Scaled so that the longer side is `side`, keeping the aspect ratio.
    fn scale_to_fit(&self, side: usize) -> Grey {
        let longer = self.width.max(self.height) as f32;
        let width = ((self.width as f32 * side as f32 / longer).round() as usize).clamp(1, side);
        let height = ((self.height as f32 * side as f32 / longer).round() as usize).clamp(1, side);
        if (width, height) == (self.width, self.height) {
            return self.clone();
        }
        let Some(buffer) = ImageBuffer::<Luma<f32>, Vec<f32>>::from_raw(
            self.width as u32,
            self.height as u32,
            self.values.clone(),
        ) else {
            return self.clone();
        };
        let scaled =
            image::imageops::resize(&buffer, width as u32, height as u32, FilterType::Triangle);
        Grey {
            width,
            height,
            values: scaled
                .into_raw()
                .into_iter()
                .map(|v| v.clamp(0.0, 1.0))
                .collect(),
        }
    }

    /// This (at most 28x28) image in the 28x28 field: its centre of mass in the middle when
    /// `by_mass`, else its box in the middle.
    fn place(&self, by_mass: bool) -> Grey {
        let center = |size: usize| (SIDE - size) as f32 / 2.0;
        let (mut x0, mut y0) = (center(self.width), center(self.height));
        if by_mass && let Some((mass_x, mass_y)) = self.center_of_mass() {
            x0 = SIDE as f32 / 2.0 - mass_x;
            y0 = SIDE as f32 / 2.0 - mass_y;
        }
        // Whole pixels (as MNIST), and never pushing ink out of the field.
        let x0 = (x0.round() as isize).clamp(0, (SIDE - self.width) as isize) as usize;
        let y0 = (y0.round() as isize).clamp(0, (SIDE - self.height) as isize) as usize;
        let mut field = Grey {
            width: SIDE,
            height: SIDE,
            values: vec![0.0; SIDE * SIDE],
        };
        for y in 0..self.height {
            for x in 0..self.width {
                field.values[(y0 + y) * SIDE + x0 + x] = self.at(x, y);
            }
        }
        field
    }

    /// The 28x28 field shifted by whole pixels so that its centre of mass is in the middle,
    /// as far as that keeps the ink inside.
    fn center_by_mass(&self) -> Grey {
        let (Some((mass_x, mass_y)), Some(ink)) = (self.center_of_mass(), self.ink_box()) else {
            return self.clone();
        };
        let middle = SIDE as f32 / 2.0;
        let (left, top, right, bottom) = ink;
        let dx = ((middle - mass_x).round() as isize)
            .clamp(-(left as isize), (SIDE - 1 - right) as isize);
        let dy = ((middle - mass_y).round() as isize)
            .clamp(-(top as isize), (SIDE - 1 - bottom) as isize);
        let mut field = self.clone();
        field.values.iter_mut().for_each(|v| *v = 0.0);
        for y in top..=bottom {
            for x in left..=right {
                let (nx, ny) = ((x as isize + dx) as usize, (y as isize + dy) as usize);
                field.values[ny * SIDE + nx] = self.at(x, y);
            }
        }
        field
    }

    /// The intensity-weighted mean position, pixel centres at `i + 0.5`.
    fn center_of_mass(&self) -> Option<(f32, f32)> {
        let (mut total, mut sum_x, mut sum_y) = (0f64, 0f64, 0f64);
        for y in 0..self.height {
            for x in 0..self.width {
                let v = f64::from(self.at(x, y));
                total += v;
                sum_x += v * (x as f64 + 0.5);
                sum_y += v * (y as f64 + 0.5);
            }
        }
        (total > 0.0).then(|| ((sum_x / total) as f32, (sum_y / total) as f32))
    }

    /// `(left, top, right, bottom)` of the non-zero pixels.
    fn ink_box(&self) -> Option<(usize, usize, usize, usize)> {
        let mut found: Option<(usize, usize, usize, usize)> = None;
        for y in 0..self.height {
            for x in 0..self.width {
                if self.at(x, y) > 0.0 {
                    found = Some(match found {
                        None => (x, y, x, y),
                        Some((l, t, r, b)) => (l.min(x), t.min(y), r.max(x), b.max(y)),
                    });
                }
            }
        }
        found
    }

    fn stretch_to_full_intensity(&mut self) {
        let brightest = self.values.iter().copied().fold(0.0, f32::max);
        if brightest > 0.0 {
            self.values
                .iter_mut()
                .for_each(|v| *v = (*v / brightest).min(1.0));
        }
    }

    fn to_levels(&self) -> Vec<u8> {
        self.values
            .iter()
            .map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
            .collect()
    }
}

/// Grey levels of a colour picture; transparency is filled with the colour opposite to the
/// ink (the opaque pixels' mean), so that dark and light ink on a transparent background both
/// stay visible.
fn flatten_alpha(picture: &DynamicImage) -> Vec<f32> {
    let rgba = picture.to_rgba32f();
    let luma = |p: &image::Rgba<f32>| 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2];
    let (mut opaque, mut opaque_sum) = (0f64, 0f64);
    for p in rgba.pixels() {
        opaque += f64::from(p[3]);
        opaque_sum += f64::from(p[3] * luma(p));
    }
    let ink_is_dark = opaque == 0.0 || opaque_sum / opaque < 0.5;
    let background = if ink_is_dark { 1.0 } else { 0.0 };
    rgba.pixels()
        .map(|p| {
            let alpha = p[3].clamp(0.0, 1.0);
            (alpha * luma(p) + (1.0 - alpha) * background).clamp(0.0, 1.0)
        })
        .collect()
}

fn median(values: &mut [f32]) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f32::total_cmp);
    values[values.len() / 2]
}

/// First and last index of `mass` once `CROP_TRIM` of the total is ignored at each end;
/// `None` when there is no mass.
fn trimmed_span(mass: &[f32]) -> Option<(usize, usize)> {
    let total: f32 = mass.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let skip = total * CROP_TRIM;
    let first = cumulative_index(mass.iter().copied().enumerate(), skip)?;
    let last = cumulative_index(mass.iter().copied().enumerate().rev(), skip)?;
    (first <= last).then_some((first, last))
}

/// The first index (in iteration order) where the running sum exceeds `skip` and the value
/// is non-zero.
fn cumulative_index(values: impl Iterator<Item = (usize, f32)>, skip: f32) -> Option<usize> {
    let mut running = 0.0;
    for (index, value) in values {
        running += value;
        if running > skip && value > 0.0 {
            return Some(index);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Rgba, RgbaImage};

    /// A dark "1" (a vertical bar) on white paper, `width` x `height`.
    fn paper_one(width: u32, height: u32) -> DynamicImage {
        let mut picture = RgbaImage::from_pixel(width, height, Rgba([235, 230, 220, 255]));
        for y in height / 4..height * 3 / 4 {
            for x in width / 3..width / 3 + (width / 12).max(1) {
                picture.put_pixel(x, y, Rgba([20, 20, 30, 255]));
            }
        }
        DynamicImage::ImageRgba8(picture)
    }

    fn mnist_like() -> DynamicImage {
        let mut image = GrayImage::new(28, 28);
        for y in 6..22 {
            for x in 12..15 {
                image.put_pixel(x, y, Luma([if x == 13 { 255 } else { 90 }]));
            }
        }
        DynamicImage::ImageLuma8(image)
    }

    const OFF: Steps = Steps {
        invert: Invert::Auto,
        levels: false,
        fit: false,
        center: false,
    };

    #[test]
    fn an_mnist_image_passes_through_unchanged_with_the_steps_off() {
        let picture = mnist_like();
        let converted = convert(&picture, OFF).unwrap();
        assert_eq!(converted, picture.to_luma8().into_raw());
    }

    #[test]
    fn a_photo_of_dark_ink_on_paper_becomes_a_light_digit_on_black_in_a_20px_box() {
        let out = convert(&paper_one(600, 400), Steps::default()).unwrap();
        assert_eq!(out.len(), SIDE * SIDE);
        let ink: Vec<(usize, usize)> = (0..SIDE * SIDE)
            .filter(|&i| out[i] > 0)
            .map(|i| (i % SIDE, i / SIDE))
            .collect();
        let (top, bottom) = (
            ink.iter().map(|p| p.1).min().unwrap(),
            ink.iter().map(|p| p.1).max().unwrap(),
        );
        assert_eq!(bottom - top + 1, DIGIT_BOX, "the longer side is 20 pixels");
        assert_eq!(out[0], 0, "background is black");
        assert_eq!(*out.iter().max().unwrap(), 255, "ink is white");
        let rows: f32 = ink.iter().map(|p| p.1 as f32).sum::<f32>() / ink.len() as f32;
        assert!((rows + 0.5 - 14.0).abs() < 1.0, "centred: {rows}");
    }

    #[test]
    fn centre_of_mass_moves_the_digit_to_the_middle() {
        let mut picture = GrayImage::new(28, 28);
        for y in 2..8 {
            for x in 2..6 {
                picture.put_pixel(x, y, Luma([255]));
            }
        }
        let picture = DynamicImage::ImageLuma8(picture);
        let steps = Steps {
            center: true,
            ..OFF
        };
        let out = convert(&picture, steps).unwrap();
        let lit: Vec<usize> = (0..SIDE * SIDE).filter(|&i| out[i] == 255).collect();
        assert_eq!(lit.len(), 24);
        // Mass at (4, 5) moves to (14, 14): columns 12-15, rows 11-16.
        assert!(
            lit.contains(&(11 * SIDE + 12)) && lit.contains(&(16 * SIDE + 15)),
            "{lit:?}"
        );
    }

    #[test]
    fn light_ink_on_a_transparent_background_stays_visible() {
        let mut picture = RgbaImage::from_pixel(50, 50, Rgba([0, 0, 0, 0]));
        for y in 10..40 {
            for x in 22..28 {
                picture.put_pixel(x, y, Rgba([255, 255, 255, 255]));
            }
        }
        let out = convert(&DynamicImage::ImageRgba8(picture), Steps::default()).unwrap();
        assert_eq!(out[0], 0);
        assert_eq!(*out.iter().max().unwrap(), 255);
        let mut dark = RgbaImage::from_pixel(50, 50, Rgba([0, 0, 0, 0]));
        for y in 10..40 {
            dark.put_pixel(25, y, Rgba([0, 0, 0, 255]));
        }
        let out = convert(&DynamicImage::ImageRgba8(dark), Steps::default()).unwrap();
        assert_eq!(
            *out.iter().max().unwrap(),
            255,
            "dark ink on transparency is inverted"
        );
    }

    #[test]
    fn a_blank_picture_is_an_error_not_a_panic() {
        let white = DynamicImage::ImageLuma8(GrayImage::from_pixel(40, 30, Luma([255])));
        let message = convert(&white, Steps::default()).unwrap_err().to_string();
        assert!(message.contains("no digit found"), "{message}");
        let black = DynamicImage::ImageLuma8(GrayImage::new(28, 28));
        let message = convert(
            &black,
            Steps {
                levels: false,
                ..Steps::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(message.contains("blank"), "{message}");
        assert_eq!(convert(&black, OFF).unwrap(), vec![0; SIDE * SIDE]);
    }

    #[test]
    fn tiny_and_thin_pictures_do_not_panic() {
        for (w, h) in [(1, 1), (1, 50), (50, 1), (3, 2)] {
            let picture = DynamicImage::ImageLuma8(GrayImage::from_fn(w, h, |x, _| {
                Luma([if x == 0 { 255 } else { 0 }])
            }));
            for steps in [
                Steps::default(),
                OFF,
                Steps {
                    invert: Invert::Never,
                    ..Steps::default()
                },
            ] {
                if let Ok(out) = convert(&picture, steps) {
                    assert_eq!(out.len(), SIDE * SIDE);
                }
            }
        }
    }

    #[test]
    fn without_fitting_other_sizes_are_only_scaled_into_the_field() {
        let picture = DynamicImage::ImageLuma8(GrayImage::from_pixel(56, 28, Luma([200])));
        let out = convert(
            &picture,
            Steps {
                invert: Invert::Never,
                ..OFF
            },
        )
        .unwrap();
        assert_eq!(out[7 * SIDE + 3], 200, "a 28x14 band in the middle");
        assert_eq!(out[3 * SIDE + 3], 0);
    }

    #[test]
    fn decode_refuses_what_is_not_a_picture() {
        let message = decode(b"hello", None).unwrap_err().to_string();
        assert!(
            message.contains("not a picture in a known format"),
            "{message}"
        );
        let mut png = Vec::new();
        mnist_like()
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        assert!(decode(&png, None).is_ok());
        let message = decode(&png[..png.len() / 2], None).unwrap_err().to_string();
        assert!(message.contains("cannot decode"), "{message}");
    }
}
