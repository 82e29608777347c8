// HeaderList: headers built in place for callouts and local replies, and copied from one
// map to another without strings (Headers#copyAll, #addAll, #remove by bytes).
import {
  ByteBuffer, FilterHeadersStatus, Header, HeaderList, HttpCallResponse, HttpContext, lastResult, registerRootContext, RootContext,
  WasmResult,
} from "..";
import { pairsAddress, pairsSize } from "../header-list";
import { encodeHeaders } from "../pairs";
import { mockUpstream } from "../testing/callouts";
import { mockHost, REQUEST, RESPONSE } from "../testing/host";

const utf8 = (text: string): ArrayBuffer => String.UTF8.encode(text, false);

function bytesOf(list: HeaderList): Array<u8> {
  const address = pairsAddress(list);
  const out = new Array<u8>(<i32>pairsSize());
  for (let i = 0; i < out.length; i++) out[i] = load<u8>(address + <usize>i);
  return out;
}

function arrayBytes(headers: Array<Header>): Array<u8> {
  const encoded = Uint8Array.wrap(encodeHeaders(headers));
  const out = new Array<u8>(encoded.length);
  for (let i = 0; i < out.length; i++) out[i] = encoded[i];
  return out;
}

function sameArrays(a: Array<u8>, b: Array<u8>): bool {
  if (a.length != b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] != b[i]) return false;
  return true;
}

describe("HeaderList", () => {
  it("holds the pairs the host reads, byte for byte what encodeHeaders makes of the same headers", () => {
    const value = new ByteBuffer(2);
    value.append(utf8("/é?x=1"));
    const list = new HeaderList(4); // grows past its capacity
    list.add(":method", "GET");
    list.add(utf8(":path"), value);
    list.add("x-empty", "");
    list.add("x-bytes", utf8("β"));
    expect(list.count).toBe(4);
    const expected = arrayBytes([new Header(":method", "GET"), new Header(":path", "/é?x=1"), new Header("x-empty", ""), new Header("x-bytes", "β")]);
    expect(sameArrays(bytesOf(list), expected)).toBe(true);
  });

  it("is empty after clear, and the empty list is no bytes at all (ABI.md §6.1), as an empty array is", () => {
    const list = new HeaderList();
    list.add("a", "1");
    list.clear();
    expect(list.count).toBe(0);
    expect(bytesOf(list).length).toBe(0);
    pairsAddress<Array<Header>>([]);
    expect(pairsSize()).toBe(0);
    list.add("b", "22");
    expect(sameArrays(bytesOf(list), arrayBytes([new Header("b", "22")]))).toBe(true, "refilled after clear");
  });
});

// What the stream saw (AssemblyScript has no closures).
let mode: string = "";
let token: u32 = 0;
let copiedCount: i32 = -1;
let absentCount: i32 = -1;
let dispatched: WasmResult = WasmResult.Ok;
const CALL = new HeaderList();
const COPIED = new HeaderList();
const PATH = new ByteBuffer();

class Root extends RootContext {
  createHttpContext(id: u32): HttpContext { return new Stream(id, this); }
}

class Stream extends HttpContext {
  onRequestHeaders(count: u32, endOfStream: bool): FilterHeadersStatus {
    const h = this.requestHeaders;
    if (mode == "call") {
      CALL.clear();
      CALL.add(":method", "POST");
      h.readInto(":path", PATH);
      CALL.add(":path", PATH);
      CALL.add(":authority", utf8("auth.local"));
      copiedCount = h.copyAll(utf8("x-user"), CALL);
      absentCount = h.copyAll("x-absent", CALL);
      token = this.dispatchHttpCall("auth", CALL, "", 0);
      dispatched = lastResult();
      return FilterHeadersStatus.StopIteration;
    }
    if (mode == "deny") {
      COPIED.clear();
      h.copyAll("X-User", COPIED); // a string name is matched as the host keeps names: lower-case
      this.sendLocalResponse(403, "no", COPIED, "denied_by_list");
    }
    return FilterHeadersStatus.Continue;
  }

  onHttpCallResponse(response: HttpCallResponse): void {
    COPIED.clear();
    if (response.headers.copyAll("x-auth-user", COPIED) > 0) {
      this.requestHeaders.remove(utf8("x-auth-user"));
      this.requestHeaders.addAll(COPIED);
    }
    this.continueRequest();
  }

  onResponseHeaders(count: u32, endOfStream: bool): FilterHeadersStatus {
    if (mode == "call") {
      COPIED.clear();
      COPIED.add("x-from-list", "1");
      this.responseHeaders.addAll(COPIED);
    }
    return FilterHeadersStatus.Continue;
  }
}

registerRootContext((id: u32) => new Root(id), "list");

function request(): Array<Header> {
  return [new Header(":method", "GET"), new Header(":path", "/p?q=1"), new Header(":authority", "example.com"),
    new Header("x-user", "ann"), new Header("x-auth-user", "forged")];
}

describe("HeaderList through the host", () => {
  it("is a callout's headers: values read in place, every value of a header copied, nothing for an absent one", () => {
    mockHost.hostOptions("{\"clusters\": [\"auth\"]}");
    mockHost.start("list");
    mode = "call";
    const stream = mockHost.openStream();
    mockHost.sendHeaders(stream, REQUEST, request(), true);
    expect(dispatched).toBe(WasmResult.Ok);
    expect(token).toBeGreaterThan(0);
    expect(copiedCount).toBe(1);
    expect(absentCount).toBe(0);
    expect(mockUpstream.httpCallHeader(token, ":method")).toBe("POST");
    expect(mockUpstream.httpCallHeader(token, ":path")).toBe("/p?q=1");
    expect(mockUpstream.httpCallHeader(token, ":authority")).toBe("auth.local");
    expect(mockUpstream.httpCallHeader(token, "x-user")).toBe("ann");
    expect(mockUpstream.httpCallHeader(token, "x-auth-user")).toBeNull("only what the list holds is sent");
    // The answer's header replaces the client's (remove by bytes, then addAll of a list).
    mockUpstream.respondHttpCall(token, 200, "", [new Header("x-auth-user", "ann@example.com")]);
    expect(mockHost.forwardedHeader(stream, REQUEST, "x-auth-user")).toBe("ann@example.com");
    mockHost.sendHeaders(stream, RESPONSE, [new Header(":status", "200")], true);
    expect(mockHost.forwardedHeader(stream, RESPONSE, "x-from-list")).toBe("1");
  });

  it("is a local reply's headers", () => {
    mockHost.start("list");
    mode = "deny";
    const stream = mockHost.openStream();
    mockHost.sendHeaders(stream, REQUEST, request(), true);
    expect(mockHost.localResponseStatus(stream)).toBe(403);
    expect(mockHost.localResponseBody(stream)).toBe("no");
    expect(mockHost.forwardedHeader(stream, RESPONSE, "x-user")).toBe("ann");
  });
});
