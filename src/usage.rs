//! Usage errors clap cannot see. Free-text arguments (a pasted error, a fix) may start with
//! `-` (`-bash: foo: command not found`), so clap lets them through; a word shaped like a flag
//! that the command does not have (`--explian`, `--jsn`) is then a typo, not text: it is a
//! usage error, with the flag meant when one is close. Text that really is such a word goes
//! after `--`.

use clap::error::ErrorKind;

/// The first flag-shaped word of `args` (program name first) that its command does not know,
/// as clap's usage error.
pub fn unknown_flag(cmd: &mut clap::Command, args: &[std::ffi::OsString]) -> Option<clap::Error> {
    cmd.build();
    let mut current: &clap::Command = cmd;
    let mut in_subcommand = false;
    let mut value_next = false;
    for raw in args.iter().skip(1) {
        let Some(t) = raw.to_str() else { continue };
        if std::mem::take(&mut value_next) {
            continue;
        }
        if t == "--" {
            return None;
        }
        if let Some(long) = t.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, _)) => (n, true),
                None => (long, false),
            };
            if !flag_shaped(name) {
                continue; // text
            }
            match current.get_arguments().find(|a| {
                a.get_long() == Some(name)
                    || a.get_all_aliases().is_some_and(|al| al.contains(&name))
            }) {
                Some(a) => value_next = takes_value(a) && !inline,
                None if name == "help" || name == "version" => {}
                None => return Some(error(current, t, name, true)),
            }
        } else if let Some(short) = t.strip_prefix('-') {
            let mut chars = short.chars();
            let Some(first) = chars.next() else { continue };
            // `-1`, `-bash:`, `- item`: text. `-x`, `-nx`, `-n5`: flags.
            if !first.is_ascii_alphabetic() || !flag_shaped(short) {
                continue;
            }
            match current
                .get_arguments()
                .find(|a| a.get_short() == Some(first))
            {
                Some(a) => value_next = takes_value(a) && short.len() == 1,
                None if first == 'h' || first == 'V' => {}
                None => return Some(error(current, t, short, false)),
            }
        } else if !in_subcommand {
            if let Some(sub) = current.find_subcommand(t) {
                current = sub;
                in_subcommand = true;
            }
        }
    }
    None
}

/// Letters, digits and dashes: a flag's name (text holds spaces, colons, dots...).
fn flag_shaped(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn takes_value(a: &clap::Arg) -> bool {
    a.get_action().takes_values()
}

fn error(cmd: &clap::Command, given: &str, name: &str, long: bool) -> clap::Error {
    let close = cmd
        .get_arguments()
        .filter_map(|a| a.get_long())
        .map(|l| (edits(name, l), l))
        .filter(|(d, l)| *d <= 2.max(l.len() / 3))
        .min();
    let mut msg = format!("unexpected argument '{given}' found\n");
    if let Some((_, l)) = close.filter(|_| long || name.len() > 1) {
        msg.push_str(&format!("\n  tip: a similar argument exists: '--{l}'"));
    }
    msg.push_str(&format!(
        "\n  tip: to use '{given}' as text, put it after '--': `kb {} -- {given}`\n\nFor more information, try '--help'.\n",
        cmd.get_name()
    ));
    clap::Error::raw(ErrorKind::UnknownArgument, msg)
}

/// Levenshtein distance.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn check(args: &[&str]) -> Option<String> {
        let args: Vec<std::ffi::OsString> = std::iter::once("kb")
            .chain(args.iter().copied())
            .map(Into::into)
            .collect();
        unknown_flag(&mut crate::cli::Cli::command(), &args).map(|e| e.to_string())
    }

    #[test]
    fn mistyped_flags_are_usage_errors_and_text_is_text() {
        let e = check(&["search", "--explian", "vpn error 809"]).unwrap();
        assert!(
            e.contains("'--explian'") && e.contains("'--explain'"),
            "{e}"
        );
        assert!(check(&["search", "--jsn", "foo"])
            .unwrap()
            .contains("'--json'"));
        assert!(check(&["--dir", "x", "search", "-z", "foo"]).is_some());
        // Pasted text, values, and anything after `--` are not flags.
        assert_eq!(check(&["search", "-bash: foo: command not found"]), None);
        assert_eq!(check(&["search", "--", "--jsn"]), None);
        assert_eq!(check(&["search", "-n", "3", "--json", "x"]), None);
        assert_eq!(check(&["search", "-n5", "x"]), None);
        assert_eq!(check(&["search", "-1"]), None);
        assert_eq!(
            check(&["add", "--fix", "--force-reinstall", "--title", "T"]),
            None
        );
        assert_eq!(check(&["add", "--fix=--x", "--title", "T"]), None);
        assert_eq!(
            check(&["--vault", "team", "search", "x", "--tag", "vpn"]),
            None
        );
        assert_eq!(check(&["search", "--- FAIL: TestX"]), None);
        assert_eq!(check(&["search", "x", "--help"]), None);
    }
}
