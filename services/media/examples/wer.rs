//! Word error rate of a transcript against a reference text, for scripts/bench-speech.sh:
//!
//!     cargo run -q -p mediasift-media --example wer -- REFERENCE.txt HYPOTHESIS.txt
//!
//! prints `errors reference_words substitutions deletions insertions` on one line, after the
//! normalisation of [`mediasift_media::wer`] (case, punctuation, numbers as words).

use std::process::ExitCode;

use mediasift_media::wer::word_error_rate;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [reference, hypothesis] = args.as_slice() else {
        eprintln!("usage: wer REFERENCE.txt HYPOTHESIS.txt");
        return ExitCode::from(2);
    };
    let read = |path: &str| {
        std::fs::read_to_string(path).map_err(|e| eprintln!("wer: cannot read {path}: {e}"))
    };
    let (Ok(reference), Ok(hypothesis)) = (read(reference), read(hypothesis)) else {
        return ExitCode::FAILURE;
    };
    let wer = word_error_rate(&reference, &hypothesis);
    println!(
        "{} {} {} {} {}",
        wer.errors(),
        wer.reference_words,
        wer.substitutions,
        wer.deletions,
        wer.insertions
    );
    ExitCode::SUCCESS
}
