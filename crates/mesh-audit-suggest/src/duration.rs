//! Duration strings in the one format every mesh target accepts
//! (fields.md §5): `^[1-9][0-9]{0,4}(ms|s)$`, with `m`/`h` only past 99999s.

/// Largest count a target's duration pattern allows per unit.
const MAX_UNIT: u64 = 99_999;

/// Reads a duration as the engine (or a person) wrote it: Go/humantime style
/// `2s`, `500ms`, `1.5s`, `250us`, `1h30m`, `2d`. Returns whole milliseconds,
/// rounded up so a positive sub-millisecond value never becomes zero.
/// `None` when the text is not a duration; a bare number is not one, since its
/// unit would be a guess.
pub fn parse_millis(text: &str) -> Option<u64> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total_nanos: u128 = 0;
    while i < bytes.len() {
        let int_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let int_part = &s[int_start..i];
        let mut frac_part = "";
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            let frac_start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            frac_part = &s[frac_start..i];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let unit_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_digit() && bytes[i] != b'.' {
            i += 1;
        }
        let unit_nanos: u128 = match s[unit_start..i].trim() {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            _ => return None,
        };
        total_nanos = total_nanos.saturating_add(scaled(int_part, frac_part, unit_nanos)?);
    }
    let millis = total_nanos.div_ceil(1_000_000);
    Some(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// `int.frac` × `unit`, the fraction rounded up to the next nanosecond.
fn scaled(int_part: &str, frac_part: &str, unit_nanos: u128) -> Option<u128> {
    // Digits past 30 cannot change a u128 nanosecond count in any useful way,
    // and capping them keeps the arithmetic from overflowing.
    let int_value: u128 = if int_part.is_empty() {
        0
    } else if int_part.len() > 30 {
        u128::MAX
    } else {
        int_part.parse().ok()?
    };
    let mut nanos = int_value.saturating_mul(unit_nanos);
    let frac = &frac_part[..frac_part.len().min(24)];
    if !frac.is_empty() {
        let numerator: u128 = frac.parse().ok()?;
        let denominator = 10u128.checked_pow(frac.len() as u32)?;
        nanos = nanos.saturating_add(numerator.saturating_mul(unit_nanos).div_ceil(denominator));
    }
    Some(nanos)
}

/// Formats milliseconds for a mesh field. `None` for zero: Istio rejects a
/// zero duration on every field this tool writes, and "no timeout" is
/// expressed by leaving the field out.
///
/// Values that the pattern cannot hold exactly are rounded *up* (a fraction of
/// a second past 99999ms, a fraction of a minute past 99999s): a slightly
/// longer limit keeps the code's behaviour, a shorter one could cut off
/// requests that used to succeed.
pub fn format_millis(ms: u64) -> Option<String> {
    if ms == 0 {
        return None;
    }
    if !ms.is_multiple_of(1000) {
        if ms <= MAX_UNIT {
            return Some(format!("{ms}ms"));
        }
        return Some(format_secs(ms.div_ceil(1000)));
    }
    Some(format_secs(ms / 1000))
}

fn format_secs(secs: u64) -> String {
    if secs <= MAX_UNIT {
        return format!("{secs}s");
    }
    let minutes = secs.div_ceil(60);
    if minutes <= MAX_UNIT {
        return format!("{minutes}m");
    }
    format!("{}h", secs.div_ceil(3600).min(MAX_UNIT))
}

/// True when `text` is in the generator format (or its `m`/`h` extension for
/// very long values); used by the tests and by the semantic checks.
pub fn is_mesh_duration(text: &str) -> bool {
    let digits = match text.strip_suffix("ms") {
        Some(d) => d,
        None => match text.strip_suffix(['s', 'm', 'h']) {
            Some(d) => d,
            None => return false,
        },
    };
    !digits.is_empty()
        && digits.len() <= 5
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_istio_and_go_forms() {
        assert_eq!(parse_millis("2s"), Some(2000));
        assert_eq!(parse_millis("500ms"), Some(500));
        assert_eq!(parse_millis("2500ms"), Some(2500));
        assert_eq!(parse_millis("1.5s"), Some(1500));
        assert_eq!(parse_millis("1h30m"), Some(5_400_000));
        assert_eq!(parse_millis("2m"), Some(120_000));
        assert_eq!(parse_millis("1d"), Some(86_400_000));
        assert_eq!(parse_millis("0s"), Some(0));
        assert_eq!(parse_millis(" 3s "), Some(3000));
    }

    #[test]
    fn sub_millisecond_rounds_up() {
        assert_eq!(parse_millis("1ns"), Some(1));
        assert_eq!(parse_millis("250us"), Some(1));
        assert_eq!(parse_millis("250µs"), Some(1));
        assert_eq!(parse_millis("1500us"), Some(2));
        assert_eq!(parse_millis("0.0001s"), Some(1));
    }

    #[test]
    fn rejects_non_durations() {
        for bad in [
            "",
            "2",
            "s",
            "abc",
            "2 parsecs",
            "1..5s",
            ".s",
            "-1s",
            "1e3s",
        ] {
            assert_eq!(parse_millis(bad), None, "{bad}");
        }
    }

    #[test]
    fn huge_values_saturate_instead_of_panicking() {
        assert!(parse_millis("99999999999999999999999999999999999999999h").is_some());
        assert!(parse_millis("1.99999999999999999999999999999999999999s").is_some());
    }

    #[test]
    fn formats_to_the_generator_rule() {
        assert_eq!(format_millis(2500).as_deref(), Some("2500ms"));
        assert_eq!(format_millis(3000).as_deref(), Some("3s"));
        assert_eq!(format_millis(1).as_deref(), Some("1ms"));
        assert_eq!(format_millis(99_999).as_deref(), Some("99999ms"));
        assert_eq!(format_millis(100_500).as_deref(), Some("101s"));
        assert_eq!(format_millis(99_999_000).as_deref(), Some("99999s"));
        assert_eq!(format_millis(100_000_000).as_deref(), Some("1667m"));
        assert_eq!(format_millis(360_000_000).as_deref(), Some("6000m"));
        assert_eq!(format_millis(0), None);
        assert_eq!(format_millis(u64::MAX).as_deref(), Some("99999h"));
    }

    #[test]
    fn every_formatted_value_matches_the_pattern() {
        let samples = [
            1,
            7,
            999,
            1000,
            1001,
            59_999,
            60_000,
            99_999,
            100_000,
            100_001,
            3_600_000,
            99_999_999,
            100_000_000,
            5_999_940_000,
            5_999_940_001,
            6_000_000_000,
            359_996_400_000,
            359_996_400_001,
            u64::MAX,
        ];
        for ms in samples {
            let text = format_millis(ms).unwrap_or_default();
            assert!(is_mesh_duration(&text), "{ms} -> {text}");
            let back = parse_millis(&text).unwrap_or(0);
            assert!(back >= ms.min(359_996_400_000), "{ms} -> {text} shortened");
        }
    }

    #[test]
    fn pattern_check() {
        assert!(is_mesh_duration("2s"));
        assert!(is_mesh_duration("2500ms"));
        assert!(!is_mesh_duration("0s"));
        assert!(!is_mesh_duration("1.5s"));
        assert!(!is_mesh_duration("100000s"));
        assert!(!is_mesh_duration("10us"));
        assert!(!is_mesh_duration("s"));
    }
}
