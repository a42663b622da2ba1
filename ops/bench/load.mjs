// The load generator: `concurrency` virtual users, each with its own
// keep-alive connection, for `seconds`. Modes: refresh (each user rotates
// its own refresh token), userinfo (a bearer token from one refresh first),
// jwks, discovery. Prints one JSON line: requests/s, p50/p99 in ms, errors,
// and the generator's own CPU share (near 100 % means it, not the server,
// is the bottleneck).
import fs from 'node:fs';
import http from 'node:http';

// credsFile: {client_id, client_secret, tokens, jwks_path}; the rotated
// refresh tokens are written back so the next run continues each chain.
const [base, mode, concurrency, seconds, credsFile] = process.argv.slice(2);
const creds = JSON.parse(fs.readFileSync(credsFile, 'utf8'));
const url = new URL(base);
const basic = creds.client_id ? 'Basic ' + Buffer.from(`${encodeURIComponent(creds.client_id)}:${encodeURIComponent(creds.client_secret)}`).toString('base64') : '';

function request(agent, method, path, headers, body) {
  return new Promise((resolve) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on('error', (e) => resolve({ status: 0, body: Buffer.from(String(e)) }));
    if (body) req.write(body);
    req.end();
  });
}

async function refresh(agent, state) {
  const body = `grant_type=refresh_token&refresh_token=${encodeURIComponent(state.rt)}`;
  const r = await request(agent, 'POST', '/token', { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) }, body);
  if (r.status === 200) {
    const j = JSON.parse(r.body);
    state.rt = j.refresh_token;
    state.at = j.access_token;
  }
  return r.status;
}

let nextCode = 0;
const ops = {
  code: async (agent) => {
    const code = creds.codes[nextCode++];
    if (!code) return 'out of codes';
    const body = `grant_type=authorization_code&code=${code}&redirect_uri=${encodeURIComponent('http://127.0.0.1:9/cb')}&code_verifier=${creds.verifier}`;
    return (await request(agent, 'POST', '/token', { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) }, body)).status;
  },
  refresh: (agent, s) => refresh(agent, s),
  userinfo: async (agent, s) => (await request(agent, 'GET', creds.userinfo_path || '/userinfo', { authorization: `Bearer ${s.at}` })).status,
  jwks: async (agent) => (await request(agent, 'GET', creds.jwks_path || '/jwks', {})).status,
  discovery: async (agent) => (await request(agent, 'GET', '/.well-known/openid-configuration', {})).status,
};

const n = Number(concurrency);
const until = Date.now() + Number(seconds) * 1000;
const latencies = [];
let errors = 0;
let firstError = '';
const states = (creds.tokens || []).slice(0, n).map((rt) => ({ rt }));
async function user(i) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const s = states[i] || {};
  if (mode === 'userinfo') await refresh(agent, s);
  while (Date.now() < until) {
    const t = process.hrtime.bigint();
    const status = await ops[mode](agent, s);
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (status !== 200) { errors++; if (!firstError) firstError = String(status); }
  }
  agent.destroy();
}
const cpu0 = process.cpuUsage();
const t0 = Date.now();
await Promise.all(Array.from({ length: n }, (_, i) => user(i)));
const wall = (Date.now() - t0) / 1000;
states.forEach((s, i) => { creds.tokens[i] = s.rt; });
if (creds.codes) creds.codes = creds.codes.slice(nextCode);
fs.writeFileSync(credsFile, JSON.stringify(creds));
const cpu = process.cpuUsage(cpu0);
latencies.sort((a, b) => a - b);
const q = (p) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : NaN;
console.log(JSON.stringify({ mode, concurrency: n, requests: latencies.length, rps: latencies.length / wall, p50: q(0.5), p99: q(0.99), errors, firstError, gen_cpu: (cpu.user + cpu.system) / 1e6 / wall }));
