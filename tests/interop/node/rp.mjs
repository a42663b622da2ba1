// A relying party on openid-client v6 (panva), acting also as the citizen's
// browser: it follows Tanu's redirects with a cookie jar until the redirect
// to its own callback. Prints one JSON line of what it verified.
//
// Env: TANU_ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI; USE_PAR=1 to push the request.
// FAPI2=1 (with CLIENT_PRIVATE_JWK, a private P-256 JWK): a FAPI 2.0 client —
// private_key_jwt ES256 (aud = the issuer), PAR, DPoP-bound tokens (RFC 9449),
// refresh tokens not rotated.
// ENC_PRIVATE_JWK (the client's private encryption JWK, its `alg` RSA-OAEP-256
// or ECDH-ES) with ENC_ENC (A256GCM or A128CBC-HS256): a client registered
// for encrypted ID tokens and signed, encrypted userinfo (nested JWTs), which
// the library decrypts and whose inner signatures it checks.
// BCL_PORT: the client registered http://127.0.0.1:BCL_PORT/bcl as its
// back-channel logout URI; after the rest, the citizen logs out (RP-initiated,
// with the ID token as hint) and the logout token received there is checked
// as Back-Channel Logout 1.0 §2.6 says, with `jose` against the provider's JWKS.
import * as client from 'openid-client';
import { followToCallback, visit } from './browser.mjs';
import * as http from 'node:http';
import * as jose from 'jose';

const { TANU_ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI } = process.env;
const fapi2 = process.env.FAPI2 === '1';
const usePar = fapi2 || process.env.USE_PAR === '1';
const fail = (msg) => { console.error(`node-rp: ${msg}`); process.exit(1); };

// Tanu enforces the registered token endpoint auth method: client_secret_basic, or for FAPI2 private_key_jwt.
let clientAuth;
if (fapi2) {
  const jwk = JSON.parse(process.env.CLIENT_PRIVATE_JWK);
  const key = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  clientAuth = client.PrivateKeyJwt({ key, kid: jwk.kid });
} else {
  clientAuth = client.ClientSecretBasic(CLIENT_SECRET);
}
const encJwk = process.env.ENC_PRIVATE_JWK ? JSON.parse(process.env.ENC_PRIVATE_JWK) : undefined;
const metadata = fapi2 ? { id_token_signed_response_alg: 'ES256' } : {};
if (encJwk) {
  Object.assign(metadata, {
    id_token_encrypted_response_alg: encJwk.alg,
    id_token_encrypted_response_enc: process.env.ENC_ENC,
    userinfo_signed_response_alg: 'RS256',
    userinfo_encrypted_response_alg: encJwk.alg,
    userinfo_encrypted_response_enc: process.env.ENC_ENC,
  });
}
const config = await client.discovery(new URL(TANU_ISSUER), CLIENT_ID, metadata, clientAuth, {
  execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks], // loopback http; verify ID token signatures
});
if (encJwk) {
  const { alg, kid, use, key_ops, ...material } = encJwk;
  const algorithm = alg === 'RSA-OAEP-256' ? { name: 'RSA-OAEP', hash: 'SHA-256' } : { name: 'ECDH', namedCurve: material.crv };
  const usages = alg === 'RSA-OAEP-256' ? ['decrypt', 'unwrapKey'] : ['deriveBits'];
  const key = await crypto.subtle.importKey('jwk', material, algorithm, false, usages);
  client.enableDecryptingResponses(config, [process.env.ENC_ENC], { key, alg, kid });
}

// FAPI 2.0 SP §5.3.2.1: sender-constrained tokens, by DPoP.
const DPoP = fapi2 ? client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256')) : undefined;
const withDPoP = DPoP ? { DPoP } : undefined;

const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const authParams = {
  redirect_uri: REDIRECT_URI,
  scope: 'openid profile iin offline_access',
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
  state,
  nonce,
};
// USE_PAR=1 (and FAPI2=1): the request is pushed (RFC 9126) and the browser carries only client_id and request_uri.
const authUrl = usePar
  ? await client.buildAuthorizationUrlWithPAR(config, authParams, withDPoP)
  : client.buildAuthorizationUrl(config, authParams);
if (usePar && [...authUrl.searchParams.keys()].sort().join() !== 'client_id,request_uri') fail(`not a pushed request: ${authUrl}`);

