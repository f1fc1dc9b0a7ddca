// node-oidc-provider (OpenID Certified, npm `oidc-provider`, pinned in package.json) on 127.0.0.1,
// an independent authorization server for scopegate's interop tests of discovery, private_key_jwt,
// PAR, the device grant and DPoP. Started by scripts/oidc (or by a test); prints
// `listening on http://127.0.0.1:PORT` and serves until it is told to stop.
//
// It stops by itself: when stdin reaches its end (a test that spawned it with a pipe exits or
// dies), when the process named by --watch-pid is gone (scripts/oidc passes its caller), or on
// SIGTERM/SIGINT.
//
// How a login completes without a person (honestly: through the provider's own interaction
// machinery, nothing auto-approved): the provider sends the browser to /interaction/:uid; this
// file renders a login form there, and a test's "browser" (a cookie-keeping HTTP client) posts the
// test account's credentials (alice / wonderland) to /interaction/:uid/login, then approves the
// consent form (/interaction/:uid/confirm). A wrong password is refused. The device flow goes
// the same way after the provider's own user-code pages (/device). Every page's form is plain
// HTML: hidden inputs and an action, nothing that needs JavaScript.
//
// Besides the provider: GET /api/me, a protected resource. A Bearer token works when it is not
// DPoP-bound; a DPoP-bound token needs `Authorization: DPoP` and a valid proof (RFC 9449 §7:
// typ, signature by the embedded key, htm, htu, iat within 60 s, unique jti, ath, the key's
// thumbprint equal to the token's jkt, and this resource's nonce: the first call without it gets
// 401 `WWW-Authenticate: DPoP error="use_dpop_nonce"` and a DPoP-Nonce header). GET /_test/stats
// counts what the resource saw.

import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const here = dirname(fileURLToPath(import.meta.url));
const keysDir = join(here, '../../../scopegate-core/tests/keys');

const args = process.argv.slice(2);
const argValue = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

// ---- the clients ------------------------------------------------------------------------------

const publicJwk = (file, alg, kid) => {
  const jwk = createPublicKey(readFileSync(join(keysDir, file))).export({ format: 'jwk' });
  return { ...jwk, alg, kid, use: 'sig' };
};
const REDIRECTS = ['http://127.0.0.1:45678/callback', 'http://127.0.0.1/callback'];
// Native apps (RFC 8252 §7.3): a loopback redirect URI on any port, as `scopegate login` listens
// on a free one.
const NATIVE = { application_type: 'native' };
const CODE_GRANTS = ['authorization_code', 'refresh_token'];

const clients = [
  {
    ...NATIVE, client_id: 'basic-client', client_secret: 'basic-secret',
    grant_types: [...CODE_GRANTS, 'client_credentials'], redirect_uris: REDIRECTS,
    token_endpoint_auth_method: 'client_secret_basic',
  },
  ...[['es256', 'ES256', 'es256.pem'], ['rs256', 'RS256', 'rs256.pem'], ['eddsa', 'EdDSA', 'eddsa.pem']].map(
    ([name, alg, file]) => ({
      ...NATIVE, client_id: `jwt-${name}`,
      grant_types: [...CODE_GRANTS, 'client_credentials'], redirect_uris: REDIRECTS,
      token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: alg,
      jwks: { keys: [publicJwk(file, alg, `${name}-key`)] },
    }),
  ),
  {
    ...NATIVE, client_id: 'par-client', client_secret: 'par-secret',
    grant_types: CODE_GRANTS, redirect_uris: REDIRECTS,
    token_endpoint_auth_method: 'client_secret_basic',
    require_pushed_authorization_requests: true,
  },
  {
    client_id: 'device-client', client_secret: 'device-secret',
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    response_types: [], redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    ...NATIVE, client_id: 'dpop-client', client_secret: 'dpop-secret',
    grant_types: [...CODE_GRANTS, 'client_credentials'], redirect_uris: REDIRECTS,
    token_endpoint_auth_method: 'client_secret_basic',
    dpop_bound_access_tokens: true,
  },
];

