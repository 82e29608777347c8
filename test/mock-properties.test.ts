// Envoy's attribute model (runtime-mock/properties): statuses, derived values, encodings.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { WasmResult } from "../runtime-mock/wasm/types.js";
import {
  TypedValue,
  decode,
  decodePropertyPairs,
  decodeProtoFields,
  encodePath,
  encodePropertyPairs,
  encodeValue,
  filterStateKey,
  getProperty,
  pathOf,
  protoMessage,
  schemas,
  setProperty,
  splitPath,
  type HeaderView,
  type PropertyContext,
  type PropertyTree,
  type StreamFacts,
} from "../runtime-mock/envoy/properties.js";

/** A list-backed header map with Envoy's lookup rules (lower-case keys, repeats kept). */
class Headers implements HeaderView {
  constructor(private readonly list: [string, string][]) {}
  get(key: string): string | undefined {
    return this.list.find(([k]) => k === key.toLowerCase())?.[1];
  }
  getAll(key: string): string[] {
    return this.list.filter(([k]) => k === key.toLowerCase()).map(([, v]) => v);
  }
  pairs(): [string, string][] {
    return this.list.map(([k, v]) => [k, v]);
  }
}

const requestHeaders = (): [string, string][] => [
  [":method", "GET"],
  [":path", "/api/items?limit=5&x=y#frag"],
  [":authority", "example.com"],
  [":scheme", "https"],
  ["user-agent", "curl/8.0"],
  ["referer", "https://ref.example/"],
  ["x-request-id", "req-123"],
  ["accept", "text/html"],
  ["accept", "application/json"],
];

function stream(patch: Partial<StreamFacts> = {}): StreamFacts {
  return {
    requestHeaders: new Headers(requestHeaders()),
    responseHeaders: new Headers([[":status", "200"], ["content-type", "text/plain"]]),
    protocol: "HTTP/1.1",
    startTimeNs: 1_700_000_000_123_456_789n,
    requestBodyBytes: 12,
    responseBodyBytes: 34,
    responseCodeDetails: "via_upstream",
    connectionId: 7,
    sourceAddress: "10.0.0.1:51234",
    destinationAddress: "[::1]:443",
    mtls: true,
    requestedServerName: "example.com",
    requestComplete: true,
    durationNs: 2_500_000n,
    ...patch,
  };
}

const plugin = { name: "my-plugin", rootId: "my-root", vmId: "my-vm" };

function ctx(kind: PropertyContext["kind"], overrides: PropertyTree = {}, patch: Partial<StreamFacts> = {}, extra: Partial<PropertyContext> = {}): PropertyContext {
  return {
    kind,
    plugin,
    overrides,
    stream: kind === "http" || kind === "tcp" ? stream(patch) : undefined,
    filterState: new Map(),
    ...extra,
  };
}

/** Get by dotted path (or explicit segments); assert Ok and return the bytes. */
function ok(c: PropertyContext, path: string | string[]): Uint8Array {
  const r = getProperty(c, typeof path === "string" ? pathOf(path) : encodePath(path));
  assert.equal(r.status, WasmResult.Ok, `${String(path)}: status ${WasmResult[r.status]}`);
  assert.ok(r.value);
  return r.value;
}

