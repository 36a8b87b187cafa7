// Drives mcp-code-index through the TypeScript MCP SDK: lists the tools, indexes
// one file, polls the job until it ends, searches, and prints one JSON object.
//
// Usage: node index_and_search.mjs BINARY FILE USER_ID QUERY STDERR_LOG

import { openSync } from "node:fs";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const FINAL_STATUSES = new Set(["completed", "failed", "cancelled"]);
const POLL_DEADLINE_MS = 30_000;
const POLL_INTERVAL_MS = 50;

const [binary, filePath, userId, query, stderrLog] = process.argv.slice(2);
if (!binary || !filePath || !userId || !query || !stderrLog) {
  console.error("usage: node index_and_search.mjs BINARY FILE USER_ID QUERY STDERR_LOG");
  process.exit(2);
}

const transport = new StdioClientTransport({
  command: binary,
  args: [],
  env: {
    RUST_LOG: "info",
    ...(process.env.MCP_CODE_INDEX_DATA_DIR ? { MCP_CODE_INDEX_DATA_DIR: process.env.MCP_CODE_INDEX_DATA_DIR } : {}),
  },
  stderr: openSync(stderrLog, "w"),
});
// The client reports the version it negotiated through this optional transport hook.
let protocolVersion = null;
transport.setProtocolVersion = (version) => {
  protocolVersion = version;
};

const client = new Client({ name: "mcp-code-index-e2e-node", version: "0.1.0" });

/** Calls a tool and returns its structured content, or throws with the error text. */
async function callTool(name, args) {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) {
    const text = result.content.map((block) => block.text ?? "").join("\n");
    throw new Error(`${name} failed: ${text}`);
  }
  return result.structuredContent;
}

async function main() {
  await client.connect(transport);
  try {
    const listing = await client.listTools();
    const submitted = await callTool("submit_job", {
      job_type: "file_processing",
      user_id: userId,
      metadata: { file_path: filePath, source: "typescript-sdk" },
    });

    const deadline = Date.now() + POLL_DEADLINE_MS;
    let job = await callTool("get_job_status", { job_id: submitted.job_id });
    while (!FINAL_STATUSES.has(job.status)) {
      if (Date.now() > deadline) {
        throw new Error(`job ${submitted.job_id} did not end within ${POLL_DEADLINE_MS} ms: ${JSON.stringify(job)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      job = await callTool("get_job_status", { job_id: submitted.job_id });
    }

    const search = await callTool("search_code", { user_id: userId, query, limit: 5 });
    const output = {
      protocolVersion,
      serverVersion: client.getServerVersion() ?? null,
      tools: listing.tools.map((tool) => ({
        name: tool.name,
        hasOutputSchema: Boolean(tool.outputSchema),
        readOnlyHint: tool.annotations?.readOnlyHint ?? null,
      })),
      submitted,
      job,
      search,
    };
    process.stdout.write(JSON.stringify(output) + "\n");
  } finally {
    await client.close();
  }
}

main().catch((error) => {
  console.error(error?.stack ?? String(error));
  process.exit(1);
});
