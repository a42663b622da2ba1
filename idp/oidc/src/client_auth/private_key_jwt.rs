//! `private_key_jwt` (RFC 7523): the client proves itself with an assertion
//! signed by a key of its registered JWK set.
use tanu_parse::assertion::{self, Audience, Expected};

use crate::{errors::OAuthError, store::Client, OidcState};

/// RFC 7523 §3 with OIDC Core §9: iss = sub = client_id, aud = the token
/// endpoint or the issuer, exp present, jti not seen before. A `fapi2`
/// client's assertion is PS256 or ES256 and its `aud` is the issuer as a
/// single string, nothing else (FAPI 2.0 SP §5.3.2.1-8; the same rule as
/// draft-ietf-oauth-rfc7523bis: a token or PAR endpoint URL, or an array,
/// is refused). Everything but the replay memory is `tanu_parse::assertion`
/// (pure, fuzzed); the `jti` is remembered in the store until `exp`.
pub(super) async fn verify(app: &OidcState, client: &Client, jwt: &str) -> Result<(), OAuthError> {
    let bad = |e: assertion::AssertionError| OAuthError::invalid_client(e.to_string(), false);
    let token_endpoint = app.config.endpoint("/token");
    let audiences = [token_endpoint.as_str(), app.config.issuer.as_str()];
    let expected = Expected {
        client_id: client.id.as_str(),
        algs: client.profile.assertion_algs(),
        audience: if client.profile.requires_issuer_as_assertion_audience() {
            Audience::IssuerOnly(app.config.issuer.as_str())
        } else {
            Audience::AnyOf(&audiences)
        },
    };
    let now = app.clock.now();
    let verified = assertion::verify(jwt, client.jwks.as_ref().map(|j| j.signature_set()), &expected, now.timestamp()).map_err(bad)?;
    let until = chrono::DateTime::from_timestamp(verified.exp, 0).unwrap_or(now);
    if !app.store.remember_client_assertion(&client.id, &verified.jti, until).await.map_err(OAuthError::from)? {
        return Err(OAuthError::invalid_client("client assertion has been used before", false));
    }
    Ok(())
}
