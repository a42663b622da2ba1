// The reference server of the benchmark: node oidc-provider (its in-memory
// adapter), one confidential client, refresh tokens rotating on use as
// Tanu's do. Prints one JSON line when ready: {"tokens": [...]} with one
// refresh token per virtual user.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 3900);
const users = Number(process.env.USERS || 32);
const issuer = `http://127.0.0.1:${port}`;

// oidc-provider's own in-memory adapter is an LRU of 1 000 entries: under
// refresh rotation at thousands per second it evicts live grants and tokens
// (requests fail). This is the same adapter over an unbounded Map.
const storage = new Map();
const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
class MapAdapter {
  constructor(model) { this.model = model; }
  key(id) { return `${this.model}:${id}`; }
  async destroy(id) { storage.delete(this.key(id)); }
  async consume(id) { const v = storage.get(this.key(id)); if (v) v.consumed = Math.floor(Date.now() / 1000); }
  async find(id) { return storage.get(this.key(id)); }
  async findByUid(uid) { return this.find(storage.get(`sessionUid:${uid}`)); }
  async findByUserCode(code) { return this.find(storage.get(`userCode:${code}`)); }
  async upsert(id, payload) {
    const key = this.key(id);
    if (this.model === 'Session') storage.set(`sessionUid:${payload.uid}`, id);
    if (grantable.has(this.model) && payload.grantId) {
      const g = storage.get(`grant:${payload.grantId}`);
      if (g) g.push(key); else storage.set(`grant:${payload.grantId}`, [key]);
    }
    if (payload.userCode) storage.set(`userCode:${payload.userCode}`, id);
    storage.set(key, payload);
  }
  async revokeByGrantId(grantId) {
    for (const k of storage.get(`grant:${grantId}`) || []) storage.delete(k);
    storage.delete(`grant:${grantId}`);
  }
}
const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients: [{ client_id: 'bench', client_secret: 'bench-secret-bench-secret-bench-secret-0123', redirect_uris: ['http://127.0.0.1:9/cb'], grant_types: ['authorization_code', 'refresh_token'] }],
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, name: 'Aigerim Seitkali' }) }),
  scopes: ['openid', 'offline_access', 'profile'],
  claims: { openid: ['sub'], profile: ['name'] },
  rotateRefreshToken: true,
  features: { devInteractions: { enabled: false } },
  ttl: { AccessToken: 600, IdToken: 600, RefreshToken: 30 * 24 * 3600, Grant: 30 * 24 * 3600 },
});
provider.proxy = false;

const server = provider.listen(port, '127.0.0.1', async () => {
  const client = await provider.Client.find('bench');
  const tokens = [];
  for (let i = 0; i < users; i++) {
    const grant = new provider.Grant({ accountId: `user-${i}`, clientId: 'bench' });
    grant.addOIDCScope('openid offline_access profile');
    const grantId = await grant.save();
    const rt = new provider.RefreshToken({ accountId: `user-${i}`, client, grantId, scope: 'openid offline_access profile', gty: 'authorization_code', authTime: Math.floor(Date.now() / 1000) });
    tokens.push(await rt.save());
  }
  console.log(JSON.stringify({ tokens, userinfo_path: '/me', client_id: 'bench', client_secret: 'bench-secret-bench-secret-bench-secret-0123' }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
