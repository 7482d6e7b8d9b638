//! Parsing of the `Retry-After` header: delay-seconds or an HTTP date, defensively: the
//! header comes from the network, so no value (huge, negative, NaN, a date centuries ahead)
//! may panic. How long a wait is honoured is the transport's decision (`max_retry_after`).

use std::time::Duration;

/// `Retry-After: 47` or `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT` as a wait from now.
/// A date in the past is a zero wait; a wait too long to represent (`1e400`, `inf`) is
/// [`Duration::MAX`]; anything unparseable, negative or NaN is `None`.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_nan() || secs < 0.0 {
            return None;
        }
        return Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_dates() {
        assert_eq!(parse_retry_after("47"), Some(Duration::from_secs(47)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let future = (chrono::Utc::now() + chrono::Duration::seconds(120))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let d = parse_retry_after(&future).unwrap();
        assert!(d > Duration::from_secs(100) && d <= Duration::from_secs(120));
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-3"), None);
    }

    #[test]
    fn hostile_values_never_panic() {
        assert_eq!(parse_retry_after("1e30"), Some(Duration::MAX));
        assert_eq!(parse_retry_after("1e400"), Some(Duration::MAX));
        assert_eq!(parse_retry_after("inf"), Some(Duration::MAX));
        assert_eq!(
            parse_retry_after("18446744073709551615"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse_retry_after("NaN"), None);
        assert_eq!(parse_retry_after("-inf"), None);
        assert_eq!(parse_retry_after("-0.5"), None);
        assert_eq!(
            parse_retry_after("99999999999999999999999"),
            Some(Duration::MAX)
        );
        let far = parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT").unwrap();
        assert!(far > Duration::from_secs(7000 * 365 * 86_400));
    }
}
