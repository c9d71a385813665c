//! Which app a Host header names: `<app>.<domain>` or one of the app's own domains.
//! The platform keeps this table in step with the store; the router only reads it.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

#[derive(Debug)]
pub struct HostTable {
    /// The platform domain: app `web` is reached as `web.<domain>`.
    domain: String,
    apps: RwLock<HashSet<String>>,
    /// Lowercase custom domain → app id.
    domains: RwLock<HashMap<String, String>>,
}

impl HostTable {
    pub fn new(domain: &str) -> HostTable {
        HostTable {
            domain: domain.to_ascii_lowercase(),
            apps: RwLock::default(),
            domains: RwLock::default(),
        }
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Replaces the whole table (at start-up).
    pub fn load(&self, apps: Vec<String>, domains: Vec<(String, String)>) {
        *self.apps.write().unwrap_or_else(|e| e.into_inner()) = apps.into_iter().collect();
        *self.domains.write().unwrap_or_else(|e| e.into_inner()) = domains
            .into_iter()
            .map(|(d, app)| (d.to_ascii_lowercase(), app))
            .collect();
    }

    pub fn add_app(&self, app: &str) {
        self.apps
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(app.to_string());
    }

    pub fn remove_app(&self, app: &str) {
        self.apps
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(app);
        self.domains
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, a| a != app);
    }

    pub fn add_domain(&self, domain: &str, app: &str) {
        self.domains
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(domain.to_ascii_lowercase(), app.to_string());
    }

    pub fn remove_domain(&self, domain: &str) {
        self.domains
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&domain.to_ascii_lowercase());
    }

    /// The app a Host header value names, if any. The port and letter case are ignored.
    pub fn resolve(&self, host: &str) -> Option<String> {
        let host = strip_port(host).trim_end_matches('.').to_ascii_lowercase();
        // An app's default host name wins over any custom domain.
        if let Some(app) = host
            .strip_suffix(&self.domain)
            .and_then(|h| h.strip_suffix('.'))
        {
            if self
                .apps
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .contains(app)
            {
                return Some(app.to_string());
            }
        }
        self.domains
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&host)
            .cloned()
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host; // an IPv6 literal never names an app
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_default_hosts_and_custom_domains() {
        let t = HostTable::new("localhost");
        t.load(
            vec!["web".into()],
            vec![("Shop.Example.com".into(), "web".into())],
        );
        assert_eq!(t.resolve("web.localhost:8080").as_deref(), Some("web"));
        assert_eq!(t.resolve("WEB.LOCALHOST").as_deref(), Some("web"));
        assert_eq!(t.resolve("shop.example.com").as_deref(), Some("web"));
        assert_eq!(t.resolve("other.localhost"), None);
        assert_eq!(t.resolve("localhost"), None);
        t.remove_app("web");
        assert_eq!(t.resolve("shop.example.com"), None);
    }
}
