//! `tanu clients …`: the operator registers relying parties.
use clap::Subcommand;
use serde_json::json;

use crate::{
    config::Config,
    domain::{ClientId, ClientProfile, ContentEncryption, Encryption, Environment, KeyEncryptionAlg, RedirectUri, SigningAlg, SubjectType, TokenAuthMethod},
    store::{Client, ClientJwks, NewClient},
};

// Parsed once per process from the command line: the size of `Add` costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum ClientsCommand {
    /// Register a client; prints its id and (once) its secret.
    Add(AddArgs),
    /// List clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Show {
        client_id: ClientId,
        #[arg(long)]
        json: bool,
    },
    /// Disable a client and revoke its grants.
    Disable { client_id: ClientId },
}

/// `tanu clients add`.
#[derive(clap::Args)]
pub struct AddArgs {
    #[arg(long)]
    pub name: String,
    /// Exact redirect URI; repeat for several.
    #[arg(long = "redirect-uri", required = true)]
    pub redirect_uris: Vec<RedirectUri>,
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    #[arg(long, default_value = "sandbox")]
    pub env: Environment,
    #[arg(long, default_value = "client_secret_basic")]
    pub auth_method: TokenAuthMethod,
    /// JWK Set file with the client's public keys (for private_key_jwt).
    #[arg(long)]
    pub jwks: Option<std::path::PathBuf>,
    /// `public` only by the operator's decision: it lets services correlate citizens.
    #[arg(long, default_value = "pairwise")]
    pub subject_type: SubjectType,
    #[arg(long, default_value = "RS256")]
    pub id_token_alg: SigningAlg,
    /// Encrypt ID tokens to the client's key (`RSA-OAEP-256` or
    /// `ECDH-ES`; a key for it must be in `--jwks`): nested JWTs.
    #[arg(long)]
    pub id_token_encrypted_response_alg: Option<KeyEncryptionAlg>,
    /// `A256GCM` or `A128CBC-HS256` (the default when only the algorithm is given).
    #[arg(long, requires = "id_token_encrypted_response_alg")]
    pub id_token_encrypted_response_enc: Option<ContentEncryption>,
    /// Answer userinfo as a JWT signed with this algorithm (`application/jwt`).
    #[arg(long)]
    pub userinfo_signed_response_alg: Option<SigningAlg>,
    /// …and encrypted to the client's key (needs the signing algorithm).
    #[arg(long, requires = "userinfo_signed_response_alg")]
    pub userinfo_encrypted_response_alg: Option<KeyEncryptionAlg>,
    #[arg(long, requires = "userinfo_encrypted_response_alg")]
    pub userinfo_encrypted_response_enc: Option<ContentEncryption>,
    #[arg(long)]
    pub organisation: Option<String>,
    #[arg(long)]
    pub system_name: Option<String>,
    #[arg(long)]
    pub logo_uri: Option<String>,
    #[arg(long)]
    pub policy_uri: Option<String>,
    #[arg(long)]
    pub tos_uri: Option<String>,
    /// Where outcome events (signed Security Event Tokens, Rules §10) are pushed.
    #[arg(long)]
    pub notification_endpoint: Option<RedirectUri>,
    /// Where signed logout tokens are posted when a citizen's session
    /// with this client ends (OpenID Connect Back-Channel Logout 1.0).
    #[arg(long)]
    pub backchannel_logout_uri: Option<RedirectUri>,
    /// The client needs `sid` in every logout token.
    #[arg(long, requires = "backchannel_logout_uri")]
    pub backchannel_logout_session_required: bool,
    /// Accept only pushed authorization requests (RFC 9126 `/par`) from this client.
    #[arg(long)]
    pub require_pushed_authorization_requests: bool,
    /// `fapi2`: hold the client to the FAPI 2.0 Security Profile (PAR,
    /// private_key_jwt with PS256/ES256 and aud = issuer, ES256 ID
    /// tokens, 60 s codes, refresh tokens not rotated; README "FAPI 2.0").
    #[arg(long, default_value = "standard")]
    pub profile: ClientProfile,
    /// Token requests of this client must carry a DPoP proof, so that its
    /// access tokens are always sender-constrained (RFC 9449 §5.2).
    #[arg(long)]
    pub dpop_bound_access_tokens: bool,
    /// A URL listing every redirect URI as a JSON array (OIDC Core §8.1):
    /// fetched now; its host is the pairwise sector.
    #[arg(long)]
    pub sector_identifier_uri: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub fn client_json(c: &Client) -> serde_json::Value {
    json!({
        "client_id": c.id,
        "name": c.name,
        "organisation_name": c.organisation_name,
        "system_name": c.system_name,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "token_endpoint_auth_method": c.auth_method,
        "subject_type": c.subject_type,
        "sector_identifier": c.sector_identifier,
        "id_token_signed_response_alg": c.id_token_alg,
        "id_token_encrypted_response_alg": c.id_token_encryption.map(|e| e.alg),
        "id_token_encrypted_response_enc": c.id_token_encryption.map(|e| e.enc),
        "userinfo_signed_response_alg": c.userinfo_alg,
        "userinfo_encrypted_response_alg": c.userinfo_encryption.map(|e| e.alg),
        "userinfo_encrypted_response_enc": c.userinfo_encryption.map(|e| e.enc),
        "environment": c.environment,
        "disabled": c.disabled,
        "notification_endpoint": c.notification_endpoint,
        "backchannel_logout_uri": c.backchannel_logout_uri,
        "backchannel_logout_session_required": c.backchannel_logout_session_required,
        "require_pushed_authorization_requests": c.require_pushed_authorization_requests,
        "profile": c.profile,
        "dpop_bound_access_tokens": c.dpop_bound_access_tokens,
        "created_at": c.created_at,
    })
}

pub async fn run(cmd: ClientsCommand, config: &Config) -> anyhow::Result<()> {
    let store = super::store(config).await?;
    match cmd {
        ClientsCommand::Add(args) => add(&store, config, args).await?,
        ClientsCommand::List { json } => {
            let all = store.clients().await?;
            if json {
                println!("{}", serde_json::Value::Array(all.iter().map(client_json).collect()));
            } else {
                for c in all {
                    println!("{}\t{}\t{}\t{}", c.id, c.environment, if c.disabled { "disabled" } else { "active" }, c.name);
                }
            }
        }
        ClientsCommand::Show { client_id, json } => {
            let c = store.client(&client_id).await?.ok_or_else(|| anyhow::anyhow!("no client {client_id}"))?;
            let v = client_json(&c);
            println!("{}", if json { v.to_string() } else { serde_json::to_string_pretty(&v)? });
        }
        ClientsCommand::Disable { client_id } => {
            if !store.disable_client(&client_id).await? {
                anyhow::bail!("no client {client_id}");
            }
            println!("client {client_id} disabled; its grants are revoked");
        }
    }
    Ok(())
}

/// `tanu clients add`: the client registered, its id and (once) its secret printed.
async fn add(store: &crate::store::Store, config: &Config, args: AddArgs) -> anyhow::Result<()> {
    let AddArgs {
        name,
        redirect_uris,
        post_logout_redirect_uris,
        env,
        auth_method,
        jwks,
        subject_type,
        id_token_alg,
        id_token_encrypted_response_alg,
        id_token_encrypted_response_enc,
        userinfo_signed_response_alg,
        userinfo_encrypted_response_alg,
        userinfo_encrypted_response_enc,
        organisation,
        system_name,
        logo_uri,
        policy_uri,
        tos_uri,
        notification_endpoint,
        backchannel_logout_uri,
        backchannel_logout_session_required,
        require_pushed_authorization_requests,
        profile,
        dpop_bound_access_tokens,
        sector_identifier_uri,
        json,
    } = args;
    let jwks = match jwks {
        Some(p) => {
            let json = serde_json::from_str(&std::fs::read_to_string(&p)?).map_err(|e| anyhow::anyhow!("{}: not JSON: {e}", p.display()))?;
            Some(ClientJwks::parse(json).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?)
        }
        None => None,
    };
    let sector = match sector_identifier_uri {
        Some(uri) => Some(crate::sector::fetch(&uri, &redirect_uris, env).await?),
        None => None,
    };
    let mut new = NewClient::new(name, redirect_uris);
    new.sector_identifier = sector;
    new.post_logout_redirect_uris = post_logout_redirect_uris;
    new.environment = env;
    new.auth_method = auth_method;
    new.jwks = jwks;
    new.subject_type = subject_type;
    new.id_token_alg = id_token_alg;
    new.id_token_encryption = Encryption::from_registration(id_token_encrypted_response_alg, id_token_encrypted_response_enc)?;
    new.userinfo_alg = userinfo_signed_response_alg;
    new.userinfo_encryption = Encryption::from_registration(userinfo_encrypted_response_alg, userinfo_encrypted_response_enc)?;
    new.organisation_name = organisation;
    new.system_name = system_name;
    new.logo_uri = logo_uri;
    new.policy_uri = policy_uri;
    new.tos_uri = tos_uri;
    new.notification_endpoint = notification_endpoint;
    new.backchannel_logout_uri = backchannel_logout_uri;
    new.backchannel_logout_session_required = backchannel_logout_session_required;
    new.require_pushed_authorization_requests = require_pushed_authorization_requests;
    new.profile = profile;
    new.dpop_bound_access_tokens = dpop_bound_access_tokens;
    // A key the client registered for encryption must be one JOSE can use.
    for e in [new.id_token_encryption, new.userinfo_encryption].into_iter().flatten() {
        if let Err(crate::oidc::jwe::JweError::Jose(err)) = crate::oidc::jwe::nest(new.jwks.as_ref(), e, "e30.e30.c2ln") {
            anyhow::bail!("the client's key for {} cannot be used: {err}", e.alg);
        }
    }
    let secrets = crate::crypto::ClientSecrets::new(&crate::app::master_key(config)?);
    let r = store.register_client(new, &secrets).await?;
    if json {
        println!("{}", json!({ "client_id": r.client.id, "client_secret": r.secret }));
    } else {
        println!("client_id:     {}", r.client.id);
        if let Some(s) = r.secret {
            println!("client_secret: {s}\n(the secret is shown only now; Tanu keeps only its hash)");
        }
    }
    Ok(())
}