// Back-channel logout: the receiver listens before the sign-in.
let logoutToken;
if (process.env.BCL_PORT) {
  logoutToken = new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        res.writeHead(200).end();
        server.close();
        resolve({ path: req.url, contentType: req.headers['content-type'], token: new URLSearchParams(body).get('logout_token') });
      });
    });
    server.listen(Number(process.env.BCL_PORT), '127.0.0.1');
  });
}

// The browser part: manual redirects, cookies kept.
const jar = new Map();
const callback = await followToCallback(authUrl, REDIRECT_URI, fail, jar);

const tokens = await client.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
}, undefined, withDPoP);
const claims = tokens.claims();
if (claims.iss !== TANU_ISSUER || claims.aud !== CLIENT_ID && !(Array.isArray(claims.aud) && claims.aud.includes(CLIENT_ID))) fail('iss/aud');
if (claims.nonce !== nonce) fail('nonce');
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub, withDPoP);
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, withDPoP);
if (!refreshed.access_token || refreshed.access_token === tokens.access_token) fail('refresh gave no new access token');
// FAPI 2.0 SP §5.3.2.1-9: a fapi2 client's refresh token is not rotated, and using it again works.
if (fapi2) {
  if (refreshed.refresh_token !== tokens.refresh_token) fail('fapi2 refresh token rotated');
  const again = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, withDPoP);
  if (!again.access_token) fail('fapi2 refresh token could not be used again');
} else if (refreshed.refresh_token === tokens.refresh_token) fail('refresh did not rotate');

// RFC 7662 and RFC 7009 through the library: introspect, revoke the refresh
// token (which ends the grant), introspect again, try to refresh.
const before = await client.tokenIntrospection(config, refreshed.access_token, { token_type_hint: 'access_token' });
await client.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: 'refresh_token' });
const after = await client.tokenIntrospection(config, refreshed.access_token);
let refreshAfterRevoke = 'succeeded';
try {
  await client.refreshTokenGrant(config, refreshed.refresh_token, undefined, withDPoP);
} catch (e) {
  refreshAfterRevoke = e.error ?? e.code ?? String(e);
}
let userinfoAfterRevoke = 'succeeded';
try {
  await client.fetchUserInfo(config, refreshed.access_token, claims.sub, withDPoP);
} catch (e) {
  userinfoAfterRevoke = e.cause?.[0]?.parameters?.error ?? e.code ?? String(e);
}
// RP-initiated logout in the same browser, then the logout token (§2.6).
let backchannel;
if (logoutToken) {
  const out = await visit(client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token }).href, jar);
  if (out.status >= 400) fail(`logout answered ${out.status}`);
  const got = await Promise.race([logoutToken, new Promise((r) => setTimeout(() => r(undefined), 20000))]);
  if (!got) fail('no logout token within 20 s');
  const { payload, protectedHeader } = await jose.jwtVerify(got.token, jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri)), {
    issuer: TANU_ISSUER,
    audience: CLIENT_ID,
    typ: 'logout+jwt',
    maxTokenAge: '2 minutes',
    requiredClaims: ['iat', 'jti', 'events'],
  });
  backchannel = {
    path: got.path,
    content_type: got.contentType,
    alg: protectedHeader.alg,
    event: Object.keys(payload.events ?? {}),
    sid_matches: payload.sid === claims.sid,
    sub_matches: payload.sub === claims.sub,
    has_nonce: 'nonce' in payload,
  };
}
console.log(JSON.stringify({
  library: 'openid-client',
  backchannel,
  pushed: usePar,
  fapi2,
  id_token_alg: JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url')).alg,
  id_token_parts: tokens.id_token.split('.').length,
  refresh_rotated: refreshed.refresh_token !== tokens.refresh_token,
  token_type: tokens.token_type,
  sub: claims.sub,
  amr: claims.amr,
  acr: claims.acr,
  iin: userinfo.iin,
  given_name: userinfo.given_name,
  refreshed_sub: refreshed.claims()?.sub,
  introspection_before: before,
  introspection_after_revoke: after,
  refresh_after_revoke: refreshAfterRevoke,
  userinfo_after_revoke: userinfoAfterRevoke,
}));
