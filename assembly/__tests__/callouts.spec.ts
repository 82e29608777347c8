// HTTP and gRPC callouts through the SDK against the mock host (ABI.md §5.8, §5.9, §8.4),
// plus the protobuf and gRPC-framing helpers they use.
import {
  decodeGrpcFrames, encodeGrpcFrame, FilterHeadersStatus, GrpcCallResponse, GrpcStatus, grpcInitialMetadata, grpcMessage,
  grpcTrailingMetadata, Header, HttpCallResponse, HttpContext, lastResult, LogLevel, ProtoReader, ProtoWriter,
  registerRootContext, RootContext, WasmResult, WireType,
} from "..";
import { mockUpstream, STREAM_CLOSED, STREAM_HALF_CLOSED } from "../testing/callouts";
import { mockHost, REQUEST } from "../testing/host";

// What the contexts saw (AssemblyScript has no closures).
let mode: string = "";
let token: u32 = 0;
let dispatchResult: WasmResult = WasmResult.Ok;
let handler: string = "";
let statusCode: u32 = 0;
let failed: bool = false;
let failureStatus: WasmResult = WasmResult.Ok;
let failureMessage: string = "";
let body: string = "";
let header: string | null = null;
let grpcStatus: GrpcStatus = GrpcStatus.None;
let grpcStatusMessage: string = "";
let grpcAnswer: string = "";
let streamLog: string = "";
let rootToken: u32 = 0;

const CALL_HEADERS: Array<Header> = [new Header(":method", "GET"), new Header(":path", "/check"), new Header(":authority", "auth.local")];

class Root extends RootContext {
  onConfigure(size: u32): bool {
    if (mode == "rootCall") rootToken = this.dispatchHttpCall("auth", CALL_HEADERS, "", 0);
    return true;
  }
  onHttpCallResponse(response: HttpCallResponse): void {
    handler = "root";
    statusCode = response.statusCode;
  }
  createHttpContext(id: u32): HttpContext { return new Stream(id, this); }
}

class Stream extends HttpContext {
  onRequestHeaders(count: u32, endOfStream: bool): FilterHeadersStatus {
    if (mode == "http") {
      token = this.dispatchHttpCall("auth", [new Header(":method", "POST"), new Header(":path", "/check"), new Header("host", "auth.local")], "who?", 500);
    } else if (mode == "unknownCluster") {
      token = this.dispatchHttpCall("nowhere", CALL_HEADERS, "");
    } else if (mode == "missingPath") {
      token = this.dispatchHttpCall("auth", [new Header(":method", "GET"), new Header(":authority", "a")], "");
    } else if (mode == "grpc") {
      const request = new ProtoWriter().string(1, "/check").uint32(2, 7);
      token = this.dispatchGrpcCall("authz", "authz.Authorizer", "Check", request.finish(), [new Header("x-user", "ann")], 100);
    } else if (mode == "grpcStream") {
      token = this.openGrpcStream("events", "events.Log", "Append");
      this.grpcSend(token, "first");
      this.grpcSend(token, "last", true);
    }
    dispatchResult = lastResult();
    return FilterHeadersStatus.StopIteration;
  }

  onHttpCallResponse(response: HttpCallResponse): void {
    handler = "stream";
    statusCode = response.statusCode;
    failed = response.failed;
    failureStatus = response.failureStatus;
    failureMessage = response.failureMessage;
    body = response.body.text();
    header = response.headers.get("x-a");
    // The stream is the effective context: its own headers and stream control work.
    this.requestHeaders.add("x-result", statusCode.toString());
    this.continueRequest();
  }

  onGrpcCallResponse(response: GrpcCallResponse): void {
    grpcStatus = response.status;
    grpcStatusMessage = response.statusMessage;
    if (!response.failed) {
      const reader = new ProtoReader(response.message.bytes());
      while (reader.next()) if (reader.field == 1) grpcAnswer = reader.string();
    }
    this.continueRequest();
  }

  onGrpcStreamInitialMetadata(t: u32, count: u32): void {
    const server = grpcInitialMetadata.get("x-server");
    streamLog += "headers:" + count.toString() + ":" + (server !== null ? server : "") + ";";
  }
  onGrpcStreamMessage(t: u32, size: u32): void {
    streamLog += "message:" + grpcMessage.text() + ";";
  }
  onGrpcStreamTrailingMetadata(t: u32, count: u32): void {
    const status = grpcTrailingMetadata.get("grpc-status");
    streamLog += "trailers:" + (status !== null ? status : "") + ";";
  }
  onGrpcStreamClose(t: u32, status: GrpcStatus, message: string): void {
    streamLog += "close:" + (<i32>status).toString() + ":" + message + ";";
  }
}

