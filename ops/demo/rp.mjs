// The demo relying party that `make run` starts on http://127.0.0.1:8081/:
// an ordinary web application on openid-client v6 with no Tanu-specific code.
// It shows a "log in with national biometrics" button, runs the authorization
// code flow with PKCE, verifies the ID token and shows what it received.
//
// Env: TANU_ISSUER (default http://127.0.0.1:8080), DEMO_CLIENT (default var/demo-client.json),
//      DEMO_LISTEN (default 127.0.0.1:8081).
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import * as client from "openid-client";

const issuer = process.env.TANU_ISSUER ?? "http://127.0.0.1:8080";
const creds = JSON.parse(readFileSync(process.env.DEMO_CLIENT ?? "var/demo-client.json", "utf8"));
const [host, port] = (process.env.DEMO_LISTEN ?? "127.0.0.1:8081").split(":");
const redirectUri = `http://${host}:${port}/callback`;
let config;
const pending = new Map(); // state -> { verifier, nonce }

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const page = (body) => `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Demo portal</title><style>body{font:16px/1.5 system-ui;max-width:32rem;margin:2rem auto;padding:0 1rem}
a.btn{display:block;text-align:center;background:#00a0b0;color:#fff;padding:.9rem;border-radius:.6rem;text-decoration:none}
pre{background:#f4f7fb;padding:1rem;overflow:auto;font-size:.8rem}</style><h1>Demo portal</h1>${body}`;

async function handle(req, res) {
  const url = new URL(req.url, redirectUri);
  config ??= await client.discovery(new URL(issuer), creds.client_id, undefined, client.ClientSecretBasic(creds.client_secret), {
    execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
  });
  if (url.pathname === "/") {
    res.end(page(`<p>Ұлттық биометрия арқылы кіру · Вход через национальную биометрию</p>
      <a class="btn" href="/login">Log in with national biometrics</a>`));
  } else if (url.pathname === "/login") {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    pending.set(state, { verifier, nonce });
    const target = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri, scope: "openid profile iin", state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
    });
    res.writeHead(303, { Location: target.href }).end();
  } else if (url.pathname === "/callback") {
    const state = url.searchParams.get("state");
    const p = pending.get(state);
    pending.delete(state);
    if (url.searchParams.has("error") || !p) {
      res.writeHead(400).end(page(`<p>Sign-in did not complete: <b>${esc(url.searchParams.get("error") ?? "unknown state")}</b>
        ${esc(url.searchParams.get("error_description") ?? "")}</p><a class="btn" href="/login">Try again</a>`));
      return;
    }
    const tokens = await client.authorizationCodeGrant(config, url, { pkceCodeVerifier: p.verifier, expectedState: state, expectedNonce: p.nonce, idTokenExpected: true });
    const claims = tokens.claims();
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    res.end(page(`<p>Signed in: <b>${esc(info.given_name ?? "")} ${esc(info.family_name ?? "")}</b></p>
      <h2>ID token (verified)</h2><pre>${esc(JSON.stringify(claims, null, 2))}</pre>
      <h2>userinfo</h2><pre>${esc(JSON.stringify(info, null, 2))}</pre><a class="btn" href="/">Back</a>`));
  } else {
    res.writeHead(404).end("not found");
  }
}

createServer((req, res) => handle(req, res).catch((e) => { res.writeHead(500).end(page(`<pre>${esc(e)}</pre>`)); }))
  .listen(Number(port), host, () => console.log(`Demo relying party: http://${host}:${port}/`));
