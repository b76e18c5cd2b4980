"""Quarry through the official Python MCP SDK (mcp 2.3): discovery, Dynamic Client Registration,
PKCE authorization through Quarry's real sign-in and consent pages, tokens, tools, and a step-up.

The first consent grants only the `read` scope, so `list_datasets` (which needs `datasets`) is
refused with 403 insufficient_scope; the SDK must then re-authorize for the union of scopes on
its own and retry. Prints one JSON line with what it saw; exits non-zero on any failure.

usage: python oauth_flow.py MCP_URL EMAIL PASSWORD
"""

import asyncio
import json
import sys
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import httpx2
from pydantic import AnyUrl

from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider, TokenStorage
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

MCP_URL, EMAIL, PASSWORD = sys.argv[1], sys.argv[2], sys.argv[3]
REDIRECT_URI = "http://127.0.0.1:39871/callback"  # never served: the browser stops at the redirect


class Memory(TokenStorage):
    def __init__(self):
        self.tokens = None
        self.client = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Forms(HTMLParser):
    """The page's forms: action, hidden fields, checked checkboxes."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": []})
        elif tag == "input" and self.forms and a.get("name"):
            kind = a.get("type", "text")
            if kind == "hidden" or (kind == "checkbox" and "checked" in a):
                self.forms[-1]["fields"].append((a["name"], a.get("value", "")))


class Browser:
    """A person in a browser: signs in, then on each consent page grants what `grants` says."""

    def __init__(self):
        self.http = httpx2.AsyncClient(follow_redirects=False, timeout=30)
        self.consents = []  # scopes offered on each consent page seen
        self.callback = None

    async def authorize(self, url: str, grants):
        response = await self.http.get(url)
        for _ in range(10):
            if response.status_code in (302, 303):
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(REDIRECT_URI):
                    self.callback = location
                    return
                response = await self.http.get(location)
                continue
            if response.status_code != 200:
                raise RuntimeError(f"authorization page {response.status_code}: {response.text[:300]}")
            parser = Forms()
            parser.feed(response.text)
            form = parser.forms[0]
            fields = dict(form["fields"])
            action = urljoin(str(response.url), form["action"])
            if fields.get("step") == "signin":
                fields.update(email=EMAIL, password=PASSWORD)
                response = await self.http.post(action, data=fields)
            else:
                offered = [v for k, v in form["fields"] if k == "grant"]
                self.consents.append(offered)
                data = [(k, v) for k, v in form["fields"] if k != "grant"]
                data += [("grant", s) for s in grants(offered)] + [("step", "approve")]
                # Repeated fields (one per ticked scope): encode them ourselves.
                response = await self.http.post(action, content=urlencode(data),
                                                headers={"content-type": "application/x-www-form-urlencoded"})
        raise RuntimeError("authorization did not finish")

    def result(self) -> AuthorizationCodeResult:
        query = {k: v[0] for k, v in parse_qs(urlparse(self.callback).query).items()}
        if "error" in query:
            raise RuntimeError(f"authorization refused: {query}")
        return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))


async def main():
    browser = Browser()
    rounds = []

    async def redirect_handler(url: str) -> None:
        rounds.append(parse_qs(urlparse(url).query).get("scope", [""])[0])
        # First time: only read. Afterwards (the step-up): everything offered.
        first = len(rounds) == 1
        await browser.authorize(url, lambda offered: ["read"] if first else offered)

    async def callback_handler() -> AuthorizationCodeResult:
        return browser.result()

    storage = Memory()
    provider = OAuthClientProvider(
        server_url=MCP_URL,
        client_metadata=OAuthClientMetadata(
            client_name="python-sdk e2e",
            redirect_uris=[AnyUrl(REDIRECT_URI)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    async with httpx2.AsyncClient(auth=provider, timeout=httpx2.Timeout(30, read=120)) as http:
        async with streamable_http_client(MCP_URL, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                tools = await session.list_tools()
                teams = await session.call_tool("list_teams", {})
                assert not teams.is_error, teams
                first_scope = storage.tokens.scope
                datasets = await session.call_tool("list_datasets", {"detail": "names"})
                assert not datasets.is_error, datasets
    print(json.dumps({
        "server": init.server_info.name,
        "protocol": init.protocol_version,
        "tools": sorted(t.name for t in tools.tools),
        "teams": [t["name"] for t in teams.structured_content["teams"]],
        "datasets": [d["name"] for d in datasets.structured_content["datasets"]],
        "requested_scopes": rounds,
        "consent_pages": browser.consents,
        "first_scope": first_scope,
        "final_scope": storage.tokens.scope,
        "client_id": storage.client.client_id,
    }))


if __name__ == "__main__":
    asyncio.run(main())