registerRootContext((id: u32) => new Root(id), "callouts");

function reset(newMode: string): void {
  mode = newMode;
  token = 0;
  dispatchResult = WasmResult.Ok;
  handler = "";
  statusCode = 0;
  failed = false;
  failureStatus = WasmResult.Ok;
  failureMessage = "";
  body = "";
  header = null;
  grpcStatus = GrpcStatus.None;
  grpcStatusMessage = "";
  grpcAnswer = "";
  streamLog = "";
  mockHost.hostOptions("{\"clusters\": [\"auth\", \"authz\", \"events\"]}");
  expect(mockHost.start("callouts", "", LogLevel.Debug)).toBe(true);
}

function openAndSend(): u32 {
  const stream = mockHost.openStream();
  mockHost.sendHeaders(stream, REQUEST, [new Header(":method", "GET"), new Header(":path", "/"), new Header(":authority", "app")], true);
  return stream;
}

describe("HTTP callouts", () => {
  it("reach the stream that dispatched them, as its effective context, which resumes", () => {
    reset("http");
    const stream = openAndSend();
    expect(dispatchResult).toBe(WasmResult.Ok);
    expect(token).toBe(4);
    expect(mockHost.paused(stream, REQUEST)).toBe(true);
    expect(mockUpstream.httpCallHeader(token, ":authority")).toBe("auth.local");
    expect(mockUpstream.httpCallHeader(token, "content-length")).toBe("4");
    expect(mockUpstream.httpCallBody(token)).toBe("who?");
    mockUpstream.respondHttpCall(token, 200, "fine", [new Header("x-a", "1")]);
    expect(handler).toBe("stream");
    expect(statusCode).toBe(200);
    expect(failed).toBe(false);
    expect(body).toBe("fine");
    expect(header).toBe("1");
    expect(mockHost.forwardedHeader(stream, REQUEST, "x-result")).toBe("200");
    expect(mockUpstream.calloutsInFlight()).toBe(0);
  });

  it("a failure is a flag with the host's status, not a trap", () => {
    reset("http");
    openAndSend();
    mockUpstream.failHttpCall(token);
    expect(failed).toBe(true);
    expect(statusCode).toBe(0);
    expect(failureStatus).toBe(WasmResult.BrokenConnection);
    expect(failureMessage).toBe("reset");
    expect(body).toBe("");
  });

  it("a timeout is Envoy's 504", () => {
    reset("http");
    openAndSend();
    mockUpstream.advanceTime(500);
    expect(failed).toBe(false);
    expect(statusCode).toBe(504);
    expect(body).toBe("upstream request timeout");
  });

  it("a refused call returns token 0 with the reason in lastResult()", () => {
    reset("unknownCluster");
    openAndSend();
    expect(token).toBe(0);
    expect(dispatchResult).toBe(WasmResult.BadArgument);
    reset("missingPath");
    openAndSend();
    expect(token).toBe(0);
    expect(dispatchResult).toBe(WasmResult.BadArgument);
    expect(mockUpstream.httpCallCount()).toBe(0);
  });

  it("a root's call is answered on the root", () => {
    reset("rootCall");
    expect(rootToken).toBe(4);
    mockUpstream.respondHttpCall(rootToken, 204);
    expect(handler).toBe("root");
    expect(statusCode).toBe(204);
  });

  it("a stream deleted before the answer loses its token: the answer is ignored, logged at debug", () => {
    reset("http");
    const stream = openAndSend();
    mockHost.end(stream);
    mockHost.clearLogs();
    mockUpstream.respondHttpCall(token, 200, "late");
    expect(handler).toBe("");
    expect(mockHost.lastLog(LogLevel.Debug)).toBe("HTTP call 4: no context waits for it any more; ignored");
  });
});

