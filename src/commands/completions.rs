//! `kb completions SHELL` and `kb man`: both generated from the clap definition.

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::error::KbError;
use crate::exit_codes::ExitCode;
use anyhow::{Context as _, Result};
use clap::CommandFactory;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
use clap_complete::Shell;
use std::io::Write;

/// The shell code that completes kb's commands, flags, note ids and tags: on TAB the shell
/// asks kb itself (`COMPLETE=SHELL kb -- WORDS`), so ids and tags are the vault's current ones.
pub fn run_completions(args: CompletionsArgs) -> Result<ExitCode> {
    let shell: &dyn EnvCompleter = match args.shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::PowerShell => &Powershell,
        Shell::Elvish => &Elvish,
        other => {
            anyhow::bail!(KbError::InvalidInput(format!("no completion for {other}")))
        }
    };
    // The shell calls this very binary back (found by its path, so it need not be on PATH).
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_string))
        .unwrap_or_else(|| "kb".into());
    let mut out = std::io::stdout().lock();
    if matches!(args.shell, Shell::Bash) {
        out.write_all(bash_registration(&exe).as_bytes())?;
    } else {
        shell.write_registration("COMPLETE", "kb", "kb", &exe, &mut out)?;
    }
    out.flush()?;
    Ok(ExitCode::Success)
}

/// clap_complete's bash registration, with the words taken from the line as typed: bash
/// splits words at `:` (`COMP_WORDBREAKS`), which cut `team:printing/spooler` in three;
/// and what bash inserts is only what follows the last `:` of the word (as bash-completion's
/// `__ltrim_colon_completions` does).
fn bash_registration(exe: &str) -> String {
    let exe = exe.replace('\\', "\\\\").replace('"', "\\\"");
    r#"
_clap_complete_kb() {
    local IFS=$'\013'
    local _CLAP_COMPLETE_COMP_TYPE=${COMP_TYPE}
    if compopt +o nospace 2> /dev/null; then
        local _CLAP_COMPLETE_SPACE=false
    else
        local _CLAP_COMPLETE_SPACE=true
    fi
    local words cword cur
    if [[ -n "${COMP_LINE-}" ]]; then
        local line="${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}}"
        IFS=$' \t\n' read -r -a words <<< "$line"
        if [[ -z "$line" || "$line" =~ [[:space:]]$ ]]; then
            words+=("")
        fi
        cword=$(( ${#words[@]} - 1 ))
    else
        words=("${COMP_WORDS[@]}")
        cword=${COMP_CWORD}
        if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
            words[COMP_CWORD]="$2"
        fi
    fi
    cur="${words[cword]}"
    COMPREPLY=( $( \
        _CLAP_IFS="$IFS" \
        _CLAP_COMPLETE_INDEX="$cword" \
        _CLAP_COMPLETE_COMP_TYPE="$_CLAP_COMPLETE_COMP_TYPE" \
        _CLAP_COMPLETE_SPACE="$_CLAP_COMPLETE_SPACE" \
        COMPLETE="bash" \
        "EXE" -- "${words[@]}" \
    ) )
    if [[ $? != 0 ]]; then
        unset COMPREPLY
        return
    fi
    if [[ "$cur" == *:* && "${COMP_WORDBREAKS-:}" == *:* && -n "${COMP_LINE-}" ]]; then
        local colon="${cur%"${cur##*:}"}"
        local i
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]="${COMPREPLY[i]#"$colon"}"
        done
    fi
    if [[ $_CLAP_COMPLETE_SPACE == false ]] && [[ "${COMPREPLY-}" =~ [=/:]$ ]]; then
        compopt -o nospace
    fi
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -o nospace -o bashdefault -o nosort -F _clap_complete_kb kb
else
    complete -o nospace -o bashdefault -F _clap_complete_kb kb
fi
"#
    .replace("EXE", &exe)
}

/// `kb man` prints kb(1); `kb man COMMAND` prints kb-COMMAND(1), which kb(1) refers to;
/// `kb man --out DIR` writes them all.
pub fn run_man(args: ManArgs) -> Result<ExitCode> {
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        clap_mangen::generate_to(Cli::command(), dir)
            .with_context(|| format!("cannot write the pages into {}", dir.display()))?;
        return Ok(ExitCode::Success);
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let page = match &args.command {
        None => cmd,
        Some(name) => cmd
            .find_subcommand(name)
            .cloned()
            .ok_or_else(|| KbError::InvalidInput(format!("kb has no command '{name}'")))?,
    };
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(page).render(&mut out)?;
    out.flush()?;
    Ok(ExitCode::Success)
}
