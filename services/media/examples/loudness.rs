//! Per-track EBU R128 loudness of a file, for people and benchmarks (the `mediasift loudness`
//! command will wrap the same call):
//!
//! ```sh
//! cargo run --release -p mediasift-media --example loudness -- FILE [--json]
//! ```

use std::time::Instant;

use mediasift_media::loudness::{LoudnessOptions, analyse_file};

fn show(value: Option<f64>) -> String {
    value.map_or_else(|| "-inf".to_owned(), |v| format!("{v:.2}"))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let Some(path) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: loudness FILE [--json]");
        std::process::exit(2);
    };
    let started = Instant::now();
    let report = match analyse_file(path, &LoudnessOptions::default()).await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("loudness: {error}");
            std::process::exit(1);
        }
    };
    let elapsed = started.elapsed();
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(error) => {
                eprintln!("loudness: {error}");
                std::process::exit(1);
            }
        }
        return;
    }
    for track in &report.tracks {
        let m = &track.loudness;
        println!(
            "track {}: {} ch, I {} LUFS, LRA {:.2} LU, TP {} dBTP, max M {} LUFS, {}{} silences",
            track.track,
            m.channels,
            show(m.integrated_lufs),
            m.loudness_range_lu,
            show(m.true_peak_dbtp),
            show(m.max_momentary_lufs),
            if m.silent { "silent, " } else { "" },
            m.silences.len(),
        );
    }
    println!("map {:?}: {}", report.map, report.description);
    for warning in &report.warnings {
        println!("warning: {warning}");
    }
    println!("elapsed {:.3} s", elapsed.as_secs_f64());
}
