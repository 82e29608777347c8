// The SDK's HTTP API against the mock host: every call goes through the real host
// functions, in the phase Envoy would be in.
import {
  ByteBuffer, FilterDataStatus, FilterHeadersStatus, Header, HttpContext, lastResult, log, LogLevel, properties,
  registerRootContext, RootContext, WasmResult,
} from "..";
import { mockHost, REQUEST, RESPONSE } from "../testing/host";

// What the contexts saw, for the specs to check (AssemblyScript has no closures).
let seenFirst: string | null = null;
let seenAll: Array<string> = [];
let seenAllAre: bool[] = [];
let seenByName: Array<string | null> = [];
let seenMissing: string | null = "unset";
let seenMissingResult: WasmResult = WasmResult.Ok;
let seenByteSize: u32 = 0;
let seenPairs: Array<Header> = [];
let seenAfterContinue: WasmResult = WasmResult.Ok;
let seenBodySizes: Array<u32> = [];
let seenBody: string = "";
let seenPath: string | null = null;
let seenMethod: string | null = null;
let seenMissingProperty: bool = false;
let seenMissingPropertyResult: WasmResult = WasmResult.Ok;
let seenRootId: string | null = null;
let seenConfig: string = "";
let mode: string = "";
// readInto: the path read twice into one buffer, a missing header, a value larger than the
// buffer and than the host's scratch block, and a read while another block is in flight.
const readBuffer = new ByteBuffer(4);
let seenRead: Array<string> = [];
let seenReadFound: bool[] = [];
let seenReadLengths: i32[] = [];

class Root extends RootContext {
  onConfigure(size: u32): bool {
    seenConfig = this.pluginConfiguration.text();
    return seenConfig != "reject";
  }
  createHttpContext(id: u32): HttpContext { return new Stream(id, this); }
}

class Stream extends HttpContext {
  onRequestHeaders(count: u32, endOfStream: bool): FilterHeadersStatus {
    const h = this.requestHeaders;
    if (mode == "headers") {
      h.add("x-multi", "one");
      h.add("X-Multi", "two");
      seenFirst = h.get("x-multi");
      seenAll = h.getAll("x-multi");
      // Present with one value everywhere, present with two different values, absent, a value that is a prefix.
      h.add("x-same", "v");
      h.add("x-same", "v");
      seenAllAre = [
        h.allAre(new Header("x-same", "v")), h.allAre(new Header("x-multi", "one")), h.allAre(new Header("x-absent", "v")),
        h.allAre(new Header("x-same", "")), h.allAre(new Header(":method", "GET")),
      ];
      h.remove("x-same");
      // Literal names are encoded once and found by address; built names each time. Ten
      // literals cycle the 8-entry cache; each lookup must still read its own header.
      const built = "x-" + "multi";
      seenByName = [
        h.get(built), h.get(":method"), h.get(":path"), h.get(":authority"), h.get("x-a1"), h.get("x-a2"), h.get("x-a3"),
        h.get("x-a4"), h.get("x-a5"), h.get("x-a6"), h.get(":method"), h.get("x-multi"), h.get(built),
      ];
      seenMissing = h.get("x-absent");
      seenMissingResult = lastResult();
      h.replace("x-replaced", "new");
      h.remove("x-removed");
      seenByteSize = h.byteSize();
      seenPairs = h.all();
    } else if (mode == "readInto") {
      seenRead = [];
      seenReadFound = [];
      seenReadLengths = [];
      seenReadFound.push(h.readInto(":path", readBuffer));
      seenRead.push(readBuffer.toString());
      seenReadFound.push(h.readInto("x-absent", readBuffer));
      seenReadLengths.push(readBuffer.length);
      h.add("x-long", "v".repeat(3000));
      seenReadFound.push(h.readInto("x-long", readBuffer));
      seenReadLengths.push(readBuffer.length);
      seenReadFound.push(readBuffer.byteAt(2999) == 0x76 && readBuffer.byteAt(3000) == -1);
      seenReadFound.push(h.readInto(":method", readBuffer));
      seenRead.push(readBuffer.toString());
      // A string read after it still gets its own bytes: readInto gave its block back.
      const path = h.get(":path");
      seenRead.push(path !== null ? path : "null");
    } else if (mode == "setAll") {
      h.setAll([new Header(":method", "GET"), new Header(":path", "/rewritten"), new Header(":authority", "h"), new Header("x-set", "1")]);
    } else if (mode == "properties") {
      seenPath = properties.getString("request.path");
      seenMethod = properties.getString("request.method");
      seenMissingProperty = properties.get("request.headers.x-not-there") === null;
      seenMissingPropertyResult = lastResult();
      seenRootId = properties.getString("plugin_root_id");
    } else if (mode == "deny") {
      this.sendLocalResponse(418, "short and stout", [new Header("x-reason", "teapot")], "teapot");
      return FilterHeadersStatus.Continue;
    } else if (mode == "pause") {
      return FilterHeadersStatus.StopIteration;
    } else if (mode == "log") {
      log.debug("debug line");
      log.info("info line");
    }
    return FilterHeadersStatus.Continue;
  }

