//! Round trips through files written here: `.npy` (f32/f64, C/Fortran order, big-endian,
//! labels), MNIST IDX (raw and gzip), CIFAR-10 batches and image folders; the spec syntax; and
//! the real 5,000-digit MNIST sample of `../shared` when it is present.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use image::{ImageBuffer, Luma, Rgb, RgbImage};
use ndarray::{Array2, Array3, ShapeBuilder};
use ndarray_npy::write_npy;
use scoreflow_train::data::{
    DataKind, DataOptions, DataSpec, Dataset, Split, Toy, open, scale_pixel,
};

fn read_all(ds: &dyn Dataset) -> (Vec<f32>, Vec<Option<u32>>) {
    let len: usize = ds.sample_shape().iter().product();
    let mut x = vec![0.0; ds.len() * len];
    let labels = x
        .chunks_exact_mut(len)
        .enumerate()
        .map(|(i, out)| ds.read(i, out).unwrap())
        .collect();
    (x, labels)
}

fn open_spec(spec: &str, options: &DataOptions) -> Box<dyn Dataset> {
    open(&spec.parse().unwrap(), options).unwrap()
}

fn npy_spec(path: &Path) -> String {
    format!("npy:{}", path.display())
}

#[test]
fn npy_f32_c_order_reads_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    let array = Array3::from_shape_fn((4, 2, 3), |(i, j, k)| {
        (i * 6 + j * 3 + k) as f32 * 0.25 - 2.0
    });
    write_npy(&path, &array).unwrap();
    let ds = open_spec(&npy_spec(&path), &DataOptions::default());
    assert_eq!(ds.len(), 4);
    assert_eq!(ds.sample_shape(), &[2, 3]);
    assert_eq!(ds.kind(), DataKind::Points);
    assert_eq!(ds.num_classes(), None);
    let (x, labels) = read_all(&*ds);
    assert_eq!(x, array.iter().copied().collect::<Vec<_>>());
    assert!(labels.iter().all(Option::is_none));
}

#[test]
fn npy_f64_fortran_order_is_converted_to_row_major_f32() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.npy");
    let c = Array2::from_shape_fn((5, 3), |(i, j)| (i * 3 + j) as f64 + 0.5);
    let mut fortran = Array2::<f64>::zeros((5, 3).f());
    fortran.assign(&c);
    write_npy(&path, &fortran).unwrap();
    let header = std::fs::read(&path).unwrap();
    let header = String::from_utf8_lossy(&header[..128]);
    assert!(header.contains("'fortran_order': True"), "{header}");
    assert!(header.contains("<f8"), "{header}");
    let ds = open_spec(&npy_spec(&path), &DataOptions::default());
    assert_eq!((ds.len(), ds.sample_shape()), (5, &[3usize][..]));
    let (x, _) = read_all(&*ds);
    let expected: Vec<f32> = c.iter().map(|&v| v as f32).collect();
    assert_eq!(x, expected);
}

#[test]
fn npy_big_endian_rank_4_is_images() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("be.npy");
    // Written by hand: ndarray-npy writes little-endian only.
    let values: Vec<f32> = (0..2 * 3 * 2 * 2).map(|v| v as f32 - 3.5).collect();
    let mut dict = "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3, 2, 2), }".to_owned();
    while !(10 + dict.len() + 1).is_multiple_of(64) {
        dict.push(' ');
    }
    dict.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    for v in &values {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    std::fs::write(&path, bytes).unwrap();
    let ds = open_spec(&npy_spec(&path), &DataOptions::default());
    assert_eq!(ds.sample_shape(), &[3, 2, 2]);
    assert_eq!(ds.kind(), DataKind::Images);
    assert_eq!(read_all(&*ds).0, values);
}

#[test]
fn npy_labels_come_from_a_second_file() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.npy");
    let y = dir.path().join("y.npy");
    write_npy(&x, &Array2::from_shape_fn((6, 2), |(i, j)| (i + j) as f32)).unwrap();
    write_npy(&y, &ndarray::arr1(&[3i64, 0, 1, 3, 2, 0])).unwrap();
    let options = DataOptions {
        labels: Some(y.clone()),
        ..DataOptions::default()
    };
    let ds = open_spec(&npy_spec(&x), &options);
    assert_eq!(ds.num_classes(), Some(4));
    let (_, labels) = read_all(&*ds);
    assert_eq!(labels, [3, 0, 1, 3, 2, 0].map(Some));
    // uint8 labels read too.
    write_npy(&y, &ndarray::arr1(&[1u8, 1, 0, 0, 5, 2])).unwrap();
    let ds = open_spec(&npy_spec(&x), &options);
    assert_eq!(ds.num_classes(), Some(6));
}

