//! The test kit: starts a real Tanu (the same `App::build` and `App::serve`
//! that `tanu serve` runs) on a random port, against SQLite or a fresh
//! PostgreSQL database chosen by `TANU_TEST_DATABASE` (`sqlite` | `postgres`),
//! with a test-only authenticator. Also a minimal browser (cookies, no
//! automatic redirects) and PKCE helpers.
use std::sync::{Arc, Mutex};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use poem::{
    handler,
    web::{cookie::CookieJar, Data, Path},
    Response,
};
use sea_orm::{ConnectionTrait, Database};
use tanu_idp::{
    app::App,
    config::Config,
    domain::{ClientId, Environment, RedirectUri, ScopeSet},
    face::ACR_FACE_LIVENESS,
    interaction::{complete_login, deny, pending, Authenticated, Authenticator},
    store::{Citizen, Client, NewClient},
};

pub use tanu_idp;

pub mod browser;
pub mod client_key;
pub mod dpop;
pub mod face;
pub mod onboarding;

pub use client_key::ClientKey;

/// Signs in whoever the test says, at once: the person the test names (by
/// IIN and name) in the sign-in's environment, as the face authenticator
/// finds an IIN in that environment's registry (a sandbox sign-in gets the
/// test person of that IIN, a production one the citizen). Exists only in
/// test code: the shipped binary has no authenticator that lets anyone in
/// without a method.
struct TestAuthenticator {
    next: Arc<Mutex<Option<Citizen>>>,
}

#[handler]
async fn test_login(
    Path(id): Path<String>,
    cookies: &CookieJar,
    Data(app): Data<&Arc<tanu_idp::oidc::OidcState>>,
    Data(next): Data<&Arc<Mutex<Option<Citizen>>>>,
) -> Response {
    let i = match pending(app, &id, cookies).await {
        Ok(i) => i,
        Err(e) => return e.page(tanu_idp::i18n::Lang::En),
    };
    let who = next.lock().unwrap().clone();
    let who = match who {
        Some(c) if c.environment != i.environment() => {
            Some(app.store.upsert_citizen(i.environment(), &c.iin, &c.given_name, &c.family_name, c.birthdate.as_deref()).await.unwrap())
        }
        other => other,
    };
    match who {
        Some(c) => complete_login(app, cookies, &i, Authenticated { citizen: &c, amr: vec!["face".into()], acr: ACR_FACE_LIVENESS.into() }).await,
        None => deny(app, &i, tanu_idp::interaction::Failure::NotAuthenticated).await,
    }
}

impl Authenticator for TestAuthenticator {
    fn routes(&self, _provider: Arc<tanu_idp::oidc::OidcState>) -> poem::Route {
        use poem::EndpointExt;
        poem::Route::new().at("/:id", poem::get(test_login).data(self.next.clone()))
    }

    /// It stands in for face sign-in, and asserts its level.
    fn acr_values(&self) -> Vec<String> {
        vec![ACR_FACE_LIVENESS.into()]
    }
}

pub struct Tanu {
    pub base: String,
    pub app: Arc<App>,
    next: Arc<Mutex<Option<Citizen>>>,
    server: tokio::task::JoinHandle<()>,
    postgres_db: Option<String>,
    _dir: tempfile::TempDir,
}

/// A Tanu a test talks to over HTTP: the kit's own ([`Tanu`]) or one started
/// otherwise ([`Remote`]: the containers of ops/deploy).
pub trait Served {
    /// Where its requests go (`http://127.0.0.1:port`, or the balancer in front of it).
    fn base(&self) -> &str;
    /// Its database, for what a test reads back.
    fn store(&self) -> &tanu_idp::store::Store;
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base(), path)
    }
}

impl Served for Tanu {
    fn base(&self) -> &str {
        &self.base
    }
    fn store(&self) -> &tanu_idp::store::Store {
        &self.app.store
    }
}

/// A Tanu the kit did not start: its address and a connection to its database.
pub struct Remote {
    pub base: String,
    pub store: tanu_idp::store::Store,
}

impl Served for Remote {
    fn base(&self) -> &str {
        &self.base
    }
    fn store(&self) -> &tanu_idp::store::Store {
        &self.store
    }
}

