//! Durations in settings, as listmonk stores them. Reading accepts what an
//! operator or listmonk writes: Go's `time.ParseDuration` form ("1h30m",
//! "168h", "500ms", "1h30m0s") and humantime's ("15m", "7d", "1h 30m").
//! Writing uses only Go's form, because listmonk reads the same settings
//! rows with `time.ParseDuration`, which refuses spaces and days: 90 minutes
//! is written "1h30m" and 7 days "168h". humantime has no such formatter
//! (its output is "1h 30m" and "7days"), hence the few lines here.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// `d` as Go writes durations it accepts back: units h, m, s, ms, us, ns,
/// largest first, zero parts left out; "0s" for zero.
pub fn to_go(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    let mut out = String::new();
    for (value, unit) in [
        (secs / 3600, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
        (u64::from(nanos / 1_000_000), "ms"),
        (u64::from(nanos / 1_000 % 1_000), "us"),
        (u64::from(nanos % 1_000), "ns"),
    ] {
        if value > 0 {
            out.push_str(&value.to_string());
            out.push_str(unit);
        }
    }
    out
}

/// Go's form or humantime's.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    humantime::parse_duration(s).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

pub(crate) mod required {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_go(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

pub(crate) mod optional {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&to_go(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => parse(&s).map(Some).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Go's time.ParseDuration accepts: signed-less sequences of a
    /// decimal number and a unit, no spaces.
    fn go_accepts(s: &str) -> bool {
        let mut rest = s;
        if rest.is_empty() {
            return false;
        }
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return false;
            }
            rest = &rest[digits..];
            let Some(unit) = ["ns", "us", "ms", "h", "m", "s"].into_iter().find(|u| rest.starts_with(u))
            else {
                return false;
            };
            rest = &rest[unit.len()..];
        }
        true
    }

    #[test]
    fn written_as_listmonk_writes_them() {
        let cases = [
            (Duration::from_secs(90 * 60), "1h30m"),
            (Duration::from_secs(7 * 86400), "168h"),
            (Duration::from_secs(15 * 60), "15m"),
            (Duration::from_secs(5), "5s"),
            (Duration::from_millis(1500), "1s500ms"),
            (Duration::ZERO, "0s"),
        ];
        for (d, want) in cases {
            assert_eq!(to_go(d), want);
            assert!(go_accepts(&to_go(d)), "{want}");
            assert_eq!(parse(&to_go(d)).unwrap(), d, "{want} reads back");
        }
    }

    #[test]
    fn reads_go_and_humantime_forms() {
        for (s, secs) in
            [("1h30m0s", 5400), ("168h", 604_800), ("7d", 604_800), ("1h 30m", 5400), (" 15m ", 900)]
        {
            assert_eq!(parse(s).unwrap(), Duration::from_secs(secs), "{s}");
        }
        assert!(parse("soon").unwrap_err().contains("invalid duration \"soon\""));
    }
}