/// Writes an unsigned-byte IDX file: magic, big-endian dimensions, payload; gzip when asked.
fn write_idx(path: &Path, magic: u32, dims: &[u32], payload: &[u8], gzip: bool) {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(payload);
    if gzip {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&bytes).unwrap();
        bytes = encoder.finish().unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

/// Five 4×3 images whose pixels cover 0, 255 and values between, labels 3 1 4 1 5.
fn mnist_like() -> (Vec<u8>, Vec<u8>) {
    let mut pixels: Vec<u8> = (0..5 * 12).map(|v| (v * 17 % 256) as u8).collect();
    pixels[0] = 0;
    pixels[1] = 255;
    pixels[2] = 128;
    (pixels, vec![3, 1, 4, 1, 5])
}

fn check_mnist(ds: &dyn Dataset, pixels: &[u8], labels: &[u8]) {
    assert_eq!(ds.len(), labels.len());
    assert_eq!(ds.sample_shape(), &[1, 4, 3]);
    assert_eq!(ds.num_classes(), Some(10));
    assert_eq!(ds.kind(), DataKind::Images);
    let (x, read_labels) = read_all(ds);
    for (&v, &p) in x.iter().zip(pixels) {
        assert!(
            (f64::from(v) - (f64::from(p) / 127.5 - 1.0)).abs() < 1e-7,
            "{p} -> {v}"
        );
        match p {
            0 => assert_eq!(v, -1.0),
            255 => assert_eq!(v, 1.0),
            _ => {}
        }
    }
    let expected: Vec<Option<u32>> = labels.iter().map(|&l| Some(u32::from(l))).collect();
    assert_eq!(read_labels, expected);
}

#[test]
fn mnist_idx_raw_and_gzip_read_back_with_exact_scaling() {
    let (pixels, labels) = mnist_like();
    for (images_gz, labels_gz) in [(false, false), (true, true), (false, true)] {
        let dir = tempfile::tempdir().unwrap();
        let suffix = |gz: bool| if gz { ".gz" } else { "" };
        write_idx(
            &dir.path()
                .join(format!("train-images-idx3-ubyte{}", suffix(images_gz))),
            2051,
            &[5, 4, 3],
            &pixels,
            images_gz,
        );
        write_idx(
            &dir.path()
                .join(format!("train-labels-idx1-ubyte{}", suffix(labels_gz))),
            2049,
            &[5],
            &labels,
            labels_gz,
        );
        let ds = open_spec(
            &format!("mnist:{}", dir.path().display()),
            &DataOptions::default(),
        );
        check_mnist(&*ds, &pixels, &labels);
    }
}

#[test]
fn mnist_test_and_all_splits() {
    let dir = tempfile::tempdir().unwrap();
    let (pixels, labels) = mnist_like();
    write_idx(
        &dir.path().join("train-images-idx3-ubyte"),
        2051,
        &[5, 4, 3],
        &pixels,
        false,
    );
    write_idx(
        &dir.path().join("train-labels-idx1-ubyte"),
        2049,
        &[5],
        &labels,
        false,
    );
    let test_pixels: Vec<u8> = pixels[..24].iter().map(|p| 255 - p).collect();
    write_idx(
        &dir.path().join("t10k-images-idx3-ubyte.gz"),
        2051,
        &[2, 4, 3],
        &test_pixels,
        true,
    );
    write_idx(
        &dir.path().join("t10k-labels-idx1-ubyte.gz"),
        2049,
        &[2],
        &[9, 0],
        true,
    );
    let spec = format!("mnist:{}", dir.path().display());
    let test = DataOptions {
        split: Split::Test,
        ..DataOptions::default()
    };
    check_mnist(&*open_spec(&spec, &test), &test_pixels, &[9, 0]);
    let all = DataOptions {
        split: Split::All,
        ..DataOptions::default()
    };
    let both: Vec<u8> = pixels.iter().chain(&test_pixels).copied().collect();
    check_mnist(&*open_spec(&spec, &all), &both, &[3, 1, 4, 1, 5, 9, 0]);
}

/// Writes a CIFAR-10 batch whose record r has label `labels[r]` and pixel k = (r·31 + k) mod
/// 256 + `offset`.
fn write_cifar(path: &Path, labels: &[u8], offset: u8) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut pixels = Vec::new();
    for (r, &label) in labels.iter().enumerate() {
        bytes.push(label);
        for k in 0..3072 {
            let p = ((r * 31 + k) % 256) as u8;
            let p = p.wrapping_add(offset);
            bytes.push(p);
            pixels.push(p);
        }
    }
    std::fs::write(path, bytes).unwrap();
    pixels
}

