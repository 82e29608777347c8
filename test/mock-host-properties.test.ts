// Properties a test sets in HostOptions, as a plugin reads them through proxy_get_property:
// request, response, source, destination, connection, upstream, xds.* and the legacy
// top-level names, switchable like Envoy before/after PR #36619 (ABI.md §5.4, §6.2, §7).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { WasmResult, type HostOptions } from "../runtime-mock/index.js";
import { buildPlugin, OUT_PTR, OUT_SIZE, rec, recordingCallbacks, saveOut, savedBytes, slotValue, startPlugin } from "./support/plugin.js";

const PATHS = [
  "request\0path", "request\0url_path", "request\0method", "request\0protocol",
  "source\0address", "source\0port", "destination\0address", "destination\0port",
  "connection\0requested_server_name", "connection\0mtls",
  "upstream\0address", "upstream\0port",
  "xds\0cluster_name", "xds\0route_name", "xds\0node\0id", "xds\0node\0metadata\0NAME",
  "cluster_name", "route_name", "node\0id", "node\0metadata\0NAME",
] as const;
const RESPONSE_PATHS = ["response\0code", "response\0headers\0x-reply"] as const;
type Path = (typeof PATHS)[number] | (typeof RESPONSE_PATHS)[number];

/** Reads `paths` in a callback: status in slot i, value (ptr, size) in slots 100 + 2i. */
function reads(kit: { str(s: string): string }, paths: readonly string[], first = 0): string {
  return paths
    .map((p, i) => `(i32.store (i32.const ${OUT_PTR}) (i32.const 0)) (i32.store (i32.const ${OUT_SIZE}) (i32.const 0))
      ${rec(first + i, `(call $proxy_get_property ${kit.str(p)} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)} ${saveOut(100 + 2 * (first + i))}`)
    .join("\n");
}

async function readAll(options: HostOptions): Promise<Map<Path, { status: WasmResult; bytes: Uint8Array }>> {
  const bytes = buildPlugin((kit) => ({
    body: recordingCallbacks({ requestHeaders: { code: reads(kit, PATHS) }, responseHeaders: { code: reads(kit, RESPONSE_PATHS, PATHS.length) } }),
  }));
  const host = await startPlugin(bytes, options);
  const stream = host.newHttpStream({ sourceAddress: "10.0.0.7:4000", protocol: "HTTP/2" });
  stream.sendRequestHeaders({ ":method": "POST", ":path": "/x?y=1", ":authority": "h" }, true);
  stream.sendResponseHeaders({ ":status": "201", "x-reply": "yes" }, true);
  const all = [...PATHS, ...RESPONSE_PATHS];
  return new Map(all.map((p, i) => [p, { status: slotValue(host, i) as WasmResult, bytes: savedBytes(host, 100 + 2 * i) }]));
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const int = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset).getBigInt64(0, true);

const properties = {
  connection: { requested_server_name: "sni.example" },
  upstream: { address: "10.2.0.9:9090" },
  xds: { cluster_name: "outbound|80||shop", route_name: "default", node: { id: "node-1", metadata: { NAME: "pod-1" } } },
};

describe("properties set in HostOptions, read by a plugin", () => {
  test("request, response, peers, connection, upstream (port follows the address), xds.* and their legacy names", async () => {
    const got = await readAll({ properties });
    for (const [path, { status }] of got) assert.equal(status, WasmResult.Ok, path);
    const t = (p: Path) => text(got.get(p)!.bytes);
    const i = (p: Path) => int(got.get(p)!.bytes);
    assert.deepEqual([t("request\0path"), t("request\0url_path"), t("request\0method"), t("request\0protocol")], ["/x?y=1", "/x", "POST", "HTTP/2"]);
    assert.deepEqual([t("source\0address"), i("source\0port"), t("destination\0address"), i("destination\0port")], ["10.0.0.7:4000", 4000n, "127.0.0.1:8080", 8080n]);
    assert.equal(t("connection\0requested_server_name"), "sni.example");
    assert.deepEqual([...got.get("connection\0mtls")!.bytes], [0]);
    assert.deepEqual([t("upstream\0address"), i("upstream\0port")], ["10.2.0.9:9090", 9090n]);
    assert.deepEqual([t("xds\0cluster_name"), t("cluster_name"), t("xds\0route_name"), t("route_name")], ["outbound|80||shop", "outbound|80||shop", "default", "default"]);
    assert.deepEqual([t("xds\0node\0id"), t("node\0id"), t("xds\0node\0metadata\0NAME"), t("node\0metadata\0NAME")], ["node-1", "node-1", "pod-1", "pod-1"]);
    assert.deepEqual([i("response\0code"), t("response\0headers\0x-reply")], [201n, "yes"]);
  });

  test("legacyPropertyNames: false answers NOT_FOUND for the pre-xds names, as current Envoy does", async () => {
    const got = await readAll({ properties, legacyPropertyNames: false });
    for (const path of ["cluster_name", "route_name", "node\0id", "node\0metadata\0NAME"] as const) assert.equal(got.get(path)!.status, WasmResult.NotFound, path);
    assert.equal(got.get("xds\0node\0id")!.status, WasmResult.Ok);
  });
});
