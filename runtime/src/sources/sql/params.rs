//! Query parameters: literals, and relative times (`"now"`,
//! `"<n><unit>_ago"`).

use std::time::{SystemTime, UNIX_EPOCH};

use super::query::Param;

/// The value a parameter is bound to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bound {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    /// A relative time: Unix seconds (SQLite binds it as UTC text, the
    /// other drivers as a timestamp).
    Time(i64),
}

/// `"now"` and `"<n><unit>_ago"` as seconds before now; `None` for any
/// other text.
pub(crate) fn relative_seconds(text: &str) -> Option<u64> {
    if text == "now" {
        return Some(0);
    }
    let amount = text.strip_suffix("_ago")?;
    let split = amount.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = amount.split_at(split);
    let n: u64 = n.parse().ok()?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// `unix` seconds as UTC `YYYY-MM-DD HH:MM:SS`.
#[cfg_attr(not(feature = "sql-sqlite"), allow(dead_code))]
pub(crate) fn utc_text(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Days since 1970-01-01 to a civil date (proleptic Gregorian), by eras
    // of 400 years.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

pub(crate) fn bind_value(param: &Param, now: SystemTime) -> Bound {
    match param {
        Param::Bool(b) => Bound::Bool(*b),
        Param::Int(i) => Bound::Int(*i),
        Param::Float(f) => Bound::Float(*f),
        Param::Text(text) => match relative_seconds(text) {
            Some(ago) => {
                let unix = now
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                Bound::Time(unix.saturating_sub(i64::try_from(ago).unwrap_or(i64::MAX)))
            }
            None => Bound::Text(text.clone()),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::sources::sql::query::Param;

    #[test]
    fn relative_times_are_read_and_written_as_sqlite_does() {
        assert_eq!(relative_seconds("now"), Some(0));
        assert_eq!(relative_seconds("1h_ago"), Some(3600));
        assert_eq!(relative_seconds("15m_ago"), Some(900));
        assert_eq!(relative_seconds("30s_ago"), Some(30));
        assert_eq!(relative_seconds("7d_ago"), Some(604_800));
        assert_eq!(relative_seconds("1y_ago"), None);
        assert_eq!(relative_seconds("h_ago"), None);
        assert_eq!(relative_seconds("yesterday"), None);
        assert_eq!(utc_text(0), "1970-01-01 00:00:00");
        assert_eq!(utc_text(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc_text(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(utc_text(4_107_542_399), "2100-02-28 23:59:59");
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            bind_value(&Param::Text("1h_ago".into()), at),
            Bound::Time(1_700_000_000 - 3600)
        );
        assert_eq!(utc_text(1_700_000_000 - 3600), "2023-11-14 21:13:20");
        assert_eq!(
            bind_value(&Param::Text("literal".into()), at),
            Bound::Text("literal".into())
        );
    }
}
