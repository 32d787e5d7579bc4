//! Reading user digit pictures: PNG in several colour types and depths, PGM P2/P5, any size,
//! inversion and MNIST-style centring, and bad files.

mod common;

use std::path::Path;

use mnist::image_io::{
    decode_gray, has_light_background, load_digit, load_digit_with, resize, to_mnist,
    write_gray_png, DigitOptions, GrayImage, ImageProblem, Invert,
};

const RAW: DigitOptions = DigitOptions {
    invert: Invert::Never,
    center: false,
};

fn encode_png(w: u32, h: u32, color: png::ColorType, depth: png::BitDepth, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(color);
        enc.set_depth(depth);
        if color == png::ColorType::Indexed {
            enc.set_palette(vec![0, 0, 0, 255, 255, 255]);
        }
        let mut wr = enc.write_header().unwrap();
        wr.write_image_data(data).unwrap();
    }
    out
}

/// A 28x28 test pattern: a gradient row and a bright block.
fn pattern() -> Vec<u8> {
    (0..784)
        .map(|i| {
            let (x, y) = (i % 28, i / 28);
            if (10..18).contains(&x) && (5..23).contains(&y) {
                250
            } else {
                (x * 3) as u8
            }
        })
        .collect()
}

#[test]
fn png_gray_28x28_round_trips() {
    let p = pattern();
    let png = encode_png(28, 28, png::ColorType::Grayscale, png::BitDepth::Eight, &p);
    let img = decode_gray("a.png", &png).unwrap();
    assert_eq!((img.width, img.height), (28, 28));
    assert_eq!(to_mnist(&img, &RAW), p);
}

#[test]
fn png_color_types_and_depths_become_gray() {
    let p = pattern();
    let rgb: Vec<u8> = p.iter().flat_map(|&v| [v, v, v]).collect();
    let rgba: Vec<u8> = p.iter().flat_map(|&v| [v, v, v, 255]).collect();
    let ga: Vec<u8> = p.iter().flat_map(|&v| [v, 255]).collect();
    let g16: Vec<u8> = p.iter().flat_map(|&v| [v, 0x80]).collect();
    for (color, depth, data) in [
        (png::ColorType::Rgb, png::BitDepth::Eight, rgb),
        (png::ColorType::Rgba, png::BitDepth::Eight, rgba),
        (png::ColorType::GrayscaleAlpha, png::BitDepth::Eight, ga),
        (png::ColorType::Grayscale, png::BitDepth::Sixteen, g16),
    ] {
        let img = decode_gray("x.png", &encode_png(28, 28, color, depth, &data)).unwrap();
        assert_eq!(img.pixels, p, "{color:?} {depth:?}");
    }
    // Pure colours use luma weights; transparency shows as white.
    let img = decode_gray(
        "c.png",
        &encode_png(
            2,
            1,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            &[255, 0, 0, 255, 0, 0, 0, 0],
        ),
    )
    .unwrap();
    assert_eq!(img.pixels, [76, 255]);
    // 1-bit indexed (palette black/white): 0b1010_0000 -> white, black, white, black.
    let img = decode_gray(
        "i.png",
        &encode_png(
            4,
            1,
            png::ColorType::Indexed,
            png::BitDepth::One,
            &[0b1010_0000],
        ),
    )
    .unwrap();
    assert_eq!(img.pixels, [255, 0, 255, 0]);
}

#[test]
fn pgm_p5_and_p2() {
    let p = pattern();
    let mut p5 = b"P5\n# made by a test\n28 28\n255\n".to_vec();
    p5.extend_from_slice(&p);
    assert_eq!(decode_gray("a.pgm", &p5).unwrap().pixels, p);

    let body: Vec<String> = p.iter().map(|v| v.to_string()).collect();
    let p2 = format!("P2\n28 28 # size\n255\n{}\n", body.join(" "));
    assert_eq!(decode_gray("a.pgm", p2.as_bytes()).unwrap().pixels, p);

    // 16-bit P5 and a small maxval are scaled to 0..=255.
    let mut p16 = b"P5 2 1 65535\n".to_vec();
    p16.extend_from_slice(&[0xFF, 0xFF, 0x00, 0x00]);
    assert_eq!(decode_gray("b.pgm", &p16).unwrap().pixels, [255, 0]);
    let p2small = b"P2 3 1 2\n0 1 2";
    assert_eq!(decode_gray("c.pgm", p2small).unwrap().pixels, [0, 128, 255]);
}

#[test]
fn bad_files_are_clear_errors() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("x.png", b"GIF89a....".to_vec(), "not a PNG or PGM"),
        ("x.png", b"".to_vec(), "not a PNG or PGM"),
        (
            "t.pgm",
            b"P5\n28 28\n255\n\x00\x01".to_vec(),
            "truncated: 28x28 needs 784 bytes",
        ),
        (
            "t.pgm",
            b"P2 2 2 255 1 2 3".to_vec(),
            "truncated: 2x2 needs 4 values, found 3",
        ),
        ("m.pgm", b"P5 2 2 0\n\x00\x00\x00\x00".to_vec(), "maxval 0"),
        ("n.pgm", b"P2 2 x 255\n".to_vec(), "height is 'x'"),
        (
            "v.pgm",
            b"P2 1 1 10\n11".to_vec(),
            "pixel value 11 exceeds maxval 10",
        ),
        ("z.pgm", b"P5 0 5 255\n".to_vec(), "unsupported size 0x5"),
        ("h.pgm", b"P5 4".to_vec(), "header ends early"),
        ("q.pgm", b"P5x 1 1 255\n\x00".to_vec(), "magic 'P5x'"),
        (
            "huge.pgm",
            b"P5 99999999999 99999999999 255\n".to_vec(),
            "unsupported size",
        ),
    ];
    for (name, bytes, want) in cases {
        let e = decode_gray(name, &bytes).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with(&format!("{name}: ")), "{msg}");
        assert!(msg.contains(want), "{name}: '{msg}' lacks '{want}'");
    }
    let e = load_digit(Path::new("/nonexistent/digit.png")).unwrap_err();
    assert!(matches!(e.problem, ImageProblem::Io(_)));

    // A real PNG truncated anywhere fails cleanly.
    let png = encode_png(
        28,
        28,
        png::ColorType::Grayscale,
        png::BitDepth::Eight,
        &pattern(),
    );
    // (Cutting only the final 12-byte IEND chunk leaves a complete image.)
    for cut in 8..png.len() - 12 {
        let e = decode_gray("cut.png", &png[..cut]).unwrap_err();
        assert!(matches!(e.problem, ImageProblem::Png(_)), "cut {cut}: {e}");
    }
    // Flipped bytes never panic (CRCs catch most; the rest decode to some image).
    for off in 8..png.len() {
        let mut b = png.clone();
        b[off] ^= 0x55;
        let _ = decode_gray("flip.png", &b);
    }
}

