// SQL that gives Tanu's bench client one citizen and one offline_access
// grant with a refresh token per virtual user, and `codes` authorization
// codes (single use, one PKCE verifier for all) of an online grant (sign-in
// itself is face sign-in, measured apart). Writes <out>.sql and <out>.json
// ({tokens, codes, verifier}).
import crypto from 'node:crypto';
import fs from 'node:fs';

const [dialect, clientId, users, codeCount, out] = process.argv.slice(2);
const now = new Date().toISOString().replace('Z', '+00:00');
const later = new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString().replace('Z', '+00:00');
const q = (s) => `'${s}'`;
const ts = (s) => (dialect === 'postgres' ? `${q(s)}::timestamptz` : q(s));
const lines = [`INSERT INTO citizens (id, iin, given_name, family_name, birthdate, created_at) VALUES ('bench-citizen', '900517300124', 'Aigerim', 'Seitkali', NULL, ${ts(now)});`];
const tokens = [];
for (let i = 0; i < Number(users); i++) {
  const token = crypto.randomBytes(32).toString('base64url');
  const hash = crypto.createHash('sha256').update(token).digest('hex');
  tokens.push(token);
  lines.push(`INSERT INTO grants (id, client_id, citizen_id, session_id, scope, auth_time, acr, amr, created_at, revoked_at, revoked_reason) VALUES ('bench-grant-${i}', ${q(clientId)}, 'bench-citizen', 'bench-session', 'openid offline_access profile', ${ts(now)}, 'urn:kz:tanu:loa:face-liveness', '["face"]', ${ts(now)}, NULL, NULL);`);
  lines.push(`INSERT INTO refresh_tokens (token_hash, grant_id, expires_at, used_at) VALUES (${q(hash)}, 'bench-grant-${i}', ${ts(later)}, NULL);`);
}
lines.push(`INSERT INTO grants (id, client_id, citizen_id, session_id, scope, auth_time, acr, amr, created_at, revoked_at, revoked_reason) VALUES ('bench-code-grant', ${q(clientId)}, 'bench-citizen', 'bench-session', 'openid profile', ${ts(now)}, 'urn:kz:tanu:loa:face-liveness', '["face"]', ${ts(now)}, NULL, NULL);`);
const verifier = crypto.randomBytes(32).toString('base64url');
// Stored as oxide-auth encodes an S256 challenge: the challenge, then "S".
const challenge = crypto.createHash('sha256').update(verifier).digest('base64url') + 'S';
const codes = [];
for (let i = 0; i < Number(codeCount); i++) {
  const code = crypto.randomBytes(32).toString('base64url');
  codes.push(code);
  const hash = crypto.createHash('sha256').update(code).digest('hex');
  lines.push(`INSERT INTO authorization_codes (code_hash, grant_id, client_id, redirect_uri, pkce_challenge, nonce, created_at, expires_at, used_at) VALUES (${q(hash)}, 'bench-code-grant', ${q(clientId)}, 'http://127.0.0.1:9/cb', ${q(challenge)}, NULL, ${ts(now)}, ${ts(later)}, NULL);`);
}
fs.writeFileSync(`${out}.sql`, ['BEGIN;', ...lines, 'COMMIT;'].join('\n'));
fs.writeFileSync(`${out}.json`, JSON.stringify({ tokens, codes, verifier }));
