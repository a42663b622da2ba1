// The citizen's browser for the Node relying parties (rp.mjs, dpop.mjs):
// follows Tanu's redirects with a cookie jar, without running any page,
// until the redirect to the relying party's own callback.
// `jar` (a Map of cookies) may be passed to keep the browser for later visits.
export async function followToCallback(authUrl, redirectUri, fail, jar = new Map()) {
  let url = authUrl.href;
  for (let i = 0; i < 10; i++) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    if (res.status < 300 || res.status >= 400) fail(`expected a redirect, got ${res.status} at ${url}`);
    const next = new URL(res.headers.get('location'), url).href;
    if (next.startsWith(redirectUri)) return new URL(next);
    url = next;
  }
  fail('never reached the callback');
}

// One visit of the same browser (its cookies sent and kept): the response.
export async function visit(url, jar) {
  const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const eq = pair.indexOf('=');
    jar.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return res;
}
