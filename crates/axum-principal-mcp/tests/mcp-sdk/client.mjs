// The MCP client of crates/axum-principal-mcp/tests/mcp_sdk_client.rs: the official MCP
// TypeScript SDK (pinned in package.json), connecting to the MCP server with its stock
// client-credentials provider and discovering everything else:
//
//   401 → resource_metadata → the RFC 9728 document → the issuer's metadata → a token for
//   the resource, then tools/list and tools/call `reports` → 403 insufficient_scope → a
//   token with the challenged scopes → the retried call succeeds.
//
//   node client.mjs --url http://127.0.0.1:P/mcp --client-id ID --client-secret SECRET
//
// The challenge parsing, the decision to re-authorize and the retry are the SDK's own. The
// one addition is a small subclass of the SDK's ClientCredentialsProvider: the SDK's
// fetchToken() asks the token endpoint for the provider's configured scope, not the scope
// the SDK chose for this authorization (SEP-835: the challenge's `scope`, else the
// document's `scopes_supported`), so the subclass passes that one. It learns the challenge
// through the transport's fetch, parsed by the SDK's own extractWWWAuthenticateParams.
//
// Prints one JSON line on stdout: {"ok":true,"tools":[…],"result":"…","exchanges":[…]}, where
// `exchanges` lists every HTTP request the SDK made (method, path, status, the challenge of a
// 401/403, and the `scope` and `resource` of a token request). On failure: {"ok":false,…}.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';

function arg(name) {
  const i = process.argv.indexOf(name);
  if (i === -1) throw new Error(`missing ${name}`);
  return process.argv[i + 1];
}
const url = new URL(arg('--url'));

const exchanges = [];
let challengedScope;

/** ClientCredentialsProvider asking for the scope the SDK chose, not a configured one. */
class ChallengedScopeProvider extends ClientCredentialsProvider {
  saveDiscoveryState(state) {
    this._discovery = state;
  }

  discoveryState() {
    return this._discovery;
  }

  prepareTokenRequest(configured) {
    const documented = this._discovery?.resourceMetadata?.scopes_supported?.join(' ');
    return super.prepareTokenRequest(challengedScope || documented || configured);
  }
}

/** fetch, recording each exchange and the scope of each challenge. */
async function recordingFetch(input, init) {
  const request = new Request(input, init);
  const entry = { method: request.method, path: new URL(request.url).pathname };
  const form = init?.body instanceof URLSearchParams ? init.body : undefined;
  if (form) {
    entry.grant_type = form.get('grant_type');
    entry.scope = form.get('scope');
    entry.resource = form.get('resource');
  } else if (typeof init?.body === 'string' && request.method === 'POST') {
    try {
      const message = JSON.parse(init.body);
      entry.rpc = message.method;
      if (message.params?.name) entry.name = message.params.name;
    } catch {
      // not JSON
    }
  }
  const response = await fetch(input, init);
  entry.status = response.status;
  if (response.status === 401 || response.status === 403) {
    entry.challenge = response.headers.get('www-authenticate');
    const { scope } = extractWWWAuthenticateParams(response);
    if (scope) challengedScope = scope;
  }
  exchanges.push(entry);
  return response;
}

const provider = new ChallengedScopeProvider({
  clientId: arg('--client-id'),
  clientSecret: arg('--client-secret'),
  clientName: 'axum-principal MCP SDK test',
});
const transport = new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: recordingFetch });
const client = new Client({ name: 'axum-principal-sdk-test', version: '0.0.0' });

try {
  await client.connect(transport);
  const { tools } = await client.listTools();
  const result = await client.callTool({ name: 'reports', arguments: {} });
  const text = result.content?.[0]?.text;
  process.stdout.write(`${JSON.stringify({
    ok: true,
    tools: tools.map((t) => t.name).sort(),
    isError: result.isError ?? false,
    result: text,
    exchanges,
  })}\n`);
  await client.close();
  process.exit(0);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(error?.stack ?? error), exchanges })}\n`);
  process.exit(1);
}