#[test]
fn resize_area_and_bilinear() {
    let img = GrayImage {
        width: 4,
        height: 2,
        pixels: vec![0, 100, 200, 40, 0, 100, 200, 40],
    };
    // Halving averages pairs.
    assert_eq!(resize(&img, 2, 1).pixels, [50, 120]);
    // Same size is the identity; enlarging keeps constants constant.
    assert_eq!(resize(&img, 4, 2).pixels, img.pixels);
    let flat = GrayImage {
        width: 3,
        height: 3,
        pixels: vec![77; 9],
    };
    assert!(resize(&flat, 28, 28).pixels.iter().all(|&p| p == 77));
}

/// A big dark-on-light drawing (a thick off-centre "1") becomes a centred white-on-black digit.
#[test]
fn dark_on_light_photo_is_inverted_and_centred() {
    let (w, h) = (300usize, 200usize);
    let mut px = vec![235u8; w * h]; // light gray paper
    for y in 20..180 {
        for x in 40..64 {
            px[y * w + x] = 20; // dark ink, near the left edge
        }
    }
    let img = GrayImage {
        width: w,
        height: h,
        pixels: px,
    };
    assert!(has_light_background(&img));
    let out = to_mnist(&img, &DigitOptions::default());
    assert_eq!(out.len(), 784);
    // Background black, stroke bright and fitted into 20 rows, centred horizontally.
    assert_eq!(out[0], 0);
    assert_eq!(out[27 * 28 + 27], 0);
    let bright: Vec<(usize, usize)> = (0..784)
        .filter(|&i| out[i] > 128)
        .map(|i| (i % 28, i / 28))
        .collect();
    let (ys, xs): (Vec<usize>, Vec<usize>) = bright.iter().map(|&(x, y)| (y, x)).unzip();
    assert_eq!(ys.iter().max().unwrap() - ys.iter().min().unwrap() + 1, 20);
    let mean_x = xs.iter().sum::<usize>() as f32 / xs.len() as f32;
    assert!((mean_x - 13.5).abs() <= 1.0, "mean x {mean_x}");
    assert_eq!(*out.iter().max().unwrap(), 255, "contrast stretched");
    // Without inversion the picture is mostly white.
    let never = DigitOptions {
        invert: Invert::Never,
        center: false,
    };
    assert!(to_mnist(&img, &never).iter().filter(|&&p| p > 200).count() > 600);
}

/// A real MNIST digit saved as PNG and read back with the defaults stays nearly the same.
#[test]
fn real_digit_survives_the_round_trip() {
    let test = common::load().test;
    let dir = tempfile::tempdir().unwrap();
    for i in [0usize, 1, 2, 3, 4, 123] {
        let digit = test.image(i);
        let p = dir.path().join(format!("d{i}.png"));
        let img = GrayImage {
            width: 28,
            height: 28,
            pixels: digit.to_vec(),
        };
        write_gray_png(&p, &img).unwrap();
        assert_eq!(load_digit_with(&p, &RAW).unwrap(), digit);
        let centred = load_digit(&p).unwrap();
        let corr = correlation(&centred, digit);
        assert!(corr > 0.95, "digit {i}: correlation {corr}");
        // Upscaled 10x and inverted (as a scan would be), it still comes back close.
        let big = resize(&img, 280, 280);
        let scan = GrayImage {
            pixels: big.pixels.iter().map(|&p| 255 - p).collect(),
            ..big
        };
        let back = to_mnist(&scan, &DigitOptions::default());
        let corr = correlation(&back, digit);
        assert!(
            corr > 0.9,
            "digit {i} from a 280x280 scan: correlation {corr}"
        );
    }
}

fn correlation(a: &[u8], b: &[u8]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (
        a.iter().map(|&v| v as f64).sum::<f64>() / n,
        b.iter().map(|&v| v as f64).sum::<f64>() / n,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x as f64 - ma, y as f64 - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa * sbb).sqrt()
}

/// A tiny PNG whose header claims 8192x8192 is refused before its pixel buffer (64 MB)
/// is allocated (found by the fuzzer, issue 16).
#[test]
fn png_header_larger_than_its_data_is_refused() {
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, 28, 28);
        enc.set_color(png::ColorType::Grayscale);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[0u8; 784]).unwrap();
    }
    // IHDR payload starts at 16: width, height (big-endian), then its CRC at 29.
    bytes[16..20].copy_from_slice(&8192u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&8192u32.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    let err = mnist::image_io::decode_gray("big.png", &bytes)
        .unwrap_err()
        .to_string();
    assert!(err.contains("8192x8192 needs"), "{err}");
}