function status(c: PropertyContext, path: string | string[] | Uint8Array): WasmResult {
  const raw = path instanceof Uint8Array ? path : typeof path === "string" ? pathOf(path) : encodePath(path);
  return getProperty(c, raw).status;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex").replace(/(..)(?!$)/g, "$1 ");
const bytes = (s: string) => Uint8Array.from(Buffer.from(s.replace(/ /g, ""), "hex"));
const text = (s: string) => new TextEncoder().encode(s);

describe("encodings (ABI.md §6.2, §6.3)", () => {
  it("matches the documented examples", () => {
    assert.equal(hex(encodeValue(443)!), "bb 01 00 00 00 00 00 00");
    assert.equal(hex(encodeValue(TypedValue.double(15090))!), "00 00 00 00 00 79 cd 40");
    assert.equal(hex(encodeValue(15090.5)!), hex(encodeValue(TypedValue.double(15090.5))!)); // non-integer → double
    assert.equal(
      hex(encodeValue(["x", "yz"])!),
      "02 00 00 00 01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 78 00 00 79 7a 00 00",
    );
    assert.equal(
      hex(encodePath(["request", "headers", "x-id"])),
      "72 65 71 75 65 73 74 00 68 65 61 64 65 72 73 00 78 2d 69 64",
    );
    assert.equal(hex(encodeValue({ a: "1", b: "22" })!), "02 00 00 00 01 00 00 00 01 00 00 00 01 00 00 00 02 00 00 00 61 00 31 00 62 00 32 32 00");
  });

  it("encodes every scalar type with its fixed width", () => {
    assert.equal(hex(encodeValue(true)!), "01");
    assert.equal(hex(encodeValue(TypedValue.bool(false))!), "00");
    assert.equal(hex(encodeValue(-1)!), "ff ff ff ff ff ff ff ff");
    assert.equal(hex(encodeValue(TypedValue.uint(2n ** 64n - 1n))!), "ff ff ff ff ff ff ff ff");
    assert.equal(decode.int(encodeValue(TypedValue.timestamp(new Date(1)))!), 1_000_000n);
    assert.equal(decode.int(encodeValue(TypedValue.duration(-5n))!), -5n);
    assert.equal(hex(encodeValue(TypedValue.bytes("hi"))!), "68 69");
    assert.equal(encodeValue("")!.length, 0); // the host turns this into ptr 0 / size 0
  });

  it("writes the count word even for an empty map or list (serializeValue, unlike header pairs)", () => {
    assert.equal(hex(encodeValue({})!), "00 00 00 00");
    assert.equal(hex(encodeValue([])!), "00 00 00 00");
  });

  it("cannot encode null, or a container holding it", () => {
    assert.equal(encodeValue(TypedValue.null()), undefined);
    assert.equal(encodeValue(["a", TypedValue.null()]), undefined);
    assert.equal(encodeValue({ a: { b: TypedValue.null() } }), undefined);
  });

  it("rejects out-of-range integers at construction", () => {
    assert.throws(() => TypedValue.uint(-1), RangeError);
    assert.throws(() => TypedValue.int(2n ** 63n), RangeError);
    assert.throws(() => TypedValue.int(1.5), RangeError);
    assert.throws(() => encodeValue(2 ** 64), RangeError);
  });

  it("decoders are strict about sizes and layout", () => {
    assert.throws(() => decode.int(new Uint8Array(4)), RangeError);
    assert.throws(() => decode.bool(new Uint8Array(2)), RangeError);
    assert.throws(() => decode.map(bytes("01 00 00 00")), RangeError);
    assert.throws(() => decode.map(Uint8Array.of(...encodeValue({ a: "b" })!, 0)), RangeError);
    assert.throws(() => decode.list(encodeValue({ a: "b" })!), RangeError);
    assert.deepEqual(decode.map(new Uint8Array(0)), []);
  });
});

describe("encode/decode round trips (property-based)", () => {
  const int64 = fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n);
  it("scalars", () => {
    fc.assert(fc.property(int64, (v) => decode.int(encodeValue(v)!) === v));
    fc.assert(fc.property(fc.bigInt(0n, 2n ** 64n - 1n), (v) => decode.uint(encodeValue(TypedValue.uint(v))!) === v));
    fc.assert(fc.property(fc.double(), (v) => Object.is(decode.double(encodeValue(TypedValue.double(v))!), v)));
    fc.assert(fc.property(fc.boolean(), (v) => decode.bool(encodeValue(v)!) === v));
    fc.assert(fc.property(fc.string({ unit: "grapheme" }), (v) => decode.string(encodeValue(v)!) === v));
    fc.assert(fc.property(fc.uint8Array(), (v) => Buffer.from(encodeValue(v)!).equals(Buffer.from(v))));
  });

  it("maps and lists of strings", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.string()), (m) => {
        const back = decode.map(encodeValue(m)!).map(([k, v]) => [k, decode.string(v)]);
        assert.deepEqual(Object.fromEntries(back), { ...m });
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.string()), (l) => {
        assert.deepEqual(decode.list(encodeValue(l)!).map(decode.string), l);
      }),
    );
  });

  it("nested values decode by their known types", () => {
    fc.assert(
      fc.property(fc.array(int64), fc.dictionary(fc.string(), fc.array(fc.boolean())), (ints, nested) => {
        assert.deepEqual(decode.list(encodeValue(ints)!).map(decode.int), ints);
        const back = decode.map(encodeValue(nested)!).map(([k, v]) => [k, decode.list(v).map(decode.bool)]);
        assert.deepEqual(Object.fromEntries(back), { ...nested });
      }),
    );
  });

  it("pairs and paths", () => {
    const pair = fc.tuple(fc.uint8Array(), fc.uint8Array());
    fc.assert(
      fc.property(fc.array(pair), (pairs) => {
        const back = decodePropertyPairs(encodePropertyPairs(pairs));
        assert.deepEqual(back.map(([k, v]) => [[...k], [...v]]), pairs.map(([k, v]) => [[...k], [...v]]));
      }),
    );
    const segment = fc.string({ minLength: 1 }).filter((s) => !s.includes("\0"));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1 }), (segments) => {
        const split = splitPath(encodePath(segments)).map((s) => new TextDecoder().decode(s));
        assert.deepEqual(split, segments);
      }),
    );
  });
});