// ---- the test account -------------------------------------------------------------------------

const ACCOUNT = { login: 'alice', password: 'wonderland', sub: 'alice' };

// ---- pages ------------------------------------------------------------------------------------

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>${body}</body></html>`;
const hidden = (fields) => Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}"/>`).join('\n');

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

// ---- the provider -----------------------------------------------------------------------------

const server = createServer();
await new Promise((resolve) => server.listen(Number(argValue('--port') ?? 0), '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const configuration = {
  clients,
  findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  claims: { openid: ['sub'] },
  scopes: ['openid', 'offline_access', 'api:read'],
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
    deviceFlow: {
      enabled: true,
      charset: 'base-20',
      mask: '****-****',
      userCodeInputSource: async (ctx, form) => { ctx.body = page('Enter the code', form); },
      userCodeConfirmSource: async (ctx, form, _client, _info, userCode) => {
        ctx.body = page('Confirm the device', `<p>Code: <code>${esc(userCode)}</code></p>${form}`);
      },
      successSource: async (ctx) => { ctx.body = page('Device approved', '<p>You may close this window.</p>'); },
    },
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  // Every client that may refresh gets a refresh token, and every refresh rotates it.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  ttl: { AccessToken: 300, ClientCredentials: 300, DeviceCode: 300, PushedAuthorizationRequest: 60 },
  renderError: async (ctx, out) => { ctx.type = 'html'; ctx.body = page('Error', `<pre>${esc(JSON.stringify(out))}</pre>`); },
};

const provider = new Provider(issuer, configuration);

// ---- the interaction routes (login with the test account, then consent) --------------------------

provider.use(async (ctx, next) => {
  const m = ctx.path.match(/^\/interaction\/([^/]+)(\/login|\/confirm)?$/);
  if (!m) return next();
  ctx.set('Cache-Control', 'no-store');
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { uid, prompt, params } = details;
  if (ctx.method === 'GET' && !m[2]) {
    if (prompt.name === 'login') {
      ctx.body = page('Sign in', `<form method="post" action="/interaction/${esc(uid)}/login">
        <input type="text" name="login"/><input type="password" name="password"/>
        <button type="submit">Sign in</button></form>`);
    } else {
      ctx.body = page('Authorize', `<p>${esc(params.client_id)} asks for ${esc(params.scope ?? '')}</p>
        <form method="post" action="/interaction/${esc(uid)}/confirm">${hidden({ approve: 'yes' })}
        <button type="submit">Approve</button></form>`);
    }
    return;
  }
  if (ctx.method !== 'POST') { ctx.status = 405; return; }
  const form = await readForm(ctx.req);
  if (m[2] === '/login') {
    if (prompt.name !== 'login') { ctx.status = 400; ctx.body = 'not a login prompt'; return; }
    if (form.login !== ACCOUNT.login || form.password !== ACCOUNT.password) {
      stats.login_failures += 1;
      ctx.status = 401;
      ctx.body = page('Sign in', '<p>Wrong login or password.</p>');
      return;
    }
    stats.logins += 1;
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: ACCOUNT.sub } }, { mergeWithLastSubmission: false });
    ctx.respond = false;
    return;
  }
  // /confirm: grant what the prompt asks for.
  if (prompt.name !== 'consent') { ctx.status = 400; ctx.body = 'not a consent prompt'; return; }
  const { details: missing } = prompt;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  stats.consents += 1;
  await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  ctx.respond = false;
});

// ---- the protected resource ---------------------------------------------------------------------

const stats = { logins: 0, login_failures: 0, consents: 0, api_bearer: 0, api_dpop: 0, api_nonce_challenges: 0, api_refused: 0 };
const resourceNonce = randomBytes(16).toString('base64url');
const seenJti = new Map();
const b64sha256 = (s) => createHash('sha256').update(s).digest('base64url');

