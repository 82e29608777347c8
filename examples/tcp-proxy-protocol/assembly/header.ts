// PROXY protocol headers (HAProxy's specification, versions 1 and 2): what the upstream
// reads before the client's bytes to learn the connection's original endpoints.
import { Endpoint } from "./address";

/** Both endpoints known and of one family: the header can carry them. */
function sameFamily(source: Endpoint | null, destination: Endpoint | null): bool {
  if (source === null || destination === null) return false;
  return source.isIpv4 == destination.isIpv4;
}

/** "PROXY TCP4 <src> <dst> <srcport> <dstport>\r\n"; "PROXY UNKNOWN\r\n" without two endpoints of one family. */
export function headerV1(source: Endpoint | null, destination: Endpoint | null): ArrayBuffer {
  let line = "PROXY UNKNOWN\r\n";
  if (sameFamily(source, destination)) {
    line = "PROXY " + (source!.isIpv4 ? "TCP4 " : "TCP6 ") + source!.text + " " + destination!.text + " " +
      source!.port.toString() + " " + destination!.port.toString() + "\r\n";
  }
  return String.UTF8.encode(line, false);
}

// The 12-byte signature that starts every version 2 header.
const SIGNATURE: StaticArray<u8> = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const VERSION_2_PROXY: u8 = 0x21; // version 2, command PROXY
const TCP_OVER_IPV4: u8 = 0x11;
const TCP_OVER_IPV6: u8 = 0x21;
const UNSPECIFIED: u8 = 0x00; // the receiver uses the connection's own endpoints

/** Signature, version/command, family/protocol, address length (big endian), addresses, ports (big endian). */
export function headerV2(source: Endpoint | null, destination: Endpoint | null): ArrayBuffer {
  const known = sameFamily(source, destination);
  const ipLength = known ? source!.ip.length : 0;
  const addressLength = known ? 2 * ipLength + 4 : 0;
  const out = new Uint8Array(16 + addressLength);
  for (let i = 0; i < SIGNATURE.length; i++) out[i] = SIGNATURE[i];
  out[12] = VERSION_2_PROXY;
  out[13] = !known ? UNSPECIFIED : ipLength == 4 ? TCP_OVER_IPV4 : TCP_OVER_IPV6;
  out[14] = <u8>(addressLength >> 8);
  out[15] = <u8>addressLength;
  if (known) {
    out.set(source!.ip, 16);
    out.set(destination!.ip, 16 + ipLength);
    const ports = 16 + 2 * ipLength;
    out[ports] = <u8>(source!.port >> 8);
    out[ports + 1] = <u8>source!.port;
    out[ports + 2] = <u8>(destination!.port >> 8);
    out[ports + 3] = <u8>destination!.port;
  }
  return out.buffer;
}