describe("derived HTTP properties", () => {
  const c = ctx("http");

  it("request", () => {
    assert.equal(decode.string(ok(c, "request.path")), "/api/items?limit=5&x=y#frag");
    assert.equal(decode.string(ok(c, "request.url_path")), "/api/items");
    assert.equal(decode.string(ok(c, "request.query")), "limit=5&x=y");
    assert.equal(decode.string(ok(c, "request.host")), "example.com");
    assert.equal(decode.string(ok(c, "request.scheme")), "https");
    assert.equal(decode.string(ok(c, "request.method")), "GET");
    assert.equal(decode.string(ok(c, "request.referer")), "https://ref.example/");
    assert.equal(decode.string(ok(c, "request.useragent")), "curl/8.0");
    assert.equal(decode.string(ok(c, "request.id")), "req-123");
    assert.equal(decode.string(ok(c, "request.protocol")), "HTTP/1.1");
    assert.equal(decode.timestamp(ok(c, "request.time")), 1_700_000_000_123_456_789n);
    assert.equal(decode.duration(ok(c, "request.duration")), 2_500_000n);
    assert.equal(decode.int(ok(c, "request.size")), 12n); // no content-length: bytes received
    const headerBytes = requestHeaders().reduce((n, [k, v]) => n + k.length + v.length, 0);
    assert.equal(decode.int(ok(c, "request.total_size")), BigInt(12 + headerBytes));
    assert.equal(decode.int(ok(c, "request.headers_bytes")), BigInt(headerBytes));
  });

  it("request.headers: a listable map, repeats comma-joined, lookups lower-cased", () => {
    const map = decode.map(ok(c, "request.headers")).map(([k, v]) => [k, decode.string(v)]);
    assert.equal(map.length, 8); // 9 entries, accept de-duplicated
    assert.deepEqual(Object.fromEntries(map)["accept"], "text/html,application/json");
    assert.equal(decode.string(ok(c, ["request", "headers", "accept"])), "text/html,application/json");
    assert.equal(decode.string(ok(c, ["request", "headers", "X-Request-ID"])), "req-123");
    assert.equal(decode.string(ok(c, ["request", "headers", ":path"])), "/api/items?limit=5&x=y#frag");
    assert.equal(status(c, ["request", "headers", "x-missing"]), WasmResult.NotFound);
    assert.equal(status(c, ["request", "headers", "bad name"]), WasmResult.NotFound); // invalid header name
    assert.equal(status(c, ["request", "headers", ":PATH"]), WasmResult.NotFound); // pseudo-headers are lower-case only
  });

  it("request edge cases: content-length, no query, incomplete request, no header map", () => {
    const withLength = ctx("http", {}, { requestHeaders: new Headers([[":path", "/x"], ["content-length", " 99 "]]) });
    assert.equal(decode.int(ok(withLength, "request.size")), 99n);
    assert.equal(ok(withLength, "request.query").length, 0); // empty string → ptr 0 / size 0
    assert.equal(decode.string(ok(withLength, "request.url_path")), "/x");
    const badLength = ctx("http", {}, { requestHeaders: new Headers([["content-length", "12abc"]]) });
    assert.equal(status(badLength, "request.size"), WasmResult.NotFound);
    assert.equal(ok(badLength, "request.url_path").length, 0); // headers without :path → ""
    assert.equal(status(badLength, "request.path"), WasmResult.NotFound);
    assert.equal(status(ctx("http", {}, { requestComplete: false }), "request.duration"), WasmResult.NotFound);
    const noHeaders = ctx("http", {}, { requestHeaders: undefined });
    assert.equal(status(noHeaders, "request.path"), WasmResult.NotFound);
    assert.equal(status(noHeaders, "request.query"), WasmResult.NotFound);
    assert.equal(hex(ok(noHeaders, "request.headers")), "00 00 00 00");
    assert.equal(status(ctx("http", {}, { requestHeaders: new Headers([]) }), "request.id"), WasmResult.NotFound);
  });

  it("response", () => {
    assert.equal(decode.int(ok(c, "response.code")), 200n);
    assert.equal(decode.string(ok(c, "response.code_details")), "via_upstream");
    assert.equal(decode.int(ok(c, "response.size")), 34n);
    assert.equal(decode.int(ok(c, "response.total_size")), BigInt(34 + ":status200content-typetext/plain".length));
    assert.equal(decode.int(ok(c, "response.flags")), 0n);
    assert.equal(decode.string(ok(c, "response.headers.content-type")), "text/plain");
    assert.equal(hex(ok(c, "response.trailers")), "00 00 00 00");
    assert.equal(decode.int(ok(c, "response.grpc_status")), 2n); // inferred from 200: Unknown
    assert.equal(status(ctx("http", {}, { responseCodeDetails: undefined }), "response.code_details"), WasmResult.NotFound);
  });

  it("response.grpc_status: trailers, then headers, then the HTTP status", () => {
    const grpc = (headers: [string, string][], trailers: [string, string][] = []) =>
      decode.int(ok(ctx("http", {}, { responseHeaders: new Headers(headers), responseTrailers: new Headers(trailers) }), "response.grpc_status"));
    assert.equal(grpc([[":status", "200"], ["grpc-status", "5"]], [["grpc-status", "7"]]), 7n);
    assert.equal(grpc([[":status", "200"], ["grpc-status", "5"]]), 5n);
    assert.equal(grpc([[":status", "503"]]), 14n);
    assert.equal(grpc([[":status", "200"], ["grpc-status", "99"]]), -1n); // InvalidCode
    assert.equal(status(ctx("http", {}, { responseHeaders: undefined }), "response.grpc_status"), WasmResult.NotFound);
    assert.equal(status(ctx("http", {}, { responseHeaders: undefined }), "response.code"), WasmResult.NotFound);
  });

  it("connection, source, destination, top-level connection_id", () => {
    assert.equal(decode.uint(ok(c, "connection.id")), 7n);
    assert.equal(decode.uint(ok(c, "connection_id")), 7n);
    assert.equal(hex(ok(c, "connection.mtls")), "01");
    assert.equal(decode.string(ok(c, "connection.requested_server_name")), "example.com");
    assert.equal(decode.string(ok(c, "source.address")), "10.0.0.1:51234");
    assert.equal(decode.int(ok(c, "source.port")), 51234n);
    assert.equal(decode.string(ok(c, "destination.address")), "[::1]:443");
    assert.equal(hex(ok(c, "destination.port")), "bb 01 00 00 00 00 00 00");
    assert.equal(status(ctx("http", {}, { sourceAddress: "/tmp/sock" }), "source.port"), WasmResult.NotFound);
    assert.equal(status(c, "connection.tls_version"), WasmResult.NotFound);
    assert.equal(decode.uint(ok(c, "upstream.request_attempt_count")), 0n);
  });

  it("plugin names", () => {
    assert.equal(decode.string(ok(c, "plugin_name")), "my-plugin");
    assert.equal(decode.string(ok(c, "plugin_root_id")), "my-root");
    assert.equal(decode.string(ok(c, "plugin_vm_id")), "my-vm");
  });
});

