"""A person's whole way through an installed sidecar, for scripts/package-test.sh: an app
registers (DCR, PKCE), the person signs in and approves in headless Chromium (browser.mjs), the
app exchanges the code and asks a question over MCP. Standard library only.

usage: python3 package_flow.py BASE_URL EMAIL PASSWORD DATASET_ID QUESTION NODE CHROMIUM SHOTS
Prints the answer's structuredContent as JSON; exits non-zero, saying why, on any failure."""
import base64, hashlib, json, secrets, subprocess, sys, urllib.error, urllib.parse, urllib.request
from pathlib import Path

base, email, password, dataset_id, question, node, chromium, shots = sys.argv[1:9]
TIMEOUT = 120  # a bound on each request, not a measurement


def request(url, data=None, headers=None, form=False):
    body = None
    h = dict(headers or {})
    if data is not None:
        body = urllib.parse.urlencode(data).encode() if form else json.dumps(data).encode()
        h["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, h), timeout=TIMEOUT) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()


def check(cond, what):
    if not cond:
        sys.exit(f"package flow: {what}")


redirect = "http://127.0.0.1:39999/callback"
status, _, body = request(base + "/v1/oauth/register", {
    "client_name": "Package test", "redirect_uris": [redirect], "token_endpoint_auth_method": "none"})
check(status == 201, f"registration answered {status}: {body}")
client_id = json.loads(body)["client_id"]
status, _, body = request(base + "/.well-known/oauth-authorization-server")
check(status == 200, f"metadata answered {status}")
meta = json.loads(body)
verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
state = secrets.token_hex(8)
url = meta["authorization_endpoint"] + "?" + urllib.parse.urlencode({
    "response_type": "code", "client_id": client_id, "redirect_uri": redirect, "state": state,
    "code_challenge": challenge, "code_challenge_method": "S256", "resource": base + "/mcp",
    "scope": "read write datasets conversations"})

browser = subprocess.Popen([node, "browser.mjs", chromium, base, shots], cwd=Path(__file__).parent,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
try:
    def do(command):
        browser.stdin.write(json.dumps(command) + "\n")
        browser.stdin.flush()
        answer = json.loads(browser.stdout.readline() or '{"ok": false, "error": "the driver ended"}')
        check(answer["ok"], f"the browser could not do {command}: {answer}")
        return answer
    do({"do": "open", "url": url})
    do({"do": "sign_in", "email": email, "password": password})
    back = do({"do": "consent", "untick": [], "shot": "package-consent"})["page"]["url"]
    do({"do": "close"})
finally:
    browser.stdin.close()
    browser.wait(timeout=TIMEOUT)
query = urllib.parse.parse_qs(urllib.parse.urlparse(back).query)
check(back.startswith(redirect) and query.get("state") == [state] and "code" in query, f"the browser ended at {back}")

status, _, body = request(meta["token_endpoint"], {
    "grant_type": "authorization_code", "code": query["code"][0], "client_id": client_id,
    "redirect_uri": redirect, "code_verifier": verifier, "resource": base + "/mcp"}, form=True)
check(status == 200, f"the token endpoint answered {status}: {body}")
headers = {"Authorization": "Bearer " + json.loads(body)["access_token"],
           "Accept": "application/json, text/event-stream"}


def rpc(message):
    status, h, body = request(base + "/mcp", message, headers)
    check(status in (200, 202), f"{message.get('method')} answered {status}: {body}")
    for line in body.splitlines():  # a JSON body, or an event stream of them
        line = line.removeprefix("data:").strip()
        if line.startswith("{"):
            return h, json.loads(line)
    return h, None


h, init = rpc({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "package test", "version": "1"}}})
check(init and "result" in init, f"initialize: {init}")
headers.update({"Mcp-Session-Id": h["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"})
rpc({"jsonrpc": "2.0", "method": "notifications/initialized"})
_, answer = rpc({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
    "name": "run_query", "arguments": {"question": question, "dataset_id": int(dataset_id)}}})
check(answer and not answer["result"].get("isError"), f"run_query: {answer}")
print(json.dumps(answer["result"]["structuredContent"]))
