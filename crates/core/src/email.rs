use std::fmt;

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// An e-mail address as rebound stores it: trimmed and lower-cased, because
/// subscribers are unique case-insensitively (listmonk's `LOWER(email)` index).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

/// RFC 5321 section 4.5.3.1.3: a path is at most 256 octets including the
/// angle brackets, so an address never exceeds 254.
const MAX_LEN: usize = 254;

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let s = raw.trim().trim_start_matches('<').trim_end_matches('>').trim();
        if s.is_empty() {
            return Err(CoreError::invalid("e-mail address is empty"));
        }
        if s.len() > MAX_LEN {
            return Err(CoreError::invalid("e-mail address is longer than 254 characters"));
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(CoreError::invalid(format!("invalid e-mail address {s:?}: no @")));
        };
        if local.is_empty() || domain.is_empty() || domain.contains('@') && !local.starts_with('"') {
            return Err(CoreError::invalid(format!("invalid e-mail address {s:?}")));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(CoreError::invalid(format!("invalid e-mail address {s:?}: contains whitespace")));
        }
        Ok(EmailAddress(s.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        EmailAddress::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> String {
        e.0
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_cases_and_trims() {
        let e = EmailAddress::parse("  <John.Doe@Example.COM> ").unwrap();
        assert_eq!(e.as_str(), "john.doe@example.com");
        assert_eq!(e.domain(), "example.com");
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "nobody", "@example.com", "a@", "a b@example.com"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(EmailAddress::parse(&format!("{}@x.org", "a".repeat(300))).is_err());
    }
}
