//! `kb config`: the effective settings and where each comes from.

use super::Context;
use crate::cli::ConfigArgs;
use crate::exit_codes::ExitCode;
use crate::output;
use anyhow::Result;
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct Setting {
    key: String,
    value: String,
    source: String,
}

pub fn run(ctx: &Context, args: ConfigArgs) -> Result<ExitCode> {
    let mut rows: Vec<Setting> = ctx
        .sources
        .iter()
        .map(|(k, v, s)| Setting {
            key: k.to_string(),
            value: v.clone(),
            source: s.to_string(),
        })
        .collect();
    let team = ctx
        .vault()
        .ok()
        .map(|v| super::team_config(ctx, &v).clone())
        .unwrap_or_default();
    let mut put = |key: &str, value: Option<String>| {
        let (value, source) = match value {
            Some(v) => (v, "kb.toml".to_string()),
            None => (String::new(), "unset".to_string()),
        };
        rows.push(Setting {
            key: key.into(),
            value,
            source,
        });
    };
    put("remote", team.remote.clone());
    put(
        "default_tags",
        (!team.default_tags.is_empty()).then(|| team.default_tags.join(", ")),
    );
    put("template", team.template.clone());
    put("folder", team.folder.clone());
    rows.push(Setting {
        key: "user_config".into(),
        value: ctx
            .user_config_path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        source: match &ctx.user_config_path {
            Some(p) if p.is_file() => "found".into(),
            Some(_) => "not created".into(),
            None => "no configuration folder".into(),
        },
    });
    rows.push(Setting {
        key: "full_check_limit".into(),
        value: ctx.full_check_limit.to_string(),
        source: "KB_FULL_CHECK_LIMIT or default".into(),
    });
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        ctx.ui.json(&mut out, &rows)?;
    } else {
        for r in &rows {
            writeln!(
                out,
                "{:<17} {}  {}",
                r.key,
                output::one_line(&r.value),
                ctx.ui.out(output::DIM, &format!("({})", r.source))
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::Success)
}
