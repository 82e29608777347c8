// Hand-written WebAssembly text modules that make exactly the host calls the SDK
// builds of the examples make for one stream, with no SDK around them: the floor the
// SDK's per-stream cost is measured against. Plus a module whose callbacks return at
// once, the floor of the mock host itself.

import { encodePairs } from "proxy-wasm-as";

const encoder = new TextEncoder();

/** A data segment string literal for WAT. */
function watBytes(text: string): string {
  return Array.from(encoder.encode(text), (b) => "\\" + b.toString(16).padStart(2, "0")).join("");
}

interface Segment { offset: number; length: number; text: string }

/** Lays out strings from `start`, returning their offsets and the data segments. */
function layout(texts: string[], start: number): Segment[] {
  let offset = start;
  return texts.map((text) => {
    const segment = { offset, length: encoder.encode(text).length, text };
    offset += segment.length;
    return segment;
  });
}

function dataSegments(segments: Segment[]): string {
  return segments.map((s) => `(data (i32.const ${s.offset}) "${watBytes(s.text)}")`).join("\n  ");
}

/**
 * The parts every floor shares: ABI marker, memory, a bump allocator that is reset at
 * every stream start (so memory stays flat), and callbacks that continue at once.
 */
function module(imports: string, data: string, overrides: Record<string, string>): string {
  const callbacks: Record<string, string> = {
    proxy_on_context_create: `(func (export "proxy_on_context_create") (param i32 i32) (global.set $heap (i32.const 65536)))`,
    proxy_on_vm_start: `(func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))`,
    proxy_on_configure: `(func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))`,
    proxy_on_request_headers: `(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0))`,
    proxy_on_request_body: `(func (export "proxy_on_request_body") (param i32 i32 i32) (result i32) (i32.const 0))`,
    proxy_on_request_trailers: `(func (export "proxy_on_request_trailers") (param i32 i32) (result i32) (i32.const 0))`,
    proxy_on_response_headers: `(func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 0))`,
    proxy_on_response_body: `(func (export "proxy_on_response_body") (param i32 i32 i32) (result i32) (i32.const 0))`,
    proxy_on_response_trailers: `(func (export "proxy_on_response_trailers") (param i32 i32) (result i32) (i32.const 0))`,
    proxy_on_log: `(func (export "proxy_on_log") (param i32))`,
    proxy_on_done: `(func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))`,
    proxy_on_delete: `(func (export "proxy_on_delete") (param i32))`,
    ...overrides,
  };
  return `(module
  ${imports}
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  ${data}
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "_initialize"))
  (func $malloc (export "malloc") (param $size i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (local.get $ptr) (local.get $size)))
    (local.get $ptr))
  ${Object.values(callbacks).join("\n  ")}
)`;
}

/** `(func $eq ...)`: 1 when two byte ranges are equal. */
const EQ_FUNC = `(func $eq (param $a i32) (param $alen i32) (param $b i32) (param $blen i32) (result i32)
    (local $i i32)
    (if (i32.ne (local.get $alen) (local.get $blen)) (then (return (i32.const 0))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $alen)))
      (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i))) (i32.load8_u (i32.add (local.get $b) (local.get $i))))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.const 1))`;

/** Callbacks that return at once: what the mock host costs by itself. */
export function emptyModuleWat(): string {
  return module("", "", {});
}

/** header-append's host calls: one add to the response headers per configured header. */
export function headerAppendFloorWat(headers: Record<string, string>): string {
  const texts = Object.entries(headers).flat();
  const segments = layout(texts, 1024);
  const adds: string[] = [];
  for (let i = 0; i < segments.length; i += 2) {
    const name = segments[i];
    const value = segments[i + 1];
    adds.push(`(drop (call $add (i32.const 2) (i32.const ${name.offset}) (i32.const ${name.length}) (i32.const ${value.offset}) (i32.const ${value.length})))`);
  }
  return module(
    `(import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))`,
    dataSegments(segments),
    {
      proxy_on_response_headers: `(func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    ${adds.join("\n    ")}
    (i32.const 0))`,
    },
  );
}

/**
 * header-authorization's host calls: read all request headers, pass when every entry of
 * the header equals the expected value; otherwise read the log level, log at debug
 * when enabled, and send the local reply.
 */