describe("gRPC callouts", () => {
  it("a unary call sends the protobuf request and reads the protobuf answer", () => {
    reset("grpc");
    openAndSend();
    expect(token).toBe(5);
    const request = new ProtoReader(mockUpstream.grpcCallMessage(token));
    expect(request.next()).toBe(true);
    expect(request.string()).toBe("/check");
    expect(request.next()).toBe(true);
    expect(request.uint32()).toBe(7);
    expect(request.next()).toBe(false);
    mockUpstream.respondGrpcCall(token, new ProtoWriter().string(1, "allowed").finish());
    expect(grpcStatus).toBe(GrpcStatus.Ok);
    expect(grpcAnswer).toBe("allowed");
  });

  it("a failed call reports the gRPC status and message; a timeout is Unavailable", () => {
    reset("grpc");
    openAndSend();
    mockUpstream.failGrpcCall(token, GrpcStatus.PermissionDenied, "no");
    expect(grpcStatus).toBe(GrpcStatus.PermissionDenied);
    expect(grpcStatusMessage).toBe("no");
    reset("grpc");
    openAndSend();
    mockUpstream.advanceTime(100);
    expect(grpcStatus).toBe(GrpcStatus.Unavailable);
    expect(grpcStatusMessage).toBe("upstream request timeout");
  });

  it("a stream: sends, then the server's headers, messages, trailers and close reach the stream; its token is then released", () => {
    reset("grpcStream");
    openAndSend();
    expect(token).toBe(6);
    expect(mockUpstream.grpcStreamSent(token, 0)).toBe("first");
    expect(mockUpstream.grpcStreamSent(token, 1)).toBe("last");
    expect(mockUpstream.grpcStreamState(token)).toBe(STREAM_HALF_CLOSED);
    mockUpstream.grpcStreamHeaders(token, [new Header("x-server", "s")]);
    mockUpstream.grpcStreamMessage(token, "hello");
    mockUpstream.grpcStreamClose(token, GrpcStatus.NotFound, "gone");
    expect(streamLog).toBe("headers:3:s;message:hello;trailers:5;close:5:gone;");
    expect(mockUpstream.grpcStreamState(token)).toBe(STREAM_CLOSED);
    expect(mockUpstream.calloutsInFlight()).toBe(0);
  });

  it("a stream deleted with a gRPC call in flight: the SDK cancels it", () => {
    reset("grpc");
    const stream = openAndSend();
    expect(mockUpstream.grpcCallCount()).toBe(1);
    mockHost.end(stream);
    expect(mockUpstream.grpcCallCount()).toBe(0);
    expect(mockUpstream.calloutsInFlight()).toBe(0);
  });
});

