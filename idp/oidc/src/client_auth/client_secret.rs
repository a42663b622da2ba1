//! The client secret of `client_secret_basic` and `client_secret_post`:
//! an HMAC under a key derived from the master key, compared in constant
//! time; a legacy Argon2 hash is checked (bounded) once and replaced by the
//! HMAC form.
use crate::{crypto::SecretCheck, errors::OAuthError, store::Client, OidcState};

/// Whether `secret` is the client's; `Err` is the `invalid_client` to answer.
pub(super) async fn verify(app: &OidcState, client: &Client, secret: &str, basic_used: bool) -> Result<(), OAuthError> {
    let stored = client.secret_hash.as_deref().unwrap_or_default();
    match app.client_secrets.verify(secret, stored).await {
        SecretCheck::Valid => {}
        SecretCheck::ValidRehash(new) => {
            if let Err(e) = app.store.replace_client_secret_hash(&client.id, stored, &new).await {
                tracing::warn!(client = %client.id, error = %e, "client secret not rehashed; it stays in the Argon2 form");
            }
        }
        SecretCheck::Invalid => return Err(OAuthError::invalid_client("client authentication failed", basic_used)),
    }
    Ok(())
}
