//! Durations as Istio writes them (`2s`, `500ms`): whole seconds in `s`,
//! anything else in whole milliseconds, rounded up so that a sub-millisecond
//! deadline never becomes `0s`.

pub fn istio(nanos: u128) -> String {
    const MS: u128 = 1_000_000;
    const S: u128 = 1_000_000_000;
    if nanos == 0 {
        return "0s".into();
    }
    if nanos.is_multiple_of(S) {
        let s = nanos / S;
        if s > 99_999 {
            return if s.is_multiple_of(3600) {
                format!("{}h", s / 3600)
            } else {
                format!("{}m", s.div_ceil(60))
            };
        }
        return format!("{s}s");
    }
    let ms = nanos.div_ceil(MS);
    if ms.is_multiple_of(1000) {
        return istio(ms * MS);
    }
    if ms > 99_999 {
        return istio(ms.div_ceil(1000) * S);
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::istio;

    #[test]
    fn formats() {
        assert_eq!(istio(2_000_000_000), "2s");
        assert_eq!(istio(2_500_000_000), "2500ms");
        assert_eq!(istio(1), "1ms");
        assert_eq!(istio(100_000_000), "100ms");
        assert_eq!(istio(200_000 * 1_000_000_000), "3334m");
        assert_eq!(istio(360_000 * 1_000_000_000), "100h");
    }
}
