"""Index a directory with mcp-code-index, receive the webhook, then search.

Usage: demo.py DIRECTORY QUERY [--server PATH]

Starts a webhook receiver on 127.0.0.1, starts the server through the Python MCP
SDK, submits a workspace_indexing job with the receiver's URL, prints the webhook
payload when it arrives and runs one search_code query.
"""

import argparse
import asyncio
import json
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from mcp import Client, StdioServerParameters


def start_receiver():
    """Start an HTTP server on 127.0.0.1 that stores the first POST body."""
    received = threading.Event()
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            bodies.append(self.rfile.read(length))
            self.send_response(200)
            self.end_headers()
            received.set()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received, bodies


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("query")
    default_server = shutil.which("mcp-code-index") or "target/debug/mcp-code-index"
    parser.add_argument("--server", default=default_server, help="path of the mcp-code-index binary")
    args = parser.parse_args()

    receiver, received, bodies = start_receiver()
    webhook_url = f"http://127.0.0.1:{receiver.server_port}/webhook"
    params = StdioServerParameters(command=args.server, args=[])

    async with Client(params) as client:
        submitted = await client.call_tool(
            "submit_job",
            {
                "job_type": "workspace_indexing",
                "user_id": "demo",
                "metadata": {
                    "workspace_path": os.path.abspath(args.directory),
                    "webhook_url": webhook_url,
                    "source": "demo",
                },
            },
        )
        print("submitted:", json.dumps(submitted.structured_content))

        if not await asyncio.to_thread(received.wait, 120):
            raise SystemExit("no webhook arrived within 120 s; see the server log on stderr")
        payload = json.loads(bodies[0])
        payload["result_data"]["vector_storage"]["vector_ids"] = (
            payload["result_data"]["vector_storage"]["vector_ids"][:3] + ["..."]
        )
        print("webhook payload:", json.dumps(payload, indent=2))

        found = await client.call_tool("search_code", {"user_id": "demo", "query": args.query, "limit": 5})
        for hit in found.structured_content["results"]:
            print(f"{hit['score']:.3f}  {hit['path']}:{hit['start_line']}-{hit['end_line']}  {hit['symbol']}")

    receiver.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