export function headerAuthorizationFloorWat(header: string, expected: string, status: number, body: string, logLine: string): string {
  const [name, value, reply, details, line] = layout([header, expected, body, "header_authorization_denied", logLine], 1024);
  return module(
    `(import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_log_level" (func $level (param i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))`,
    dataSegments([name, value, reply, details, line]),
    {
      proxy_on_request_headers: `${EQ_FUNC}
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (local $base i32) (local $count i32) (local $i i32) (local $data i32) (local $klen i32) (local $vlen i32)
    (local $seen i32) (local $allowed i32)
    (drop (call $pairs (i32.const 0) (i32.const 16) (i32.const 20)))
    (local.set $base (i32.load (i32.const 16)))
    (local.set $allowed (i32.const 1))
    (if (local.get $base) (then
      (local.set $count (i32.load (local.get $base)))
      (local.set $data (i32.add (i32.add (local.get $base) (i32.const 4)) (i32.shl (local.get $count) (i32.const 3))))
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $klen (i32.load (i32.add (i32.add (local.get $base) (i32.const 4)) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $vlen (i32.load (i32.add (i32.add (local.get $base) (i32.const 8)) (i32.shl (local.get $i) (i32.const 3)))))
        (if (call $eq (local.get $data) (local.get $klen) (i32.const ${name.offset}) (i32.const ${name.length})) (then
          (local.set $seen (i32.const 1))
          (if (i32.eqz (call $eq (i32.add (i32.add (local.get $data) (local.get $klen)) (i32.const 1)) (local.get $vlen) (i32.const ${value.offset}) (i32.const ${value.length})))
            (then (local.set $allowed (i32.const 0))))))
        (local.set $data (i32.add (local.get $data) (i32.add (i32.add (local.get $klen) (local.get $vlen)) (i32.const 2))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
    (if (i32.and (local.get $seen) (local.get $allowed)) (then (return (i32.const 0))))
    (drop (call $level (i32.const 24)))
    (if (i32.le_s (i32.load (i32.const 24)) (i32.const 1)) (then
      (drop (call $log (i32.const 1) (i32.const ${line.offset}) (i32.const ${line.length})))))
    (drop (call $reply (i32.const ${status}) (i32.const ${details.offset}) (i32.const ${details.length})
      (i32.const ${reply.offset}) (i32.const ${reply.length}) (i32.const 0) (i32.const 0) (i32.const -1)))
    (i32.const 1))`,
    },
  );
}

// --- floors of the examples that use more of the ABI ------------------------------------



/** Like `layout`, for raw bytes or text. */
function layoutBytes(items: (string | Uint8Array)[], start: number): { offset: number; length: number; bytes: Uint8Array }[] {
  let offset = start;
  return items.map((item) => {
    const bytes = typeof item === "string" ? encoder.encode(item) : item;
    const segment = { offset, length: bytes.length, bytes };
    offset += bytes.length;
    return segment;
  });
}

function byteSegments(segments: { offset: number; bytes: Uint8Array }[]): string {
  return segments.map((s) => `(data (i32.const ${s.offset}) "${Array.from(s.bytes, (b) => "\\" + b.toString(16).padStart(2, "0")).join("")}")`).join("\n  ");
}

/** Reads request header `name` (a segment) into (ptr at 16, size at 20); returns the ptr. */
const getHeader = (map: number, name: { offset: number; length: number }) =>
  `(drop (call $value (i32.const ${map}) (i32.const ${name.offset}) (i32.const ${name.length}) (i32.const 16) (i32.const 20)))`;

/**
 * basic-auth's host calls for a request a rule protects: read :method, :path and
 * authorization; pass when the method is listed, the path has the prefix and the
 * Authorization value is one of the configured credentials ("Basic " + base64); otherwise
 * a local 401 with the challenge.
 */
export function basicAuthFloorWat(methods: string[], prefix: string, authorizations: string[], challenge: string): string {
  const names = [":method", ":path", "authorization"];
  const challengePairs = encodePairs([["www-authenticate", challenge]]);
  const segments = layoutBytes([...names, prefix, ...methods, ...authorizations, challengePairs, "basic_auth_invalid_credentials"], 1024);
  const [method, path, authorization, prefixSeg] = segments as [typeof segments[0], typeof segments[0], typeof segments[0], typeof segments[0]];
  const methodSegs = segments.slice(4, 4 + methods.length);
  const authSegs = segments.slice(4 + methods.length, 4 + methods.length + authorizations.length);
  const [pairs, details] = segments.slice(-2) as [typeof segments[0], typeof segments[0]];
  const anyOf = (segs: typeof segments) =>
    segs.map((s) => `(call $eq (i32.load (i32.const 16)) (i32.load (i32.const 20)) (i32.const ${s.offset}) (i32.const ${s.length}))`).reduce((a, b) => `(i32.or ${a} ${b})`);
  return module(
    `(import "env" "proxy_get_header_map_value" (func $value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))`,
    byteSegments(segments),
    {
      proxy_on_request_headers: `${EQ_FUNC}
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (local $methodOk i32) (local $pathOk i32)
    ${getHeader(0, method)}
    (local.set $methodOk ${anyOf(methodSegs)})
    ${getHeader(0, path)}
    (local.set $pathOk (i32.and
      (i32.ge_u (i32.load (i32.const 20)) (i32.const ${prefixSeg.length}))
      (call $eq (i32.load (i32.const 16)) (i32.const ${prefixSeg.length}) (i32.const ${prefixSeg.offset}) (i32.const ${prefixSeg.length}))))
    (if (i32.eqz (i32.and (local.get $methodOk) (local.get $pathOk))) (then (return (i32.const 0))))
    ${getHeader(0, authorization)}
    (if ${anyOf(authSegs)} (then (return (i32.const 0))))
    (drop (call $reply (i32.const 401) (i32.const ${details.offset}) (i32.const ${details.length})
      (i32.const 0) (i32.const 0) (i32.const ${pairs.offset}) (i32.const ${pairs.length}) (i32.const -1)))
    (i32.const 1))`,
    },
  );
}

