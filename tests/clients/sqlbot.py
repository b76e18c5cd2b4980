"""Quarry's SQLBot-compatible front through the official Python MCP SDK (mcp 2.3), replaying the
examples of SQLBot's MCP page: mcp_start with a user name and password, then mcp_ws_list,
mcp_datasource_list, mcp_question (the page's body: stream false, return_img false; and the
defaults: streamed with progress, with the chart image), get_model_list and mcp_assistant, the
token always in the arguments. Also a bad token and a wrong secret, which must be tool errors
with SQLBot's body. Prints one JSON line with what it saw; exits non-zero on any failure.

usage: python sqlbot.py MCP_URL USERNAME PASSWORD DATASOURCE_ID OID ASSISTANT_URL ASSISTANT_SECRET
"""

import asyncio
import base64
import json
import sys

import httpx2

from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

MCP_URL, USERNAME, PASSWORD, DATASOURCE_ID, OID, ASSISTANT_URL, ASSISTANT_SECRET = sys.argv[1:8]
QUESTION = "What were total sales by region last month?"


def outcome(result):
    """What a tool call answered: its structured content (or its JSON text), whether it is an
    error, and the kinds of its content blocks."""
    body = result.structured_content
    if body is None and result.content and result.content[0].type == "text":
        try:
            body = json.loads(result.content[0].text)
        except ValueError:
            body = result.content[0].text
    return {
        "error": bool(result.is_error),
        "body": body,
        "content": [c.type for c in result.content],
        "text": result.content[0].text if result.content and result.content[0].type == "text" else None,
    }


def png(result):
    """Whether the call's image block is a PNG."""
    for c in result.content:
        if c.type == "image":
            return c.mime_type == "image/png" and base64.b64decode(c.data)[:8] == b"\x89PNG\r\n\x1a\n"
    return False


async def main():
    seen = {}
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=120)) as http:
        async with streamable_http_client(MCP_URL, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                seen["server"] = init.server_info.name
                tools = await session.list_tools()
                seen["tools"] = [t.name for t in tools.tools]
                seen["question_schema"] = next(t.input_schema for t in tools.tools if t.name == "mcp_question")

                # Step 1 of the page: mcp_start.
                start = await session.call_tool("mcp_start", {"username": USERNAME, "password": PASSWORD})
                seen["start"] = outcome(start)
                token = start.structured_content["access_token"]
                chat_id = start.structured_content["chat_id"]

                # Steps 2 and 3: workspaces, then a workspace's datasources (oid as a string).
                seen["ws_list"] = outcome(await session.call_tool("mcp_ws_list", {"token": token}))
                seen["datasource_list"] = outcome(
                    await session.call_tool("mcp_datasource_list", {"token": token, "oid": OID}))

                # Step 4: the page's question body, word for word but for the ids.
                plain = await session.call_tool("mcp_question", {
                    "token": token,
                    "chat_id": chat_id,
                    "question": QUESTION,
                    "datasource_id": int(DATASOURCE_ID),
                    "lang": "en",
                    "oid": OID,
                    "stream": False,
                    "return_img": False,
                })
                seen["question"] = outcome(plain)

                # The defaults: streamed (progress notifications) with the chart image, in the
                # same chat, the datasource as a string.
                progress = []

                async def on_progress(value, total, message):
                    progress.append(value)

                streamed = await session.call_tool(
                    "mcp_question",
                    {"token": token, "chat_id": chat_id, "question": "How many orders by region?",
                     "datasource_id": DATASOURCE_ID, "lang": "en"},
                    progress_callback=on_progress,
                )
                seen["streamed"] = outcome(streamed)
                seen["streamed_png"] = png(streamed)
                seen["progress"] = progress

                seen["models"] = outcome(await session.call_tool("get_model_list", {"token": token}))
                seen["assistant"] = outcome(await session.call_tool("mcp_assistant", {
                    "question": "How many orders by region?", "url": ASSISTANT_URL,
                    "authorization": ASSISTANT_SECRET, "stream": False,
                }))

                # What must fail, with SQLBot's body.
                seen["bad_token"] = outcome(await session.call_tool("mcp_ws_list", {"token": "not-a-token"}))
                seen["wrong_secret"] = outcome(await session.call_tool("mcp_assistant", {
                    "question": "How many orders?", "url": ASSISTANT_URL,
                    "authorization": "wrong-secret-wrong-secret", "stream": False,
                }))
    print(json.dumps(seen))


asyncio.run(main())
