// The official MCP TypeScript SDK client against flowtrack, over stdio or Streamable HTTP.
//
//   node client.mjs stdio FLOWTRACK_BIN STORE
//   node client.mjs http URL FLOWTRACK_BIN STORE
//
// connect -> listTools (size, every parameter described) -> every tool -> protocol errors ->
// subscribe to the tracker's resource and see an update made by the CLI -> cancel a long run
// -> close. Each step prints "ok <step>"; a failed check throws (exit 1). The last line is
// "closed <ms since the epoch>": the harness checks that the process exits by itself soon
// after. Every wait is bounded.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { EmptyResultSchema, ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { execFileSync } from "node:child_process";

const [mode, ...rest] = process.argv.slice(2);
let transport, ft, store;
if (mode === "stdio") {
  [ft, store] = rest;
  transport = new StdioClientTransport({
    command: ft,
    args: ["--db", store, "mcp"],
    env: { ...getDefaultEnvironment(), FT_E2E_TAG: process.env.FT_E2E_TAG ?? "" },
    stderr: "inherit",
  });
} else if (mode === "http") {
  let url;
  [url, ft, store] = rest;
  transport = new StreamableHTTPClientTransport(new URL(url + "/mcp"));
} else {
  throw new Error("usage: client.mjs stdio|http ...");
}

const fail = (msg) => { throw new Error(msg); };
const check = (cond, msg) => { if (!cond) fail(msg); };
const ok = (step) => console.log(`ok ${step}`);
const cli = (...args) =>
  execFileSync(ft, ["--db", store, "--actor", "cli", ...args], { encoding: "utf8", timeout: 30000 });
// p, or a failure after ms; the timer never outlives p (it would keep the process alive)
const within = (ms, what, p) => {
  let timer;
  const limit = new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`${what}: no answer in ${ms} ms`)), ms); });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
};

const client = new Client({ name: "e2e", version: "1.0.0" });
await within(10000, "connect", client.connect(transport));
ok("connect");

// tools/list: size and descriptions
const listed = await within(10000, "listTools", client.listTools());
const size = Buffer.byteLength(JSON.stringify(listed));
check(size <= 8192, `tools/list is ${size} bytes (over 8 KB)`);
const names = listed.tools.map((t) => t.name).sort();
for (const t of listed.tools) {
  check(t.description, `${t.name} has no description`);
  for (const [p, s] of Object.entries(t.inputSchema.properties ?? {}))
    check(s.description, `${t.name}.${p} has no description`);
}
ok(`listTools ${listed.tools.length} tools ${size} bytes`);

const text = (r) => r.content.map((c) => c.text).join("");
const call = async (name, args = {}) => {
  const r = await within(30000, name, client.callTool({ name, arguments: args }));
  check(!r.isError, `${name}: ${text(r)}`);
  check(r.structuredContent && typeof r.structuredContent === "object", `${name}: no structuredContent`);
  check(text(r).length > 0, `${name}: no text`);
  return r;
};

// every tool
const tl = await call("tracker_list");
const slug = tl.structuredContent.trackers[0].slug;
check(text(await call("tracker_read")).includes("Ground rules:"), "tracker_read: not the compact view");
check((await call("tracker_read", { format: "json" })).structuredContent.slug === slug, "tracker_read json");
check(text(await call("tracker_read", { format: "md" })).includes("\n# "), "tracker_read md");
const made = await call("tracker_create", { title: `Made over ${mode}`, slug: `made-${mode}` });
check(made.structuredContent.tracker.slug === `made-${mode}`, "tracker_create");
await call("tracker_update", { tracker: `made-${mode}`, status: "waiting", objective: "nothing" });
const hyp = await call("entry_add", { tracker: slug, kind: "hyp", text: `the ${mode} session leaks` });
const hnum = hyp.structuredContent.num;
const ruled = await call("entry_update", {
  tracker: slug, kind: "hyp", num: hnum, verdict: "ruled-out", evidence: "fds flat over 1000 cycles",
});
check(ruled.structuredContent.entry.verdict === "ruled-out", "entry_update verdict");
await call("entry_add", { tracker: slug, kind: "symptom", text: "the test never exits" });
await call("entry_add", { tracker: slug, kind: "followup", text: "watch the fd gauge" });
const item = await call("entry_add", { tracker: slug, kind: "item", text: `claim me over ${mode}` });
const claimed = await call("item_claim", { tracker: slug, num: item.structuredContent.num });
check(claimed.structuredContent.entry.claimed_by, "item_claim: no claimer");
check(claimed.structuredContent.entry.state === "doing", "item_claim: not doing");
const hist = await call("history", { tracker: slug, limit: 5 });
check(hist.structuredContent.events.length === 5, "history limit");
await call("check", { tracker: slug });
const run = await call("run", { tracker: slug, command: "echo from-mcp", timeout_s: 30, label: `quick ${mode}` });
check(run.structuredContent.outcome === "pass", `run: ${text(run)}`);
check(text(run).includes("from-mcp"), "run: output missing");
await call("tracker_update", { tracker: slug, fix_summary: "release in one place", fix_evidence: "leak test" });
ok("every tool");

