//! `sector_identifier_uri` (OIDC Core §8.1): a relying party whose redirect
//! URIs are on several hosts names one URL listing them all; its host is the
//! pairwise sector. Fetched once, at registration: every redirect URI must be
//! in the list, else the registration is refused.
use crate::domain::{sector_of, Environment, RedirectUri};

/// The most a sector document may hold.
const MAX_DOCUMENT: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SectorError {
    #[error("sector_identifier_uri {0:?} must be an https URL (plain http only on a loopback host in the sandbox)")]
    NotHttps(String),
    #[error("cannot fetch the sector_identifier_uri {uri}: {reason}")]
    Fetch { uri: String, reason: String },
    #[error("the sector_identifier_uri {0} does not hold a JSON array of URIs")]
    NotAList(String),
    #[error("redirect URI {0} is not listed at the sector_identifier_uri")]
    Unlisted(String),
}

/// Fetches `uri` and returns its sector when it lists every redirect URI.
pub async fn fetch(uri: &str, redirect_uris: &[RedirectUri], environment: Environment) -> Result<String, SectorError> {
    let parsed: RedirectUri = uri.parse().map_err(|_| SectorError::NotHttps(uri.into()))?;
    let secure = match environment {
        Environment::Production => uri.starts_with("https://"),
        Environment::Sandbox => parsed.is_secure_or_loopback(),
    };
    if !secure {
        return Err(SectorError::NotHttps(uri.into()));
    }
    let fetch_err = |reason: String| SectorError::Fetch { uri: uri.into(), reason };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| fetch_err(e.to_string()))?;
    let mut resp = http.get(uri).send().await.map_err(|e| fetch_err(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(fetch_err(format!("status {}", resp.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| fetch_err(e.to_string()))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_DOCUMENT {
            return Err(fetch_err(format!("larger than {MAX_DOCUMENT} bytes")));
        }
    }
    let listed: Vec<String> = serde_json::from_slice(&body).map_err(|_| SectorError::NotAList(uri.into()))?;
    if let Some(missing) = redirect_uris.iter().find(|r| !listed.iter().any(|l| r.matches(l))) {
        return Err(SectorError::Unlisted(missing.as_str().into()));
    }
    sector_of(uri).ok_or_else(|| SectorError::NotHttps(uri.into()))
}
