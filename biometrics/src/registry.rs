//! The person registry adapter (§9): where the document photo of a citizen
//! comes from for the first verification.
//!
//! Two implementations behind [`PersonRegistry`]: [`HttpRegistry`] for the
//! state registries (JSON over HTTPS, timeouts, retries, client certificate for
//! mTLS), and [`DirectoryRegistry`], the embedded default, a directory of
//! `<IIN>.json` + photo files that `tanu registry add` and the setup fill.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::iin::Iin;

/// A registry record: the name and the document photo (encoded image bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub iin: Iin,
    pub name: String,
    pub photo: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("the person registry is unavailable: {0}")]
    Unavailable(String),
    #[error("the person registry answered with an invalid record: {0}")]
    InvalidRecord(String),
    #[error("registry storage error: {0}")]
    Io(#[from] std::io::Error),
}

#[async_trait::async_trait]
pub trait PersonRegistry: Send + Sync {
    /// The person with this IIN, `None` when the registry has no such person.
    async fn lookup(&self, iin: &Iin) -> Result<Option<Person>, RegistryError>;
}

/// `<dir>/<IIN>.json` holds `{"iin", "name", "photo"}` where `photo` is a file
/// name in the same directory.
pub struct DirectoryRegistry {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct DirectoryRecord {
    iin: Iin,
    name: String,
    photo: String,
}

impl DirectoryRegistry {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirectoryRegistry { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds or replaces a person; the photo keeps its extension (`jpg`/`png`).
    pub fn add(&self, iin: &Iin, name: &str, photo: &[u8], extension: &str) -> Result<PathBuf, RegistryError> {
        std::fs::create_dir_all(&self.dir)?;
        let photo_name = format!("{iin}.{extension}");
        write_atomically(&self.dir.join(&photo_name), photo)?;
        let record = DirectoryRecord { iin: iin.clone(), name: name.to_owned(), photo: photo_name };
        let path = self.dir.join(format!("{iin}.json"));
        let json = serde_json::to_vec_pretty(&record).map_err(|e| RegistryError::InvalidRecord(e.to_string()))?;
        write_atomically(&path, &json)?;
        Ok(path)
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(tmp, path)
}

#[async_trait::async_trait]
impl PersonRegistry for DirectoryRegistry {
    async fn lookup(&self, iin: &Iin) -> Result<Option<Person>, RegistryError> {
        let path = self.dir.join(format!("{iin}.json"));
        let bytes = match tokio::fs::read(&path).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        // Errors name no file: its name is the IIN, and errors reach the logs.
        let record: DirectoryRecord = serde_json::from_slice(&bytes).map_err(|e| RegistryError::InvalidRecord(format!("a record file: {e}")))?;
        if &record.iin != iin || record.photo.contains('/') || record.photo.contains("..") {
            return Err(RegistryError::InvalidRecord("a record file: IIN or photo name does not fit".into()));
        }
        let photo = tokio::fs::read(self.dir.join(&record.photo)).await?;
        Ok(Some(Person { iin: record.iin, name: record.name, photo }))
    }
}

/// Settings of the HTTP adapter.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct HttpRegistryConfig {
    /// `GET {base_url}/persons/{iin}` answers `{"iin","name","photo_base64"}` or 404.
    pub base_url: String,
    pub timeout_ms: u64,
    pub retries: u32,
    pub retry_base_ms: u64,
    /// PEM file with the client certificate and key, for mTLS.
    pub client_identity_pem: Option<PathBuf>,
    /// PEM file of the CA that signs the registry's certificate.
    pub ca_pem: Option<PathBuf>,
}

impl Default for HttpRegistryConfig {
    fn default() -> Self {
        HttpRegistryConfig { base_url: String::new(), timeout_ms: 3000, retries: 2, retry_base_ms: 200, client_identity_pem: None, ca_pem: None }
    }
}

pub struct HttpRegistry {
    config: HttpRegistryConfig,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct HttpRecord {
    iin: String,
    name: String,
    photo_base64: String,
}

impl HttpRegistry {
    pub fn new(config: HttpRegistryConfig) -> Result<Self, RegistryError> {
        let mut builder = reqwest::Client::builder().timeout(Duration::from_millis(config.timeout_ms)).use_rustls_tls();
        if let Some(pem) = &config.client_identity_pem {
            let identity =
                reqwest::Identity::from_pem(&std::fs::read(pem)?).map_err(|e| RegistryError::Unavailable(format!("client identity {}: {e}", pem.display())))?;
            builder = builder.identity(identity);
        }
        if let Some(pem) = &config.ca_pem {
            let ca = reqwest::Certificate::from_pem(&std::fs::read(pem)?).map_err(|e| RegistryError::Unavailable(format!("CA {}: {e}", pem.display())))?;
            builder = builder.add_root_certificate(ca);
        }
        let client = builder.build().map_err(|e| RegistryError::Unavailable(e.to_string()))?;
        Ok(HttpRegistry { config, client })
    }

