// A real OpenID provider for crates/axum-principal/tests/real_provider.rs: panva's
// `oidc-provider` (pinned in package.json), on 127.0.0.1 only.
//
//   node crates/axum-principal/tests/oidc-provider/harness.mjs [--port N] [--m2m-claim] [--opaque]
//
// When ready it prints ONE JSON line on stdout:
//   {"ready":true,"issuer":"http://127.0.0.1:P","admin":"http://127.0.0.1:A",
//    "audience":"https://api.example.test","m2m_claim":null|"https://example.com/is_m2m",
//    "machine_client":{"client_id":…,"client_secret":…},"user_client":{"client_id":…},
//    "user":"alice","kids":["…"]}
// Everything else (oidc-provider's warnings, errors) goes to stderr.
//
// --opaque (tests/real_provider_opaque.rs): access tokens for the resource are opaque
// (accessTokenFormat 'opaque'), token introspection (RFC 7662, with RFC 9701 signed answers)
// and revocation (RFC 7009) are on, a resource-server client may introspect (its credentials
// are in the ready line as "introspection_client", and a private_key_jwt one's key as
// "introspection_key_client"), and the admin server revokes tokens through the provider's own
// revocation endpoint:
//   POST /revoke {"token":…,"client":"web-app"|"svc-reporting"}  → {"status":<HTTP status>}
//
// The issuer is a standard OAuth 2.0 / OIDC server: discovery, JWKS, /token (client
// credentials with a `resource`), /auth (authorization code). Access tokens for the resource
// `audience` are RS256 JWTs (RFC 9068 profile, `typ: at+jwt`).
//
// The admin server (a separate loopback port, not part of the provider) does what a test
// cannot do through OAuth endpoints alone:
//   POST /user-token {"account":"alice"}  runs the authorization code flow (see below) and
//                                         returns the provider's token response
//   POST /rotate {"keep_previous":bool}   restarts the provider on the same port with a new
//                                         RSA signing key first in its JWKS (the previous
//                                         signing key still published, or not)
//   POST /stop                            stops the provider (the admin server stays up)
//
// Delegated tokens: the provider also serves RFC 8693 token exchange
// (urn:ietf:params:oauth:grant-type:token-exchange, registered with registerGrantType) at its
// standard /token endpoint for the machine client: it presents a user's access token and gets
// one for that user with `act: {sub, client_id}` naming itself (nested for a delegated input).
//
// User tokens: the harness drives the real authorization code flow + PKCE over HTTP against
// the provider (GET /auth → our interaction endpoint logs the fixed user in via
// interactionFinished → GET /auth/:uid resumes → consent is given by `loadExistingGrant`
// (auto-consent for this first-party test client) → redirect with `code` → POST /token).
// This was chosen over a test-only grant type (`registerGrantType`) so that the user token
// is minted by the provider's own authorization_code grant exactly as for a real web app;
// only the login form and the consent screen are automated. Every step is plain HTTP with
// redirects followed by hand, so a failure names the step and the provider's answer.
//
// The harness exits when its stdin closes, so a test process that dies never leaves it behind.

import { generateKeyPairSync, randomBytes, createHash } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';

import Provider, { errors } from 'oidc-provider';
import * as jose from 'jose';

const HOST = '127.0.0.1';
const AUDIENCE = 'https://api.example.test';
const RESOURCE_SCOPES = 'api:read api:write';
const M2M_CLAIM = 'https://example.com/is_m2m';
const REDIRECT_URI = 'http://127.0.0.1/callback';
const USERS = {
  alice: { name: 'Alice Example', email: 'alice@example.test' },
};

function arg(name) {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}
const withM2mClaim = process.argv.includes('--m2m-claim') || process.env.HARNESS_M2M_CLAIM === '1';
const opaque = process.argv.includes('--opaque') || process.env.HARNESS_OPAQUE === '1';
const requestedPort = Number(arg('--port') ?? process.env.HARNESS_PORT ?? 0);

// RFC 8693 token exchange, registered with registerGrantType (below).
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

