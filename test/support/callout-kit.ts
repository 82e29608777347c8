// WAT snippets for the callout and timer tests (on top of the kit in plugin.ts): the host
// calls with their argument lists, the callout callbacks as recording exports, and a
// reader for the whole event log (the kit's `events()` only names its own callbacks).
import { encodePairs, type Host } from "../../runtime-mock/index.js";
import { EVENT_COUNT, EV, OUT_A, OUT_PTR, OUT_SIZE, put, readU32, rec, saveOut, type Kit } from "./plugin.js";

const EVENTS_AT = 2048; // plugin.ts: 4 words per event from here

/** Event codes of the callout exports below (beyond the kit's 1–13). */
export const CE = { httpCallResponse: 30, httpCallSizes: 31, grpcInitialMetadata: 32, grpcReceive: 33, grpcTrailingMetadata: 34, grpcClose: 35 } as const;

const NAMES: Record<number, string> = Object.fromEntries([...Object.entries(EV), ...Object.entries(CE)].map(([k, v]) => [v, k]));

export interface RawEvent {
  name: string;
  ctx: number;
  a: number;
  b: number;
}

/** Every recorded event, the callout ones included. */
export function allEvents(host: Host): RawEvent[] {
  const count = readU32(host, EVENT_COUNT);
  return Array.from({ length: count }, (_, i) => {
    const at = EVENTS_AT + 16 * i;
    return { name: NAMES[readU32(host, at)] ?? `code${readU32(host, at)}`, ctx: readU32(host, at + 4), a: readU32(host, at + 8), b: readU32(host, at + 12) };
  });
}

/** "name(ctx,a,b)" strings of the events whose name is in `names` (all when omitted). */
export function trace(host: Host, names?: string[]): string[] {
  return allEvents(host)
    .filter((e) => !names || names.includes(e.name))
    .map((e) => `${e.name}(${e.ctx},${e.a},${e.b})`);
}

export interface CalloutCode {
  httpCallResponse?: string;
  grpcInitialMetadata?: string;
  grpcReceive?: string;
  grpcTrailingMetadata?: string;
  grpcClose?: string;
}

/**
 * The five callout exports, each recording (code, root, token, count/size/status) then
 * running its code. proxy_on_http_call_response also records (httpCallSizes, body, trailers).
 */
export function calloutExports(code: CalloutCode = {}, omit: (keyof CalloutCode)[] = []): string {
  const three = (name: keyof CalloutCode, exportName: string) =>
    omit.includes(name)
      ? ""
      : `(func (export "${exportName}") (param $root i32) (param $token i32) (param $n i32)
          (call $event (i32.const ${CE[name]}) (local.get $root) (local.get $token) (local.get $n))
          ${code[name] ?? ""})`;
  return [
    omit.includes("httpCallResponse")
      ? ""
      : `(func (export "proxy_on_http_call_response") (param $root i32) (param $token i32) (param $h i32) (param $b i32) (param $t i32)
          (call $event (i32.const ${CE.httpCallResponse}) (local.get $root) (local.get $token) (local.get $h))
          (call $event (i32.const ${CE.httpCallSizes}) (local.get $b) (local.get $t) (i32.const 0))
          ${code.httpCallResponse ?? ""})`,
    three("grpcInitialMetadata", "proxy_on_grpc_receive_initial_metadata"),
    three("grpcReceive", "proxy_on_grpc_receive"),
    three("grpcTrailingMetadata", "proxy_on_grpc_receive_trailing_metadata"),
    three("grpcClose", "proxy_on_grpc_close"),
  ].join("\n");
}

export const REQUEST: [string, string][] = [[":method", "GET"], [":path", "/check"], [":authority", "auth.local"]];

export interface HttpCallArgs {
  cluster?: string;
  headers?: [string, string][];
  body?: string;
  trailers?: [string, string][];
  timeoutMs?: number;
  tokenPtr?: number;
}

/** proxy_http_call(...) as a WAT expression (token to OUT_A unless told). */
export function httpCall(kit: Kit, args: HttpCallArgs = {}): string {
  const trailers = args.trailers?.length ? kit.bytes(encodePairs(args.trailers)) : "(i32.const 0) (i32.const 0)";
  return `(call $proxy_http_call ${kit.str(args.cluster ?? "auth")} ${kit.bytes(encodePairs(args.headers ?? REQUEST))} ${kit.str(args.body ?? "")}
    ${trailers} (i32.const ${args.timeoutMs ?? 0}) (i32.const ${args.tokenPtr ?? OUT_A}))`;
}

/** Serialized GrpcService { envoy_grpc { cluster_name } }. */
export function envoyGrpc(cluster: string): Uint8Array {
  const name = new TextEncoder().encode(cluster);
  return new Uint8Array([0x0a, name.length + 2, 0x0a, name.length, ...name]);
}

export interface GrpcArgs {
  /** A plain cluster name (string) or serialized GrpcService bytes. */
  service?: string | Uint8Array;
  serviceName?: string;
  method?: string;
  metadata?: [string, string][];
  message?: string;
  timeoutMs?: number;
  tokenPtr?: number;
}

const target = (kit: Kit, service: string | Uint8Array | undefined) => (typeof service === "object" ? kit.bytes(service) : kit.str(service ?? "authz"));
const metadata = (kit: Kit, md: [string, string][] | undefined) => (md?.length ? kit.bytes(encodePairs(md)) : "(i32.const 0) (i32.const 0)");

export function grpcCall(kit: Kit, args: GrpcArgs = {}): string {
  return `(call $proxy_grpc_call ${target(kit, args.service)} ${kit.str(args.serviceName ?? "authz.Authorizer")} ${kit.str(args.method ?? "Check")}
    ${metadata(kit, args.metadata)} ${kit.str(args.message ?? "")} (i32.const ${args.timeoutMs ?? 0}) (i32.const ${args.tokenPtr ?? OUT_A}))`;
}

export function grpcStream(kit: Kit, args: GrpcArgs = {}): string {
  return `(call $proxy_grpc_stream ${target(kit, args.service)} ${kit.str(args.serviceName ?? "events.Log")} ${kit.str(args.method ?? "Append")}
    ${metadata(kit, args.metadata)} (i32.const ${args.tokenPtr ?? OUT_A}))`;
}

/** Token just written to OUT_A, into slot i. */
export const token = (i: number) => put(i, `(i32.load (i32.const ${OUT_A}))`);

/** proxy_get_status: status in slot i, code in i+1, message (ptr, size) in i+2, i+3. */
export const getStatus = (i: number) =>
  `${rec(i, `(call $proxy_get_status (i32.const ${OUT_A}) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)} ${put(i + 1, `(i32.load (i32.const ${OUT_A}))`)} ${saveOut(i + 2)}`;
