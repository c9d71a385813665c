//! A config change as posted (spec §3.4.3 with the corrections of §9 items 9 and 10):
//! four maps, each given as an object or as a string holding JSON; `null` unsets a key.
//! Values are stored as strings, CPU shares as integers.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::store::{ConfigMaps, JsonMap};

/// Keys to set (`Some`) or unset (`None`) in one map, already validated and coerced.
pub type MapChange = Vec<(String, Option<Value>)>;

#[derive(Clone, Debug, Default)]
pub struct ConfigChange {
    pub values: Option<MapChange>,
    pub memory: Option<MapChange>,
    pub cpu: Option<MapChange>,
    pub tags: Option<MapChange>,
}

static CONFIG_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?i)[a-z_]+[a-z0-9_]*$").expect("valid"));
static PROCTYPE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z]+").expect("valid"));
static MEMORY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?i)[0-9]+(MB|KB|GB|[BKMG])$").expect("valid"));
static CPU: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[0-9]+$").expect("valid"));
static TAG_KEY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z]+$").expect("valid"));
static TAG_VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_]+$").expect("valid"));

/// Longest `KEY=value` one environment variable may be (Linux's MAX_ARG_STRLEN is 128 KiB).
pub const MAX_VARIABLE: usize = 64 * 1024;
/// Most bytes all of an app's config values may take together, well inside what the
/// kernel accepts as a program's environment.
pub const MAX_VALUES_TOTAL: usize = 512 * 1024;

/// Whether the config values fit in a process environment together.
pub fn values_fit(values: &JsonMap) -> bool {
    let total: usize = values
        .iter()
        .map(|(k, v)| k.len() + 2 + v.as_str().map_or_else(|| v.to_string().len(), str::len))
        .sum();
    total <= MAX_VALUES_TOTAL
}

impl ConfigChange {
    /// Reads the four maps from a request body; the error lists each failing map with
    /// its first message.
    pub fn parse(body: &Map<String, Value>) -> Result<ConfigChange, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut change = ConfigChange::default();
        for name in ["values", "memory", "cpu", "tags"] {
            let Some(raw) = body.get(name) else { continue };
            match parse_map(name, raw) {
                Ok(parsed) => {
                    let slot = match name {
                        "values" => &mut change.values,
                        "memory" => &mut change.memory,
                        "cpu" => &mut change.cpu,
                        _ => &mut change.tags,
                    };
                    *slot = Some(parsed);
                }
                Err(message) => errors.push((name.to_string(), message)),
            }
        }
        if errors.is_empty() {
            Ok(change)
        } else {
            Err(errors)
        }
    }

    /// The maps after this change is laid over `base`.
    pub fn apply(&self, base: &ConfigMaps) -> ConfigMaps {
        ConfigMaps {
            values: overlay(&base.values, self.values.as_ref()),
            memory: overlay(&base.memory, self.memory.as_ref()),
            cpu: overlay(&base.cpu, self.cpu.as_ref()),
            tags: overlay(&base.tags, self.tags.as_ref()),
        }
    }
}

fn overlay(base: &JsonMap, change: Option<&MapChange>) -> JsonMap {
    let mut map = base.clone();
    for (key, value) in change.into_iter().flatten() {
        match value {
            Some(v) => {
                map.insert(key.clone(), v.clone());
            }
            None => {
                map.remove(key);
            }
        }
    }
    map
}

fn parse_map(name: &str, raw: &Value) -> Result<MapChange, String> {
    let decoded;
    let value = match raw {
        Value::String(text) => {
            decoded = serde_json::from_str::<Value>(text)
                .map_err(|_| "Value must be valid JSON.".to_string())?;
            &decoded
        }
        Value::Null => return Err("This field may not be null.".into()),
        other => other,
    };
    let Value::Object(map) = value else {
        return Err(format!(
            "Expected a dictionary of items but got type \"{}\".",
            crate::api::json_type_name(value)
        ));
    };
    let mut change = Vec::with_capacity(map.len());
    for (key, value) in map {
        if value.is_null() {
            change.push((key.clone(), None));
            continue;
        }
        let text = stringify(value);
        let stored = match name {
            "values" => {
                if !CONFIG_KEY.is_match(key) {
                    return Err(
                        "Config keys must start with a letter or underscore and only \
                                contain [A-z0-9_]"
                            .into(),
                    );
                }
                // The value becomes an environment variable, which cannot hold a NUL:
                // no container of the release could be started.
                if text.contains('\0') {
                    return Err("Config values cannot contain NUL characters".into());
                }
                // Nor can one variable be longer than the kernel passes to a program.
                if key.len() + 1 + text.len() > MAX_VARIABLE {
                    return Err(format!(
                        "Config values must be shorter than {MAX_VARIABLE} bytes"
                    ));
                }
                Value::String(text)
            }
            "memory" => {
                if !PROCTYPE.is_match(key) {
                    return Err("Process types can only contain [a-z]".into());
                }
                if !MEMORY.is_match(&text) {
                    return Err("Limit format: <number><unit>, where unit = B, K, M or G".into());
                }
                Value::String(text)
            }
            "cpu" => {
                if !PROCTYPE.is_match(key) {
                    return Err("Process types can only contain [a-z]".into());
                }
                if !CPU.is_match(&text) {
                    return Err("CPU shares must be an integer".into());
                }
                match text.parse::<i64>() {
                    Ok(shares) if (0..=1024).contains(&shares) => Value::from(shares),
                    _ => return Err("CPU shares must be between 0 and 1024".into()),
                }
            }
            _ => {
                if !TAG_KEY.is_match(key) {
                    return Err("Tag keys can only contain [a-z]".into());
                }
                if !TAG_VALUE.is_match(&text) {
                    return Err("Invalid tag value".into());
                }
                Value::String(text)
            }
        };
        change.push((key.clone(), Some(stored)));
    }
    Ok(change)
}

