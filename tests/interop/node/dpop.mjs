// A relying party on openid-client v6 using DPoP (RFC 9449, `client.DPoP`
// handles): code exchange, userinfo and refresh with proofs from one
// ES256 key, whatever server nonces Tanu asks for (the library retries on
// `use_dpop_nonce`). Acts as the citizen's browser like rp.mjs. Prints one
// JSON line of what it saw.
//
// Env: TANU_ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI; USE_PAR=1 to push
// the request with a DPoP proof (RFC 9449 §10.1: the code is bound to the key).
import * as client from 'openid-client';
import { followToCallback } from './browser.mjs';

const { TANU_ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI } = process.env;
const fail = (msg) => { console.error(`node-dpop-rp: ${msg}`); process.exit(1); };

const config = await client.discovery(new URL(TANU_ISSUER), CLIENT_ID, undefined, client.ClientSecretBasic(CLIENT_SECRET), {
  execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
});
const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
const jkt = await DPoP.calculateThumbprint();

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
const usePar = process.env.USE_PAR === '1';
const authUrl = usePar
  ? await client.buildAuthorizationUrlWithPAR(config, authParams, { DPoP })
  : client.buildAuthorizationUrl(config, authParams);

// The browser part: manual redirects, cookies kept.
const callback = await followToCallback(authUrl, REDIRECT_URI, fail);

const tokens = await client.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
}, undefined, { DPoP });
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub, { DPoP });
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
if (refreshed.refresh_token === tokens.refresh_token) fail('refresh did not rotate');
const userinfoRefreshed = await client.fetchUserInfo(config, refreshed.access_token, claims.sub, { DPoP });

// The same access token without DPoP (a bearer use): refused.
let bearerUse = 'succeeded';
try {
  await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
} catch (e) {
  bearerUse = e.cause?.[0]?.parameters?.error ?? e.error ?? e.code ?? String(e);
}
// The refresh token without a proof: refused too (it is bound).
let refreshWithoutProof = 'succeeded';
try {
  await client.refreshTokenGrant(config, refreshed.refresh_token);
} catch (e) {
  refreshWithoutProof = e.error ?? e.code ?? String(e);
}
const introspection = await client.tokenIntrospection(config, refreshed.access_token);
await client.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: 'refresh_token' });
const afterRevoke = await client.tokenIntrospection(config, refreshed.access_token);

console.log(JSON.stringify({
  library: 'openid-client',
  pushed: usePar,
  jkt,
  token_type: tokens.token_type,
  refreshed_token_type: refreshed.token_type,
  sub: claims.sub,
  userinfo_sub: userinfo.sub,
  userinfo_iin: userinfo.iin,
  userinfo_refreshed_sub: userinfoRefreshed.sub,
  bearer_use: bearerUse,
  refresh_without_proof: refreshWithoutProof,
  introspection,
  after_revoke: afterRevoke,
}));
