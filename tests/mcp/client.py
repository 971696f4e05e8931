"""Drive `kb mcp` with the official Python MCP SDK client over stdio, as an assistant does.

Usage: client.py KB VAULT SCENARIO  (the environment names the vault, HOME, git identity).
Prints one JSON line per step: {"step": NAME, ...}; exits 1 on the first failed check.
"""
import asyncio
import json
import os
import subprocess
import sys
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def text_of(result):
    return "".join(getattr(c, "text", "") for c in result.content)


def check(cond, what, detail=""):
    if not cond:
        print(json.dumps({"failed": what, "detail": str(detail)[:2000]}), flush=True)
        sys.exit(1)
    print(json.dumps({"ok": what}), flush=True)


async def call(session, name, args):
    r = await session.call_tool(name, args)
    body = text_of(r)
    if r.is_error:
        return True, body
    return False, json.loads(body)


async def scenario(kb, extra, body):
    params = StdioServerParameters(command=kb, args=["mcp", *extra], env=dict(os.environ))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = sorted(t.name for t in (await session.list_tools()).tools)
            await body(session, tools)


async def read_only(kb, vault):
    async def body(session, tools):
        check(tools == ["search", "show"], "read-only tools", tools)
        # A pasted error with other variable parts finds its note.
        err, r = await call(session, "search", {"query": "Windows cannot access \\\\NAS-07\\finance. Error code: 0x80070035. The network path was not found."})
        check(not err and r["hits"] and r["hits"][0]["id"] == "smb", "search finds the note", r)
        hit = r["hits"][0]
        check(r["answered"] is True and hit["fix"] and hit["matched_errors"], "hit carries fix and matched errors", hit)
        check("worked" in hit and "title" in hit and "path" in hit, "hit carries its record", hit)
        # Aliases assistants use.
        err, r = await call(session, "search", {"q": "network path not found", "n": 1})
        check(not err and len(r["hits"]) == 1, "aliases q and n", r)
        err, r = await call(session, "show", {"id": "smb"})
        check(not err and r["title"] == "Network path not found" and "text" in r, "show", r)
        # Bad input: tool errors of one sentence; the next call still works.
        for name, args, expect in [
            ("show", {"id": "no-such-note"}, "no note matches"),
            ("search", {}, "needs 'query'"),
            ("search", {"query": 42.5, "limit": "many"}, "whole number"),
            ("search", {"query": "x", "quer": "y"}, "no argument 'quer'"),
            ("search", {"query": "x" * (200 * 1024)}, "at most 100 KB"),
            ("nosuchtool", {}, "no tool"),
            ("add", {"title": "x", "fix": "y"}, "read-only"),
        ]:
            err, body = await call(session, name, args)
            check(err and expect in body and "\n" not in body.strip(), f"tool error: {name} {list(args)[:2]}", body)
        err, r = await call(session, "search", {"query": "network path not found"})
        check(not err and r["hits"], "the server lives on", r)
        # A note added with the CLI while the server runs is found.
        subprocess.run([kb, "add", "--title", "Printer jams on tray 2", "--error", "Paper jam in tray 2 (code 13.B2.D2)", "--fix", "Open tray 2.", "--yes"], check=True, capture_output=True)
        err, r = await call(session, "search", {"query": "Paper jam in tray 2 (code 13.B2.D2)"})
        check(not err and r["hits"] and r["hits"][0]["id"] == "printer-jams-on-tray-2", "a note the CLI added is found", r)
        # No answer: the same advice as the CLI.
        err, r = await call(session, "search", {"query": "STATUS_DISK_QUOTA_EXCEEDED writing C:\\Users\\mwong\\cache.db"})
        check(not err and r["answered"] is False and "STATUS_DISK_QUOTA_EXCEEDED" in r["advice"]["web_query"], "advice when nothing answers", r)
    await scenario(kb, [], body)


