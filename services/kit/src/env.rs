//! Reading a Lambda function's settings from its environment, once, at cold start: an empty
//! variable counts as unset, numbers are bounded, and a bad value names the variable so the
//! function stops before it takes an event.

/// A setting the environment gets wrong; the function does not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name} is {value:?}, which is not {expected}")]
pub struct EnvError {
    pub name: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// Environment variables as a lookup gives them (`std::env::var` in functions, a map in
/// tests).
pub struct Env<F: Fn(&str) -> Option<String>> {
    lookup: F,
}

impl Env<fn(&str) -> Option<String>> {
    /// The process's environment.
    pub fn process() -> Self {
        Env {
            lookup: |name| std::env::var(name).ok(),
        }
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn new(lookup: F) -> Self {
        Self { lookup }
    }

    /// The variable's value, trimmed; `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A whole number from 1 to `max`, `default` when unset; otherwise an error that says
    /// `expected` ("a whole number from 1 to 10").
    pub fn number<T>(
        &self,
        name: &'static str,
        default: T,
        max: T,
        expected: &'static str,
    ) -> Result<T, EnvError>
    where
        T: std::str::FromStr + PartialOrd + From<u8>,
    {
        let Some(value) = self.get(name) else {
            return Ok(default);
        };
        match value.parse::<T>() {
            Ok(n) if n >= T::from(1) && n <= max => Ok(n),
            _ => Err(EnvError {
                name,
                value,
                expected,
            }),
        }
    }

    /// `off`/`false`/`none` (any case) → `None`; unset → `Some(default)`; anything else
    /// accepted by `valid` → `Some(value)`.
    pub fn optional_text(
        &self,
        name: &'static str,
        default: &str,
        valid: impl Fn(&str) -> bool,
        expected: &'static str,
    ) -> Result<Option<String>, EnvError> {
        match self.get(name) {
            None => Ok(Some(default.to_owned())),
            Some(v) if ["off", "false", "none"].contains(&v.to_ascii_lowercase().as_str()) => {
                Ok(None)
            }
            Some(v) if valid(&v) => Ok(Some(v)),
            Some(value) => Err(EnvError {
                name,
                value,
                expected,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::new(move |name| vars.get(name).cloned())
    }

    #[test]
    fn blank_is_unset_and_numbers_are_bounded() {
        let env = env(&[("A", " "), ("B", " 7 "), ("C", "0"), ("D", "eleven")]);
        assert_eq!(env.get("A"), None);
        assert_eq!(env.number("A", 5u32, 10, "1–10"), Ok(5));
        assert_eq!(env.number("B", 5u32, 10, "1–10"), Ok(7));
        let error = env.number("C", 5u32, 10, "1–10").unwrap_err();
        assert_eq!((error.name, error.value.as_str()), ("C", "0"));
        assert!(env.number("D", 5u32, 10, "1–10").is_err());
        assert!(env.number("B", 5u32, 6, "1–6").is_err());
    }

    #[test]
    fn optional_text_can_be_turned_off() {
        let env = env(&[("OFF", "Off"), ("SET", "model-x"), ("BAD", "a b")]);
        let valid = |v: &str| !v.contains(' ');
        assert_eq!(env.optional_text("OFF", "d", valid, "x"), Ok(None));
        assert_eq!(
            env.optional_text("UNSET", "d", valid, "x"),
            Ok(Some("d".into()))
        );
        assert_eq!(
            env.optional_text("SET", "d", valid, "x"),
            Ok(Some("model-x".into()))
        );
        assert!(env.optional_text("BAD", "d", valid, "x").is_err());
    }
}