async function findToken(value) {
  return (await provider.AccessToken.find(value)) ?? (await provider.ClientCredentials.find(value));
}

function refuse(ctx, scheme, error, description) {
  stats.api_refused += 1;
  ctx.status = 401;
  ctx.set('WWW-Authenticate', `${scheme} error="${error}", error_description="${description}"`);
  ctx.body = { error, error_description: description };
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/_test/stats') { ctx.body = stats; return; }
  if (ctx.path !== '/api/me') return next();
  ctx.set('Cache-Control', 'no-store');
  const [scheme, value] = (ctx.get('authorization') || '').split(' ');
  if (!value) return refuse(ctx, 'Bearer', 'invalid_request', 'no access token');
  const token = await findToken(value);
  if (!token || token.isExpired) return refuse(ctx, scheme || 'Bearer', 'invalid_token', 'unknown or expired token');
  if (scheme.toLowerCase() === 'bearer') {
    // RFC 9449 §7.2: a DPoP-bound token is never accepted as a Bearer token.
    if (token.jkt) return refuse(ctx, 'DPoP', 'invalid_token', 'DPoP-bound token presented as Bearer');
    stats.api_bearer += 1;
    ctx.body = { sub: token.accountId ?? null, client_id: token.clientId, token_type: 'Bearer' };
    return;
  }
  if (scheme.toLowerCase() !== 'dpop' || !token.jkt) return refuse(ctx, 'DPoP', 'invalid_token', 'wrong scheme');
  const proof = ctx.get('dpop');
  if (!proof) return refuse(ctx, 'DPoP', 'invalid_dpop_proof', 'no DPoP proof');
  let verified;
  try {
    verified = await jose.jwtVerify(proof, jose.EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256', 'EdDSA', 'RS256'] });
  } catch (e) {
    return refuse(ctx, 'DPoP', 'invalid_dpop_proof', `signature: ${e.code ?? e.message}`);
  }
  const { payload, protectedHeader } = verified;
  const now = Math.floor(Date.now() / 1000);
  const htu = `${issuer}${ctx.path}`;
  if (payload.htm !== ctx.method) return refuse(ctx, 'DPoP', 'invalid_dpop_proof', 'htm mismatch');
  if (payload.htu !== htu) return refuse(ctx, 'DPoP', 'invalid_dpop_proof', 'htu mismatch');
  if (typeof payload.iat !== 'number' || Math.abs(now - payload.iat) > 60) return refuse(ctx, 'DPoP', 'invalid_dpop_proof', 'iat out of range');
  if (payload.ath !== b64sha256(value)) return refuse(ctx, 'DPoP', 'invalid_dpop_proof', 'ath mismatch');
  if (await jose.calculateJwkThumbprint(protectedHeader.jwk) !== token.jkt) return refuse(ctx, 'DPoP', 'invalid_token', 'key does not match the token');
  if (payload.nonce !== resourceNonce) {
    stats.api_nonce_challenges += 1;
    ctx.set('DPoP-Nonce', resourceNonce);
    return refuse(ctx, 'DPoP', 'use_dpop_nonce', 'Resource server requires nonce in DPoP proof');
  }
  if (typeof payload.jti !== 'string' || seenJti.has(payload.jti)) return refuse(ctx, 'DPoP', 'invalid_dpop_proof', 'jti reused');
  seenJti.set(payload.jti, now);
  stats.api_dpop += 1;
  ctx.body = { sub: token.accountId ?? null, client_id: token.clientId, token_type: 'DPoP', jkt: token.jkt };
});

server.on('request', provider.callback());

// ---- stopping -----------------------------------------------------------------------------------

const stop = () => { server.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (args.includes('--stdin-lifeline')) {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
const watchPid = Number(argValue('--watch-pid'));
if (watchPid) {
  setInterval(() => {
    try { process.kill(watchPid, 0); } catch { stop(); }
  }, 1000).unref();
}

process.stdout.write(`listening on ${issuer}\n`);
