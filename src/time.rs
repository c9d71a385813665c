//! The two timestamp formats of the wire: Deis objects (`2015-06-15T17:14:27UTC`) and
//! users (`2014-10-19T22:01:00.601123Z`). Stored times are microseconds since the epoch.

use chrono::{DateTime, Utc};

/// Microseconds since the epoch, the stored form of every timestamp.
pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

fn at(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// The Deis datetime format: seconds, no fraction, the zone name glued on.
pub fn deis(micros: i64) -> String {
    at(micros).format("%Y-%m-%dT%H:%M:%SUTC").to_string()
}

pub fn deis_now() -> String {
    deis(now_micros())
}

/// The user format: ISO-8601 with microseconds (left out when zero) and `Z`.
pub fn user(micros: i64) -> String {
    let t = at(micros);
    if micros % 1_000_000 == 0 {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_the_wire() {
        let micros = 1_434_388_467_601_123; // 2015-06-15T17:14:27.601123Z
        assert_eq!(deis(micros), "2015-06-15T17:14:27UTC");
        assert_eq!(user(micros), "2015-06-15T17:14:27.601123Z");
        assert_eq!(user(1_434_388_467_000_000), "2015-06-15T17:14:27Z");
    }
}
