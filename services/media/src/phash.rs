//! Perceptual hashes and sharpness of video captures, as Media2Cloud V4's dynamic frame
//! analysis uses them.
//!
//! - [`phash`]: the luma image is reduced to 32x32 by area (box) averaging, transformed with an
//!   orthonormal 2-D DCT-II, and the top-left 8x8 coefficients, DC term included, are compared
//!   with their mean: bit = coefficient > mean. Bit 63 (the most significant) is coefficient
//!   (0, 0), then row by row, so the hex form reads in the coefficients' order.
//! - [`laplacian_variance`]: the variance of the 3x3 Laplacian `[[0,1,0],[1,-4,1],[0,1,0]]`
//!   over the interior pixels; higher is sharper, 0 is flat.

use std::fmt;
use std::sync::OnceLock;

/// The side of the square a capture is reduced to before the DCT.
pub const HASH_INPUT_SIDE: usize = 32;
/// The side of the block of low-frequency coefficients kept (8x8 = 64 bits).
const LOW: usize = 8;

/// A borrowed 8-bit luma image, row-major, `stride == width`.
#[derive(Debug, Clone, Copy)]
pub struct Luma<'a> {
    pub width: usize,
    pub height: usize,
    pub pixels: &'a [u8],
}

impl<'a> Luma<'a> {
    /// `None` when `pixels` is not exactly `width * height` bytes or the image is empty.
    pub fn new(width: usize, height: usize, pixels: &'a [u8]) -> Option<Self> {
        (width > 0 && height > 0 && width.checked_mul(height) == Some(pixels.len())).then_some(
            Luma {
                width,
                height,
                pixels,
            },
        )
    }

    fn at(&self, x: usize, y: usize) -> f64 {
        f64::from(self.pixels[y * self.width + x])
    }
}

/// A 64-bit perceptual hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PHash(pub u64);

impl PHash {
    /// 16 lower-case hex digits.
    pub fn to_hex(self) -> String {
        format!("{:016x}", self.0)
    }

    /// Parses [`PHash::to_hex`]'s form.
    pub fn from_hex(hex: &str) -> Option<Self> {
        (hex.len() == 16)
            .then(|| u64::from_str_radix(hex, 16).ok())
            .flatten()
            .map(PHash)
    }

    /// Bits that differ (0..=64).
    pub fn hamming(self, other: PHash) -> u32 {
        hamming(self, other)
    }

    /// [`PHash::hamming`] / 64, in 0.0..=1.0.
    pub fn distance(self, other: PHash) -> f64 {
        normalized_distance(self, other)
    }
}

impl fmt::Display for PHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Bits that differ between two hashes (0..=64).
pub fn hamming(a: PHash, b: PHash) -> u32 {
    (a.0 ^ b.0).count_ones()
}

/// Hamming distance / 64, in 0.0..=1.0.
pub fn normalized_distance(a: PHash, b: PHash) -> f64 {
    f64::from(hamming(a, b)) / 64.0
}

/// The pHash of a luma image of any size (reduced to 32x32 by area averaging first).
pub fn phash(image: Luma<'_>) -> PHash {
    phash_32(&resize_area_32(image))
}

/// The pHash of an image already reduced to 32x32 (row-major luma, e.g. ffmpeg's
/// `scale=32:32:flags=area,format=gray` output).
///
/// The DCT is the separable O(n³) textbook one with a precomputed cosine table, and only the
/// 8x8 outputs that the hash uses are computed: rows first (32 rows x 8 frequencies), then
/// columns (8 x 8), about 10k multiply-adds per hash.
pub fn phash_32(pixels: &[f64; HASH_INPUT_SIDE * HASH_INPUT_SIDE]) -> PHash {
    const N: usize = HASH_INPUT_SIDE;
    let table = cosine_table();
    // Row pass: rows[y][v] = sum_x c(v) cos(..v..x) f(y, x), for the 8 lowest v.
    let mut rows = [[0.0f64; LOW]; N];
    for (y, row) in rows.iter_mut().enumerate() {
        let line = &pixels[y * N..(y + 1) * N];
        for (v, out) in row.iter_mut().enumerate() {
            *out = table[v].iter().zip(line).map(|(c, p)| c * p).sum();
        }
    }
    // Column pass on the 8 kept columns: coefficient(u, v) = sum_y c(u) cos(..u..y) rows[y][v].
    let mut coefficients = [0.0f64; LOW * LOW];
    for u in 0..LOW {
        for v in 0..LOW {
            coefficients[u * LOW + v] = (0..N).map(|y| table[u][y] * rows[y][v]).sum();
        }
    }
    threshold_at_mean(&coefficients)
}