describe("status decisions (ABI.md §5.4)", () => {
  const c = ctx("http");

  it("empty path → SerializationFailure; a lone NUL is an unknown empty name; a trailing NUL is harmless", () => {
    assert.equal(status(c, new Uint8Array(0)), WasmResult.SerializationFailure);
    assert.equal(status(c, Uint8Array.of(0)), WasmResult.NotFound);
    assert.equal(decode.string(getProperty(c, Uint8Array.of(...pathOf("request.method"), 0)).value!), "GET");
    assert.equal(status(c, Uint8Array.of(...text("request"), 0)), WasmResult.SerializationFailure);
    assert.equal(status(c, Uint8Array.of(...text("request"), 0, 0, ...text("path"))), WasmResult.NotFound); // empty middle segment
  });

  it("unknown first segment → NotFound", () => {
    assert.equal(status(c, "nonesuch"), WasmResult.NotFound);
    assert.equal(status(c, "Request.path"), WasmResult.NotFound); // names are case-sensitive
    assert.equal(status(c, Uint8Array.of(0xff, 0xfe)), WasmResult.NotFound);
  });

  it("wrapper objects asked whole → SerializationFailure", () => {
    for (const name of ["request", "response", "connection", "source", "destination", "upstream", "xds", "filter_state"]) {
      assert.equal(status(c, name), WasmResult.SerializationFailure, name);
    }
    assert.equal(status(ctx("root"), "xds"), WasmResult.SerializationFailure); // xds exists without a stream
  });

  it("missing keys and anything below a scalar → NotFound", () => {
    assert.equal(status(c, "request.nonesuch"), WasmResult.NotFound);
    assert.equal(status(c, "request.path.x"), WasmResult.NotFound);
    assert.equal(status(c, "plugin_name.x"), WasmResult.NotFound);
    assert.equal(status(c, "connection.mtls.x"), WasmResult.NotFound);
    assert.equal(status(c, "request.time.0"), WasmResult.NotFound);
  });

  it("list indices: decimal in range only", () => {
    const l = ctx("http", { my_list: ["a", "b", ["c"]] });
    assert.equal(decode.string(ok(l, "my_list.1")), "b");
    assert.equal(decode.string(ok(l, ["my_list", " +2 ", "0"])), "c"); // absl::SimpleAtoi rules
    for (const bad of ["3", "-1", "x", "1x", " ", "0x1", "99999999999"]) assert.equal(status(l, ["my_list", bad]), WasmResult.NotFound, bad);
    assert.equal(decode.list(ok(l, ["my_list", ""])).length, 3); // "my_list\0": a trailing NUL, so the whole list
  });

  it("null: SerializationFailure whole, NotFound below", () => {
    const n = ctx("http", { nothing: TypedValue.null(), holder: { list: ["a", TypedValue.null()] } });
    assert.equal(status(n, "nothing"), WasmResult.SerializationFailure);
    assert.equal(status(n, "nothing.x"), WasmResult.NotFound);
    assert.equal(status(n, "holder"), WasmResult.SerializationFailure);
    assert.equal(decode.string(ok(n, "holder.list.0")), "a");
  });
});