  onRequestBody(size: u32, endOfStream: bool): FilterDataStatus {
    if (mode == "buffer") {
      seenBodySizes.push(size);
      if (!endOfStream) return FilterDataStatus.StopIterationAndBuffer;
      seenBody = this.requestBody.text();
      this.requestBody.prepend("<");
      this.requestBody.append(">");
      return FilterDataStatus.Continue;
    }
    if (mode == "replaceBody") {
      this.requestBody.replace("replaced");
    }
    return FilterDataStatus.Continue;
  }

  onResponseHeaders(count: u32, endOfStream: bool): FilterHeadersStatus {
    seenAfterContinue = this.requestHeaders.add("x-late", "1");
    if (mode != "deny") this.responseHeaders.add("x-added", "yes");
    return FilterHeadersStatus.Continue;
  }
}

registerRootContext((id: u32) => new Root(id), "spec");

function request(path: string = "/"): Array<Header> {
  return [new Header(":method", "GET"), new Header(":path", path), new Header(":authority", "example.com"),
    new Header("x-replaced", "old"), new Header("x-replaced", "older"), new Header("x-removed", "gone")];
}

function runStream(requestMode: string): u32 {
  mode = requestMode;
  const stream = mockHost.openStream();
  mockHost.sendHeaders(stream, REQUEST, request(), true);
  return stream;
}

describe("plugin start", () => {
  it("starts with its configuration readable in onConfigure", () => {
    expect(mockHost.start("spec", "{\"a\": 1}")).toBe(true);
    expect(seenConfig).toBe("{\"a\": 1}");
  });

  it("fails to start when onConfigure returns false", () => {
    expect(mockHost.start("spec", "reject")).toBe(false);
    expect(mockHost.start("spec", "")).toBe(true);
  });

  it("fails to start, with a critical log naming the fix, for a root id nothing registered", () => {
    expect(mockHost.start("other")).toBe(false);
    const line = mockHost.lastLog(LogLevel.Critical)!;
    expect(line).toBe(
      "no root context is registered for root id \"other\" (registered: \"spec\"); set the WasmPlugin's " +
      "pluginName to one of them, or register one with registerRootContext(factory, \"other\")",
    );
  });

  it("serves the empty root id Istio sends without pluginName, as the single registration", () => {
    expect(mockHost.start("")).toBe(true);
  });
});

describe("headers", () => {
  it("gets, adds, replaces, removes and lists headers as Envoy does", () => {
    mockHost.start("spec");
    const stream = runStream("headers");
    expect(seenFirst).toBe("one");
    expect(seenAll.length).toBe(2);
    expect(seenAll[1]).toBe("two");
    expect(seenAllAre[0]).toBe(true, "every x-same is v");
    expect(seenAllAre[1]).toBe(false, "one x-multi is two");
    expect(seenAllAre[2]).toBe(false, "absent is not allowed");
    expect(seenAllAre[3]).toBe(false, "values compare whole, not as prefixes");
    expect(seenAllAre[4]).toBe(true, "pseudo-headers too");
    expect(seenByName[0]).toBe("one");
    expect(seenByName[1]).toBe("GET");
    expect(seenByName[2]).toBe("/");
    expect(seenByName[4]).toBeNull();
    expect(seenByName[10]).toBe("GET", "a literal evicted from the cache is encoded again");
    expect(seenByName[11]).toBe("one");
    expect(seenByName[12]).toBe("one");
    expect(seenMissing).toBeNull();
    expect(seenMissingResult).toBe(WasmResult.NotFound);
    expect(mockHost.forwardedHeader(stream, REQUEST, "x-replaced")).toBe("new");
    expect(mockHost.forwardedHeader(stream, REQUEST, "x-removed")).toBeNull();
    // :method GET :path / :authority example.com x-multi one x-multi two x-replaced new
    expect(seenByteSize).toBe(7 + 3 + 5 + 1 + 10 + 11 + 7 + 3 + 7 + 3 + 10 + 3);
    expect(seenPairs.length).toBe(6);
    expect(seenPairs[0].name).toBe(":method");
    expect(seenPairs[5].name).toBe("x-replaced");
  });

  it("reads a header into a ByteBuffer in place: found, absent (emptied), larger than the buffer and the scratch block", () => {
    mockHost.start("spec");
    runStream("readInto");
    expect(seenReadFound.length).toBe(5);
    expect(seenReadFound[0]).toBe(true);
    expect(seenRead[0]).toBe("/");
    expect(seenReadFound[1]).toBe(false, "an absent header reads false");
    expect(seenReadLengths[0]).toBe(0, "and leaves the buffer empty");
    expect(seenReadFound[2]).toBe(true);
    expect(seenReadLengths[1]).toBe(3000, "the buffer grows to a 3,000-byte value");
    expect(seenReadFound[3]).toBe(true, "every byte of it arrived");
    expect(seenReadFound[4]).toBe(true);
    expect(seenRead[1]).toBe("GET", "a shorter value after a long one");
    expect(seenRead[2]).toBe("/");
  });

  it("replaces the whole map with setAll", () => {
    mockHost.start("spec");
    const stream = runStream("setAll");
    expect(mockHost.forwardedHeader(stream, REQUEST, ":path")).toBe("/rewritten");
    expect(mockHost.forwardedHeader(stream, REQUEST, "x-set")).toBe("1");
    expect(mockHost.forwardedHeader(stream, REQUEST, "x-replaced")).toBeNull();
  });

  it("returns BadArgument for request headers once they went upstream, and writes response headers", () => {
    mockHost.start("spec");
    const stream = runStream("none");
    mockHost.sendHeaders(stream, RESPONSE, [new Header(":status", "200")], true);
    expect(seenAfterContinue).toBe(WasmResult.BadArgument);
    expect(mockHost.forwardedHeader(stream, RESPONSE, "x-added")).toBe("yes");
  });
});

