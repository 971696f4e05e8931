//! Outcomes of a fix used on calls, and what they add up to.
//!
//! Each use is one line of the note's `outcomes:` list, written by `kb worked` / `kb failed`:
//!
//! ```text
//! 2026-11-30T10:15:00Z worked; ticket: INC-4411; minutes: 15; by: Dana Lee
//! 2026-12-02T09:01:00Z failed; ticket: 77; by: Lee; why: the registry key was missing
//! ```
//!
//! A list of self-contained lines merges as a union when two people record outcomes on two
//! machines (`kb sync`), and a person can read and write it by hand. Lines kb cannot read are
//! kept and ignored.

use chrono::{DateTime, Utc};

/// One recorded use of a fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// When (RFC 3339).
    pub at: String,
    pub worked: bool,
    pub ticket: Option<String>,
    pub minutes: Option<u32>,
    pub by: Option<String>,
    pub why: Option<String>,
}

impl Outcome {
    /// The line stored in `outcomes:` (no `; ` inside a value: it separates the fields).
    pub fn to_line(&self) -> String {
        let mut line = format!(
            "{} {}",
            self.at,
            if self.worked { "worked" } else { "failed" }
        );
        let clean = |s: &str| s.replace("; ", ", ").replace(['\r', '\n'], " ");
        if let Some(t) = &self.ticket {
            line.push_str(&format!("; ticket: {}", clean(t)));
        }
        if let Some(m) = self.minutes {
            line.push_str(&format!("; minutes: {m}"));
        }
        if let Some(b) = &self.by {
            line.push_str(&format!("; by: {}", clean(b)));
        }
        if let Some(w) = &self.why {
            line.push_str(&format!("; why: {}", clean(w)));
        }
        line
    }

    /// Read a line back; None for a line kb did not write and cannot read.
    pub fn parse(line: &str) -> Option<Outcome> {
        let mut parts = line.split("; ");
        let (at, result) = parts.next()?.trim().split_once(' ')?;
        DateTime::parse_from_rfc3339(at).ok()?;
        let worked = match result.trim() {
            "worked" => true,
            "failed" => false,
            _ => return None,
        };
        let mut o = Outcome {
            at: at.to_string(),
            worked,
            ticket: None,
            minutes: None,
            by: None,
            why: None,
        };
        for part in parts {
            let Some((k, v)) = part.split_once(": ") else {
                continue;
            };
            let v = v.trim().to_string();
            match k.trim() {
                "ticket" => o.ticket = Some(v),
                "minutes" => o.minutes = v.parse().ok(),
                "by" => o.by = Some(v),
                "why" => o.why = Some(v),
                _ => {}
            }
        }
        Some(o)
    }
}

/// What a note's outcomes and known-error fields say, for a search result.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Record {
    pub status: Option<String>,
    pub worked: u32,
    pub failed: u32,
    /// Median of the minutes recorded.
    pub minutes: Option<u32>,
    /// The latest outcome's date.
    pub last_used: Option<String>,
    pub verified: Option<String>,
    pub applies_to: Vec<String>,
}

