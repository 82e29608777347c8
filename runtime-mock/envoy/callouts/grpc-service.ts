// Reads the `grpc_service` argument of proxy_grpc_call / proxy_grpc_stream the way Envoy
// does (ABI.md §5.9): first as a serialized envoy.config.core.v3.GrpcService
// (`ParseFromString`), and only if that fails as a plain cluster name. A protobuf parse
// accepts surprisingly much (e.g. "my_cluster" parses as two unknown fixed32 fields), so
// the wire format is checked for real.

export type GrpcServiceArgument =
  | { kind: "clusterName"; name: string }
  | { kind: "proto"; envoyGrpcCluster?: string; googleGrpc: boolean };

const utf8 = new TextDecoder("utf-8", { fatal: true });
const lenient = new TextDecoder("utf-8");

export function readGrpcService(bytes: Uint8Array): GrpcServiceArgument {
  const fields = parseMessage(bytes);
  if (!fields) return { kind: "clusterName", name: lenient.decode(bytes) };
  let envoyGrpcCluster: string | undefined;
  let googleGrpc = false;
  for (const f of fields) {
    if (f.no === 1 && f.wireType === 2) {
      // EnvoyGrpc { string cluster_name = 1; string authority = 2; … }
      const inner = parseMessage(f.bytes!);
      if (!inner) return { kind: "clusterName", name: lenient.decode(bytes) };
      envoyGrpcCluster = "";
      for (const g of inner) {
        if ((g.no === 1 || g.no === 2) && g.wireType === 2) {
          const text = decodeStrict(g.bytes!);
          if (text === undefined) return { kind: "clusterName", name: lenient.decode(bytes) }; // proto3 strings must be UTF-8
          if (g.no === 1) envoyGrpcCluster = text;
        }
      }
    } else if (f.no === 2 && f.wireType === 2) {
      if (!parseMessage(f.bytes!)) return { kind: "clusterName", name: lenient.decode(bytes) };
      googleGrpc = true;
    } else if ((f.no === 3 || f.no === 5 || f.no === 6) && f.wireType === 2 && !parseMessage(f.bytes!)) {
      // timeout, initial_metadata, retry_policy: sub-messages that must parse too
      return { kind: "clusterName", name: lenient.decode(bytes) };
    }
  }
  return envoyGrpcCluster === undefined ? { kind: "proto", googleGrpc } : { kind: "proto", envoyGrpcCluster, googleGrpc };
}

interface WireField {
  no: number;
  wireType: number;
  bytes?: Uint8Array;
}

/** Top-level fields of a protobuf message, or undefined when the bytes are not valid wire format. */
function parseMessage(bytes: Uint8Array): WireField[] | undefined {
  const fields: WireField[] = [];
  let pos = 0;
  const varint = (): bigint | undefined => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= bytes.length) return undefined;
      const b = bytes[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    return undefined;
  };
  const groupDepth: number[] = [];
  while (pos < bytes.length) {
    const tag = varint();
    if (tag === undefined) return undefined;
    const no = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    if (no === 0 || no > 0x1fffffff) return undefined;
    switch (wireType) {
      case 0:
        if (varint() === undefined) return undefined;
        break;
      case 1:
      case 5: {
        const size = wireType === 1 ? 8 : 4;
        if (pos + size > bytes.length) return undefined;
        pos += size;
        break;
      }
      case 2: {
        const len = varint();
        if (len === undefined || BigInt(pos) + len > BigInt(bytes.length)) return undefined;
        const start = pos;
        pos += Number(len);
        if (groupDepth.length === 0) fields.push({ no, wireType, bytes: bytes.subarray(start, pos) });
        continue;
      }
      case 3:
        groupDepth.push(no);
        continue;
      case 4:
        if (groupDepth.pop() !== no) return undefined;
        continue;
      default:
        return undefined;
    }
    if (groupDepth.length === 0) fields.push({ no, wireType });
  }
  return groupDepth.length === 0 ? fields : undefined;
}

function decodeStrict(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}