pub fn postgres_admin_url() -> String {
    std::env::var("TANU_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Which database this run uses.
pub fn database_kind() -> String {
    std::env::var("TANU_TEST_DATABASE").unwrap_or_else(|_| "sqlite".into())
}

impl Tanu {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let next = Arc::new(Mutex::new(None));
        let authenticator = TestAuthenticator { next: next.clone() };
        Self::launch(tweak, next, move |_| Arc::new(authenticator), None).await
    }

    /// A Tanu with face sign-in exactly as `tanu serve` builds it (the real
    /// models, the embedded directory registry in a temporary directory).
    pub async fn start_face(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_face_at(tweak, None).await
    }

    /// `start_face` for an instance behind a load balancer: the issuer and
    /// the test's requests go to `balancer` (which `tweak` names as the
    /// issuer), not to this instance's own address.
    pub async fn start_face_behind(balancer: &str, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_face_at(tweak, Some(balancer.to_owned())).await
    }

    async fn start_face_at(tweak: impl FnOnce(&mut Config), balancer: Option<String>) -> Self {
        let root = workspace_root();
        let tweak = move |c: &mut Config| {
            // Models and ONNX Runtime: found from the installation prefix
            // (`Config::resolve_paths`, as `tanu serve` finds them).
            c.prefix = root.clone();
            c.face.enabled = true;
            c.biometrics.registry_dir = c.data_dir.join("registry");
            tweak(c);
        };
        Self::launch(
            tweak,
            Arc::new(Mutex::new(None)),
            |config| Arc::new(tanu_idp::face::FaceAuthenticator::new(config).expect("face sign-in starts (run make setup)")),
            balancer,
        )
        .await
    }

    async fn launch(
        tweak: impl FnOnce(&mut Config),
        next: Arc<Mutex<Option<Citizen>>>,
        authenticator: impl FnOnce(&Config) -> Arc<dyn Authenticator>,
        balancer: Option<String>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // Bound here and kept: the issuer names the port before the server
        // exists, and no other test can take it in between.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let port = listener.local_addr().unwrap().port();
        let mut config = Config {
            listen: format!("127.0.0.1:{port}").parse().unwrap(),
            issuer: format!("http://127.0.0.1:{port}"),
            data_dir: dir.path().to_path_buf(),
            rate_limit_per_minute: 100_000,
            ..Config::default()
        };
        // The test authenticator is not face sign-in: no models to wait for
        // (`/readyz`); `start_face` switches it back on.
        config.face.enabled = false;
        // Each test's own test registry (the default is under the working directory).
        config.biometrics.sandbox_registry_dir = dir.path().join("sandbox-registry");
        let mut postgres_db = None;
        config.database_url = match database_kind().as_str() {
            "postgres" => {
                let name = format!("tanu_t_{}", tanu_idp::store::uuid_like());
                let admin = Database::connect(postgres_admin_url()).await.expect("PostgreSQL reachable for tests");
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
                postgres_db = Some(name.clone());
                let base = postgres_admin_url();
                format!("{}/{name}", &base[..base.rfind('/').unwrap()])
            }
            "sqlite" => format!("sqlite://{}/tanu.db?mode=rwc", dir.path().display()),
            other => panic!("TANU_TEST_DATABASE={other}: expected sqlite or postgres"),
        };
        tweak(&mut config);
        config.resolve_paths();
        let authenticator = authenticator(&config);
        let app = App::build(config, authenticator).await.expect("tanu starts");
        if app.config.face.enabled {
            // Only `start_face` enables it, and its authenticator loaded the models.
            app.face_models_loaded();
        }
        // A test that chose its own address (behind a balancer) binds it.
        let listener = match listener.local_addr().unwrap() == app.config.listen {
            true => listener,
            false => tokio::net::TcpListener::bind(app.config.listen).await.expect("the test's own address"),
        };
        let (addr, server) = app.clone().serve_on(listener).expect("tanu listens");
        let server = tokio::spawn(async move {
            let _ = server.await;
        });
        let base = match balancer {
            Some(balancer) => {
                assert_eq!(balancer, app.config.issuer, "behind a balancer, the issuer is the balancer");
                balancer
            }
            None => {
                let base = format!("http://{addr}");
                // An https issuer stands for a TLS-terminating proxy in front of the served address.
                assert_eq!(base, app.config.issuer.replacen("https://", "http://", 1), "issuer is the served address");
                base
            }
        };
        Tanu { base, app, next, server, postgres_db, _dir: dir }
    }

    /// Stops the server as SIGTERM does (`App::shutdown`) and waits, at most
    /// `within`, for its future to end: in-flight requests answered, the
    /// onboarding worker stopped. Returns how long that took.
    pub async fn stop(&mut self, within: std::time::Duration) -> Option<std::time::Duration> {
        let started = std::time::Instant::now();
        self.app.shutdown();
        tokio::time::timeout(within, &mut self.server).await.ok().map(|_| started.elapsed())
    }

    pub fn url(&self, path: &str) -> String {
        Served::url(self, path)
    }

    /// Registers a client; `tweak` adjusts the registration.
    pub async fn client(&self, redirect_uri: &str, tweak: impl FnOnce(&mut NewClient)) -> (Client, Option<String>) {
        let mut new = NewClient::new("Test RP", vec![redirect_uri.parse::<RedirectUri>().unwrap()]);
        tweak(&mut new);
        let r = self.app.store.register_client(new, &self.app.client_secrets).await.expect("client registers");
        (r.client, r.secret)
    }

    /// A person who has signed in before: a test person of the sandbox, where
    /// the kit's clients are by default (`NewClient::new`).
    pub async fn citizen(&self, iin: &str, given: &str, family: &str) -> Citizen {
        self.citizen_in(Environment::Sandbox, iin, given, family).await
    }

    /// A person of `environment` who has signed in before.
    pub async fn citizen_in(&self, environment: Environment, iin: &str, given: &str, family: &str) -> Citizen {
        self.app.store.upsert_citizen(environment, iin, given, family, Some("1990-05-17")).await.unwrap()
    }

    /// Who the test authenticator signs in next (`None`: it refuses).
    pub fn sign_in_as(&self, who: Option<&Citizen>) {
        *self.next.lock().unwrap() = who.cloned();
    }

    pub async fn consent(&self, citizen: &Citizen, client: &ClientId, scopes: &str) {
        self.app.store.record_consent(&citizen.id, client, &ScopeSet::parse_lenient(scopes)).await.unwrap();
    }
}

impl Drop for Tanu {
    fn drop(&mut self) {
        // Stops the onboarding worker's thread and the background loops too.
        self.app.shutdown();
        self.server.abort();
        if let Some(db) = self.postgres_db.take() {
            // Dropping a database needs a connection of its own; do it on a
            // thread with its own runtime, as Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    if let Ok(admin) = Database::connect(postgres_admin_url()).await {
                        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).await;
                    }
                });
            })
            .join();
        }
    }
}