/**
 * ext-authz's host calls for an allowed request: read :method and :path, read all request
 * headers twice (one pass per configured header), call the cluster with the check request
 * (serialized ahead: the floor does not build it) and pause; on the answer, act on the
 * stream that asked, read :status, count, read the answer's headers, replace the upstream
 * header on the request and resume.
 */
export function extAuthzFloorWat(cluster: string, checkHeaders: [string, string][], timeoutMs: number, upstreamHeader: string, upstreamValue: string): string {
  const segments = layoutBytes([":method", ":path", cluster, encodePairs(checkHeaders), ":status", "ext_authz.ok", upstreamHeader, upstreamValue], 1024);
  const [method, path, clusterSeg, check, status, metric, header, value] = segments as (typeof segments[0])[];
  // Token → stream context id, 4096 slots from 32768 (tokens are 4, 8, 12...).
  return module(
    `(import "env" "proxy_get_header_map_value" (func $value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_remove_header_map_value" (func $remove (param i32 i32 i32) (result i32)))
  (import "env" "proxy_http_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $effective (param i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $increment (param i32 i64) (result i32)))`,
    byteSegments(segments!.map((s) => s!)),
    {
      proxy_on_configure: `(func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $define (i32.const 0) (i32.const ${metric!.offset}) (i32.const ${metric!.length}) (i32.const 28)))
    (i32.const 1))`,
      proxy_on_request_headers: `(func (export "proxy_on_request_headers") (param $ctx i32) (param i32 i32) (result i32)
    ${getHeader(0, method!)}
    ${getHeader(0, path!)}
    (drop (call $pairs (i32.const 0) (i32.const 16) (i32.const 20)))
    (drop (call $pairs (i32.const 0) (i32.const 16) (i32.const 20)))
    (drop (call $call (i32.const ${clusterSeg!.offset}) (i32.const ${clusterSeg!.length}) (i32.const ${check!.offset}) (i32.const ${check!.length})
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const ${timeoutMs}) (i32.const 24)))
    (i32.store (i32.add (i32.const 32768) (i32.and (i32.load (i32.const 24)) (i32.const 16380))) (local.get $ctx))
    (i32.const 1))`,
      proxy_on_http_call_response: `(func (export "proxy_on_http_call_response") (param i32) (param $token i32) (param i32 i32 i32)
    (drop (call $effective (i32.load (i32.add (i32.const 32768) (i32.and (local.get $token) (i32.const 16380))))))
    ${getHeader(6, status!)}
    (drop (call $increment (i32.load (i32.const 28)) (i64.const 1)))
    (drop (call $pairs (i32.const 6) (i32.const 16) (i32.const 20)))
    (drop (call $remove (i32.const 0) (i32.const ${header!.offset}) (i32.const ${header!.length})))
    (drop (call $add (i32.const 0) (i32.const ${header!.offset}) (i32.const ${header!.length}) (i32.const ${value!.offset}) (i32.const ${value!.length})))
    (drop (call $continue (i32.const 0))))`,
    },
  );
}

/**
 * rate-limit's host calls for an allowed request: read the key header, read its bucket
 * from shared data, write it back with one token less under the cas read, count. The
 * floor keeps the tokens as 4 binary bytes (the SDK build keeps text with the fill period).
 */
