//! What a picture looks like, as a colour histogram: the descriptor shots are compared by.
//!
//! Hue, saturation and value, 8 × 3 × 3 bins for coloured pixels and 4 grey levels for pixels
//! with little saturation, on a thumbnail of the frame. Two shots of one place share their
//! palette (walls, light, costumes) even when the camera angle changes, which a structural
//! hash like the pHash does not see; the histogram ignores where things are.

use image::imageops::FilterType;

const HUE_BINS: usize = 8;
const SATURATION_BINS: usize = 3;
const VALUE_BINS: usize = 3;
const GREY_BINS: usize = 4;
/// Bins of a [`Histogram`].
pub const BINS: usize = HUE_BINS * SATURATION_BINS * VALUE_BINS + GREY_BINS;
/// Pixels less saturated than this count as grey.
const GREY_SATURATION: f32 = 0.15;
/// The long side of the thumbnail the histogram is taken on.
const THUMBNAIL_SIDE: u32 = 96;

/// A normalised colour histogram (its bins sum to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram(pub [f32; BINS]);

impl Histogram {
    /// The histogram of an encoded picture (any format the `image` crate reads).
    pub fn of_image(bytes: &[u8]) -> Result<Histogram, image::ImageError> {
        let picture = image::load_from_memory(bytes)?;
        let thumbnail = picture
            .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, FilterType::Triangle)
            .to_rgb8();
        Ok(Self::of_rgb(thumbnail.as_raw()))
    }

    /// The histogram of packed RGB pixels.
    pub fn of_rgb(rgb: &[u8]) -> Histogram {
        let mut bins = [0f32; BINS];
        for pixel in rgb.chunks_exact(3) {
            bins[bin(pixel[0], pixel[1], pixel[2])] += 1.0;
        }
        let total: f32 = bins.iter().sum();
        if total > 0.0 {
            bins.iter_mut().for_each(|b| *b /= total);
        }
        Histogram(bins)
    }

    /// The mean of several histograms (a shot's, from its frames); `None` for none.
    pub fn mean<'a>(histograms: impl IntoIterator<Item = &'a Histogram>) -> Option<Histogram> {
        let mut sum = [0f32; BINS];
        let mut count = 0usize;
        for histogram in histograms {
            sum.iter_mut()
                .zip(histogram.0.iter())
                .for_each(|(s, b)| *s += b);
            count += 1;
        }
        (count > 0).then(|| {
            sum.iter_mut().for_each(|s| *s /= count as f32);
            Histogram(sum)
        })
    }

    /// 1 − the histograms' intersection: 0 for the same palette, 1 for nothing in common.
    pub fn distance(&self, other: &Histogram) -> f64 {
        let shared: f32 = self
            .0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| a.min(*b))
            .sum();
        f64::from(1.0 - shared).clamp(0.0, 1.0)
    }
}

fn bin(r: u8, g: u8, b: u8) -> usize {
    let (r, g, b) = (
        f32::from(r) / 255.0,
        f32::from(g) / 255.0,
        f32::from(b) / 255.0,
    );
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let value = max;
    let saturation = if max > 0.0 { (max - min) / max } else { 0.0 };
    let level = |v: f32, bins: usize| ((v * bins as f32) as usize).min(bins - 1);
    if saturation < GREY_SATURATION || value < 0.08 {
        return HUE_BINS * SATURATION_BINS * VALUE_BINS + level(value, GREY_BINS);
    }
    let delta = max - min;
    let hue = if max == r {
        ((g - b) / delta).rem_euclid(6.0)
    } else if max == g {
        (b - r) / delta + 2.0
    } else {
        (r - g) / delta + 4.0
    } / 6.0;
    let h = level(hue, HUE_BINS);
    let s = level(
        (saturation - GREY_SATURATION) / (1.0 - GREY_SATURATION),
        SATURATION_BINS,
    );
    let v = level(value, VALUE_BINS);
    (h * SATURATION_BINS + s) * VALUE_BINS + v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(r: u8, g: u8, b: u8) -> Histogram {
        Histogram::of_rgb(&[r, g, b].repeat(100))
    }

    #[test]
    fn the_same_palette_is_near_and_different_palettes_are_far() {
        let red = solid(200, 30, 30);
        let blue = solid(30, 30, 200);
        assert_eq!(red.distance(&red), 0.0);
        assert_eq!(red.distance(&blue), 1.0);
        // Half red, half blue against all red: half in common.
        let mixed =
            Histogram::of_rgb(&[[200u8, 30, 30].repeat(50), [30u8, 30, 200].repeat(50)].concat());
        assert!((mixed.distance(&red) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn black_and_greys_have_their_own_bins() {
        let black = solid(0, 0, 0);
        let white = solid(255, 255, 255);
        let grey = solid(128, 128, 128);
        assert_eq!(black.distance(&white), 1.0);
        assert_eq!(black.distance(&grey), 1.0);
        assert_eq!(black.0.iter().sum::<f32>(), 1.0);
    }

    #[test]
    fn the_mean_of_histograms_sums_to_one() {
        let mean = Histogram::mean([&solid(200, 30, 30), &solid(30, 200, 30)]).unwrap();
        assert!((mean.0.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(Histogram::mean([]).is_none());
    }
}