/// A PKCE pair (RFC 7636).
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Self {
        let verifier = tanu_idp::crypto::random_token(48);
        let challenge = tanu_idp::crypto::pkce_s256(&verifier);
        Self { verifier, challenge }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a navigation ended.
#[derive(Debug)]
pub enum Landing {
    /// Redirected out of the provider (to the relying party).
    Redirect(url::Url),
    /// A page of the provider's own.
    Page { status: u16, body: String, url: String },
}

impl Landing {
    pub fn redirect(self) -> url::Url {
        match self {
            Landing::Redirect(u) => u,
            Landing::Page { status, body, url } => panic!("expected a redirect out, got page {status} at {url}: {body}"),
        }
    }
    pub fn param(&self, name: &str) -> Option<String> {
        match self {
            Landing::Redirect(u) => u.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()),
            _ => None,
        }
    }
}

/// The body of a page the browser stopped at (panics on a redirect out).
pub fn page_body(l: &Landing) -> &str {
    match l {
        Landing::Page { body, .. } => body,
        other => panic!("expected a page, got {other:?}"),
    }
}

/// The status of a page the browser stopped at (panics on a redirect out).
pub fn page_status(l: &Landing) -> u16 {
    match l {
        Landing::Page { status, .. } => *status,
        other => panic!("expected a page, got {other:?}"),
    }
}

/// The value of a form's hidden `csrf` field.
pub fn csrf_field(body: &str) -> String {
    between(body, "name=\"csrf\" value=\"", "\"").expect("a CSRF field")
}

/// A browser: keeps cookies, follows the provider's own redirects, stops at
/// the first redirect that leaves the provider.
pub struct Browser {
    pub http: reqwest::Client,
    base: String,
}

impl Browser {
    pub fn new(tanu: &impl Served) -> Self {
        Self::builder(tanu, reqwest::Client::builder())
    }

