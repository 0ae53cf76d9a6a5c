use std::fmt;

use serde::{Deserialize, Serialize};

/// A password or key from the settings. It serialises in clear (the database
/// must keep it) but never prints: `Debug` and `Display` show a placeholder,
/// so a secret cannot reach a log line by accident. The API masks secrets with
/// [`Settings::masked`](crate::Settings::masked).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

/// What the API shows instead of a stored secret, and what a client sends back
/// to mean "keep the stored value" (listmonk does the same with its mask).
pub const SECRET_PLACEHOLDER: &str = "••••••••";

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True for the placeholder (or any run of mask bullets) a client echoes back.
    pub fn is_placeholder(&self) -> bool {
        !self.0.is_empty() && self.0.chars().all(|c| c == '•')
    }

    pub(crate) fn masked(&self) -> Secret {
        if self.0.is_empty() { Secret::default() } else { Secret(SECRET_PLACEHOLDER.to_string()) }
    }

    /// Keep `old` when the client sent the placeholder back, or an empty
    /// string: listmonk's UI sends "" for every secret it did not change, so
    /// "" means "unchanged", as in listmonk (a provider's key is removed by
    /// switching the provider off, not by erasing it).
    pub(crate) fn keep_unless_changed(&mut self, old: &Secret) {
        if self.is_placeholder() || self.is_empty() {
            *self = old.clone();
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() { f.write_str("\"\"") } else { f.write_str("\"[redacted]\"") }
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_debug_prints() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.masked().expose(), SECRET_PLACEHOLDER);
        let mut back = s.masked();
        back.keep_unless_changed(&s);
        assert_eq!(back.expose(), "hunter2");
    }
}