#[test]
fn cifar10_batches_read_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    // Inside the folder the archive unpacks to, to check that it is found.
    let batches = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&batches).unwrap();
    let mut pixels = write_cifar(&batches.join("data_batch_1.bin"), &[0, 9, 3], 0);
    pixels.extend(write_cifar(&batches.join("data_batch_2.bin"), &[7, 2], 100));
    let test_pixels = write_cifar(&batches.join("test_batch.bin"), &[5], 50);
    let spec = format!("cifar10:{}", dir.path().display());
    let ds = open_spec(&spec, &DataOptions::default());
    assert_eq!(ds.len(), 5);
    assert_eq!(ds.sample_shape(), &[3, 32, 32]);
    assert_eq!(ds.num_classes(), Some(10));
    let (x, labels) = read_all(&*ds);
    assert_eq!(labels, [0, 9, 3, 7, 2].map(Some));
    let expected: Vec<f32> = pixels.iter().map(|&p| f32::from(p) / 127.5 - 1.0).collect();
    assert_eq!(x, expected);
    // Channel planes: element 1024 of a sample is the first green pixel, byte 1 + 1024.
    assert_eq!(x[1024], scale_pixel(pixels[1024]));

    let test = DataOptions {
        split: Split::Test,
        ..DataOptions::default()
    };
    let ds = open_spec(&format!("cifar10:{}", batches.display()), &test);
    let (x, labels) = read_all(&*ds);
    assert_eq!(labels, [Some(5)]);
    assert_eq!(
        x[..3],
        test_pixels[..3]
            .iter()
            .map(|&p| scale_pixel(p))
            .collect::<Vec<_>>()[..]
    );
}

fn save_rgb(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) {
    RgbImage::from_fn(w, h, |x, y| Rgb(f(x, y)))
        .save(path)
        .unwrap();
}

fn folder_options(size: Option<u32>) -> DataOptions {
    DataOptions {
        image_size: size,
        ..DataOptions::default()
    }
}

#[test]
fn image_folder_resizes_crops_and_scales() {
    let dir = tempfile::tempdir().unwrap();
    let colour = [255, 0, 128];
    // Landscape, portrait, square, larger: all constant, so resampling keeps the values.
    save_rgb(&dir.path().join("a.png"), 12, 6, |_, _| colour);
    save_rgb(&dir.path().join("b.PNG"), 5, 9, |_, _| colour);
    save_rgb(&dir.path().join("c.png"), 4, 4, |_, _| colour);
    ImageBuffer::from_pixel(20, 16, Luma([128u8]))
        .save(dir.path().join("d.png"))
        .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
    let ds = open_spec(
        &format!("images:{}", dir.path().display()),
        &folder_options(Some(4)),
    );
    assert_eq!(ds.len(), 4, "notes.txt is skipped");
    assert_eq!(ds.sample_shape(), &[3, 4, 4]);
    assert_eq!(ds.kind(), DataKind::Images);
    assert_eq!(ds.num_classes(), None);
    let (x, labels) = read_all(&*ds);
    assert!(labels.iter().all(Option::is_none));
    for (i, sample) in x.chunks_exact(48).enumerate() {
        let expected = if i == 3 { [128, 128, 128] } else { colour };
        for (c, plane) in sample.chunks_exact(16).enumerate() {
            for &v in plane {
                assert_eq!(v, scale_pixel(expected[c]), "image {i} channel {c}");
            }
        }
    }
}

