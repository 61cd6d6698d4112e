//! The `mediasift` command.

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "mediasift",
    version,
    about = "Media ingest and analysis on an EventBridge contract, run locally or on AWS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where local state lives.
#[derive(Args, Clone)]
pub struct DataDir {
    /// The data directory: object store, state, event bus.
    #[arg(
        long,
        env = "MEDIASIFT_DATA_DIR",
        default_value = ".mediasift",
        global = true
    )]
    pub data_dir: PathBuf,
    /// A configuration file (default: <data-dir>/config.toml when it exists).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Put files or folders into the local ingest bucket and process them until every asset has
    /// finished or failed; then print where the outputs are.
    Run {
        /// Files or folders (folders are walked; hidden files are skipped).
        #[arg(required_unless_present = "resume")]
        paths: Vec<PathBuf>,
        /// Put nothing new: finish what an interrupted run or server left pending (deliveries
        /// in flight, uploads stored but not announced), then summarise the data directory.
        #[arg(long, conflicts_with = "paths")]
        resume: bool,
        /// One JSON object per input file at the end, for scripts.
        #[arg(long)]
        json: bool,
        /// The assets' own analysis options, a JSON object (what an S3 upload carries in
        /// `x-amz-meta-mediasift-options`), e.g. '{"transcribe": false}' or
        /// '{"pdfPassword": "…"}'.
        #[arg(long, value_name = "JSON")]
        options: Option<String>,
        #[command(flatten)]
        data: DataDir,
    },
    /// One asset's report as a self-contained HTML page: the player with a timeline of shots,
    /// scenes, ad breaks, labels, people, text, speech, silences and loudness (click to seek),
    /// the transcript, checksums and technical metadata, EXIF and place, document pages.
    Report {
        /// An asset id, or the key (or file name) it was uploaded as.
        asset: String,
        /// The HTML file to write (default: <data-dir>/reports/<asset-id>.html); the media it
        /// plays go into `<name>_files/` beside it.
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        data: DataDir,
    },
    /// The local web UI and JSON API: the asset list with live status, search, each asset's
    /// report, uploads (processed as they arrive). Ctrl-C stops it.
    Serve {
        /// The port (0 picks a free one; the address is printed).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Listen on an address other machines can reach (there is no authentication).
        #[arg(long)]
        allow_remote: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Every asset's state, or one asset's deliveries per service.
    Status {
        /// An asset id (or the correlation id of its upload).
        asset: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Near-duplicates: images and video frames of the library within a Hamming distance of an
    /// asset's perceptual hashes (an image's, or its video's indexed frames'), or of an image
    /// file's.
    Similar {
        /// An asset id, or an image file (it need not be in the library).
        target: String,
        /// The largest Hamming distance (of 64 bits) listed; every match up to 7 is found,
        /// farther ones only when they share a band of the index.
        #[arg(long, default_value_t = 7)]
        max_distance: u32,
        /// At most this many matches, nearest first.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON object per match, for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Search what the analyses found (transcripts, on-screen and document text, labels,
    /// keyphrases, entities, people, file names): assets with the matching times or pages.
    Search {
        /// Words (all must match); a "quoted phrase" matches as a phrase.
        text: String,
        /// At most this many assets, best first.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One JSON object per asset, for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Everything known about an asset: its facts, its analyses and their results, the people,
    /// labels, text, keyphrases, entities, places and scenes of the knowledge graph.
    Show {
        /// An asset id, or the key (or file name) it was uploaded as.
        asset: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// The knowledge graph: related assets, where a person appears, Neptune export.
    Graph {
        #[command(subcommand)]
        action: GraphAction,
    },
    /// The events on the bus, in order.
    Events {
        /// Only this asset's events.
        #[arg(long)]
        asset: Option<String>,
        /// Keep printing new events as they arrive (Ctrl-C stops).
        #[arg(long)]
        follow: bool,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// The dead-letter queue: deliveries that failed permanently or ran out of retries.
    Dlq {
        /// Deliver them again (after fixing the cause) and process until idle.
        #[arg(long)]
        retry: bool,
        /// Only this service's dead letters.
        #[arg(long)]
        service: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Deliver archived events again to the services whose rules match, and process until idle.
    Replay {
        #[arg(long)]
        asset: Option<String>,
        /// Events at or after this time (RFC 3339, e.g. 2026-11-21T09:00:00Z).
        #[arg(long)]
        since: Option<String>,
        /// Only to this service.
        #[arg(long)]
        service: Option<String>,
        #[command(flatten)]
        data: DataDir,
    },
    /// Dynamic frame analysis of one video, without the bus: 1-fps captures, their pHash and
    /// sharpness, their groups, and which captures would go to vision (the others reuse them).
    Frames {
        /// The video file.
        file: PathBuf,
        /// Captures per second.
        #[arg(long, default_value_t = 1.0)]
        rate: f64,
        /// Group within the shots of this `mediasift shots --json` output (default: the whole
        /// video is one shot).
        #[arg(long, value_name = "SHOTS_JSON")]
        shots: Option<PathBuf>,
        /// One JSON object, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Shot boundaries (hard cuts, dissolves, fades) and technical cues (black, fade-in,
    /// fade-out, colour bars) of one video, without the bus, from one decode at full frame rate.
    Shots {
        /// The video file.
        file: PathBuf,
        /// One JSON object, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// What analysing files on AWS would cost, before anything runs: the AWS calls (Rekognition
    /// on the frames the real selection picks, Transcribe, Comprehend, Bedrock, MediaConvert,
    /// Lambda, EventBridge, S3) and dollars, beside Media2Cloud V4's default analysis of the
    /// same media. Prices: pricing/aws-us-east-1.toml.
    Cost {
        /// Files or folders (folders are walked as `run` walks them).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The analysis options, as `run --options` takes them: a JSON object, inline or in a
        /// file (e.g. '{"vision": {"labels": false}}').
        #[arg(long, value_name = "FILE|JSON")]
        options: Option<String>,
        /// One JSON object, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// EBU R128 loudness of every audio track of one file (integrated, range, true peak, maximum
    /// momentary), silences, and which tracks carry sound, without the bus.
    Loudness {
        /// The audio or video file.
        file: PathBuf,
        /// One JSON object (with the 1-second loudness series), for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Speech to text of one audio or video file with the local engine (whisper tiny.en, or
    /// pocketsphinx when whisper is not installed), without the bus. Plain text by default.
    Transcribe {
        /// The audio or video file (its first audio track is transcribed).
        file: PathBuf,
        /// The transcript's JSON: engine, language, segments, words with timings.
        #[arg(long, group = "format")]
        json: bool,
        /// WebVTT captions (2 lines of 42 characters, 1–7 s per cue).
        #[arg(long, group = "format")]
        vtt: bool,
        /// SRT captions (the same cues).
        #[arg(long, group = "format")]
        srt: bool,
        /// The speech engine.
        #[arg(long, value_enum, default_value_t = SpeechEngine::Auto)]
        engine: SpeechEngine,
    },
    /// When each label, person and line of text is on screen in an analysed video, with the
    /// names given to faces so far.
    Timelines {
        /// The asset id.
        asset: uuid::Uuid,
        /// Only this feature (labels, faces, celebrities, faceMatch, text, moderation).
        #[arg(long)]
        feature: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Faces of the face collection.
    Faces {
        #[command(subcommand)]
        action: FacesAction,
    },
    /// The event catalog: every event, who produces it, and which services' rules receive it.
    Catalog {
        /// One JSON object per event, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Generated contracts: event schemas, rules, examples, AsyncAPI, the event catalog page.
    Contracts {
        #[command(subcommand)]
        action: ContractsAction,
    },
    /// Test an EventBridge event pattern against an event, like EventBridge's TestEventPattern:
    /// prints `match` (exit 0), `no match` (exit 1) or `invalid: REASON` (exit 2).
    TestPattern {
        /// The event pattern (JSON file).
        #[arg(long)]
        pattern: PathBuf,
        /// The event (JSON file): a whole EventBridge event, envelope and detail.
        #[arg(long)]
        event: PathBuf,
    },
}

/// The local speech engine `transcribe` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SpeechEngine {
    /// whisper when installed, else pocketsphinx.
    Auto,
    /// whisper tiny.en through faster-whisper.
    Whisper,
    /// pocketsphinx 5 with its bundled English model.
    Pocketsphinx,
}

impl From<SpeechEngine> for mediasift_audio::speech::Engine {
    fn from(engine: SpeechEngine) -> Self {
        match engine {
            SpeechEngine::Auto => Self::Auto,
            SpeechEngine::Whisper => Self::Whisper,
            SpeechEngine::Pocketsphinx => Self::Pocketsphinx,
        }
    }
}

#[derive(Subcommand)]
enum FacesAction {
    /// Name a face of the collection (its id is in faceMatch results and timelines); every
    /// timeline read from now on shows the name, with no analysis run again.
    Name {
        face_id: String,
        name: String,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Subcommand)]
enum GraphAction {
    /// Assets sharing people, labels, keywords, entities, brands, places or bytes with an asset,
    /// the most related first (what is shared by many assets counts for less).
    Related {
        /// An asset id, or the key (or file name) it was uploaded as.
        asset: String,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// One JSON object per related asset, for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Where a person appears (a celebrity, or a face of the collection by the name given to
    /// it), with the times on screen.
    Person {
        name: String,
        /// One JSON object per appearance, for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Write the graph as Neptune bulk-load CSV (`vertices.csv`, `edges.csv`), to load a local
    /// library into Amazon Neptune.
    Export {
        /// The folder to write (created when absent).
        dir: PathBuf,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Subcommand)]
enum ContractsAction {
    /// Regenerate contracts/ and docs/events.md from the code.
    Export {
        /// The repository root to write under.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Exit non-zero when the committed contracts differ from what the code generates.
    Check {
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
}

fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = Cli::parse();
    commands::init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run {
            paths,
            resume: _,
            json,
            options,
            data,
        } => commands::run::run(&data, &paths, json, options.as_deref()).await,
        Command::Report {
            asset,
            output,
            data,
        } => commands::report::report(&data, &asset, output.as_deref()).await,
        Command::Serve {
            port,
            bind,
            allow_remote,
            data,
        } => commands::serve::serve(&data, (bind, port).into(), allow_remote).await,
        Command::Status { asset, json, data } => {
            commands::status::status(&data, asset.as_deref(), json).await
        }
        Command::Similar {
            target,
            max_distance,
            limit,
            json,
            data,
        } => commands::similar::similar(&data, &target, max_distance, limit, json).await,
        Command::Search {
            text,
            limit,
            json,
            data,
        } => commands::graph::search(&data, &text, limit, json).await,
        Command::Show { asset, json, data } => commands::graph::show(&data, &asset, json).await,
        Command::Graph { action } => match action {
            GraphAction::Related {
                asset,
                limit,
                json,
                data,
            } => commands::graph::related(&data, &asset, limit, json).await,
            GraphAction::Person { name, json, data } => {
                commands::graph::person(&data, &name, json).await
            }
            GraphAction::Export { dir, data } => commands::graph::export(&data, &dir).await,
        },
        Command::Events {
            asset,
            follow,
            json,
            data,
        } => commands::events::events(&data, asset, follow, json).await,
        Command::Dlq {
            retry,
            service,
            json,
            data,
        } => commands::dlq::dlq(&data, retry, service, json).await,
        Command::Replay {
            asset,
            since,
            service,
            data,
        } => commands::replay::replay(&data, asset, since, service).await,
        Command::Frames {
            file,
            rate,
            shots,
            json,
        } => commands::frames::frames(&file, rate, shots.as_deref(), json).await,
        Command::Shots { file, json } => commands::shots::shots(&file, json).await,
        Command::Cost {
            paths,
            options,
            json,
        } => commands::cost::cost(&paths, options.as_deref(), json).await,
        Command::Loudness { file, json } => commands::loudness::loudness(&file, json).await,
        Command::Transcribe {
            file,
            json,
            vtt,
            srt,
            engine,
        } => {
            use commands::transcribe::Format;
            let format = match (json, vtt, srt) {
                (true, _, _) => Format::Json,
                (_, true, _) => Format::WebVtt,
                (_, _, true) => Format::Srt,
                _ => Format::Text,
            };
            commands::transcribe::transcribe(&file, format, engine.into()).await
        }
        Command::Timelines {
            asset,
            feature,
            json,
            data,
        } => commands::timelines::timelines(&data, asset, feature.as_deref(), json).await,
        Command::Faces { action } => match action {
            FacesAction::Name {
                face_id,
                name,
                data,
            } => commands::timelines::name_face(&data, &face_id, &name).await,
        },
        Command::Catalog { json } => commands::contracts::catalog(json),
        Command::Contracts { action } => match action {
            ContractsAction::Export { root } => commands::contracts::export(&root),
            ContractsAction::Check { root } => commands::contracts::check(&root),
        },
        Command::TestPattern { pattern, event } => {
            commands::contracts::test_pattern(&pattern, &event)
        }
    }
}

/// `mediasift events | head` should end quietly, as Unix tools do, not panic on a closed pipe
/// (Rust ignores SIGPIPE by default, so every print would then fail).
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
