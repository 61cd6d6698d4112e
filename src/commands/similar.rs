//! `mediasift similar ASSET|FILE`: images and video frames of the library within a Hamming
//! distance of an asset's perceptual hashes (an image's, or each indexed frame of a video), or
//! of an image file's that need not be in the library.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use mediasift_kit::similar::{Entry, Match, NearDuplicateIndex};
use mediasift_media::phash::{Luma, PHash, phash};
use serde_json::json;
use uuid::Uuid;

use super::DataDir;
use mediasift::outcome::summarize;

pub async fn similar(
    data: &DataDir,
    target: &str,
    max_distance: u32,
    limit: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let runtime = super::open(data).await?;
    let index = NearDuplicateIndex::new(runtime.state.clone());
    let (asset, queries) = match target.parse::<Uuid>() {
        Ok(asset) => {
            let entries = index
                .entries_of(asset)
                .await
                .context("cannot read the near-duplicate index")?;
            if entries.is_empty() {
                anyhow::bail!(
                    "asset {asset} has no perceptual hash in the index: only analysed images \
                     and videos have one (see `mediasift status {asset}`)"
                );
            }
            (Some(asset), entries)
        }
        Err(_) => {
            let path = Path::new(target);
            anyhow::ensure!(
                path.is_file(),
                "{target} is neither an asset id nor a file (give an asset id from `mediasift \
                 status`, or an image file)"
            );
            let hash = hash_of(path)?;
            (None, vec![Entry::image(Uuid::nil(), hash)])
        }
    };

    // Each match once, at its nearest distance to any of the queries.
    let mut found: BTreeMap<(Uuid, Option<u64>, u8), (Match, Entry)> = BTreeMap::new();
    for query in &queries {
        let matches = index
            .near(query.hash, max_distance, limit + queries.len())
            .await
            .context("cannot query the near-duplicate index")?;
        for m in matches {
            if Some(m.entry.asset_id) == asset {
                continue;
            }
            let key = (m.entry.asset_id, m.entry.position_ms, m.entry.kind as u8);
            match found.get(&key) {
                Some((best, _)) if best.distance <= m.distance => {}
                _ => {
                    found.insert(key, (m, *query));
                }
            }
        }
    }
    let mut found: Vec<(Match, Entry)> = found.into_values().collect();
    found.sort_by_key(|(m, _)| (m.distance, m.entry.asset_id, m.entry.position_ms));
    found.truncate(limit);

    let events = super::read_events(&runtime.bus, None, 0).await?;
    let names: BTreeMap<String, String> = summarize(events.iter().map(|(_, e)| e))
        .into_values()
        .filter_map(|view| Some((view.asset_id?, view.source?)))
        .collect();
    let name_of = |id: Uuid| names.get(&id.to_string()).cloned();

    if json {
        for (m, query) in &found {
            println!(
                "{}",
                json!({
                    "assetId": m.entry.asset_id,
                    "kind": m.entry.kind.name(),
                    "positionMs": m.entry.position_ms,
                    "phash": m.entry.hash.to_hex(),
                    "distance": m.distance,
                    "source": name_of(m.entry.asset_id),
                    "queryPositionMs": query.position_ms,
                })
            );
        }
    } else if found.is_empty() {
        println!(
            "nothing within distance {max_distance} of {} hash(es) of {target}",
            queries.len()
        );
    } else {
        println!("distance  asset                                 where      source");
        for (m, _) in &found {
            let at = match m.entry.position_ms {
                Some(ms) => format!("{:.1} s", ms as f64 / 1000.0),
                None => "image".into(),
            };
            println!(
                "{:>8}  {}  {at:<9}  {}",
                m.distance,
                m.entry.asset_id,
                name_of(m.entry.asset_id).unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The pHash of an image file, upright as the image service hashes it (EXIF orientation
/// applied).
fn hash_of(path: &Path) -> anyhow::Result<PHash> {
    let mut decoder = ::image::ImageReader::open(path)
        .with_context(|| format!("cannot open {}", path.display()))?
        .with_guessed_format()?
        .into_decoder()
        .with_context(|| format!("cannot read {} as an image", path.display()))?;
    let orientation = ::image::ImageDecoder::orientation(&mut decoder).ok();
    let mut image = ::image::DynamicImage::from_decoder(decoder)
        .with_context(|| format!("cannot decode {}", path.display()))?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    // Transparent pixels count as white, as ingest's proxies show them.
    let mut rgba = image.to_rgba8();
    for px in rgba.pixels_mut() {
        let alpha = u32::from(px.0[3]);
        for channel in &mut px.0[..3] {
            *channel = ((u32::from(*channel) * alpha + 255 * (255 - alpha) + 127) / 255) as u8;
        }
        px.0[3] = 255;
    }
    let gray = ::image::DynamicImage::ImageRgba8(rgba).to_luma8();
    Luma::new(gray.width() as usize, gray.height() as usize, gray.as_raw())
        .map(phash)
        .with_context(|| format!("{} has no pixels", path.display()))
}
