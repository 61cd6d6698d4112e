//! `md5sum`-style MD5 of one file with [`mediasift_media::hash::md5_file`]; used by
//! `scripts/bench-md5.sh` to compare against the system `md5sum`.
//!
//! Usage: `cargo run --release -p mediasift-media --example md5sum -- FILE`

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: md5sum FILE");
        return ExitCode::from(2);
    };
    match mediasift_media::hash::md5_file(&path).await {
        Ok(md5) => {
            println!("{md5}  {}", path.to_string_lossy());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("md5sum: {error}");
            ExitCode::FAILURE
        }
    }
}