async def writes(kb, vault):
    async def body(session, tools):
        check(tools == ["add", "link", "record_outcome", "search", "show"], "write tools with --allow-write", tools)
        err, r = await call(session, "link", {"error": "The network path \\\\NAS-09\\hr was not found. (0x80070035) after the 24H2 update", "id": "smb"})
        check(not err and r["commit"], "link commits", r)
        err, r = await call(session, "record_outcome", {"id": "smb", "outcome": "worked", "ticket": "INC-77", "minutes": 12})
        check(not err and r["commit"], "record_outcome commits", r)
        err, body = await call(session, "record_outcome", {"id": "smb", "outcome": "maybe"})
        check(err and "worked" in body, "a wrong outcome is a tool error", body)
        err, body = await call(session, "add", {"title": "Dup", "errors": ["Windows cannot access \\\\X\\y. Error code: 0x80070035. The network path was not found."], "fix": "x"})
        check(err and "link" in body, "add refuses a duplicate", body)
        err, r = await call(session, "add", {"title": "VPN error 809", "errors": ["Error 809: the network connection between your computer and the VPN server could not be established"], "fix": "Allow UDP 500 and 4500.", "tags": ["vpn"]})
        check(not err and r["commit"] and r["id"] == "vpn-error-809", "add commits", r)
        # Timing of `kb add` while the server answers a stream of calls.
        done = asyncio.Event()
        async def stream():
            n = 0
            while not done.is_set():
                await call(session, "search", {"query": "network path not found"})
                n += 1
            return n
        task = asyncio.create_task(stream())
        await asyncio.sleep(0.2)
        waits = []
        for i in range(5):
            t0 = time.monotonic()
            p = await asyncio.create_subprocess_exec(kb, "--quiet", "add", "--title", f"Parallel note {i}", "--fix", "x", "--yes",
                                                     stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, errb = await p.communicate()
            waits.append(time.monotonic() - t0)
            check(p.returncode == 0 and b"waiting for" not in errb, f"kb add {i} during MCP calls", errb.decode())
        done.set()
        calls = await task
        print(json.dumps({"parallel_add_seconds": waits, "mcp_calls_meanwhile": calls}), flush=True)
    await scenario(kb, ["--allow-write"], body)


async def meaning(kb, vault):
    """With KB_MODEL set: typed words carry a semantic score, a pasted error does not; the
    vectors `kb index` writes meanwhile are the ones the next question is compared with."""
    async def body(session, tools):
        err, r = await call(session, "search", {"query": "printer spooler stops"})
        check(not err and r["hits"] and all("semantic" in h for h in r["hits"]), "typed words carry a semantic score", r)
        err, r = await call(session, "search", {"query": "The Print Spooler service terminated unexpectedly. Error 0x800706b9"})
        check(not err and r["hits"] and r["hits"][0]["id"] == "printing/spooler", "a pasted error finds its note", r)
        check(all("semantic" not in h for h in r["hits"]), "a pasted error is ranked without the model", r)
        err, r = await call(session, "search", {"query": "scanner shows offline"})
        check(not err and all(h["id"] != "hardware/scanner" for h in r["hits"]), "no scanner note yet", r)
        os.makedirs(os.path.join(vault, "hardware"), exist_ok=True)
        with open(os.path.join(vault, "hardware", "scanner.md"), "w") as f:
            f.write("---\ntitle: Scanner shows offline\ntags: [hardware]\ncreated: 2026-01-01T00:00:00Z\n---\n\n"
                    "# Scanner shows offline\n\n## Fix\n\nPower cycle the scanner and add it again.\n")
        p = subprocess.run([kb, "--dir", vault, "index"], capture_output=True, text=True)
        check(p.returncode == 0, "kb index beside the server", p.stderr)
        err, r = await call(session, "search", {"query": "scanner shows offline"})
        hit = [h for h in r["hits"] if h["id"] == "hardware/scanner"] if not err else []
        check(hit and "semantic" in hit[0], "the note kb index embedded meanwhile is compared by meaning", r)
    await scenario(kb, [], body)


def main():
    kb, vault, which = sys.argv[1], sys.argv[2], sys.argv[3]
    asyncio.run({"read_only": read_only, "writes": writes, "meaning": meaning}[which](kb, vault))


main()
