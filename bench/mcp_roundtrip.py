"""Time `search` round trips of `kb mcp` through the official Python MCP SDK client.

Usage: mcp_roundtrip.py KB VAULT QUERIES_JSON RUNS
QUERIES_JSON: a JSON list of query strings. Starts one server, warms it with one call per
query, then times RUNS calls per query (client send to result received, the server's work
and the stdio transport); prints {"n", "p50_ms", "p95_ms", "start_ms"} as JSON.
"""
import asyncio
import json
import os
import sys
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p * (len(v) - 1))))]


async def main(kb, vault, queries, runs):
    t0 = time.perf_counter()
    params = StdioServerParameters(command=kb, args=["--dir", vault, "mcp"], env=dict(os.environ))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            start_ms = (time.perf_counter() - t0) * 1000
            for q in queries:
                await session.call_tool("search", {"query": q, "limit": 5})
            times = []
            for _ in range(runs):
                for q in queries:
                    t = time.perf_counter()
                    r = await session.call_tool("search", {"query": q, "limit": 5})
                    times.append(time.perf_counter() - t)
                    if r.is_error:
                        raise SystemExit("search failed: %s" % r.content)
    print(json.dumps({"n": len(times), "p50_ms": pct(times, 0.5) * 1000,
                      "p95_ms": pct(times, 0.95) * 1000, "start_ms": start_ms}))


asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])))
