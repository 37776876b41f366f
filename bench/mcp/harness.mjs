// bench/mcp/harness.mjs: time MCP tools/call round trips with the official SDK client.
//
//   node harness.mjs LABEL stdio CWD COMMAND [ARGS...] -- STEP...
//   node harness.mjs LABEL http URL -- STEP...
// A STEP is  list  (the tools/list answer's size), or  TOOL:N:ARGS_JSON  (N timed calls after
// a warm-up of N/10; "{i}" in the arguments becomes the call's number). One JSON line per step.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const argv = process.argv.slice(2);
const label = argv.shift(), mode = argv.shift();
const sep = argv.indexOf("--");
const target = argv.slice(0, sep), steps = argv.slice(sep + 1);
let transport;
if (mode === "stdio") {
  const [cwd, command, ...args] = target;
  transport = new StdioClientTransport({ command, args, cwd, env: getDefaultEnvironment(), stderr: "ignore" });
} else {
  transport = new StreamableHTTPClientTransport(new URL(target[0]));
}
const client = new Client({ name: "bench", version: "1.0.0" });
await client.connect(transport);

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
for (const step of steps) {
  if (step === "list") {
    const r = await client.listTools();
    console.log(JSON.stringify({ label, step: "tools/list", tools: r.tools.length, bytes: Buffer.byteLength(JSON.stringify(r)) }));
    continue;
  }
  const [tool, nstr, ...rest] = step.split(":");
  const n = Number(nstr), template = rest.join(":");
  const one = async (i) => {
    const r = await client.callTool({ name: tool, arguments: JSON.parse(template.replaceAll("{i}", String(i))) });
    if (r.isError) throw new Error(`${label} ${tool}: ${JSON.stringify(r.content).slice(0, 300)}`);
  };
  for (let i = 0; i < Math.max(1, Math.floor(n / 10)); i++) await one(100000 + i);
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await one(i);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  console.log(JSON.stringify({ label, step: tool, n, median_ms: +pct(ms, 0.5).toFixed(3), p99_ms: +pct(ms, 0.99).toFixed(3), mean_ms: +(ms.reduce((a, b) => a + b, 0) / n).toFixed(3) }));
}
if (mode === "http") await transport.terminateSession().catch(() => {});
await client.close();