const machineClient = {
  client_id: 'svc-reporting',
  client_secret: randomBytes(24).toString('base64url'),
  grant_types: ['client_credentials', TOKEN_EXCHANGE],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
};
const userClient = {
  client_id: 'web-app',
  client_secret: randomBytes(24).toString('base64url'),
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: [REDIRECT_URI],
  token_endpoint_auth_method: 'client_secret_basic',
};
// --opaque: the API itself, which only introspects (no grant of its own). It may ask for
// RFC 9701 signed answers (features.jwtIntrospection; a JSON answer unless it sends
// `Accept: application/token-introspection+jwt`).
const introspectionClient = {
  client_id: 'orders-api',
  client_secret: randomBytes(24).toString('base64url'),
  grant_types: [],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
  introspection_signed_response_alg: 'RS256',
};
// --opaque: the same API authenticating with private_key_jwt (RFC 7523 §2.2): oidc-provider
// authenticates introspection with the client's token_endpoint_auth_method, here checking
// assertions against the public key registered in `jwks`. Its private key (PKCS#8 PEM) is
// in the ready line, as "introspection_key_client".
const assertionKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const assertionKid = `client-${randomBytes(4).toString('hex')}`;
const introspectionKeyClient = {
  client_id: 'orders-api-jwt',
  grant_types: [],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'private_key_jwt',
  token_endpoint_auth_signing_alg: 'ES256',
  jwks: {
    keys: [{ ...assertionKey.publicKey.export({ format: 'jwk' }), kid: assertionKid, alg: 'ES256', use: 'sig' }],
  },
};
const cookieKeys = [randomBytes(32).toString('hex')];