describe("availability by context", () => {
  it("root context: no stream-only names, but plugin_* and xds.node", () => {
    const root = ctx("root", { request: { id: "x" }, xds: { cluster_name: "c" }, custom: "v" });
    for (const path of ["request", "request.path", "request.id", "response.code", "connection.id", "source.address", "connection_id", "metadata", "filter_state", "upstream"]) {
      assert.equal(status(root, path), WasmResult.NotFound, path);
    }
    assert.equal(status(root, "xds.cluster_name"), WasmResult.NotFound); // needs stream info even when overridden
    assert.equal(status(root, "custom"), WasmResult.NotFound); // unknown names are filter state: streams only
    assert.equal(decode.string(ok(root, "plugin_name")), "my-plugin");
    assert.equal(decode.string(ok(root, "plugin_root_id")), "my-root");
    assert.equal(ok(root, "xds.node").length, 0); // default (empty) Node
    assert.equal(ok(root, "xds.node.id").length, 0);
  });

  it("VM context: no plugin, no local info", () => {
    const vm = ctx("vm");
    assert.equal(status(vm, "plugin_name"), WasmResult.NotFound);
    assert.equal(ok(vm, "plugin_root_id").length, 0);
    assert.equal(decode.string(ok(vm, "plugin_vm_id")), "my-vm");
    assert.equal(status(vm, "xds.node"), WasmResult.NotFound);
    assert.equal(status(vm, "node"), WasmResult.NotFound);
  });

  it("TCP context: stream info without HTTP headers", () => {
    const tcp = ctx("tcp", {}, { requestHeaders: undefined, responseHeaders: undefined });
    assert.equal(status(tcp, "request.path"), WasmResult.NotFound);
    assert.equal(status(tcp, "request.protocol"), WasmResult.NotFound);
    assert.equal(status(tcp, "response.code"), WasmResult.NotFound);
    assert.equal(decode.timestamp(ok(tcp, "request.time")), 1_700_000_000_123_456_789n);
    assert.equal(decode.string(ok(tcp, "source.address")), "10.0.0.1:51234");
    assert.equal(decode.uint(ok(tcp, "connection_id")), 7n);
    assert.equal(setProperty(tcp, text("k"), text("v")), WasmResult.Ok);
  });
});