/// Bit 63 - i is set when coefficient i is strictly above the mean of all 64.
fn threshold_at_mean(coefficients: &[f64; LOW * LOW]) -> PHash {
    let mean = coefficients.iter().sum::<f64>() / coefficients.len() as f64;
    let bits = coefficients
        .iter()
        .fold(0u64, |acc, &c| (acc << 1) | u64::from(c > mean));
    PHash(bits)
}

/// The orthonormal DCT-II basis for the 8 lowest frequencies of 32 samples:
/// `table[k][n] = s(k) cos(pi (2n + 1) k / 64)`, `s(0) = sqrt(1/32)`, `s(k) = sqrt(2/32)`.
fn cosine_table() -> &'static [[f64; HASH_INPUT_SIDE]; LOW] {
    static TABLE: OnceLock<[[f64; HASH_INPUT_SIDE]; LOW]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let n = HASH_INPUT_SIDE as f64;
        let mut table = [[0.0; HASH_INPUT_SIDE]; LOW];
        for (k, row) in table.iter_mut().enumerate() {
            let scale = if k == 0 {
                (1.0 / n).sqrt()
            } else {
                (2.0 / n).sqrt()
            };
            for (i, value) in row.iter_mut().enumerate() {
                *value = scale
                    * (std::f64::consts::PI * (2.0 * i as f64 + 1.0) * k as f64 / (2.0 * n)).cos();
            }
        }
        table
    })
}

/// Area (box) resampling to 32x32: each output pixel is the mean of the source area it covers,
/// partial source pixels weighted by their covered fraction. Exact for any size, up or down.
pub fn resize_area_32(image: Luma<'_>) -> [f64; HASH_INPUT_SIDE * HASH_INPUT_SIDE] {
    const N: usize = HASH_INPUT_SIDE;
    let xs = area_weights(image.width, N);
    let ys = area_weights(image.height, N);
    // Horizontal pass: height x 32.
    let mut horizontal = vec![0.0f64; image.height * N];
    for y in 0..image.height {
        for (ox, weights) in xs.iter().enumerate() {
            horizontal[y * N + ox] = weights.iter().map(|&(x, w)| w * image.at(x, y)).sum();
        }
    }
    let mut out = [0.0f64; N * N];
    for (oy, weights) in ys.iter().enumerate() {
        for ox in 0..N {
            out[oy * N + ox] = weights
                .iter()
                .map(|&(y, w)| w * horizontal[y * N + ox])
                .sum();
        }
    }
    out
}

/// For each of `dst` output cells, the source indices it covers and their weights (sum 1).
fn area_weights(src: usize, dst: usize) -> Vec<Vec<(usize, f64)>> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|o| {
            let start = o as f64 * scale;
            let end = (o + 1) as f64 * scale;
            let first = start.floor() as usize;
            let last = (end.ceil() as usize).min(src);
            (first..last)
                .filter_map(|i| {
                    let covered = end.min((i + 1) as f64) - start.max(i as f64);
                    (covered > 1e-12).then(|| (i, covered / scale))
                })
                .collect()
        })
        .collect()
}

