//! Bounded decoding of untrusted images: JPEG and PNG only, byte and pixel
//! limits checked before the pixels are allocated, EXIF orientation applied.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};

/// Limits on one decoded image. The defaults admit a phone camera's photo and
/// refuse decompression bombs.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(default)]
pub struct DecodeLimits {
    pub max_bytes: usize,
    pub max_width: u32,
    pub max_height: u32,
    /// Bytes the decoder may allocate.
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits { max_bytes: 8 << 20, max_width: 6000, max_height: 6000, max_alloc: 256 << 20 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the image is larger than {0} bytes")]
    TooManyBytes(usize),
    #[error("only JPEG and PNG images are accepted")]
    UnsupportedFormat,
    #[error("the image is larger than the allowed dimensions")]
    TooLarge,
    #[error("the image could not be decoded: {0}")]
    Corrupt(String),
}

impl ImageError {
    /// A stable reason code for logs, JSON output and the journal.
    pub fn code(&self) -> &'static str {
        match self {
            ImageError::TooManyBytes(_) => "image_too_many_bytes",
            ImageError::UnsupportedFormat => "image_unsupported_format",
            ImageError::TooLarge => "image_too_large",
            ImageError::Corrupt(_) => "image_corrupt",
        }
    }
}

/// Decodes `bytes` into RGB, upright as the camera saw it.
pub fn decode_image(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, ImageError> {
    if bytes.len() > limits.max_bytes {
        return Err(ImageError::TooManyBytes(limits.max_bytes));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| ImageError::Corrupt(e.to_string()))?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png) => {}
        _ => return Err(ImageError::UnsupportedFormat),
    }
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_width);
    decoder_limits.max_image_height = Some(limits.max_height);
    decoder_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(map_err)?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(map_err)?;
    img.apply_orientation(orientation);
    // `into_rgb8` takes the buffer as it is when the decoder already gave RGB8.
    Ok(img.into_rgb8())
}

fn map_err(e: image::ImageError) -> ImageError {
    match e {
        image::ImageError::Limits(_) => ImageError::TooLarge,
        image::ImageError::Unsupported(_) => ImageError::UnsupportedFormat,
        other => ImageError::Corrupt(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_pixel(w, h, image::Rgb([10, 20, 30]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn decodes_within_limits() {
        let img = decode_image(&png(40, 30), &DecodeLimits::default()).unwrap();
        assert_eq!(img.dimensions(), (40, 30));
        assert_eq!(img.get_pixel(0, 0).0, [10, 20, 30]);
    }

    #[test]
    fn refuses_what_is_too_big_before_decoding() {
        let limits = DecodeLimits { max_width: 100, max_height: 100, ..Default::default() };
        assert!(matches!(decode_image(&png(101, 10), &limits), Err(ImageError::TooLarge)));
        let limits = DecodeLimits { max_bytes: 10, ..Default::default() };
        assert!(matches!(decode_image(&png(2, 2), &limits), Err(ImageError::TooManyBytes(10))));
    }

    #[test]
    fn refuses_garbage_and_other_formats() {
        assert!(matches!(decode_image(b"not an image", &DecodeLimits::default()), Err(ImageError::UnsupportedFormat)));
        assert!(matches!(decode_image(b"GIF89a\x01\x00\x01\x00", &DecodeLimits::default()), Err(ImageError::UnsupportedFormat)));
        let mut truncated = png(50, 50);
        truncated.truncate(truncated.len() / 2);
        assert!(matches!(decode_image(&truncated, &DecodeLimits::default()), Err(ImageError::Corrupt(_))));
    }

    #[test]
    fn a_bomb_is_refused_by_dimensions() {
        // A PNG header claiming 60000×60000 pixels with almost no data.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&60000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&60000u32.to_be_bytes());
        assert!(decode_image(&bomb, &DecodeLimits::default()).is_err());
    }

    /// A JPEG whose EXIF says "rotate 90° clockwise" (orientation 6) decodes upright.
    #[test]
    fn exif_orientation_is_applied() {
        let img = RgbImage::from_pixel(40, 30, image::Rgb([200, 100, 50]));
        let mut jpeg = Cursor::new(Vec::new());
        img.write_to(&mut jpeg, ImageFormat::Jpeg).unwrap();
        let jpeg = jpeg.into_inner();
        // APP1 "Exif" with a little-endian TIFF header and one IFD entry: 0x0112 = 6.
        let mut tiff = b"II*\0\x08\0\0\0".to_vec();
        tiff.extend_from_slice(&1u16.to_le_bytes());
        tiff.extend_from_slice(&0x0112u16.to_le_bytes());
        tiff.extend_from_slice(&3u16.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&[6, 0, 0, 0]);
        tiff.extend_from_slice(&0u32.to_le_bytes());
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut with_exif = vec![0xFF, 0xD8, 0xFF, 0xE1];
        with_exif.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        with_exif.extend_from_slice(&app1);
        with_exif.extend_from_slice(&jpeg[2..]);
        let decoded = decode_image(&with_exif, &DecodeLimits::default()).unwrap();
        assert_eq!(decoded.dimensions(), (30, 40), "rotated upright");
        assert_eq!(decode_image(&jpeg, &DecodeLimits::default()).unwrap().dimensions(), (40, 30));
    }
}