describe("overrides", () => {
  it("win key by key under wrappers", () => {
    const c = ctx("http", { request: { id: "override-id", extra: 5 } });
    assert.equal(decode.string(ok(c, "request.id")), "override-id");
    assert.equal(decode.string(ok(c, "request.path")), "/api/items?limit=5&x=y#frag");
    assert.equal(decode.int(ok(c, "request.extra")), 5n);
    assert.equal(status(c, "request"), WasmResult.SerializationFailure); // still a wrapper
  });

  it("derived values follow overridden siblings", () => {
    const c = ctx("http", { source: { address: "192.168.1.9:8080" }, response: { code: 404 } });
    assert.equal(decode.int(ok(c, "source.port")), 8080n);
    assert.equal(decode.int(ok(c, "response.grpc_status")), 12n); // 404 → Unimplemented
  });

  it("a non-map override replaces the value whole", () => {
    const c = ctx("http", { request: "flat", plugin_name: "other", connection_id: TypedValue.uint(99) });
    assert.equal(decode.string(ok(c, "request")), "flat");
    assert.equal(status(c, "request.path"), WasmResult.NotFound);
    assert.equal(decode.string(ok(c, "plugin_name")), "other");
    assert.equal(decode.uint(ok(c, "connection_id")), 99n);
  });

  it("header maps can be replaced by plain maps", () => {
    const c = ctx("http", { request: { headers: { "x-a": "1" } } });
    assert.deepEqual(decode.map(ok(c, "request.headers")).map(([k, v]) => [k, decode.string(v)]), [["x-a", "1"]]);
  });

  it("unknown top-level names are served in stream contexts", () => {
    const c = ctx("http", { custom: { nested: [1.5] } });
    assert.equal(decode.double(ok(c, "custom.nested.0")), 1.5);
  });
});