let keyCounter = 0;
function newSigningKey() {
  keyCounter += 1;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `rsa-${keyCounter}-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };
}

// Exchanged access tokens → their `act` claim, read by extraTokenClaims.
const actors = new WeakMap();

// RFC 8693 token exchange: the authenticated client (the actor) presents a user's access
// token of this provider (subject_token, verified here against the provider's own keys) and
// gets an access token for the same user with `act` naming itself; a subject token that is
// itself delegated nests its `act` (a chain).
async function tokenExchange(ctx) {
  const { client, params } = ctx.oidc;
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
  }
  let subject;
  try {
    const publicKeys = keys.map(({ d, p, q, dp, dq, qi, ...pub }) => pub);
    ({ payload: subject } = await jose.jwtVerify(
      params.subject_token,
      jose.createLocalJWKSet({ keys: publicKeys }),
      { issuer, audience: AUDIENCE, typ: 'at+jwt' },
    ));
  } catch (err) {
    throw new errors.InvalidGrant(`subject_token: ${err.message}`);
  }
  const act = { sub: client.clientId, client_id: client.clientId };
  if (subject.act) act.act = subject.act;
  const token = new ctx.oidc.provider.AccessToken({
    accountId: subject.sub,
    client,
    scope: subject.scope,
  });
  token.resourceServer = new ctx.oidc.provider.ResourceServer(AUDIENCE, RESOURCE_SERVER);
  actors.set(token, act);
  const value = await token.save();
  ctx.body = {
    access_token: value,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: token.expiration,
    scope: token.scope,
  };
}

const RESOURCE_SERVER = opaque
  ? {
    scope: RESOURCE_SCOPES,
    audience: AUDIENCE,
    accessTokenTTL: 3600,
    accessTokenFormat: 'opaque',
  }
  : {
    scope: RESOURCE_SCOPES,
    audience: AUDIENCE,
    accessTokenTTL: 3600,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };

function makeProvider(issuer, signingKeys) {
  const created = new Provider(issuer, {
    clients: opaque
      ? [machineClient, userClient, introspectionClient, introspectionKeyClient]
      : [machineClient, userClient],
    jwks: { keys: signingKeys },
    cookies: { keys: cookieKeys },
    scopes: ['openid', 'offline_access'],
    claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
    // Our own interaction endpoint (below) replaces the HTML dev forms.
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: 3600,
      ClientCredentials: 3600,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // DPoP (RFC 9449): a token request with a DPoP proof gets a DPoP-bound access token
      // (`cnf.jkt`, token_type DPoP); requests without one still get Bearer tokens.
      dPoP: { enabled: true },
      // --opaque: RFC 7662 introspection and RFC 7009 revocation.
      introspection: { enabled: opaque },
      jwtIntrospection: { enabled: opaque },
      revocation: { enabled: opaque },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => AUDIENCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          if (resourceIndicator !== AUDIENCE) throw new errors.InvalidTarget();
          return RESOURCE_SERVER;
        },
      },
    },
    // The custom machine marker, only in --m2m-claim mode; the `act` claim of exchanged
    // tokens (extraTokenClaims is what the JWT format merges into the payload).
    extraTokenClaims: async (_ctx, token) => {
      const extra = withM2mClaim ? { [M2M_CLAIM]: token.kind === 'ClientCredentials' } : {};
      const act = actors.get(token);
      if (act) extra.act = act;
      return Object.keys(extra).length ? extra : undefined;
    },
    findAccount: async (_ctx, sub) => {
      const user = USERS[sub];
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, ...user }),
      };
    },
    // Auto-consent: the test's web app is first party, so it gets what it asked for.
    loadExistingGrant: async (ctx) => {
      const { oidc } = ctx;
      const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
      if (grantId) {
        const existing = await oidc.provider.Grant.find(grantId);
        if (existing) return existing;
      }
      const grant = new oidc.provider.Grant({
        clientId: oidc.client.clientId,
        accountId: oidc.session.accountId,
      });
      grant.addOIDCScope('openid');
      grant.addResourceScope(AUDIENCE, RESOURCE_SCOPES);
      await grant.save();
      return grant;
    },
  });
  created.registerGrantType(TOKEN_EXCHANGE, tokenExchange, [
    'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'resource', 'scope',
  ]);
  return created;
}

function log(...args) {
  process.stderr.write(`[oidc-provider harness] ${args.join(' ')}\n`);
}

// --- the provider's HTTP server (restartable on the same port) -----------------------------

let provider;
let providerServer;
let port;
let issuer;
let keys = [newSigningKey()];

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params } = details;
  if (prompt.name === 'login') {
    const account = params.login_hint;
    if (!USERS[account]) {
      await provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: `unknown test user ${account}`,
      });
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: account } }, {
      mergeWithLastSubmission: false,
    });
    return;
  }
  if (prompt.name === 'consent') {
    // loadExistingGrant normally consents already; grant what is missing if not.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    grant.addOIDCScope('openid');
    grant.addResourceScope(AUDIENCE, RESOURCE_SCOPES);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, {
      mergeWithLastSubmission: true,
    });
    return;
  }
  throw new Error(`unexpected prompt ${prompt.name}`);
}

let handle;
function dispatch(req, res) {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((err) => {
      log('interaction failed:', err?.stack ?? err);
      if (!res.headersSent) res.statusCode = 500;
      res.end(String(err));
    });
    return;
  }
  handle(req, res);
}

function useProvider() {
  provider = makeProvider(issuer, keys);
  handle = provider.callback();
}

async function startProvider() {
  if (issuer) useProvider();
  providerServer = http.createServer(dispatch);
  providerServer.listen(port ?? requestedPort, HOST);
  await once(providerServer, 'listening');
  if (!issuer) {
    // First start: the issuer string must carry the real (possibly ephemeral) port. Nobody
    // knows the port before the ready line, so no request arrives before the provider exists.
    port = providerServer.address().port;
    issuer = `http://${HOST}:${port}`;
    useProvider();
  }
}

async function stopProvider() {
  if (!providerServer?.listening) return;
  const closed = once(providerServer, 'close');
  providerServer.close();
  providerServer.closeAllConnections();
  await closed;
}

// --- the user flow: authorization code + PKCE, redirects followed by hand ------------------

// node:http with a fresh connection per request (agent: false), not fetch(): fetch's pooled
// keep-alive sockets may still point at a provider that /rotate has just restarted.
function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

class CookieJar {
  #cookies = new Map();

