//! Authentication: who is making a request.
//!
//! Two authenticators, as upstream: client certificates signed by the
//! cluster CA (user = CN, groups = O), and static bearer tokens from
//! `--token-auth-file` (upstream's CSV: `token,user,uid,"group1,group2"`).
//! A request with neither is anonymous and is refused with 401 except on the
//! health, version and readiness paths.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The authenticated user, as upstream's `user.Info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    fn new(name: String, uid: String, mut groups: Vec<String>) -> Self {
        if !groups.iter().any(|g| g == "system:authenticated") {
            groups.push("system:authenticated".into());
        }
        Self { name, uid, groups }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    BadTokenLine {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// Static tokens from a token file.
#[derive(Clone, Debug, Default)]
pub struct TokenAuthenticator {
    tokens: HashMap<String, UserInfo>,
}

impl TokenAuthenticator {
    pub fn from_file(path: &Path) -> Result<Self, AuthnError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthnError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|(line, reason)| AuthnError::BadTokenLine {
            path: path.to_path_buf(),
            line,
            reason,
        })
    }

    /// Parses the CSV text; errors name the 1-based line.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut tokens = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields = split_csv(line);
            if fields.len() < 3 {
                return Err((i + 1, "want at least token,user,uid".into()));
            }
            if fields[0].is_empty() || fields[1].is_empty() {
                return Err((i + 1, "token and user must not be empty".into()));
            }
            let groups = fields
                .get(3)
                .map(|g| {
                    g.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            let user = UserInfo::new(fields[1].clone(), fields[2].clone(), groups);
            tokens.insert(fields[0].clone(), user);
        }
        Ok(Self { tokens })
    }

    pub fn authenticate(&self, token: &str) -> Option<UserInfo> {
        self.tokens.get(token).cloned()
    }
}

/// Splits one CSV line, honouring double quotes (`"a,b"`) and `""` escapes.
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|s| s.trim().to_string()).collect()
}

/// The user a verified client certificate (DER) names: CN is the user,
/// each O a group. `None` if the certificate has no CN.
pub fn user_from_certificate(der: &[u8]) -> Option<UserInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let name = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())?
        .to_string();
    let groups = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(String::from))
        .collect();
    Some(UserInfo::new(name, String::new(), groups))
}

/// The bearer token of an `Authorization` header value, if any.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_lines_parse_with_quoted_groups() {
        let auth = TokenAuthenticator::parse(
            "# comment\nsecret1,alice,1001,\"dev,ops\"\nsecret2,bob,1002\n",
        )
        .expect("parses");
        let alice = auth.authenticate("secret1").expect("alice");
        assert_eq!(alice.name, "alice");
        assert_eq!(alice.uid, "1001");
        assert_eq!(alice.groups, vec!["dev", "ops", "system:authenticated"]);
        let bob = auth.authenticate("secret2").expect("bob");
        assert_eq!(bob.groups, vec!["system:authenticated"]);
        assert!(auth.authenticate("nope").is_none());
    }

    #[test]
    fn token_file_with_missing_fields_names_the_line() {
        let err = TokenAuthenticator::parse("a,b,c\nonlytoken\n").expect_err("bad line");
        assert_eq!(err.0, 2);
    }

    #[test]
    fn bearer_header_is_parsed_case_insensitively() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