describe("xds, node and legacy names", () => {
  const istio = {
    xds: {
      node: { id: "sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local", metadata: { NAME: "pod", REPLICAS: 3, LABELS: { app: "web" }, FLAGS: [true] } },
      cluster_name: "outbound|80||web",
      cluster_metadata: { filter_metadata: { istio: { config: "x" } } },
    },
  };

  it("xds.node is a Node message: CEL view by field name, Struct numbers as doubles", () => {
    const c = ctx("http", istio);
    assert.equal(decode.string(ok(c, "xds.node.id")), "sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local");
    assert.equal(decode.string(ok(c, "xds.node.metadata.NAME")), "pod");
    assert.equal(decode.double(ok(c, "xds.node.metadata.REPLICAS")), 3);
    assert.equal(decode.string(ok(c, "xds.node.metadata.LABELS.app")), "web");
    assert.deepEqual(decode.list(ok(c, "xds.node.metadata.FLAGS")).map(decode.bool), [true]);
    assert.equal(ok(c, "xds.node.cluster").length, 0); // unset proto3 field → default
    assert.equal(status(c, "xds.node.nonesuch"), WasmResult.NotFound);
    const metadata = decode.map(ok(c, "xds.node.metadata")).map(([k]) => k);
    assert.deepEqual(metadata, ["NAME", "REPLICAS", "LABELS", "FLAGS"]);
  });

  it("xds.node whole is protobuf wire bytes", () => {
    const c = ctx("root", { xds: { node: { id: "n1", metadata: { NAME: "a" } } } });
    assert.equal(hex(ok(c, "xds.node")), "0a 02 6e 31 1a 0d 0a 0b 0a 04 4e 41 4d 45 12 03 1a 01 61");
    const fields = decodeProtoFields(ok(c, "xds.node"));
    assert.deepEqual(fields.map((f) => f.no), [1, 3]);
  });

  it("metadata messages traverse filter_metadata", () => {
    const c = ctx("http", istio);
    assert.equal(decode.string(ok(c, "xds.cluster_name")), "outbound|80||web");
    assert.equal(decode.string(ok(c, "xds.cluster_metadata.filter_metadata.istio.config")), "x");
    assert.equal(status(c, "xds.route_name"), WasmResult.NotFound); // not routed: only via overrides
    assert.equal(ok(c, "xds.filter_chain_name").length, 0);
    assert.equal(decode.int(ok(c, "xds.listener_direction")), 0n);
    assert.equal(hex(ok(c, "metadata.filter_metadata")), "00 00 00 00");
  });

  it("legacy names alias xds.* both ways", () => {
    const c = ctx("http", istio);
    assert.equal(decode.string(ok(c, "node.metadata.NAME")), "pod");
    assert.equal(decode.string(ok(c, "cluster_name")), "outbound|80||web");
    assert.deepEqual(ok(c, "node"), ok(c, "xds.node"));
    const legacyGiven = ctx("http", { node: { id: "old" } });
    assert.equal(decode.string(ok(legacyGiven, "xds.node.id")), "old");
  });

  it("legacy names need a plugin (node, listener_*) or a stream (the rest)", () => {
    const root = ctx("root", istio);
    assert.equal(decode.string(ok(root, "node.id")), istio.xds.node.id);
    assert.equal(decode.int(ok(root, "listener_direction")), 0n);
    assert.equal(status(root, "cluster_name"), WasmResult.NotFound);
  });

  it("legacyNames: false behaves like Envoy after PR #36619", () => {
    const c = ctx("http", { node: { id: "old" } }, {}, { legacyNames: false });
    assert.equal(status(c, "node"), WasmResult.NotFound);
    assert.equal(status(c, "cluster_name"), WasmResult.NotFound);
    assert.equal(decode.string(ok(c, "xds.node.id")), "old"); // the data still feeds xds.node
    c.filterState.set(filterStateKey("node"), text("fs")); // …and the name is free for filter state
    assert.equal(decode.string(ok(c, "node")), "fs");
  });
});

