"""A relying party on Authlib, acting also as the citizen's browser.

Follows Tanu's redirects with a cookie-keeping session until the redirect to
its own callback, then redeems the code with PKCE, verifies the ID token's
signature and claims against the published JWKS, calls userinfo,
refreshes, introspects (RFC 7662) and revokes (RFC 7009). Prints one JSON line of what it verified.

Env: TANU_ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI.
"""
import json
import os
import sys
from urllib.parse import urljoin

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

issuer = os.environ["TANU_ISSUER"]
client_id = os.environ["CLIENT_ID"]
redirect_uri = os.environ["REDIRECT_URI"]

md = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
assert md["issuer"] == issuer, "discovery issuer"

rp = OAuth2Session(
    client_id,
    os.environ["CLIENT_SECRET"],
    scope="openid profile iin offline_access",
    redirect_uri=redirect_uri,
    code_challenge_method="S256",
    token_endpoint_auth_method="client_secret_basic",
)
verifier = generate_token(64)
nonce = generate_token(20)
auth_url, state = rp.create_authorization_url(md["authorization_endpoint"], nonce=nonce, code_verifier=verifier)

browser = requests.Session()
url, callback = auth_url, None
for _ in range(10):
    r = browser.get(url, allow_redirects=False, timeout=10)
    if not 300 <= r.status_code < 400:
        sys.exit(f"python-rp: expected a redirect, got {r.status_code} at {url}")
    url = urljoin(url, r.headers["location"])
    if url.startswith(redirect_uri):
        callback = url
        break
if callback is None:
    sys.exit("python-rp: never reached the callback")

token = rp.fetch_token(md["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state)
keys = JsonWebKey.import_key_set(requests.get(md["jwks_uri"], timeout=10).json())
claims = jwt.decode(
    token["id_token"],
    keys,
    claims_cls=CodeIDToken,
    claims_options={"iss": {"essential": True, "value": issuer}},
    claims_params={"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]},
)
claims.validate(leeway=5)  # iss, aud, exp, iat, nonce, at_hash
userinfo = rp.get(md["userinfo_endpoint"], timeout=10).json()
assert userinfo["sub"] == claims["sub"], "userinfo sub"
refreshed = rp.refresh_token(md["token_endpoint"], refresh_token=token["refresh_token"])
assert refreshed["refresh_token"] != token["refresh_token"], "refresh token rotated"

# RFC 7662 and RFC 7009 through the library: introspect, revoke the refresh
# token (which ends the grant), introspect again, try to refresh.
r = rp.introspect_token(md["introspection_endpoint"], token=refreshed["access_token"], token_type_hint="access_token")
r.raise_for_status()
before = r.json()
r = rp.revoke_token(md["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token")
assert r.status_code == 200, f"revocation answered {r.status_code}"
after = rp.introspect_token(md["introspection_endpoint"], token=refreshed["access_token"]).json()
try:
    rp.refresh_token(md["token_endpoint"], refresh_token=refreshed["refresh_token"])
    refresh_after_revoke = "succeeded"
except Exception as e:  # authlib's OAuthError carries the RFC 6749 error code
    refresh_after_revoke = getattr(e, "error", repr(e))
r = requests.get(md["userinfo_endpoint"], headers={"Authorization": "Bearer " + refreshed["access_token"]}, timeout=10)
userinfo_after_revoke = r.headers.get("WWW-Authenticate", str(r.status_code))
print(json.dumps({
    "library": "authlib",
    "sub": claims["sub"],
    "amr": claims["amr"],
    "acr": claims["acr"],
    "iin": userinfo.get("iin"),
    "given_name": userinfo.get("given_name"),
    "introspection_before": before,
    "introspection_after_revoke": after,
    "refresh_after_revoke": refresh_after_revoke,
    "userinfo_after_revoke": "invalid_token" if 'error="invalid_token"' in userinfo_after_revoke else userinfo_after_revoke,
}))
