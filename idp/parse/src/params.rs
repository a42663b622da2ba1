//! OAuth request parameters from a query string or a form body
//! (`application/x-www-form-urlencoded`): `/authorize`, `/par`, `/token`,
//! `/revoke`, `/introspect`, `/logout`, `/userinfo`.

/// Parameters of a request, from a query string or a form body.
/// RFC 6749 §3.1 and §3.2: a parameter must not appear more than once.
#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

/// The longest value of a parameter (and so of a `client_assertion`).
pub const MAX_PARAM_LEN: usize = 4096;
/// The most parameters a request may carry.
pub const MAX_PARAMS: usize = 40;
/// The longest name of a parameter.
pub const MAX_NAME_LEN: usize = 100;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParamError {
    #[error("parameter {0} is repeated")]
    Repeated(String),
    #[error("parameter {0} is too long")]
    TooLong(String),
    #[error("too many parameters")]
    TooMany,
}

impl Params {
    /// Every pair of `raw`, decoded; nothing is refused here ([`Params::check`] does).
    pub fn parse(raw: &[u8]) -> Self {
        Self { pairs: url::form_urlencoded::parse(raw).map(|(k, v)| (k.into_owned(), v.into_owned())).collect() }
    }

    /// A form body of a backend endpoint (`/token`, `/par`, `/revoke`,
    /// `/introspect`): [`Params::parse`], then [`Params::check`].
    pub fn parse_checked(raw: &[u8]) -> Result<Self, ParamError> {
        let params = Self::parse(raw);
        params.check()?;
        Ok(params)
    }

    /// The value of `name` if it appears exactly once; empty values count as absent
    /// (RFC 6749 §3.1: "parameters sent without a value MUST be treated as if
    /// they were omitted").
    pub fn get(&self, name: &str) -> Option<&str> {
        let mut it = self.pairs.iter().filter(|(k, _)| k == name);
        match (it.next(), it.next()) {
            (Some((_, v)), None) if !v.is_empty() => Some(v.as_str()),
            _ => None,
        }
    }

    /// Every name and value, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_repeated(&self, name: &str) -> bool {
        self.pairs.iter().filter(|(k, _)| k == name).count() > 1
    }

    /// At most [`MAX_PARAMS`] parameters, none repeated, names of at most
    /// [`MAX_NAME_LEN`] bytes, values of at most [`MAX_PARAM_LEN`].
    pub fn check(&self) -> Result<(), ParamError> {
        if self.pairs.len() > MAX_PARAMS {
            return Err(ParamError::TooMany);
        }
        let mut seen = std::collections::HashSet::new();
        for (k, v) in &self.pairs {
            if !seen.insert(k) {
                return Err(ParamError::Repeated(k.clone()));
            }
            if v.len() > MAX_PARAM_LEN || k.len() > MAX_NAME_LEN {
                return Err(ParamError::TooLong(k.chars().take(MAX_NAME_LEN).collect()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_reject_repeats_and_oversize() {
        let p = Params::parse(b"a=1&b=2&a=3");
        assert_eq!(p.get("a"), None);
        assert_eq!(p.get("b"), Some("2"));
        assert_eq!(p.check(), Err(ParamError::Repeated("a".into())));
        let long = format!("x={}", "y".repeat(MAX_PARAM_LEN + 1));
        assert!(matches!(Params::parse(long.as_bytes()).check(), Err(ParamError::TooLong(_))));
        assert_eq!(Params::parse(b"e=").get("e"), None, "empty means absent");
    }

    /// RFC 6749 §3.2: a repeat is a repeat once decoded, whatever its
    /// spelling, and an empty repeat is still a repeat.
    #[test]
    fn a_parameter_spelt_twice_differently_is_repeated() {
        for raw in ["client_id=a&client%5Fid=b", "code=a&code=", "c+d=1&c%20d=2", "grant_type=x&grant_type=x"] {
            assert!(matches!(Params::parse_checked(raw.as_bytes()), Err(ParamError::Repeated(_))), "{raw}");
        }
        let too_many: String = (0..=MAX_PARAMS).map(|i| format!("p{i}=v&")).collect();
        assert_eq!(Params::parse_checked(too_many.as_bytes()).err(), Some(ParamError::TooMany));
        let long_name = format!("{}=v", "n".repeat(MAX_NAME_LEN + 1));
        assert!(matches!(Params::parse_checked(long_name.as_bytes()), Err(ParamError::TooLong(n)) if n.len() == MAX_NAME_LEN));
    }
}