function hex(data: ArrayBuffer): string {
  let out = "";
  const bytes = Uint8Array.wrap(data);
  for (let i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return out;
}

function bytesOf(values: Array<u8>): ArrayBuffer {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out.buffer;
}

describe("ProtoWriter", () => {
  it("writes the wire format of the protobuf documentation's examples", () => {
    expect(hex(new ProtoWriter().uint32(1, 150).finish())).toBe("089601");
    expect(hex(new ProtoWriter().string(2, "testing").finish())).toBe("120774657374696e67");
    expect(hex(new ProtoWriter().message(3, new ProtoWriter().uint32(1, 150)).finish())).toBe("1a03089601");
  });

  it("varints at their edges, negative int32 as 10 bytes, zigzag, fixed widths, bools", () => {
    expect(hex(new ProtoWriter().uint64(1, 0).uint64(1, 127).uint64(1, 128).finish())).toBe("0800087f088001");
    expect(hex(new ProtoWriter().uint64(1, u64.MAX_VALUE).finish())).toBe("08ffffffffffffffffff01");
    expect(hex(new ProtoWriter().int32(1, -1).finish())).toBe("08ffffffffffffffffff01");
    expect(hex(new ProtoWriter().sint32(1, -1).sint32(1, 1).sint32(1, -64).sint64(1, -2).finish())).toBe("08010802087f0803");
    expect(hex(new ProtoWriter().fixed32(1, 1).fixed64(2, 2).finish())).toBe("0d01000000110200000000000000");
    expect(hex(new ProtoWriter().bool(1, true).bool(2, false).finish())).toBe("08011000");
    expect(hex(new ProtoWriter().uint32(536870911, 1).finish())).toBe("f8ffffff0f01");
  });

  it("writes strings in place as UTF-8, and a nested writer cleared and filled again for each entry", () => {
    expect(hex(new ProtoWriter().string(1, "é€").string(2, "").finish())).toBe("0a05c3a9e282ac1200");
    const entry = new ProtoWriter();
    const map = new ProtoWriter();
    map.message(3, entry.clear().string(1, "a").string(2, "1"));
    map.message(3, entry.clear().string(1, "b").string(2, "22"));
    expect(hex(map.finish())).toBe("1a060a01611201311a070a0162120232" + "32");
    expect(entry.clear().length).toBe(0);
    const self = new ProtoWriter().uint32(1, 1);
    expect(hex(self.message(2, self).finish())).toBe("0801" + "12020801", "a writer embedded into itself: a copy of what it held");
  });

  it("grows past its first buffer", () => {
    let long = "";
    for (let i = 0; i < 100; i++) long += "0123456789";
    const data = new ProtoWriter().string(1, long).string(2, "x").finish();
    expect(data.byteLength).toBe(3 + 1000 + 3);
    const reader = new ProtoReader(data);
    expect(reader.next()).toBe(true);
    expect(reader.string()).toBe(long);
  });
});

describe("ProtoReader", () => {
  it("round-trips every type, skipping fields it is not asked for", () => {
    const nested = new ProtoWriter().string(1, "inner");
    const data = new ProtoWriter()
      .uint64(1, 300).int32(2, -5).sint64(3, -123456789).bool(4, true).fixed32(5, 0xdeadbeef).fixed64(6, 0x0102030405060708)
      .float(7, 1.5).double(8, -2.25).string(9, "héllo").bytes(10, "raw").message(11, nested).uint32(12, 9)
      .finish();
    const r = new ProtoReader(data);
    let seen = 0;
    while (r.next()) {
      seen++;
      if (r.field == 1) expect(r.uint64()).toBe(300);
      else if (r.field == 2) expect(r.int32()).toBe(-5);
      else if (r.field == 3) expect(r.sint64()).toBe(-123456789);
      else if (r.field == 4) expect(r.bool()).toBe(true);
      else if (r.field == 5) expect(r.fixed32()).toBe(0xdeadbeef);
      else if (r.field == 6) expect(r.fixed64()).toBe(0x0102030405060708);
      else if (r.field == 7) expect(r.float()).toBe(<f32>1.5);
      else if (r.field == 8) expect(r.double()).toBe(-2.25);
      else if (r.field == 9) expect(r.string()).toBe("héllo");
      else if (r.field == 11) {
        const inner = r.message();
        expect(inner.next()).toBe(true);
        expect(inner.string()).toBe("inner");
      } else if (r.field == 12) {
        expect(r.wireType).toBe(WireType.Varint);
        expect(r.uint32()).toBe(9);
      }
      // field 10 is left unread: next() skips it
    }
    expect(seen).toBe(12);
    expect(r.error).toBe(false);
  });

  it("malformed input sets error: truncated varint, length past the end, wrong wire type, field 0, wire type 7", () => {
    const truncated = new ProtoReader(bytesOf([0x08, 0x80]));
    expect(truncated.next()).toBe(true);
    expect(truncated.uint64()).toBe(0);
    expect(truncated.error).toBe(true);
    expect(truncated.next()).toBe(false);

    const long = new ProtoReader(bytesOf([0x0a, 0x05, 0x41]));
    expect(long.next()).toBe(true);
    expect(long.string()).toBe("");
    expect(long.error).toBe(true);

    const skippedLong = new ProtoReader(bytesOf([0x0a, 0x05, 0x41]));
    expect(skippedLong.next()).toBe(true);
    expect(skippedLong.next()).toBe(false);
    expect(skippedLong.error).toBe(true);

    const wrongType = new ProtoReader(bytesOf([0x08, 0x01]));
    expect(wrongType.next()).toBe(true);
    expect(wrongType.string()).toBe("");
    expect(wrongType.error).toBe(true);

    expect(new ProtoReader(bytesOf([0x00, 0x01])).next()).toBe(false);
    expect(new ProtoReader(bytesOf([0x0f, 0x01])).next()).toBe(false);
    const empty = new ProtoReader(new ArrayBuffer(0));
    expect(empty.next()).toBe(false);
    expect(empty.error).toBe(false);
  });
});

describe("gRPC framing", () => {
  it("frames a message with a flag byte and a big-endian length", () => {
    expect(hex(encodeGrpcFrame("hi"))).toBe("00000000026869");
    expect(hex(encodeGrpcFrame(new ArrayBuffer(0), true))).toBe("0100000000");
  });

  it("splits a body into frames; null for a cut-off frame or an unknown flag", () => {
    const first = Uint8Array.wrap(encodeGrpcFrame("one"));
    const second = Uint8Array.wrap(encodeGrpcFrame("two", true));
    const body = new Uint8Array(first.length + second.length);
    body.set(first, 0);
    body.set(second, first.length);
    const frames = decodeGrpcFrames(body.buffer)!;
    expect(frames.length).toBe(2);
    expect(String.UTF8.decode(frames[0].message)).toBe("one");
    expect(frames[0].compressed).toBe(false);
    expect(String.UTF8.decode(frames[1].message)).toBe("two");
    expect(frames[1].compressed).toBe(true);
    expect(decodeGrpcFrames(body.buffer.slice(0, body.length - 1))).toBeNull();
    expect(decodeGrpcFrames(bytesOf([2, 0, 0, 0, 0]))).toBeNull();
    expect(decodeGrpcFrames(new ArrayBuffer(0))!.length).toBe(0);
  });
});