    /// A browser at another address, as a trusted proxy in front of Tanu
    /// reports it (`X-Forwarded-For`; the Tanu must trust 127.0.0.0/8).
    pub fn from_address(tanu: &impl Served, address: &str) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", address.parse().expect("an address"));
        Self::builder(tanu, reqwest::Client::builder().default_headers(headers))
    }

    fn builder(tanu: &impl Served, builder: reqwest::ClientBuilder) -> Self {
        let http = builder.cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http, base: tanu.base().to_owned() }
    }

    pub async fn navigate(&self, url: &str) -> Landing {
        self.follow(self.http.get(url).send().await.expect("request")).await
    }

    /// A form posted where the server is expected to fail (a test of a
    /// refusal when a dependency is down): the status and body, not followed
    /// and without the 5xx check every other request has.
    pub async fn post_form_failing(&self, url: &str, form: &[(&str, &str)]) -> (u16, String) {
        let resp = self.http.post(url).form(form).send().await.expect("request");
        (resp.status().as_u16(), resp.text().await.unwrap_or_default())
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Landing {
        self.follow(self.http.post(url).form(form).send().await.expect("request")).await
    }

    async fn follow(&self, mut resp: reqwest::Response) -> Landing {
        for _ in 0..10 {
            let url = resp.url().to_string();
            let status = resp.status().as_u16();
            assert!(status < 500, "server error {status} at {url}");
            if (300..400).contains(&status) {
                let loc = resp.headers().get("location").expect("Location").to_str().unwrap().to_string();
                let next = resp.url().join(&loc).unwrap();
                if !next.as_str().starts_with(&self.base) {
                    return Landing::Redirect(next);
                }
                resp = self.http.get(next).send().await.expect("request");
                continue;
            }
            return Landing::Page { status, body: resp.text().await.unwrap_or_default(), url };
        }
        panic!("redirect loop")
    }

    /// Submits the consent form on `page` with `decision` (`allow` | `deny`).
    pub async fn consent(&self, page: &Landing, decision: &str) -> Landing {
        let Landing::Page { body, .. } = page else { panic!("no consent page: {page:?}") };
        let action = between(body, "action=\"", "\"").expect("form action");
        let csrf = between(body, "name=\"csrf\" value=\"", "\"").expect("csrf field");
        self.post_form(&format!("{}{}", self.base, action), &[("csrf", &csrf), ("decision", decision)]).await
    }
}

/// The repository's root.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace").to_owned()
}

/// A file of the repository's test data (`tests/data`, see its README:
/// photos, the clip, liveness samples, with their licences).
pub fn test_data(rel: &str) -> std::path::PathBuf {
    workspace_root().join("tests/data").join(rel)
}

/// The former name of [`test_data`], kept for branches written against it.
pub use test_data as shared_data;

/// JPEG frames of `tests/data/video/short_hamilton_clip.mp4` from
/// `from_s` for `seconds` at 10 fps (ffmpeg, installed by `make setup`), as a
/// browser's canvas would send them.
pub fn clip_frames(from_s: f32, seconds: f32) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-ss", &from_s.to_string(), "-t", &seconds.to_string(), "-i"])
        .arg(test_data("video/short_hamilton_clip.mp4"))
        .args(["-vf", "fps=10", "-q:v", "3"])
        .arg(dir.path().join("f-%03d.jpg"))
        .status()
        .expect("ffmpeg");
    assert!(status.success(), "ffmpeg");
    let mut paths: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

pub fn between(s: &str, a: &str, b: &str) -> Option<String> {
    let start = s.find(a)? + a.len();
    let end = s[start..].find(b)? + start;
    Some(s[start..end].to_string())
}

/// An authorization URL with PKCE S256, state and nonce; `extra` adds or
/// overrides parameters (an empty value removes one).
pub fn authorize_url(tanu: &impl Served, client_id: &ClientId, redirect_uri: &str, pkce: &Pkce, extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), client_id.to_string()),
        ("redirect_uri".into(), redirect_uri.into()),
        ("scope".into(), "openid".into()),
        ("state".into(), "st-123".into()),
        ("nonce".into(), "n-456".into()),
        ("code_challenge".into(), pkce.challenge.clone()),
        ("code_challenge_method".into(), "S256".into()),
    ];
    for (k, v) in extra {
        params.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            params.push((k.to_string(), v.to_string()));
        }
    }
    let q = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    tanu.url(&format!("/authorize?{q}"))
}