// protocol errors: JSON-RPC errors, nothing written
const before = cli("history", "--all", "--json").length;
for (const [args, what] of [
  [{ name: "entry_add", arguments: { kind: "item", text: 42 } }, "a number for a string"],
  [{ name: "item_claim", arguments: { num: "three" } }, "a string for an integer"],
  [{ name: "entry_add", arguments: { kind: "bogus", text: "x" } }, "a value outside the enumeration"],
  [{ name: "check", arguments: { nonsense: true } }, "an unknown argument"],
  [{ name: "no_such_tool", arguments: {} }, "an unknown tool"],
]) {
  let code;
  try { await within(10000, what, client.callTool(args)); } catch (e) { code = e.code; }
  check(code === -32602, `${what}: expected -32602, got ${code}`);
}
let nomethod;
try { await within(10000, "unknown method", client.request({ method: "prompts/list" }, EmptyResultSchema)); } catch (e) { nomethod = e.code; }
check(nomethod === -32601, `unknown method: expected -32601, got ${nomethod}`);
check(cli("history", "--all", "--json").length === before, "a refused call wrote something");
ok("protocol errors");

// resources: list, read, subscribe; a change by the command line is told
const res = await within(10000, "listResources", client.listResources());
const uri = `flowtrack://tracker/${slug}`;
check(res.resources.some((r) => r.uri === uri), "the tracker is not a resource");
const read = await within(10000, "readResource", client.readResource({ uri }));
check(read.contents[0].mimeType === "text/markdown" && read.contents[0].text.includes("#"), "readResource");
let bad;
try { await within(10000, "readResource", client.readResource({ uri: "flowtrack://tracker/nope" })); } catch (e) { bad = e.code; }
check(bad === -32002, `an unknown resource: expected -32002, got ${bad}`);
const updated = new Promise((resolve) =>
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { if (n.params.uri === uri) resolve(n); }));
await within(10000, "subscribe", client.subscribeResource({ uri }));
// over HTTP the update travels on the GET stream, which the client opens on its own
await new Promise((r) => setTimeout(r, 300));
cli("--tracker", slug, "item", "add", `added by the CLI during the ${mode} session`);
await within(10000, "resources/updated after a CLI change", updated);
ok("subscription");

// a long run, cancelled after its first progress notification
const ac = new AbortController();
let progressed = 0;
const t0 = Date.now();
let aborted;
try {
  await within(20000, "cancelled run", client.callTool(
    { name: "run", arguments: { tracker: slug, command: "sleep 60", timeout_s: 120, label: `cancel ${mode}` } },
    undefined,
    { signal: ac.signal, onprogress: () => { progressed++; ac.abort("enough"); } }));
} catch (e) { aborted = e; }
check(aborted, "the run was not cancelled");
check(progressed >= 1, "no progress notification before the cancel");
check(Date.now() - t0 < 15000, "the cancel took too long");
ok(`cancel after ${progressed} progress notification(s)`);

if (mode === "http") await within(10000, "terminateSession", transport.terminateSession());
await within(10000, "close", client.close());
console.log(`closed ${Date.now()}`);
