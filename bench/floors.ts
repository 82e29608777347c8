// Hand-written WebAssembly text modules that make exactly the host calls the SDK
// builds of the examples make for one stream, with no SDK around them: the floor the
// SDK's per-stream cost is measured against. Plus a module whose callbacks return at
// once, the floor of the mock host itself.

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
      proxy_on_request_headers: `(func $eq (param $a i32) (param $alen i32) (param $b i32) (param $blen i32) (result i32)
    (local $i i32)
    (if (i32.ne (local.get $alen) (local.get $blen)) (then (return (i32.const 0))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $alen)))
      (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i))) (i32.load8_u (i32.add (local.get $b) (local.get $i))))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.const 1))
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
