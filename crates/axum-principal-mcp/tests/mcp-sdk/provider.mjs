// The authorization server of crates/axum-principal-mcp/tests/mcp_sdk_client.rs: panva's
// `oidc-provider` (pinned in package.json) on 127.0.0.1, issuing client-credentials access
// tokens for ONE resource, the MCP server's URL (RFC 8707), as RS256 JWTs (RFC 9068).
//
//   node provider.mjs --resource http://127.0.0.1:P/mcp
//
// When ready it prints one JSON line on stdout:
//   {"ready":true,"issuer":"http://127.0.0.1:Q","client_id":"…","client_secret":"…"}
// and exits when its stdin closes, so a test that dies never leaves it behind.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const HOST = '127.0.0.1';
const SCOPES = 'mcp:tools read:reports';

function arg(name) {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}
const resource = arg('--resource');
if (!resource) {
  process.stderr.write('usage: node provider.mjs --resource URL\n');
  process.exit(2);
}

const client = {
  client_id: 'mcp-sdk-client',
  client_secret: randomBytes(24).toString('base64url'),
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'mcp-sdk-rs256', alg: 'RS256', use: 'sig' };

const server = http.createServer();
server.listen(0, HOST);
await once(server, 'listening');
const issuer = `http://${HOST}:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [client],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid'],
  ttl: { ClientCredentials: 600 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => resource,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== resource) throw new errors.InvalidTarget();
        return {
          scope: SCOPES,
          audience: resource,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
});
provider.on('server_error', (_ctx, err) => process.stderr.write(`[provider] ${err.stack}\n`));
server.on('request', provider.callback());

process.stdout.write(`${JSON.stringify({
  ready: true,
  issuer,
  client_id: client.client_id,
  client_secret: client.client_secret,
})}\n`);

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
