//! Custom domains of apps (spec §3.8.3, with the §9 fix: stored lowercase).

use std::sync::LazyLock;

use regex::Regex;

/// A validated, lowercase host name without a trailing dot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hostname(String);

static LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$").expect("valid"));

impl Hostname {
    /// Checks a domain as the original did, in its order; the "already in use" checks
    /// are the caller's, against the store.
    pub fn parse(input: &str) -> Result<Hostname, String> {
        if input.chars().count() > 255 {
            return Err("Hostname must be 255 characters or less.".into());
        }
        let name = input
            .strip_suffix('.')
            .unwrap_or(input)
            .to_ascii_lowercase();
        let labels: Vec<&str> = name.split('.').collect();
        if labels.first() == Some(&"*") {
            return Err("Adding a wildcard subdomain is currently not supported.".into());
        }
        let invalid = || "Hostname does not look valid.".to_string();
        // Wildcard-DNS services put an IP address in the name, so all-digit labels are
        // fine there (the original skipped every check for `xip.io`).
        let ip_in_name = [".xip.io", ".nip.io", ".sslip.io"]
            .iter()
            .any(|s| name.ends_with(s));
        for label in &labels {
            let all_digits = label.chars().all(|c| c.is_ascii_digit());
            if !LABEL.is_match(label) || label.contains("--") || (all_digits && !ip_in_name) {
                return Err(invalid());
            }
        }
        if labels.len() == 1 && name.chars().any(|c| c.is_ascii_digit()) {
            return Err(invalid());
        }
        Ok(Hostname(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_the_original_accepts() {
        for ok in [
            "test-domain.example.com",
            "django.paas-sandbox",
            "domain",
            &format!("not.too.l{}ng", "o".repeat(59)),
            "3com.com",
            "w3.example.com",
            "MYDOMAIN.NET",
            "autotest.127.0.0.1.xip.io",
            "localhost",
            "example.com.",
        ] {
            assert!(Hostname::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            Hostname::parse("MYDOMAIN.NET").unwrap().as_str(),
            "mydomain.net"
        );
        assert_eq!(
            Hostname::parse("example.com.").unwrap().as_str(),
            "example.com"
        );
    }

    #[test]
    fn refuses_what_the_original_refuses() {
        for bad in [
            "this_is_an.invalid.domain",
            "this-is-an.invalid.1",
            "django.pass--sandbox",
            "domain1",
            "3333.com",
            &format!("too.l{}ng", "o".repeat(61)), // a 64-character label
            "",
            "a..b",
            "ünïcode.com",
            "a b.com",
        ] {
            assert!(Hostname::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Hostname::parse("*.deis.example.com").unwrap_err(),
            "Adding a wildcard subdomain is currently not supported."
        );
    }
}
