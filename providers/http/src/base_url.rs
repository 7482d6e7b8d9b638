//! The one rule every adapter applies to its configured base URL's scheme: https, or plain
//! http only where nothing crosses a network (a loopback address or `localhost`), so a
//! credential is never sent in clear text to another machine.

use url::{Host, Url};

/// Whether `url` points at this machine: 127.0.0.0/8, ::1 or `localhost`. A domain that
/// merely starts with "127." is a domain, not a loopback address.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `Ok` for https, and for http on loopback; otherwise what is wrong and what to do, as a
/// phrase to follow "<provider> base_url `<url>`".
pub fn check_scheme(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(
            "uses plain http, which would send the credentials in clear text; use https \
             (plain http is allowed only for loopback addresses)"
                .into(),
        ),
        other => Err(format!("has scheme `{other}`; use https")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str) -> Result<(), String> {
        check_scheme(&Url::parse(s).unwrap())
    }

    #[test]
    fn https_anywhere_and_http_only_on_loopback() {
        for ok in [
            "https://api.example.com",
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:9000/api",
            "http://localhost:3000",
            "http://LOCALHOST",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://api.example.com",
            "http://127.evil.example",
            "http://127.0.0.1.nip.io",
            "http://10.0.0.1",
            "http://[::2]",
            "http://localhost.example.com",
        ] {
            assert!(check(bad).unwrap_err().contains("plain http"), "{bad}");
        }
        assert!(check("ftp://localhost").unwrap_err().contains("`ftp`"));
    }
}