export function rateLimitFloorWat(keyHeader: string, keyPrefix: string, maxTokens: number): string {
  const segments = layoutBytes([keyHeader, keyPrefix, "rate_limit.allowed"], 1024);
  const [header, prefix, metric] = segments as (typeof segments[0])[];
  const KEY = 4096; // the key is built here: prefix, then the header's value
  return module(
    `(import "env" "proxy_get_header_map_value" (func $value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_shared_data" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $set (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $increment (param i32 i64) (result i32)))`,
    byteSegments(segments.map((s) => s!)),
    {
      proxy_on_configure: `(func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $define (i32.const 0) (i32.const ${metric!.offset}) (i32.const ${metric!.length}) (i32.const 28)))
    (i32.const 1))`,
      proxy_on_request_headers: `(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (local $keyLength i32) (local $tokens i32)
    ${getHeader(0, header!)}
    (memory.copy (i32.const ${KEY}) (i32.const ${prefix!.offset}) (i32.const ${prefix!.length}))
    (memory.copy (i32.const ${KEY + prefix!.length}) (i32.load (i32.const 16)) (i32.load (i32.const 20)))
    (local.set $keyLength (i32.add (i32.const ${prefix!.length}) (i32.load (i32.const 20))))
    (i32.store (i32.const 24) (i32.const 0))
    (local.set $tokens (i32.const ${maxTokens}))
    (if (i32.eqz (call $get (i32.const ${KEY}) (local.get $keyLength) (i32.const 16) (i32.const 20) (i32.const 24)))
      (then (local.set $tokens (i32.load (i32.load (i32.const 16))))))
    (i32.store (i32.const 8) (i32.sub (local.get $tokens) (i32.const 1)))
    (drop (call $set (i32.const ${KEY}) (local.get $keyLength) (i32.const 8) (i32.const 4) (i32.load (i32.const 24))))
    (drop (call $increment (i32.load (i32.const 28)) (i64.const 1)))
    (i32.const 0))`,
    },
  );
}

/**
 * request-stats' host calls, worker side: at on_log read :method, :path and the
 * properties response.code and request.duration, resolve the queue once, enqueue the
 * event (the floor enqueues the path; the SDK build formats method, status, duration, path).
 */
export function requestStatsWorkerFloorWat(queue: string, vmId: string): string {
  const segments = layoutBytes([":method", ":path", "response\0code", "request\0duration", queue, vmId], 1024);
  const [method, path, code, duration, queueSeg, vmSeg] = segments as (typeof segments[0])[];
  return module(
    `(import "env" "proxy_get_header_map_value" (func $value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_resolve_shared_queue" (func $resolve (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_enqueue_shared_queue" (func $enqueue (param i32 i32 i32) (result i32)))
  (global $queue (mut i32) (i32.const 0))`,
    byteSegments(segments.map((s) => s!)),
    {
      proxy_on_log: `(func (export "proxy_on_log") (param i32)
    (local $ptr i32) (local $size i32)
    ${getHeader(0, method!)}
    ${getHeader(0, path!)}
    (local.set $ptr (i32.load (i32.const 16)))
    (local.set $size (i32.load (i32.const 20)))
    (drop (call $property (i32.const ${code!.offset}) (i32.const ${code!.length}) (i32.const 16) (i32.const 20)))
    (drop (call $property (i32.const ${duration!.offset}) (i32.const ${duration!.length}) (i32.const 16) (i32.const 20)))
    (if (i32.eqz (global.get $queue)) (then
      (drop (call $resolve (i32.const ${vmSeg!.offset}) (i32.const ${vmSeg!.length}) (i32.const ${queueSeg!.offset}) (i32.const ${queueSeg!.length}) (i32.const 24)))
      (global.set $queue (i32.load (i32.const 24)))))
    (drop (call $enqueue (global.get $queue) (local.get $ptr) (local.get $size))))`,
    },
  );
}

/** request-stats' host calls, aggregator side: per notification dequeue until Empty; per event a counter and a histogram sample. */
export function requestStatsAggregatorFloorWat(queue: string): string {
  const segments = layoutBytes([queue, "request_stats.responses_2xx", "request_stats.duration_ms"], 1024);
  const [queueSeg, counter, histogram] = segments as (typeof segments[0])[];
  return module(
    `(import "env" "proxy_register_shared_queue" (func $register (param i32 i32 i32) (result i32)))
  (import "env" "proxy_dequeue_shared_queue" (func $dequeue (param i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $increment (param i32 i64) (result i32)))
  (import "env" "proxy_record_metric" (func $record (param i32 i64) (result i32)))`,
    byteSegments(segments.map((s) => s!)),
    {
      proxy_on_configure: `(func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $register (i32.const ${queueSeg!.offset}) (i32.const ${queueSeg!.length}) (i32.const 24)))
    (drop (call $define (i32.const 0) (i32.const ${counter!.offset}) (i32.const ${counter!.length}) (i32.const 28)))
    (drop (call $define (i32.const 2) (i32.const ${histogram!.offset}) (i32.const ${histogram!.length}) (i32.const 32)))
    (i32.const 1))`,
      proxy_on_queue_ready: `(func (export "proxy_on_queue_ready") (param i32 i32)
    (global.set $heap (i32.const 65536))
    (block $empty (loop $next
      (br_if $empty (call $dequeue (i32.load (i32.const 24)) (i32.const 16) (i32.const 20)))
      (drop (call $increment (i32.load (i32.const 28)) (i64.const 1)))
      (drop (call $record (i32.load (i32.const 32)) (i64.const 0)))
      (br $next))))`,
    },
  );
}