/// Redeems a code with client_secret_basic; returns status and JSON body.
pub async fn redeem(tanu: &impl Served, client_id: &ClientId, secret: &str, code: &str, redirect_uri: &str, verifier: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(tanu.url("/token"))
        .basic_auth(client_id.as_str(), Some(secret))
        .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect_uri), ("code_verifier", verifier)])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// A refresh-token grant with client_secret_basic: the status and the JSON answer.
pub async fn refresh(tanu: &impl Served, client_id: &ClientId, secret: &str, refresh_token: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(tanu.url("/token"))
        .basic_auth(client_id.as_str(), Some(secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// Decodes a JWT's payload without verifying it (tests verify separately).
pub fn jwt_claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).expect("JWT payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The common setup: a running Tanu, one citizen whom the test authenticator
/// signs in, and one client with a secret.
pub struct Scenario {
    pub tanu: Tanu,
    pub citizen: Citizen,
    pub client: Client,
    pub secret: String,
    pub redirect_uri: String,
}

impl Scenario {
    pub async fn start(redirect_uri: &str) -> Self {
        Self::start_with(redirect_uri, |_| {}, |_| {}).await
    }

    pub async fn start_with(redirect_uri: &str, config: impl FnOnce(&mut Config), client: impl FnOnce(&mut NewClient)) -> Self {
        let tanu = Tanu::start_with(config).await;
        let (client, secret) = tanu.client(redirect_uri, client).await;
        let secret = secret.expect("a secret-based client");
        // The scenario's person is of its client's environment.
        let citizen = tanu.citizen_in(client.environment, "900517300124", "Aigerim", "Seitkali").await;
        tanu.sign_in_as(Some(&citizen));
        Scenario { tanu, citizen, client, secret, redirect_uri: redirect_uri.into() }
    }

    /// A production scenario: the client is production (https redirect URI,
    /// never followed by the kit's browser) and so is its citizen, who can
    /// also use the citizen's cabinet (production, first-party).
    pub async fn production(redirect_uri: &str, config: impl FnOnce(&mut Config), client: impl FnOnce(&mut NewClient)) -> Self {
        Self::start_with(redirect_uri, config, |c| {
            c.environment = Environment::Production;
            client(c)
        })
        .await
    }

    /// Another person of the scenario's environment.
    pub async fn person(&self, iin: &str, given: &str, family: &str) -> Citizen {
        self.tanu.citizen_in(self.client.environment, iin, given, family).await
    }

    /// Runs the authorization request in `browser` and returns the code.
    pub async fn code(&self, browser: &Browser, extra: &[(&str, &str)]) -> (String, Pkce) {
        let pkce = Pkce::new();
        let landing = browser.navigate(&authorize_url(&self.tanu, &self.client.id, &self.redirect_uri, &pkce, extra)).await;
        let code = landing.param("code").unwrap_or_else(|| panic!("no code: {landing:?}"));
        (code, pkce)
    }

    /// A code redeemed with client_secret_basic: the token response, which must be 200.
    pub async fn tokens(&self, browser: &Browser, extra: &[(&str, &str)]) -> serde_json::Value {
        let (code, pkce) = self.code(browser, extra).await;
        let (status, body) = redeem(&self.tanu, &self.client.id, &self.secret, &code, &self.redirect_uri, &pkce.verifier).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.tanu)
    }
}

/// A relying party on the `openidconnect` crate, configured by discovery.
pub type OidcRp = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// Discovers `tanu` and builds the relying party for a client; the HTTP
/// client follows no redirects, as the crate requires.
pub async fn oidc_rp(tanu: &Tanu, client_id: &str, secret: &str, redirect_uri: &str) -> (OidcRp, openidconnect::reqwest::Client) {
    use openidconnect::{core::CoreProviderMetadata, ClientSecret, IssuerUrl, RedirectUrl};
    let http = openidconnect::reqwest::Client::builder().redirect(openidconnect::reqwest::redirect::Policy::none()).build().unwrap();
    let md = CoreProviderMetadata::discover_async(IssuerUrl::new(tanu.base.clone()).unwrap(), &http).await.unwrap();
    let rp =
        openidconnect::core::CoreClient::from_provider_metadata(md, openidconnect::ClientId::new(client_id.into()), Some(ClientSecret::new(secret.into())))
            .set_redirect_uri(RedirectUrl::new(redirect_uri.into()).unwrap());
    (rp, http)
}