describe("messages", () => {
  it("TypedValue.message traverses by field; whole needs wire bytes", () => {
    const withWire = ctx("http", { m: TypedValue.message({ a: "x" }, bytes("0a 01 78")) });
    assert.equal(hex(ok(withWire, "m")), "0a 01 78");
    assert.equal(decode.string(ok(withWire, "m.a")), "x");
    const noWire = ctx("http", { m: TypedValue.message({ a: "x" }) });
    assert.equal(decode.string(ok(noWire, "m.a")), "x");
    assert.throws(() => getProperty(noWire, pathOf("m")), /wire/);
  });

  it("protoMessage: real encodings, schema checked", () => {
    const loc = protoMessage(schemas.Locality, { region: "eu", zone: "" });
    assert.equal(hex(loc.wire!), "0a 02 65 75"); // empty zone is not written (proto3)
    assert.throws(() => protoMessage(schemas.Node, { idd: "x" }), /no field "idd"/);
    assert.throws(() => protoMessage(schemas.Node, { id: 5 }), /expected a string/);
    const node = protoMessage(schemas.Node, { client_features: ["a", "b"], locality: { zone: "z" } });
    assert.equal(hex(node.wire!), "22 03 12 01 7a 52 01 61 52 01 62");
    const c = ctx("http", { upstream: { locality: { region: "r" } } });
    assert.equal(hex(ok(c, "upstream.locality")), "0a 01 72");
  });
});

describe("proxy_set_property", () => {
  it("needs stream info", () => {
    assert.equal(setProperty(ctx("root"), text("k"), text("v")), WasmResult.NotFound);
    assert.equal(setProperty(ctx("vm"), text("k"), text("v")), WasmResult.NotFound);
  });

  it("round-trips single-segment paths as bytes", () => {
    const c = ctx("http");
    assert.equal(setProperty(c, text("my_key"), Uint8Array.of(1, 0, 2)), WasmResult.Ok);
    assert.equal(hex(ok(c, "my_key")), "01 00 02");
    assert.equal(hex(ok(c, ["filter_state", "wasm.my_key"])), "01 00 02");
    assert.equal(status(c, "my_key.x"), WasmResult.NotFound); // bytes are a scalar
    assert.equal(c.filterState.get("my_key")?.length, 3);
    assert.equal(setProperty(c, text("empty"), new Uint8Array(0)), WasmResult.Ok);
    assert.equal(ok(c, "empty").length, 0);
  });

  it("stores multi-segment paths under the whole raw path, unreadable by get", () => {
    const c = ctx("http");
    assert.equal(setProperty(c, pathOf("a.b"), text("v")), WasmResult.Ok);
    assert.ok(c.filterState.has(filterStateKey(pathOf("a.b"))));
    assert.equal(status(c, "a.b"), WasmResult.NotFound);
    assert.equal(status(c, "a"), WasmResult.NotFound);
  });

  it("known attribute names win over filter state; filter state wins over a test override", () => {
    const c = ctx("http", { custom: "from-test" });
    setProperty(c, text("request"), text("shadow"));
    setProperty(c, text("plugin_name"), text("shadow"));
    setProperty(c, text("custom"), text("from-plugin"));
    assert.equal(status(c, "request"), WasmResult.SerializationFailure);
    assert.equal(decode.string(ok(c, "plugin_name")), "my-plugin");
    assert.equal(decode.string(ok(c, "custom")), "from-plugin");
  });
});