  take(response) {
    for (const line of response.headers['set-cookie'] ?? []) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now());
      if (!value || expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header() {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function userToken(account) {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(8).toString('hex');
  const authorize = new URL(`${issuer}/auth`);
  authorize.search = new URLSearchParams({
    client_id: userClient.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: `openid ${RESOURCE_SCOPES}`,
    resource: AUDIENCE,
    state,
    nonce: randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    login_hint: account,
  }).toString();

  const jar = new CookieJar();
  let url = authorize.href;
  let code;
  const steps = [];
  for (let hop = 0; hop < 10 && !code; hop += 1) {
    const response = await request(url, { headers: { cookie: jar.header() } });
    jar.take(response);
    steps.push(`${response.status} ${new URL(url).pathname}`);
    const { location } = response.headers;
    if (response.status < 300 || response.status >= 400 || !location) {
      throw new Error(`authorization flow stopped at ${steps.join(' -> ')}: ${response.text.slice(0, 500)}`);
    }
    const next = new URL(location, url);
    if (next.href.startsWith(REDIRECT_URI)) {
      const error = next.searchParams.get('error');
      if (error) throw new Error(`authorization failed: ${error}: ${next.searchParams.get('error_description')}`);
      if (next.searchParams.get('state') !== state) throw new Error('state mismatch');
      code = next.searchParams.get('code');
    } else {
      url = next.href;
    }
  }
  if (!code) throw new Error(`no code after ${steps.join(' -> ')}`);

  const basic = Buffer.from(`${encodeURIComponent(userClient.client_id)}:${encodeURIComponent(userClient.client_secret)}`).toString('base64');
  const response = await request(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      resource: AUDIENCE,
    }).toString(),
  });
  if (response.status !== 200) throw new Error(`token endpoint: ${response.status} ${response.text}`);
  return { ...JSON.parse(response.text), steps };
}

// --opaque: RFC 7009 revocation at the provider's own endpoint, as the token's client.
async function revoke(token, clientId) {
  const client = [machineClient, userClient].find((c) => c.client_id === clientId);
  if (!client) throw new Error(`unknown client ${clientId}`);
  const basic = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64');
  const response = await request(`${issuer}/token/revocation`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
  });
  return response.status;
}

// --- the admin server -----------------------------------------------------------------------

async function readJson(req) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  return raw ? JSON.parse(raw) : {};
}

const admin = http.createServer(async (req, res) => {
  const reply = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  try {
    const body = await readJson(req);
    if (req.method === 'POST' && req.url === '/user-token') {
      reply(200, await userToken(body.account ?? 'alice'));
    } else if (req.method === 'POST' && req.url === '/rotate') {
      const previous = keys[0];
      const next = newSigningKey();
      keys = body.keep_previous ? [next, previous] : [next];
      // A real restart: the old server and its connections go, a new Provider instance with
      // the new key set listens on the same port (same issuer).
      await stopProvider();
      await startProvider();
      reply(200, { kids: keys.map((k) => k.kid) });
    } else if (req.method === 'POST' && req.url === '/revoke') {
      reply(200, { status: await revoke(body.token, body.client) });
    } else if (req.method === 'POST' && req.url === '/stop') {
      await stopProvider();
      reply(200, { stopped: true });
    } else {
      reply(404, { error: 'not_found' });
    }
  } catch (err) {
    log('admin request failed:', err?.stack ?? err);
    reply(500, { error: String(err?.message ?? err) });
  }
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();

await startProvider();
admin.listen(0, HOST);
await once(admin, 'listening');

process.stdout.write(`${JSON.stringify({
  ready: true,
  issuer,
  admin: `http://${HOST}:${admin.address().port}`,
  audience: AUDIENCE,
  m2m_claim: withM2mClaim ? M2M_CLAIM : null,
  machine_client: { client_id: machineClient.client_id, client_secret: machineClient.client_secret },
  user_client: { client_id: userClient.client_id },
  user: 'alice',
  kids: keys.map((k) => k.kid),
  introspection_client: opaque
    ? { client_id: introspectionClient.client_id, client_secret: introspectionClient.client_secret }
    : null,
  introspection_key_client: opaque
    ? {
      client_id: introspectionKeyClient.client_id,
      private_key_pem: assertionKey.privateKey.export({ format: 'pem', type: 'pkcs8' }),
      kid: assertionKid,
    }
    : null,
})}\n`);
