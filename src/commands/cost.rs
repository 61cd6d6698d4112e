//! `cost PATH... [--options JSON|FILE] [--json]`: what analysing the files on AWS would cost,
//! before anything runs, beside Media2Cloud V4's default analysis of the same media.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use mediasift::cost::{self, AssetEstimate, Estimate, GivenOptions, PriceTable, Report};

/// Estimates every file under `paths` and prints the tables (or the report's JSON). A file
/// that cannot be estimated gets an `error:` line on stderr and the exit code is 1.
pub async fn cost(
    paths: &[PathBuf],
    options: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let table = PriceTable::builtin();
    let options = GivenOptions::parse(options)?;
    let files = mediasift::inputs::collect_files(paths)?;
    let report = cost::estimate(&files, &options, table).await;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", text(&report, table));
    }
    for error in &report.errors {
        eprintln!("error: {}: {}", error.file.display(), error.error);
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

const ITEM: usize = 62;

fn text(report: &Report, table: &PriceTable) -> String {
    let mut out = format!("{}\n", table.provenance());
    for asset in &report.assets {
        out += "\n";
        out += &asset_text(asset);
    }
    if !report.assets.is_empty() {
        out += "\n";
        out += &totals_text(report);
        let _ = writeln!(
            out,
            "\n{}; estimates (marked *) rest on the assumptions in docs/cost.md",
            table.provenance()
        );
    }
    out
}

fn asset_text(asset: &AssetEstimate) -> String {
    let mut out = String::new();
    let kind = format!("{:?}", asset.kind).to_lowercase();
    let mut facts = vec![kind];
    if let Some(d) = asset.duration_seconds {
        facts.push(format!("{d:.1} s"));
    }
    if let Some(v) = &asset.frames {
        facts.push(format!("{}x{} {:.3} fps", v.width, v.height, v.frame_rate));
    }
    if let Some(a) = &asset.audio {
        facts.push(format!(
            "{} audio track(s){}",
            a.tracks,
            if a.all_silent { ", all silent" } else { "" }
        ));
    }
    if let Some(i) = &asset.image {
        facts.push(format!("{}x{}", i.width, i.height));
    }
    if let Some(d) = &asset.document {
        facts.push(if d.locked {
            "encrypted (no pdfPassword in the options): nothing read".to_owned()
        } else {
            format!(
                "{} page(s), {} with a text layer",
                d.pages, d.pages_with_text
            )
        });
    }
    let analyses: Vec<String> = asset
        .analyses
        .iter()
        .filter_map(|a| serde_json::to_value(a).ok())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let _ = writeln!(
        out,
        "{} — {}; plan: {}",
        asset.key,
        facts.join(", "),
        if analyses.is_empty() {
            "nothing".to_owned()
        } else {
            analyses.join(", ")
        }
    );
    if let Some(v) = &asset.frames {
        let _ = writeln!(
            out,
            "  frames: {} capture(s) at {} fps in {} shot(s): mediasift sends {} to vision ({} \
             group(s), {} reusing another's results); Media2Cloud V4's rule sends {} of {} \
             (1 fps). Measured with {} decodes of the file ({:.2} s of capture decode).",
            v.captures,
            v.rate,
            v.shots,
            v.selected_for_vision,
            v.groups,
            v.reused,
            v.media2cloud_selected,
            v.media2cloud_captures,
            v.decodes,
            v.decode_seconds
        );
    }
    let _ = writeln!(
        out,
        "  {:<ITEM$} {:>12}  {:<10} {:>24} {:>12}",
        "mediasift", "quantity", "unit", "unit price", "dollars"
    );
    out += &items_text(&asset.mediasift, true);
    let _ = writeln!(out, "  Media2Cloud V4, default options");
    out += &items_text(&asset.media2cloud, false);
    match (asset.ratio, asset.like_for_like_ratio) {
        (Some(ratio), Some(same)) => {
            let _ = writeln!(
                out,
                "  mediasift / Media2Cloud V4, analysis and transcoding: {:.2}× (${:.6} vs ${:.6})",
                ratio, asset.mediasift.comparable_usd, asset.media2cloud.comparable_usd,
            );
            let _ = writeln!(
                out,
                "  the same with Media2Cloud's default features (labels, celebrities, face \
                 match, speech; no generative): {:.2}× (${:.6})",
                same, asset.like_for_like.comparable_usd
            );
        }
        _ => {
            let _ = writeln!(out, "  Media2Cloud V4: nothing to compare");
        }
    }
    // Each assumption once, with the items resting on it.
    let mut notes: Vec<(String, Vec<String>)> = Vec::new();
    for (who, estimate) in [
        ("mediasift", &asset.mediasift),
        ("Media2Cloud", &asset.media2cloud),
    ] {
        for item in &estimate.items {
            let Some(note) = &item.note else { continue };
            let name = format!("{} ({who})", item.item);
            match notes.iter_mut().find(|(n, _)| n == note) {
                Some((_, items)) => items.push(name),
                None => notes.push((note.clone(), vec![name])),
            }
        }
    }
    for (note, items) in notes {
        let _ = writeln!(out, "    * {note}: {}", items.join("; "));
    }
    out
}

fn items_text(estimate: &Estimate, infrastructure: bool) -> String {
    let table = PriceTable::builtin();
    let mut out = String::new();
    let line = |out: &mut String, item: &cost::LineItem| {
        let name = if item.estimated {
            format!("{} *", clip(&item.item, ITEM - 2))
        } else {
            clip(&item.item, ITEM)
        };
        let _ = writeln!(
            out,
            "  {:<ITEM$} {:>12}  {:<10} {:>24} {:>12.6}",
            name,
            quantity(item.quantity),
            item.unit,
            table.price(&item.price).label(),
            item.usd
        );
    };
    for item in estimate.items.iter().filter(|i| i.category.comparable()) {
        line(&mut out, item);
    }
    let _ = writeln!(
        out,
        "  {:<ITEM$} {:>61.6}",
        "  = analysis and transcoding", estimate.comparable_usd
    );
    if infrastructure {
        for item in estimate.items.iter().filter(|i| !i.category.comparable()) {
            line(&mut out, item);
        }
        let _ = writeln!(
            out,
            "  {:<ITEM$} {:>61.6}",
            "  = infrastructure (Lambda, EventBridge, S3)", estimate.infrastructure_usd
        );
        let _ = writeln!(
            out,
            "  {:<ITEM$} {:>61.6}",
            "  = mediasift in all", estimate.usd
        );
    }
    out
}

fn totals_text(report: &Report) -> String {
    let row = |name: &str, values: [f64; 4], ratios: [Option<f64>; 2], same: f64, vision: &str| {
        format!(
            "{:<32} {:>12.6} {:>12.6} {:>12.6} {:>12.6} {:>7} {:>12.6} {:>7}  {}\n",
            clip(name, 32),
            values[0],
            values[1],
            values[2],
            values[3],
            times(ratios[0]),
            same,
            times(ratios[1]),
            vision
        )
    };
    let mut out = format!(
        "{:<32} {:>12} {:>12} {:>12} {:>12} {:>7} {:>12} {:>7}  {}\n",
        "asset",
        "analysis $",
        "infra $",
        "mediasift $",
        "M2C V4 $",
        "ratio",
        "same feat. $",
        "ratio",
        "frames to vision (Rekognition calls)"
    );
    let vision = |e: &Estimate| -> f64 {
        e.items
            .iter()
            .filter(|i| i.category == cost::Category::Vision)
            .map(|i| i.quantity)
            .sum()
    };
    let (mut frames, mut m2c_frames) = (0, 0);
    for asset in &report.assets {
        let calls = format!(
            "({} / {})",
            quantity(vision(&asset.mediasift)),
            quantity(vision(&asset.media2cloud))
        );
        let shown = match &asset.frames {
            Some(v) => {
                frames += v.selected_for_vision;
                m2c_frames += v.media2cloud_selected;
                format!(
                    "{} / {} {calls}",
                    v.selected_for_vision, v.media2cloud_selected
                )
            }
            None => calls,
        };
        out += &row(
            &asset.key,
            [
                asset.mediasift.comparable_usd,
                asset.mediasift.infrastructure_usd,
                asset.mediasift.usd,
                asset.media2cloud.comparable_usd,
            ],
            [asset.ratio, asset.like_for_like_ratio],
            asset.like_for_like.comparable_usd,
            &shown,
        );
    }
    let t = &report.totals;
    out += &row(
        &format!("total ({} asset(s))", t.assets),
        [
            t.mediasift_comparable_usd,
            t.mediasift_infrastructure_usd,
            t.mediasift_usd,
            t.media2cloud_usd,
        ],
        [t.ratio, t.like_for_like_ratio],
        t.like_for_like_usd,
        &format!(
            "{frames} / {m2c_frames} ({} / {})",
            quantity(t.mediasift_vision_calls),
            quantity(t.media2cloud_vision_calls)
        ),
    );
    out += "analysis $: analysis and transcoding with the given options; ratio: over Media2Cloud \
            V4's (its own Lambda, Step Functions and storage are not estimated); same feat. $: \
            mediasift with Media2Cloud's default features (labels, celebrities, face match, \
            speech; no generative); frames to vision: video frames sent to Rekognition, \
            mediasift / Media2Cloud, and the image calls of every feature\n";
    out
}

fn times(ratio: Option<f64>) -> String {
    ratio.map_or("-".to_owned(), |r| format!("{r:.2}×"))
}

/// Whole numbers as such; fractions with enough digits to be read.
fn quantity(q: f64) -> String {
    // An empty float sum is -0.0.
    let q = q + 0.0;
    if (q - q.round()).abs() < 1e-9 {
        format!("{q:.0}")
    } else if q < 0.01 {
        format!("{q:.6}")
    } else if q < 100.0 {
        format!("{q:.3}")
    } else {
        format!("{q:.1}")
    }
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut clipped: String = text.chars().take(width - 1).collect();
        clipped.push('…');
        clipped
    }
}