/// The text a config value is stored as: strings as they are, anything else as JSON.
fn stringify(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The release summary of spec §4.2 for a config change, with the §9 fixes: keys sorted,
/// and every phrase joined with " and ". Empty when nothing changed.
pub fn summary(user: &str, before: &ConfigMaps, after: &ConfigMaps) -> String {
    let mut parts: Vec<String> = Vec::new();
    let values = diff_phrases(&before.values, &after.values, "");
    if !values.is_empty() {
        parts.push(format!("{user} {values}"));
    }
    let mut limits = Vec::new();
    if before.memory != after.memory {
        limits.push("memory");
    }
    if before.cpu != after.cpu {
        limits.push("cpu");
    }
    if !limits.is_empty() {
        parts.push(format!("{user} changed limits for {}", limits.join(", ")));
    }
    let tags = diff_phrases(&before.tags, &after.tags, "tag ");
    if !tags.is_empty() {
        parts.push(format!("{user} {tags}"));
    }
    parts.join(" and ")
}

fn diff_phrases(before: &JsonMap, after: &JsonMap, noun: &str) -> String {
    let old: BTreeSet<&String> = before.keys().collect();
    let new: BTreeSet<&String> = after.keys().collect();
    let added: Vec<&str> = new.difference(&old).map(|k| k.as_str()).collect();
    let deleted: Vec<&str> = old.difference(&new).map(|k| k.as_str()).collect();
    let changed: Vec<&str> = old
        .intersection(&new)
        .filter(|k| before.get(k.as_str()) != after.get(k.as_str()))
        .map(|k| k.as_str())
        .collect();
    let mut phrases = Vec::new();
    for (verb, keys) in [("added", added), ("changed", changed), ("deleted", deleted)] {
        if !keys.is_empty() {
            phrases.push(format!("{verb} {noun}{}", keys.join(", ")));
        }
    }
    phrases.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn strings_holding_json_and_objects_are_both_accepted() {
        let c =
            ConfigChange::parse(&body(json!({"values": "{\"FOO\": \"bar\", \"N\": 3}"}))).unwrap();
        let maps = c.apply(&ConfigMaps::default());
        assert_eq!(maps.values, body(json!({"FOO": "bar", "N": "3"})));
        let c = ConfigChange::parse(&body(
            json!({"cpu": {"web": "1024"}, "memory": {"web": "1G"}}),
        ))
        .unwrap();
        let maps = c.apply(&maps);
        assert_eq!(maps.cpu, body(json!({"web": 1024})));
        assert_eq!(maps.values.len(), 2);
        let unset = ConfigChange::parse(&body(json!({"values": {"FOO": null, "NOPE": null}})))
            .unwrap()
            .apply(&maps);
        assert_eq!(unset.values, body(json!({"N": "3"})));
    }

    #[test]
    fn invalid_maps_are_refused_with_the_spec_messages() {
        let err = |v: Value| ConfigChange::parse(&body(v)).unwrap_err();
        assert_eq!(
            err(json!({"values": "{not json"}))[0].1,
            "Value must be valid JSON."
        );
        assert!(err(json!({"values": {"1BAD": "x"}}))[0]
            .1
            .starts_with("Config keys must"));
        assert!(err(json!({"values": {"HAS SPACE": "x"}}))[0]
            .1
            .starts_with("Config keys must"));
        assert!(err(json!({"memory": {"web": "20MK"}}))[0]
            .1
            .starts_with("Limit format"));
        assert!(ConfigChange::parse(&body(json!({"memory": {"web": "20gb"}}))).is_ok());
        assert!(err(json!({"memory": {"Web": "1G"}}))[0]
            .1
            .starts_with("Process types"));
        assert_eq!(
            err(json!({"cpu": {"web": -1}}))[0].1,
            "CPU shares must be an integer"
        );
        assert_eq!(
            err(json!({"cpu": {"web": 2048}}))[0].1,
            "CPU shares must be between 0 and 1024"
        );
        assert_eq!(
            err(json!({"tags": {"valid": "in\nvalid"}}))[0].1,
            "Invalid tag value"
        );
        assert_eq!(
            err(json!({"tags": {"in.valid": "x"}}))[0].1,
            "Tag keys can only contain [a-z]"
        );
        assert_eq!(
            err(json!({"tags": {"env": "dev\n"}}))[0].1,
            "Invalid tag value"
        );
        assert!(err(json!({"values": [1]}))[0].1.contains("\"list\""));
        assert_eq!(err(json!({"values": {"A": "1"}, "cpu": "x"})).len(), 1);
    }

    #[test]
    fn summaries_read_like_the_original() {
        let empty = ConfigMaps::default();
        let mut after = ConfigMaps::default();
        after.values.insert("NEWV".into(), json!("1"));
        after.memory.insert("web".into(), json!("1G"));
        after.tags.insert("rack".into(), json!("a"));
        assert_eq!(
            summary("bob", &empty, &after),
            "bob added NEWV and bob changed limits for memory and bob added tag rack"
        );
        let mut changed = after.clone();
        changed.values.insert("NEWV".into(), json!("2"));
        changed.values.insert("A".into(), json!("x"));
        assert_eq!(
            summary("bob", &after, &changed),
            "bob added A, changed NEWV"
        );
        assert_eq!(summary("bob", &after, &after), "");
    }
}
