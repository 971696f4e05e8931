//! Which notes a search, the picker or a listing keeps: all of some tags, changed since a date.
//! One value, built once from the flags (`--tag`, `--since`) and read by search and list alike.

use crate::error::{KbError, Result};
use crate::index::StoredNote;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Every one of these tags (lower-cased).
    pub tags: Vec<String>,
    /// `YYYY-MM-DD`: notes whose date ([`date_of`]) is this day or later.
    pub since: Option<String>,
}

impl Filter {
    /// From the flags as typed: tags in any case; `since` a date (`2026-11-01`) or an age
    /// (`7d`, `2w`, `3m`, `1y`) before `today`.
    pub fn new(tags: &[String], since: Option<&str>) -> Result<Filter> {
        Ok(Filter {
            tags: tags.iter().map(|t| t.trim().to_lowercase()).collect(),
            since: since.map(parse_since).transpose()?,
        })
    }

    /// Whether the note passes.
    pub fn keeps(&self, n: &StoredNote) -> bool {
        self.tags.iter().all(|t| n.tags.iter().any(|x| x == t))
            && self
                .since
                .as_deref()
                .is_none_or(|s| date_of(n).as_str() >= s)
    }
}

/// A note's date: the newest of `updated` / `created`, else the file's modification time
/// (RFC 3339, so that dates compare as text).
pub fn date_of(n: &StoredNote) -> String {
    let fm = [n.updated.as_deref(), n.created.as_deref()]
        .into_iter()
        .flatten()
        .max()
        .map(str::to_string);
    fm.unwrap_or_else(|| {
        chrono::DateTime::from_timestamp_nanos(n.stamp.mtime as i64)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    })
}

/// `2026-11-01` as it is; `7d`, `2w`, `3m`, `1y` as that long before today.
fn parse_since(s: &str) -> Result<String> {
    let s = s.trim();
    if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
        return Ok(s.to_string());
    }
    let bad = || {
        KbError::InvalidInput(format!(
            "--since {s}: give a date (2026-11-01) or an age (7d, 2w, 3m, 1y)"
        ))
    };
    let unit = s.chars().last().ok_or_else(bad)?;
    let num = &s[..s.len() - unit.len_utf8()];
    let per = match unit {
        'd' => 1,
        'w' => 7,
        'm' => 30,
        'y' => 365,
        _ => return Err(bad()),
    };
    let n: i64 = num.parse().map_err(|_| bad())?;
    // An age reaching before any date chrono can hold means "everything".
    let start = n
        .checked_mul(per)
        .filter(|d| *d >= 0)
        .and_then(chrono::Duration::try_days)
        .and_then(|d| chrono::Utc::now().checked_sub_signed(d));
    match start {
        Some(t) => Ok(t.format("%Y-%m-%d").to_string()),
        None if n >= 0 => Ok("0000-00-00".to_string()),
        None => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_dates_and_ages_and_refuses_the_rest() {
        assert_eq!(
            Filter::new(&[], Some("2026-11-01"))
                .unwrap()
                .since
                .as_deref(),
            Some("2026-11-01")
        );
        let week = Filter::new(&[], Some("1w")).unwrap().since.unwrap();
        assert_eq!(week.len(), 10);
        assert!(Filter::new(&[], Some("soon")).is_err());
        assert_eq!(
            Filter::new(&["VPN".into()], None).unwrap().tags,
            vec!["vpn".to_string()]
        );
    }
}