describe("bodies", () => {
  it("sees the cumulative size while buffering, then the whole body, and edits it", () => {
    mockHost.start("spec");
    mode = "buffer";
    seenBodySizes = [];
    const stream = mockHost.openStream();
    mockHost.sendHeaders(stream, REQUEST, request(), false);
    expect(mockHost.sendBody(stream, REQUEST, "hello ", false)).toBe(FilterDataStatus.StopIterationAndBuffer);
    expect(mockHost.sendBody(stream, REQUEST, "world", true)).toBe(FilterDataStatus.Continue);
    expect(seenBodySizes.length).toBe(2);
    expect(seenBodySizes[0]).toBe(6);
    expect(seenBodySizes[1]).toBe(11);
    expect(seenBody).toBe("hello world");
    expect(mockHost.forwardedBody(stream, REQUEST)).toBe("<hello world>");
  });

  it("replaces a chunk", () => {
    mockHost.start("spec");
    mode = "replaceBody";
    const stream = mockHost.openStream();
    mockHost.sendHeaders(stream, REQUEST, request(), false);
    mockHost.sendBody(stream, REQUEST, "original", true);
    expect(mockHost.forwardedBody(stream, REQUEST)).toBe("replaced");
  });
});

describe("local responses and pausing", () => {
  it("answers locally; Envoy stops the request and runs the reply through the response callbacks", () => {
    mockHost.start("spec");
    const stream = runStream("deny");
    expect(mockHost.localResponseStatus(stream)).toBe(418);
    expect(mockHost.localResponseBody(stream)).toBe("short and stout");
    expect(mockHost.forwardedHeader(stream, RESPONSE, "x-reason")).toBe("teapot");
    expect(mockHost.forwardedHeader(stream, RESPONSE, ":status")).toBe("418");
  });

  it("pauses the request until it is continued", () => {
    mockHost.start("spec");
    const stream = runStream("pause");
    expect(mockHost.paused(stream, REQUEST)).toBe(true);
  });
});

describe("properties", () => {
  it("reads request attributes, and a missing one is null with NotFound", () => {
    mockHost.start("spec");
    runStream("properties");
    expect(seenPath).toBe("/");
    expect(seenMethod).toBe("GET");
    expect(seenMissingProperty).toBe(true);
    expect(seenMissingPropertyResult).toBe(WasmResult.NotFound);
    expect(seenRootId).toBe("spec");
  });
});

describe("logging", () => {
  it("drops messages below the host's level without a host call", () => {
    mockHost.start("spec", "", LogLevel.Info);
    runStream("log");
    expect(mockHost.logCount(LogLevel.Debug)).toBe(0);
    expect(mockHost.lastLog(LogLevel.Info)).toBe("info line");
  });

  it("keeps them when the level allows", () => {
    mockHost.start("spec", "", LogLevel.Debug);
    runStream("log");
    expect(mockHost.lastLog(LogLevel.Debug)).toBe("debug line");
  });
});
