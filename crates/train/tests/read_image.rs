//! `read_image`, the PNG input of `scoreflow edit`: pixels come back scaled as the datasets
//! scale them (x/127.5 − 1), RGB as three planes, grey as BT.601 luma; other sizes and shapes
//! are errors naming the file.

use image::{Rgb, RgbImage};
use scoreflow_train::data::{read_image, scale_pixel};

fn write_png(dir: &std::path::Path) -> (std::path::PathBuf, RgbImage) {
    let img = RgbImage::from_fn(5, 4, |x, y| {
        Rgb([(x * 50) as u8, (y * 60) as u8, ((x + y) * 20) as u8])
    });
    let path = dir.join("in.png");
    img.save(&path).unwrap();
    (path, img)
}

#[test]
fn rgb_and_grey_pixels_are_scaled_like_the_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let (path, img) = write_png(dir.path());
    let rgb = read_image(&path, &[3, 4, 5]).unwrap();
    for c in 0..3 {
        for y in 0..4u32 {
            for x in 0..5u32 {
                let want = scale_pixel(img.get_pixel(x, y)[c]);
                assert_eq!(
                    rgb[c * 20 + (y * 5 + x) as usize],
                    want,
                    "channel {c} ({x}, {y})"
                );
            }
        }
    }
    let grey = read_image(&path, &[1, 4, 5]).unwrap();
    for (i, p) in img.pixels().enumerate() {
        let luma = (0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
            .round() as u8;
        assert_eq!(grey[i], scale_pixel(luma), "pixel {i}");
    }
}

#[test]
fn other_sizes_and_shapes_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_png(dir.path());
    let err = read_image(&path, &[3, 5, 5]).unwrap_err().to_string();
    assert!(err.contains("5×4") && err.contains("in.png"), "{err}");
    let err = read_image(&path, &[2, 4, 5]).unwrap_err().to_string();
    assert!(err.contains("shape"), "{err}");
    std::fs::write(dir.path().join("bad.png"), b"not a png").unwrap();
    assert!(read_image(&dir.path().join("bad.png"), &[3, 4, 5]).is_err());
}
