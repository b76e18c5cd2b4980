// Quarry through the official TypeScript MCP SDK (@modelcontextprotocol/sdk 1.32): discovery,
// Dynamic Client Registration, PKCE authorization through Quarry's real sign-in and consent pages
// (state and iss checked here: the SDK leaves them to the app), tokens, tools.
// Prints one JSON line with what it saw; exits non-zero on any failure.
//
// usage: node oauth_flow.mjs MCP_URL EMAIL PASSWORD
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const [MCP_URL, EMAIL, PASSWORD] = process.argv.slice(2);
const REDIRECT_URI = 'http://127.0.0.1:39872/callback'; // never served: the browser stops at the redirect

/** A cookie jar for one origin. */
class Cookies {
  #jar = new Map();
  keep(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      this.#jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
  }
  header() {
    return [...this.#jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const unescape = (s) =>
  s
    .replace(/&#x([0-9a-f]+);/gi, (_, hex) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The first form of a page: its action and its hidden fields and checked checkboxes, in order. */
function firstForm(html) {
  const [, head, body] = html.match(/<form\b([^>]*)>([\s\S]*?)<\/form>/i);
  const attr = (tag, name) => {
    const m = tag.match(new RegExp(`${name}="([^"]*)"`));
    return m ? unescape(m[1]) : undefined;
  };
  const fields = [];
  for (const [tag] of body.matchAll(/<input\b[^>]*>/gi)) {
    const type = attr(tag, 'type');
    if (type === 'hidden' || (type === 'checkbox' && / checked/.test(tag))) fields.push([attr(tag, 'name'), attr(tag, 'value') ?? '']);
  }
  return { action: attr(head, 'action'), fields };
}

/** Signs in and approves everything asked; returns the redirect back to the client. */
async function browse(url) {
  const cookies = new Cookies();
  const fetchPage = async (target, init = {}) => {
    const response = await fetch(target, { ...init, redirect: 'manual', headers: { ...(init.headers ?? {}), cookie: cookies.header() } });
    cookies.keep(response);
    return response;
  };
  let response = await fetchPage(url);
  for (let step = 0; step < 10; step++) {
    if (response.status === 302 || response.status === 303) {
      const location = new URL(response.headers.get('location'), url).toString();
      if (location.startsWith(REDIRECT_URI)) return location;
      response = await fetchPage(location);
      continue;
    }
    if (response.status !== 200) throw new Error(`authorization page ${response.status}: ${await response.text()}`);
    const form = firstForm(await response.text());
    const fields = new URLSearchParams(form.fields);
    if (fields.get('step') === 'signin') {
      fields.set('email', EMAIL);
      fields.set('password', PASSWORD);
    } else {
      fields.set('step', 'approve');
    }
    response = await fetchPage(new URL(form.action, url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: fields.toString(),
    });
  }
  throw new Error('authorization did not finish');
}

/** An in-memory OAuth client provider; redirectToAuthorization runs the browser. */
class Provider {
  client = undefined;
  saved = undefined;
  verifier = undefined;
  expectedState = randomBytes(16).toString('hex');
  callback = undefined;
  get redirectUrl() {
    return REDIRECT_URI;
  }
  get clientMetadata() {
    return {
      client_name: 'typescript-sdk e2e',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state() {
    return this.expectedState;
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens) {
    this.saved = tokens;
  }
  saveCodeVerifier(v) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
  async redirectToAuthorization(url) {
    this.authorizationUrl = url.toString();
    this.callback = await browse(url.toString());
  }
}

const provider = new Provider();
let client = new Client({ name: 'quarry-e2e-ts', version: '1.0.0' });
try {
  await client.connect(new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider }));
  throw new Error('connected without authorizing');
} catch (e) {
  if (!(e instanceof UnauthorizedError)) throw e;
}
const back = new URL(provider.callback);
if (back.searchParams.get('state') !== provider.expectedState) throw new Error(`state mismatch: ${back}`);
const issuer = new URL(MCP_URL).origin;
if (back.searchParams.get('iss') !== issuer) throw new Error(`iss ${back.searchParams.get('iss')} is not ${issuer}`);
const authorize = new URL(provider.authorizationUrl);

const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider });
await transport.finishAuth(back.searchParams.get('code'));
client = new Client({ name: 'quarry-e2e-ts', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider }));
const tools = await client.listTools();
const teams = await client.callTool({ name: 'list_teams', arguments: {} });
if (teams.isError) throw new Error(JSON.stringify(teams));
const models = await client.callTool({ name: 'list_models', arguments: {} });
if (models.isError) throw new Error(JSON.stringify(models));
// A question with a progress token: the SDK checks the answer against the tool's output schema.
const progress = [];
const answer = await client.callTool(
  { name: 'run_query', arguments: { question: 'How many customers are there?' } },
  undefined,
  { onprogress: (p) => progress.push(p.progress) },
);
if (answer.isError) throw new Error(JSON.stringify(answer));
await client.close();

console.log(JSON.stringify({
  server: client.getServerVersion()?.name,
  tools: tools.tools.map((t) => t.name).sort(),
  teams: teams.structuredContent.teams.map((t) => t.name),
  models: models.structuredContent.models.map((m) => m.provider),
  answer: { status: answer.structuredContent.status, rows: answer.structuredContent.result.rows, progress },
  resource_sent: authorize.searchParams.get('resource'),
  pkce: authorize.searchParams.get('code_challenge_method'),
  scope: provider.saved.scope,
  has_refresh_token: Boolean(provider.saved.refresh_token),
  client_id: provider.client.client_id,
}));