/// The variance of the Laplacian `[[0,1,0],[1,-4,1],[0,1,0]]` over the interior pixels
/// (population variance); 0 for images narrower or shorter than 3 pixels.
pub fn laplacian_variance(image: Luma<'_>) -> f64 {
    let (w, h) = (image.width, image.height);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let p = image.pixels;
    let mut sum = 0i64;
    let mut sum_sq = 0i64;
    for y in 1..h - 1 {
        let (up, row, down) = (
            &p[(y - 1) * w..y * w],
            &p[y * w..(y + 1) * w],
            &p[(y + 1) * w..(y + 2) * w],
        );
        for x in 1..w - 1 {
            let r = i64::from(up[x]) + i64::from(down[x]) + i64::from(row[x - 1])
                - 4 * i64::from(row[x])
                + i64::from(row[x + 1]);
            sum += r;
            sum_sq += r * r;
        }
    }
    let count = ((w - 2) * (h - 2)) as f64;
    let mean = sum as f64 / count;
    (sum_sq as f64 / count - mean * mean).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(width: usize, height: usize, f: impl Fn(usize, usize) -> u8) -> Vec<u8> {
        (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect()
    }

    fn luma(width: usize, height: usize, pixels: &[u8]) -> Luma<'_> {
        Luma::new(width, height, pixels).unwrap()
    }

    /// A smooth scene: a diagonal gradient with a bright disc.
    fn scene(x: usize, y: usize) -> u8 {
        let (fx, fy) = (x as f64, y as f64);
        let disc = if (fx - 90.0).powi(2) + (fy - 40.0).powi(2) < 900.0 {
            80.0
        } else {
            0.0
        };
        (fx * 0.6 + fy * 0.4 + disc).min(255.0) as u8
    }

    /// Another scene: vertical stripes and a dark box.
    fn other_scene(x: usize, y: usize) -> u8 {
        let stripes = if (x / 20).is_multiple_of(2) {
            200.0
        } else {
            60.0
        };
        if (20..60).contains(&y) && (100..150).contains(&x) {
            10
        } else {
            stripes as u8 - (y as u8 / 4)
        }
    }

    #[test]
    fn identical_images_are_at_distance_zero() {
        let a = image(160, 90, scene);
        let b = a.clone();
        let (ha, hb) = (phash(luma(160, 90, &a)), phash(luma(160, 90, &b)));
        assert_eq!(ha, hb);
        assert_eq!(hamming(ha, hb), 0);
        assert_eq!(normalized_distance(ha, hb), 0.0);
    }

    #[test]
    fn a_slight_brightness_change_is_close() {
        let a = image(160, 90, scene);
        let brighter: Vec<u8> = a.iter().map(|&p| p.saturating_add(8)).collect();
        let d = phash(luma(160, 90, &a)).distance(phash(luma(160, 90, &brighter)));
        assert!(d <= 4.0 / 64.0, "distance {d}");
    }

    #[test]
    fn unrelated_images_are_far_apart() {
        let a = image(160, 90, scene);
        let b = image(160, 90, other_scene);
        let d = phash(luma(160, 90, &a)).distance(phash(luma(160, 90, &b)));
        assert!(d > 0.25, "distance {d}");
    }

    #[test]
    fn a_fixed_input_gives_a_fixed_hash() {
        // Regression: changing the resize, the DCT scaling or the bit order changes these.
        // Both values were checked against a direct (unseparated) Python implementation.
        let a = image(160, 90, scene);
        assert_eq!(phash(luma(160, 90, &a)).to_hex(), "9818656166669826");
        let b = image(32, 32, |x, y| ((x * 7 + y * 13) % 256) as u8);
        assert_eq!(phash(luma(32, 32, &b)).to_hex(), "8020803568402c5a");
    }

    #[test]
    fn the_dc_term_is_bit_63() {
        // A flat image: all AC coefficients are 0, the DC term is positive and above the mean.
        let flat = vec![100u8; 32 * 32];
        assert_eq!(phash(luma(32, 32, &flat)), PHash(1 << 63));
    }

    #[test]
    fn hex_round_trips() {
        let h = PHash(0x0123_4567_89ab_cdef);
        assert_eq!(h.to_hex(), "0123456789abcdef");
        assert_eq!(PHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(PHash::from_hex("xyz"), None);
        assert_eq!(hamming(PHash(0), PHash(u64::MAX)), 64);
        assert_eq!(PHash(0).distance(PHash(u64::MAX)), 1.0);
    }

    #[test]
    fn area_resize_averages_exactly() {
        // 64x64 made of 2x2 blocks of one value each: the 32x32 reduction is those values.
        let src = image(64, 64, |x, y| ((x / 2) * 3 + (y / 2) * 5) as u8);
        let out = resize_area_32(luma(64, 64, &src));
        for y in 0..32 {
            for x in 0..32 {
                assert_eq!(out[y * 32 + x], (x * 3 + y * 5) as f64);
            }
        }
        // A non-integer ratio keeps the mean.
        let src = image(50, 45, scene);
        let out = resize_area_32(luma(50, 45, &src));
        let mean_in = src.iter().map(|&p| f64::from(p)).sum::<f64>() / src.len() as f64;
        let mean_out = out.iter().sum::<f64>() / out.len() as f64;
        assert!((mean_in - mean_out).abs() < 1e-9, "{mean_in} vs {mean_out}");
    }

    #[test]
    fn the_dct_matches_the_definition() {
        // Compare the fast path with the 2-D orthonormal DCT-II written out directly.
        let src = image(32, 32, other_scene);
        let f: Vec<f64> = src.iter().map(|&p| f64::from(p)).collect();
        let n = 32.0f64;
        let s = |k: usize| {
            if k == 0 {
                (1.0 / n).sqrt()
            } else {
                (2.0 / n).sqrt()
            }
        };
        let mut coefficients = [0.0; 64];
        for u in 0..8 {
            for v in 0..8 {
                let mut sum = 0.0;
                for y in 0..32 {
                    for x in 0..32 {
                        sum += f[y * 32 + x]
                            * (std::f64::consts::PI * (2 * y + 1) as f64 * u as f64 / 64.0).cos()
                            * (std::f64::consts::PI * (2 * x + 1) as f64 * v as f64 / 64.0).cos();
                    }
                }
                coefficients[u * 8 + v] = s(u) * s(v) * sum;
            }
        }
        // DC of an orthonormal 32x32 DCT is 32 x the mean pixel.
        let mean = f.iter().sum::<f64>() / 1024.0;
        assert!((coefficients[0] - 32.0 * mean).abs() < 1e-9);
        let mut input = [0.0; 1024];
        input.copy_from_slice(&f);
        assert_eq!(phash_32(&input), threshold_at_mean(&coefficients));
    }

    #[test]
    fn a_flat_image_has_no_laplacian_variance() {
        let flat = vec![77u8; 40 * 30];
        assert_eq!(laplacian_variance(luma(40, 30, &flat)), 0.0);
        assert_eq!(laplacian_variance(luma(2, 2, &[1, 2, 3, 4])), 0.0);
    }

    #[test]
    fn a_sharp_checkerboard_beats_its_blurred_version() {
        let (w, h) = (64, 64);
        let sharp = image(w, h, |x, y| {
            if (x / 4 + y / 4).is_multiple_of(2) {
                230
            } else {
                20
            }
        });
        // 5x5 box blur (edges clamped).
        let blurred = image(w, h, |x, y| {
            let mut sum = 0u32;
            for dy in -2i64..=2 {
                for dx in -2i64..=2 {
                    let sx = (x as i64 + dx).clamp(0, w as i64 - 1) as usize;
                    let sy = (y as i64 + dy).clamp(0, h as i64 - 1) as usize;
                    sum += u32::from(sharp[sy * w + sx]);
                }
            }
            (sum / 25) as u8
        });
        let (s, b) = (
            laplacian_variance(luma(w, h, &sharp)),
            laplacian_variance(luma(w, h, &blurred)),
        );
        assert!(s > 10.0 * b, "sharp {s}, blurred {b}");
        assert!(b > 0.0);
    }
}