impl Record {
    pub fn new(
        status: Option<&str>,
        verified: Option<&str>,
        applies_to: &[String],
        lines: &[String],
    ) -> Record {
        let outcomes: Vec<Outcome> = lines.iter().filter_map(|l| Outcome::parse(l)).collect();
        let mut minutes: Vec<u32> = outcomes.iter().filter_map(|o| o.minutes).collect();
        minutes.sort_unstable();
        Record {
            status: status
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty()),
            worked: outcomes.iter().filter(|o| o.worked).count() as u32,
            failed: outcomes.iter().filter(|o| !o.worked).count() as u32,
            minutes: (!minutes.is_empty()).then(|| minutes[(minutes.len() - 1) / 2]),
            last_used: outcomes
                .iter()
                .map(|o| o.at.clone())
                .max_by_key(|at| DateTime::parse_from_rfc3339(at).ok()),
            verified: verified
                .map(str::to_string)
                .filter(|v| !v.trim().is_empty()),
            applies_to: applies_to.to_vec(),
        }
    }

    pub fn is_retired(&self) -> bool {
        self.status.as_deref() == Some("retired")
    }

    /// The fix failed more often than it worked.
    pub fn is_doubtful(&self) -> bool {
        self.failed > self.worked
    }

    /// How much the record speaks for the fix, to order notes that match equally well: a retired
    /// note last, then by uses that worked minus uses that failed.
    pub fn standing(&self) -> i64 {
        if self.is_retired() {
            return i64::MIN / 2;
        }
        i64::from(self.worked) - i64::from(self.failed)
    }

    pub fn is_empty(&self) -> bool {
        *self == Record::default()
    }

    /// One line for a terminal: `worked 5 of 6 · ~15 min · verified 3 weeks ago · written by
    /// Dana, changed by Lee 2 days ago · Windows 11` (`who`: the note's authorship, if known).
    pub fn summary(&self, now: DateTime<Utc>, who: Option<&str>) -> String {
        let mut parts = Vec::new();
        if self.is_retired() {
            parts.push("RETIRED".to_string());
        } else if let Some(s) = &self.status {
            parts.push(s.clone());
        }
        let uses = self.worked + self.failed;
        if uses > 0 {
            parts.push(format!("worked {} of {uses}", self.worked));
        }
        if self.is_doubtful() {
            parts.push("failed more often than it worked".into());
        }
        if let Some(m) = self.minutes {
            parts.push(format!("~{m} min"));
        }
        if let Some(v) = &self.verified {
            parts.push(format!("verified {}", ago(v, now)));
        } else if let Some(l) = &self.last_used {
            parts.push(format!("last used {}", ago(l, now)));
        }
        if let Some(who) = who {
            parts.push(who.to_string());
        }
        if !self.applies_to.is_empty() {
            parts.push(self.applies_to.join(", "));
        }
        parts.join(" · ")
    }
}

/// `today`, `3 days ago`, `5 weeks ago`, `2 years ago`; the text itself if it is not a date.
pub fn ago(when: &str, now: DateTime<Utc>) -> String {
    let date = DateTime::parse_from_rfc3339(when)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(when.trim(), "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        });
    let Some(date) = date else {
        return when.to_string();
    };
    let days = (now - date).num_days();
    let plural = |n: i64, unit: &str| format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" });
    match days {
        i64::MIN..=0 => "today".into(),
        1..=13 => plural(days, "day"),
        14..=59 => plural(days / 7, "week"),
        60..=729 => plural(days / 30, "month"),
        _ => plural(days / 365, "year"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_round_trips_and_a_value_cannot_break_it() {
        let o = Outcome {
            at: "2026-11-30T10:15:00Z".into(),
            worked: false,
            ticket: Some("INC-4411".into()),
            minutes: Some(15),
            by: Some("Dana Lee".into()),
            why: Some("the key was missing; again\\nand more".into()),
        };
        let line = o.to_line();
        let back = Outcome::parse(&line).unwrap();
        assert_eq!(
            back.why.as_deref(),
            Some("the key was missing, again\\nand more")
        );
        assert_eq!(back.ticket, o.ticket);
        assert_eq!(back.minutes, Some(15));
        assert!(Outcome::parse("called the vendor").is_none());
    }

    #[test]
    fn a_record_counts_uses_and_takes_the_median_minutes() {
        let lines: Vec<String> = [
            "2026-11-01T10:00:00Z worked; minutes: 10",
            "2026-11-02T10:00:00Z worked; minutes: 30",
            "2026-11-03T10:00:00Z failed; why: no",
            "2026-11-04T10:00:00Z worked; minutes: 15",
            "not an outcome",
        ]
        .map(String::from)
        .to_vec();
        let r = Record::new(Some("Workaround"), None, &[], &lines);
        assert_eq!((r.worked, r.failed, r.minutes), (3, 1, Some(15)));
        assert_eq!(r.last_used.as_deref(), Some("2026-11-04T10:00:00Z"));
        assert_eq!(r.status.as_deref(), Some("workaround"));
        let now = DateTime::parse_from_rfc3339("2026-11-25T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            r.summary(now, None),
            "workaround · worked 3 of 4 · ~15 min · last used 2 weeks ago"
        );
        let bad = Record::new(None, None, &[], &lines[2..3]);
        assert!(bad.is_doubtful());
        assert!(Record::new(Some("retired"), None, &[], &[]).standing() < bad.standing());
    }
}