#[test]
fn image_folder_crops_the_centre() {
    let dir = tempfile::tempdir().unwrap();
    // Short side already 2: no resampling, only the crop. Width 6: offset (6 − 2)/2 = 2.
    // Width 5: offset round(1.5) = 2 (halves to even, as torchvision).
    let code = |x: u32, y: u32| [(x * 40) as u8, (y * 100) as u8, 7];
    save_rgb(&dir.path().join("a.png"), 6, 2, code);
    save_rgb(&dir.path().join("b.png"), 5, 2, code);
    // Tall: height 8, offset 3.
    save_rgb(&dir.path().join("c.png"), 2, 8, |x, y| {
        [(x * 40) as u8, (y * 30) as u8, 7]
    });
    let ds = open_spec(
        &format!("images:{}", dir.path().display()),
        &folder_options(Some(2)),
    );
    assert_eq!(ds.sample_shape(), &[3, 2, 2]);
    let (x, _) = read_all(&*ds);
    let expect = |cols: [u32; 2], rows: [u32; 2], ry: u32| -> Vec<f32> {
        let mut v = Vec::new();
        for c in 0..3 {
            for y in rows {
                for x in cols {
                    let p = [(x * 40) as u8, (y * ry) as u8, 7][c];
                    v.push(scale_pixel(p));
                }
            }
        }
        v
    };
    assert_eq!(x[..12], expect([2, 3], [0, 1], 100)[..], "6-wide image");
    assert_eq!(x[12..24], expect([2, 3], [0, 1], 100)[..], "5-wide image");
    assert_eq!(x[24..], expect([0, 1], [3, 4], 30)[..], "8-high image");
}

#[test]
fn image_folder_without_a_size_keeps_equal_sizes_and_reads_jpeg() {
    let dir = tempfile::tempdir().unwrap();
    save_rgb(&dir.path().join("a.png"), 3, 2, |x, y| {
        [(x * 50) as u8, (y * 200) as u8, 1]
    });
    RgbImage::from_pixel(3, 2, Rgb([128, 128, 128]))
        .save(dir.path().join("b.jpg"))
        .unwrap();
    let ds = open_spec(
        &format!("images:{}", dir.path().display()),
        &folder_options(None),
    );
    assert_eq!(ds.sample_shape(), &[3, 2, 3]);
    let (x, _) = read_all(&*ds);
    // Red plane of a.png, row-major.
    let red: Vec<f32> = [0u8, 50, 100, 0, 50, 100]
        .iter()
        .map(|&p| scale_pixel(p))
        .collect();
    assert_eq!(x[..6], red[..]);
    // JPEG is lossy; a flat grey survives within a couple of levels.
    for &v in &x[18..] {
        assert!((v - scale_pixel(128)).abs() <= 2.0 / 127.5, "{v}");
    }
}

#[test]
fn specs_round_trip_through_display() {
    for text in [
        "npy:data/x.npy",
        "mnist:/data/mnist",
        "cifar10:cifar",
        "images:C:/pictures",
        "toy:8gaussians",
        "toy:2spirals",
        "mixture:ring8",
        "mixture:target.json",
    ] {
        let spec: DataSpec = text.parse().unwrap();
        assert_eq!(spec.to_string(), text);
        assert_eq!(spec.to_string().parse::<DataSpec>().unwrap(), spec);
    }
    assert_eq!(
        "images:C:/pictures".parse::<DataSpec>().unwrap(),
        DataSpec::Images(PathBuf::from("C:/pictures"))
    );
    assert_eq!(
        "toy:checkerboard".parse::<DataSpec>().unwrap(),
        DataSpec::Toy(Toy::Checkerboard)
    );
}

#[test]
fn the_shared_mnist_sample_reads_as_5000_digits() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/mnist-5k");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    let ds = open_spec(&format!("mnist:{}", dir.display()), &DataOptions::default());
    assert_eq!(ds.len(), 5000);
    assert_eq!(ds.sample_shape(), &[1, 28, 28]);
    let (x, labels) = read_all(&*ds);
    assert!(x.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert!(x.contains(&-1.0) && x.contains(&1.0));
    let mut counts = [0usize; 10];
    for l in labels {
        counts[l.expect("MNIST is labelled") as usize] += 1;
    }
    // Every digit is present in roughly its share (MNIST's classes are 9–11 % each).
    assert!(
        counts.iter().all(|&c| (350..=700).contains(&c)),
        "{counts:?}"
    );
    // MNIST's mean intensity is 0.1307 (of 1): scaled, 0.1307·2 − 1.
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / x.len() as f64;
    assert!(
        (mean - (0.1307 * 2.0 - 1.0)).abs() < 0.02,
        "mean pixel {mean}"
    );
}
