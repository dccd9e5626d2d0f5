//! `images:DIR`: a folder of PNG/JPEG files, decoded with the `image` crate.

use std::path::{Path, PathBuf};

use image::imageops::{self, FilterType};
use image::{ImageReader, RgbImage};

use super::error::one_line;
use super::{DataError, PixelDataset};

/// Extensions read (compared case-insensitively); other files in the folder are ignored.
const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Every `*.png`, `*.jpg`, `*.jpeg` directly in `dir` (not in subfolders), in byte order of
/// the file names, decoded eagerly at open — simple and fast enough for folders of up to some
/// ten thousand small images — into RGB bytes (grey is replicated, alpha dropped, 16-bit
/// reduced to 8). Shape `[3, S, S]`, pixels scaled by x/127.5 − 1, no labels.
///
/// With `size = Some(S)` each image is resized so its short side is S (the long side
/// ⌊S·long/short⌋, torchvision's `Resize(S)`; bilinear with area-proportional support when
/// shrinking, `image`'s `Triangle` filter) and centre-cropped to S × S (offset
/// round((long − S)/2), halves to even, as torchvision's `CenterCrop`). With `None` every image
/// must have the size of the first ([`DataError::ImageSize`] otherwise) and the shape is
/// `[3, H, W]`.
///
/// Errors: a missing folder ([`DataError::Missing`]), no image files
/// ([`DataError::EmptyFolder`]), a file that does not decode ([`DataError::Image`] naming it),
/// `size = Some(0)`.
pub fn image_folder_dataset(dir: &Path, size: Option<u32>) -> Result<PixelDataset, DataError> {
    if !dir.is_dir() {
        return Err(DataError::Missing {
            path: dir.to_owned(),
            what: "image directory".into(),
        });
    }
    if size == Some(0) {
        return Err(DataError::Option {
            spec: format!("images:{}", dir.display()),
            problem: "image size must be at least 1".into(),
        });
    }
    let files = image_files(dir)?;
    let mut pixels = Vec::new();
    let mut shape = None;
    for file in &files {
        let rgb = decode(file)?;
        let rgb = match size {
            Some(s) => resize_crop(rgb, s),
            None => rgb,
        };
        let dims = rgb.dimensions();
        match shape {
            None => shape = Some(dims),
            Some(first) if first != dims => {
                return Err(DataError::ImageSize {
                    path: file.clone(),
                    expected: first,
                    found: dims,
                });
            }
            Some(_) => {}
        }
        append_chw(&rgb, &mut pixels);
    }
    let (w, h) = shape.expect("at least one image was decoded");
    Ok(PixelDataset::new(pixels, [3, h as usize, w as usize], None))
}

fn image_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        let is_image = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)));
        if is_image && path.is_file() {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(DataError::EmptyFolder {
            path: dir.to_owned(),
            what: "*.png, *.jpg or *.jpeg files",
        });
    }
    files.sort();
    Ok(files)
}

fn decode(path: &Path) -> Result<RgbImage, DataError> {
    let image_error = |message: String| DataError::Image {
        path: path.to_owned(),
        message: one_line(&message),
    };
    // The format is guessed from the content, so a JPEG saved as .png still reads.
    let reader = ImageReader::open(path)
        .map_err(|e| DataError::io(path, e))?
        .with_guessed_format()
        .map_err(|e| image_error(e.to_string()))?;
    let image = reader.decode().map_err(|e| image_error(e.to_string()))?;
    Ok(image.to_rgb8())
}

/// Resize so the short side is `size`, then take the central `size × size` square.
fn resize_crop(image: RgbImage, size: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    if (w, h) == (size, size) {
        return image;
    }
    let long = |l: u32, s: u32| ((u64::from(size) * u64::from(l)) / u64::from(s)).max(1) as u32;
    let (nw, nh) = if w <= h {
        (size, long(h, w))
    } else {
        (long(w, h), size)
    };
    let resized = if (nw, nh) == (w, h) {
        image
    } else {
        imageops::resize(&image, nw, nh, FilterType::Triangle)
    };
    let left = centre_offset(nw, size);
    let top = centre_offset(nh, size);
    imageops::crop_imm(&resized, left, top, size, size).to_image()
}

/// round((len − size)/2) with halves to even, Python's `round` as torchvision uses it.
fn centre_offset(len: u32, size: u32) -> u32 {
    let d = len - size;
    let half = d / 2;
    if d % 2 == 1 && half % 2 == 1 {
        half + 1
    } else {
        half
    }
}

/// Appends an interleaved RGB image as three planes (CHW).
fn append_chw(image: &RgbImage, out: &mut Vec<u8>) {
    let raw = image.as_raw();
    for c in 0..3 {
        out.extend(raw.iter().skip(c).step_by(3));
    }
}

/// One PNG/JPEG file as a sample of shape `[C, H, W]` (C = 1: its luma, C = 3: RGB), pixels
/// scaled as the datasets scale them (x/127.5 − 1): the input of `scoreflow edit`.
///
/// # Errors
/// [`DataError::Image`] for a file that does not decode; a format error naming the file for an
/// image of another size, or a shape with other than 1 or 3 channels.
pub fn read_image(path: &Path, shape: &[usize]) -> Result<Vec<f32>, DataError> {
    let [channels, height, width] = match shape {
        [c, h, w] if *c == 1 || *c == 3 => [*c, *h, *w],
        _ => {
            return Err(DataError::format(
                path,
                format!("an image cannot hold samples of shape {shape:?} (need [1 or 3, H, W])"),
            ));
        }
    };
    let rgb = decode(path)?;
    let (w, h) = rgb.dimensions();
    if (w as usize, h as usize) != (width, height) {
        return Err(DataError::format(
            path,
            format!("is {w}×{h}, the model makes {width}×{height} images"),
        ));
    }
    let mut planes = Vec::with_capacity(3 * width * height);
    append_chw(&rgb, &mut planes);
    let plane = width * height;
    Ok(if channels == 3 {
        planes.into_iter().map(super::scale_pixel).collect()
    } else {
        // ITU-R BT.601 luma, as `image`'s to_luma8.
        (0..plane)
            .map(|i| {
                let (r, g, b) = (
                    f32::from(planes[i]),
                    f32::from(planes[plane + i]),
                    f32::from(planes[2 * plane + i]),
                );
                let luma = (0.299 * r + 0.587 * g + 0.114 * b)
                    .round()
                    .clamp(0.0, 255.0);
                super::scale_pixel(luma as u8)
            })
            .collect()
    })
}
