"""DPoP (RFC 9449) from Python: proofs built by hand with joserfc (not an
OAuth library's DPoP support), so that no one library's leniency hides a bug.

Acts as relying party and browser: authorizes with `dpop_jkt` (RFC 9449
§10), redeems the code, calls userinfo with `Authorization: DPoP` and an
`ath`, refreshes; answers a `use_dpop_nonce` by retrying once with the
server's nonce; tries the access token as a bearer token and a proof of
another key. Prints one JSON line of what it saw.

Env: TANU_ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI.
"""
import base64
import hashlib
import json
import os
import secrets
import sys
import time
from urllib.parse import urlencode, urljoin, urlparse, parse_qs

import requests
from joserfc import jwt
from joserfc.jwk import ECKey

issuer = os.environ["TANU_ISSUER"]
client_id = os.environ["CLIENT_ID"]
secret = os.environ["CLIENT_SECRET"]
redirect_uri = os.environ["REDIRECT_URI"]
md = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
assert "ES256" in md["dpop_signing_alg_values_supported"], md

key = ECKey.generate_key("P-256")
other = ECKey.generate_key("P-256")
nonces = {}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def proof(k, method, url, token=None, nonce=None):
    claims = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url, "iat": int(time.time())}
    if token is not None:
        claims["ath"] = b64(hashlib.sha256(token.encode()).digest())
    if nonce is not None:
        claims["nonce"] = nonce
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": k.as_dict(private=False)}
    return jwt.encode(header, claims, k)


def send(method, url, k=key, token=None, scheme="DPoP", **kw):
    """A request with a fresh proof; once more with the nonce if asked (§8, §9)."""
    for _ in range(2):
        headers = {"DPoP": proof(k, method, url, token, nonces.get(url))}
        if token is not None:
            headers["Authorization"] = f"{scheme} {token}"
        r = requests.request(method, url, headers=headers, timeout=10, **kw)
        if "DPoP-Nonce" in r.headers:
            nonces[url] = r.headers["DPoP-Nonce"]
        asked = r.status_code in (400, 401) and "use_dpop_nonce" in (r.text + r.headers.get("WWW-Authenticate", ""))
        if not asked:
            return r
    return r


verifier = secrets.token_urlsafe(48)
challenge = b64(hashlib.sha256(verifier.encode()).digest())
state = secrets.token_urlsafe(12)
auth_url = md["authorization_endpoint"] + "?" + urlencode({
    "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
    "scope": "openid profile iin offline_access", "state": state, "nonce": secrets.token_urlsafe(12),
    "code_challenge": challenge, "code_challenge_method": "S256", "dpop_jkt": key.thumbprint(),
})
browser = requests.Session()
url, callback = auth_url, None
for _ in range(10):
    r = browser.get(url, allow_redirects=False, timeout=10)
    if not 300 <= r.status_code < 400:
        sys.exit(f"python-dpop: expected a redirect, got {r.status_code} at {url}")
    url = urljoin(url, r.headers["location"])
    if url.startswith(redirect_uri):
        callback = url
        break
if callback is None:
    sys.exit("python-dpop: never reached the callback")
code = parse_qs(urlparse(callback).query)["code"][0]
auth = (client_id, secret)
form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
# The code is bound to `key` (dpop_jkt): another key's proof is refused and does not burn it.
wrong_key_code = send("POST", md["token_endpoint"], k=other, data=form, auth=auth).json().get("error")
tokens = send("POST", md["token_endpoint"], data=form, auth=auth).json()
at = tokens["access_token"]
userinfo = send("GET", md["userinfo_endpoint"], token=at)
bearer = requests.get(md["userinfo_endpoint"], headers={"Authorization": f"Bearer {at}"}, timeout=10)
other_key = send("GET", md["userinfo_endpoint"], k=other, token=at)
refreshed = send("POST", md["token_endpoint"], data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, auth=auth).json()
introspection = requests.post(md["introspection_endpoint"], data={"token": refreshed["access_token"]}, auth=auth, timeout=10).json()
print(json.dumps({
    "library": "joserfc",
    "jkt": key.thumbprint(),
    "wrong_key_code": wrong_key_code,
    "token_type": tokens["token_type"],
    "userinfo_status": userinfo.status_code,
    "userinfo_sub": userinfo.json().get("sub"),
    "bearer_status": bearer.status_code,
    "bearer_challenge": bearer.headers.get("WWW-Authenticate", ""),
    "other_key_status": other_key.status_code,
    "other_key_challenge": other_key.headers.get("WWW-Authenticate", ""),
    "refreshed_token_type": refreshed.get("token_type"),
    "introspection": introspection,
}))