    async fn fetch_once(&self, iin: &Iin) -> Result<Option<Person>, Attempt> {
        let url = format!("{}/persons/{iin}", self.config.base_url.trim_end_matches('/'));
        // Errors without the URL: it holds the IIN, and errors reach the logs.
        let response = self.client.get(&url).send().await.map_err(|e| Attempt::Retry(e.without_url().to_string()))?;
        match response.status() {
            s if s == reqwest::StatusCode::NOT_FOUND => Ok(None),
            s if s.is_server_error() || s == reqwest::StatusCode::TOO_MANY_REQUESTS => Err(Attempt::Retry(format!("HTTP {s}"))),
            s if !s.is_success() => Err(Attempt::Fail(RegistryError::Unavailable(format!("HTTP {s}")))),
            _ => {
                let record: HttpRecord = response.json().await.map_err(|e| Attempt::Fail(RegistryError::InvalidRecord(e.without_url().to_string())))?;
                let invalid = |m: &str| Attempt::Fail(RegistryError::InvalidRecord(m.to_owned()));
                let got: Iin = record.iin.parse().map_err(|_| invalid("the record's IIN is not valid"))?;
                if &got != iin {
                    return Err(invalid("the record is for another IIN"));
                }
                let photo = base64::engine::general_purpose::STANDARD.decode(record.photo_base64).map_err(|_| invalid("the photo is not base64"))?;
                Ok(Some(Person { iin: got, name: record.name, photo }))
            }
        }
    }
}

enum Attempt {
    Retry(String),
    Fail(RegistryError),
}

#[async_trait::async_trait]
impl PersonRegistry for HttpRegistry {
    async fn lookup(&self, iin: &Iin) -> Result<Option<Person>, RegistryError> {
        let mut last = String::new();
        for attempt in 0..=self.config.retries {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(self.config.retry_base_ms << (attempt - 1))).await;
            }
            match self.fetch_once(iin).await {
                Ok(found) => return Ok(found),
                Err(Attempt::Fail(e)) => return Err(e),
                Err(Attempt::Retry(why)) => {
                    tracing::warn!(attempt, %why, "person registry request failed");
                    last = why;
                }
            }
        }
        Err(RegistryError::Unavailable(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn iin() -> Iin {
        "900101300017".parse().unwrap()
    }

    #[tokio::test]
    async fn directory_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let reg = DirectoryRegistry::new(dir.path());
        assert_eq!(reg.lookup(&iin()).await.unwrap(), None);
        reg.add(&iin(), "Айгерим Сейтова", b"photo-bytes", "jpg").unwrap();
        let p = reg.lookup(&iin()).await.unwrap().unwrap();
        assert_eq!((p.name.as_str(), p.photo.as_slice()), ("Айгерим Сейтова", b"photo-bytes".as_slice()));
    }

    #[tokio::test]
    async fn directory_refuses_a_record_pointing_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("900101300017.json"), r#"{"iin":"900101300017","name":"x","photo":"../etc/passwd"}"#).unwrap();
        let got = DirectoryRegistry::new(dir.path()).lookup(&iin()).await;
        assert!(matches!(got, Err(RegistryError::InvalidRecord(_))));
    }

    /// A one-route HTTP server answering each request with the next canned response.
    async fn serve(responses: Vec<(u16, String)>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = tokio::spawn(async move {
            let mut paths = Vec::new();
            for (status, body) in responses {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap();
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                paths.push(req.split_whitespace().nth(1).unwrap_or("").to_owned());
                let reply =
                    format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                sock.write_all(reply.as_bytes()).await.unwrap();
            }
            paths
        });
        (url, handle)
    }

    fn http(base_url: String) -> HttpRegistry {
        HttpRegistry::new(HttpRegistryConfig { base_url, retry_base_ms: 1, ..Default::default() }).unwrap()
    }

    #[tokio::test]
    async fn http_retries_server_errors_then_reads_the_record() {
        let body = r#"{"iin":"900101300017","name":"A","photo_base64":"cGhvdG8="}"#.to_owned();
        let (url, server) = serve(vec![(503, "{}".into()), (200, body)]).await;
        let p = http(url).lookup(&iin()).await.unwrap().unwrap();
        assert_eq!(p.photo, b"photo");
        assert_eq!(server.await.unwrap(), ["/persons/900101300017", "/persons/900101300017"]);
    }

    #[tokio::test]
    async fn http_not_found_invalid_and_unavailable() {
        let (url, _s) = serve(vec![(404, "{}".into())]).await;
        assert_eq!(http(url).lookup(&iin()).await.unwrap(), None);
        let other = r#"{"iin":"000000000000","name":"B","photo_base64":""}"#.to_owned();
        let (url, _s) = serve(vec![(200, other)]).await;
        assert!(matches!(http(url).lookup(&iin()).await, Err(RegistryError::InvalidRecord(_))));
        let (url, _s) = serve(vec![(500, "{}".into()), (500, "{}".into()), (500, "{}".into())]).await;
        assert!(matches!(http(url).lookup(&iin()).await, Err(RegistryError::Unavailable(_))));
    }
}
