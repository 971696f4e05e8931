//! `kb model check [PATH]`: load an embedding model, embed a sentence, and say what it is and
//! how fast it runs (the model configured when no PATH is given).

use super::Context;
use crate::cli::{ModelAction, ModelArgs};
use crate::embed::Model;
use crate::error::KbError;
use crate::exit_codes::ExitCode;
use anyhow::{bail, Result};
use std::time::Instant;

/// What `check` embeds: two sentences that mean about the same, and one that does not.
const SAME: [&str; 2] = [
    "Outlook keeps asking for my password",
    "the mail program prompts for credentials again and again",
];
const OTHER: &str = "the laptop fan is loud after the update";

pub fn run(ctx: &Context, args: ModelArgs) -> Result<ExitCode> {
    match args.action {
        ModelAction::Check { path } => check(ctx, path),
    }
}

fn check(ctx: &Context, path: Option<std::path::PathBuf>) -> Result<ExitCode> {
    let Some(path) = path.or_else(|| ctx.model.clone()) else {
        bail!(KbError::InvalidInput(
            "no model is configured: give its folder (`kb model check PATH`), or set `model` in config.toml or KB_MODEL".into()
        ));
    };
    let start = Instant::now();
    let model = Model::load(&path)?;
    let load = start.elapsed();
    let start = Instant::now();
    let one = model.embed(&[SAME[0]])?;
    let first = start.elapsed();
    let texts = [SAME[0], SAME[1], OTHER];
    let start = Instant::now();
    let v = model.embed(&texts)?;
    let three = start.elapsed();
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    println!("{}", model.describe());
    match model.copy() {
        Some(copy) => println!(
            "questions are read from kb's copy of it (16-bit weights): {}",
            copy.display()
        ),
        None => println!(
            "questions are read from its own files (kb's copy could not be written in the user cache folder)"
        ),
    }
    println!(
        "loaded in {} ms; one sentence embedded in {} ms, three in {} ms",
        load.as_millis(),
        first.as_millis(),
        three.as_millis()
    );
    println!(
        "similar sentences {:.2}, unrelated {:.2} (cosine)",
        cos(&v[0], &v[1]),
        cos(&v[0], &v[2])
    );
    // kb's encoder (what searches and `kb index` run, 16-bit weights from kb's copy) must
    // give the vectors of candle's reading of the model's own file (32-bit, the sentences
    // padded into one batch), and a sentence alone the same as among others.
    let reference = model.embed_reference(&texts)?;
    let drift = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    };
    let worst = v
        .iter()
        .zip(&reference)
        .map(|(a, b)| drift(a, b))
        .fold(drift(&one[0], &v[0]), f32::max);
    if worst > 1e-3 {
        bail!(KbError::Model {
            path,
            reason: format!("kb's reading of the model differs from candle's by {worst:.4}"),
        });
    }
    if ctx.model.as_deref() != Some(path.as_path()) {
        ctx.ui.say(&format!(
            "kb: to use it, set `model = \"{}\"` in config.toml or KB_MODEL",
            path.display()
        ));
    }
    Ok(ExitCode::Success)
}
