//! App ids, usernames and e-mail addresses.

use std::fmt;
use std::sync::LazyLock;

use rand::seq::SliceRandom;
use regex::Regex;

/// An app id: 1–64 characters of `[a-z0-9-]`, not reserved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppId(String);

static APP_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z0-9-]+$").expect("valid"));
static SLUG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[-a-zA-Z0-9_]+$").expect("valid"));

impl AppId {
    /// Every message that applies, in the original's order.
    pub fn parse(id: &str, reserved: &[String]) -> Result<AppId, Vec<String>> {
        if id.is_empty() {
            return Err(vec!["This field may not be blank.".into()]);
        }
        let mut errors = Vec::new();
        if id.chars().count() > 64 {
            errors.push("Ensure this field has no more than 64 characters.".into());
        }
        if !APP_ID.is_match(id) {
            errors.push("App IDs can only contain [a-z0-9-].".into());
            if !SLUG.is_match(id) {
                errors.push(
                    "Enter a valid 'slug' consisting of letters, numbers, underscores or hyphens."
                        .into(),
                );
            }
        }
        if reserved.iter().any(|r| r == id) {
            errors.push(format!("{id} is a reserved name."));
        }
        if errors.is_empty() {
            Ok(AppId(id.to_string()))
        } else {
            Err(errors)
        }
    }

    /// A fresh `adjective-noun` name (the caller retries while it is taken).
    pub fn generate() -> AppId {
        let mut rng = rand::thread_rng();
        let adjective = ADJECTIVES.choose(&mut rng).copied().unwrap_or("brave");
        let noun = NOUNS.choose(&mut rng).copied().unwrap_or("harbor");
        AppId(format!("{adjective}-{noun}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const ADJECTIVES: &[&str] = &[
    "amber",
    "ancient",
    "autumn",
    "bold",
    "brave",
    "breezy",
    "bright",
    "calm",
    "candid",
    "clever",
    "cosmic",
    "crimson",
    "daring",
    "dusty",
    "eager",
    "early",
    "electric",
    "emerald",
    "fancy",
    "fearless",
    "fluffy",
    "frosty",
    "gentle",
    "gilded",
    "golden",
    "grand",
    "hidden",
    "hollow",
    "humble",
    "icy",
    "jolly",
    "keen",
    "lively",
    "lucky",
    "lunar",
    "mellow",
    "misty",
    "modest",
    "nimble",
    "noble",
    "olive",
    "orange",
    "patient",
    "plucky",
    "polar",
    "proud",
    "quiet",
    "rapid",
    "restless",
    "rosy",
    "rustic",
    "sandy",
    "scarlet",
    "shiny",
    "silent",
    "silver",
    "sleepy",
    "snowy",
    "solar",
    "spry",
    "steady",
    "stormy",
    "sturdy",
    "sunny",
    "swift",
    "tidal",
    "tranquil",
    "velvet",
    "vivid",
    "wandering",
    "warm",
    "wild",
    "windy",
    "wise",
    "zesty",
];

const NOUNS: &[&str] = &[
    "anchor", "atlas", "beacon", "bluff", "breeze", "brook", "canyon", "cape", "cedar", "comet",
    "coral", "cove", "crane", "creek", "delta", "dune", "eagle", "ember", "falcon", "fern",
    "fjord", "forest", "galaxy", "glacier", "grove", "harbor", "hawk", "heron", "horizon",
    "island", "jetty", "kayak", "lagoon", "lantern", "maple", "meadow", "mesa", "meteor", "mist",
    "monsoon", "nebula", "oar", "orbit", "otter", "paddle", "pebble", "pier", "pine", "planet",
    "prairie", "quasar", "rapids", "reef", "ridge", "river", "rudder", "sail", "schooner", "shoal",
    "sparrow", "spruce", "summit", "tide", "timber", "tundra", "valley", "voyage", "wave",
    "willow", "zephyr",
];

/// A username: 1–30 characters of letters, digits and `_ . @ + -`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

// Python 2's `\w` (ASCII), as in the original and in the routes that name users.
static USERNAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_.@+-]+$").expect("valid"));

impl Username {
    pub fn parse(name: &str) -> Result<Username, String> {
        if name.is_empty() {
            return Err("This field may not be blank.".into());
        }
        if name.chars().count() > 30 {
            return Err("Ensure this field has no more than 30 characters.".into());
        }
        if !USERNAME.is_match(name) {
            return Err("Enter a valid username.".into());
        }
        Ok(Username(name.to_string()))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

static EMAIL_USER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?i)([-!#$%&'*+/=?^_`{}|~0-9A-Z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Z]+)*|"([\x01-\x08\x0b\x0c\x0e-\x1f!#-\[\]-\x7f]|\\[\x01-\x09\x0b\x0c\x0d-\x7f])*")$"#)
        .expect("valid")
});
static EMAIL_DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?i)((?:[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?\.)+(?:[A-Z]{2,6}\.?|[A-Z0-9-]{2,}\.?)|\[?[A-F0-9]*:[A-F0-9:]+\]?|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$")
        .expect("valid")
});

/// Django 1.6's e-mail check: an empty address is allowed, a one-letter TLD is not.
pub fn valid_email(email: &str) -> bool {
    if email.is_empty() {
        return true;
    }
    let Some((user, domain)) = email.rsplit_once('@') else {
        return false;
    };
    EMAIL_USER.is_match(user) && (EMAIL_DOMAIN.is_match(domain) || domain == "localhost")
}

/// Process types become container names and URL parts: short lowercase words.
pub fn valid_process_type(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 63
        && t.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids_follow_the_original_rules() {
        let reserved = vec!["deis".to_string()];
        assert!(AppId::parse("my-app-1", &reserved).is_ok());
        assert!(AppId::parse("-lead", &reserved).is_ok());
        assert!(AppId::parse("123", &reserved).is_ok());
        assert_eq!(
            AppId::parse("camelCase", &reserved).unwrap_err(),
            vec!["App IDs can only contain [a-z0-9-].".to_string()]
        );
        assert_eq!(AppId::parse("foo bar", &reserved).unwrap_err().len(), 2);
        assert_eq!(AppId::parse("foo\n", &reserved).unwrap_err().len(), 2);
        assert_eq!(
            AppId::parse("deis", &reserved).unwrap_err(),
            vec!["deis is a reserved name."]
        );
        assert_eq!(
            AppId::parse(&"a".repeat(65), &reserved).unwrap_err().len(),
            1
        );
        let generated = AppId::generate();
        assert!(AppId::parse(generated.as_str(), &reserved).is_ok());
    }

    #[test]
    fn usernames_and_emails() {
        assert!(Username::parse("john.doe+x@host").is_ok());
        assert!(Username::parse("no spaces").is_err());
        assert!(Username::parse(&"a".repeat(31)).is_err());
        assert!(valid_email("autotest@deis.io"));
        assert!(valid_email(""));
        assert!(!valid_email("a@b.c"));
        assert!(!valid_email("not-an-email"));
    }
}
