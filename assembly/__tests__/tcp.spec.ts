// The SDK's TCP API against the mock host: one root serves both HTTP streams and TCP
// connections (the first callback decides which context it makes), and every call goes
// through the real host functions in the phase Envoy would be in.
import {
  FilterHeadersStatus, FilterStatus, Header, HttpContext, lastResult, PeerType, properties,
  registerRootContext, RootContext, TcpContext, WasmResult,
} from "..";
import { DOWNSTREAM, mockHost, REQUEST, UPSTREAM } from "../testing/host";

// What the contexts saw (AssemblyScript has no closures).
let events: Array<string> = [];
let mode: string = "";
let httpContextsMade: u32 = 0;
let tcpContextsMade: u32 = 0;
let seenSizes: Array<u32> = [];
let seenText: string = "";
let seenResult: WasmResult = WasmResult.Ok;
let seenSecondResult: WasmResult = WasmResult.Ok;
let seenSize: u32 = 99;
let seenSource: string | null = null;
let greeted = false;

function reset(newMode: string): void {
  events = [];
  mode = newMode;
  seenSizes = [];
  seenText = "";
  seenResult = WasmResult.Ok;
  seenSecondResult = WasmResult.Ok;
  seenSize = 99;
  seenSource = null;
  greeted = false;
}

class Root extends RootContext {
  createHttpContext(id: u32): HttpContext {
    httpContextsMade++;
    return new Stream(id, this);
  }
  createTcpContext(id: u32): TcpContext {
    tcpContextsMade++;
    return new Connection(id, this);
  }
}

class Stream extends HttpContext {
  onRequestHeaders(count: u32, endOfStream: bool): FilterHeadersStatus {
    events.push("http:requestHeaders");
    return FilterHeadersStatus.Continue;
  }
}

class Connection extends TcpContext {
  onNewConnection(): FilterStatus {
    events.push("newConnection");
    if (mode == "outside") {
      seenSize = this.downstreamData.size();
      seenResult = this.downstreamData.append("x");
      seenSecondResult = this.continueUpstream();
    } else if (mode == "properties") {
      seenSource = properties.getString("source.address");
    }
    return FilterStatus.Continue;
  }

  onDownstreamData(dataSize: u32, endOfStream: bool): FilterStatus {
    events.push("downstreamData(" + dataSize.toString() + "," + (endOfStream ? "1" : "0") + ")");
    if (mode == "tag") {
      this.downstreamData.prepend("[tag] ");
    } else if (mode == "hold") {
      seenSizes.push(dataSize);
      if (!endOfStream) return FilterStatus.StopIteration;
      seenText = this.downstreamData.text();
      this.downstreamData.replace(seenText.toUpperCase());
    } else if (mode == "serverFirst") {
      if (!greeted) return FilterStatus.StopIteration;
    } else if (mode == "close") {
      seenResult = this.closeDownstream();
    } else if (mode == "closeUpstream") {
      seenResult = this.closeUpstream();
    }
    return FilterStatus.Continue;
  }

  onUpstreamData(dataSize: u32, endOfStream: bool): FilterStatus {
    events.push("upstreamData(" + dataSize.toString() + "," + (endOfStream ? "1" : "0") + ")");
    if (mode == "tag") {
      this.upstreamData.replace("<" + this.upstreamData.text() + ">");
    } else if (mode == "serverFirst" && !greeted) {
      greeted = true;
      seenResult = this.continueDownstream();
    }
    return FilterStatus.Continue;
  }

  onDownstreamConnectionClose(peerType: PeerType): void {
    events.push("downstreamClose(" + (<i32>peerType).toString() + ")");
  }

  onUpstreamConnectionClose(peerType: PeerType): void {
    events.push("upstreamClose(" + (<i32>peerType).toString() + ")");
  }

  onDone(): bool {
    events.push("done");
    return true;
  }

  onLog(): void {
    events.push("log");
  }

  onDelete(): void {
    events.push("delete");
  }
}

/** A root that makes no TCP contexts: its connections pass untouched. */
class PlainRoot extends RootContext {}

registerRootContext((id: u32) => new Root(id), "tcp-spec");
registerRootContext((id: u32) => new PlainRoot(id), "plain");

function joined(list: Array<string>): string {
  return list.join(" ");
}

describe("context kinds", () => {
  it("makes a TcpContext for a connection and an HttpContext for a stream, from the same root", () => {
    expect(mockHost.start("tcp-spec")).toBe(true);
    reset("");
    const httpBefore = httpContextsMade;
    const tcpBefore = tcpContextsMade;
    const connection = mockHost.openConnection();
    expect(mockHost.newConnectionStatus(connection)).toBe(FilterStatus.Continue);
    const stream = mockHost.openStream();
    mockHost.sendHeaders(stream, REQUEST, [new Header(":method", "GET"), new Header(":path", "/"), new Header(":authority", "h")], true);
    expect(tcpContextsMade - tcpBefore).toBe(1);
    expect(httpContextsMade - httpBefore).toBe(1);
    expect(joined(events)).toBe("newConnection http:requestHeaders");
  });

  it("lets connections through untouched when the root makes no TcpContext", () => {
    expect(mockHost.start("plain")).toBe(true);
    reset("tag");
    const connection = mockHost.openConnection();
    expect(mockHost.sendData(connection, DOWNSTREAM, "ping")).toBe(FilterStatus.Continue);
    expect(mockHost.forwardedData(connection, DOWNSTREAM)).toBe("ping");
    expect(events.length).toBe(0);
  });
});

describe("connection lifecycle", () => {
  it("runs Envoy's order: upstream close on its end of stream, then the client's close, onDone, onLog, onDelete", () => {
    mockHost.start("tcp-spec");
    reset("");
    const connection = mockHost.openConnection();
    mockHost.sendData(connection, DOWNSTREAM, "hi");
    mockHost.sendData(connection, UPSTREAM, "hello", true);
    mockHost.closeDownstream(connection, PeerType.Remote);
    expect(joined(events)).toBe(
      "newConnection downstreamData(2,0) upstreamData(5,1) upstreamClose(0) downstreamClose(2) done log delete",
    );
    expect(mockHost.closeType(connection)).toBe(PeerType.Remote);
  });

  it("closes from the plugin: the bytes stop there, the close is LOCAL, the teardown follows", () => {
    mockHost.start("tcp-spec");
    reset("close");
    const connection = mockHost.openConnection();
    mockHost.sendData(connection, DOWNSTREAM, "unwanted");
    expect(seenResult).toBe(WasmResult.Ok);
    expect(mockHost.forwardedData(connection, DOWNSTREAM)).toBe("");
    expect(mockHost.closeType(connection)).toBe(PeerType.Local);
    expect(joined(events)).toBe("newConnection downstreamData(8,0) downstreamClose(1) done log delete");
  });

  it("closeUpstream closes the client connection too, as Envoy does", () => {
    mockHost.start("tcp-spec");
    reset("closeUpstream");
    const connection = mockHost.openConnection();
    mockHost.sendData(connection, DOWNSTREAM, "x");
    expect(seenResult).toBe(WasmResult.Ok);
    expect(mockHost.closeType(connection)).toBe(PeerType.Local);
  });

  it("sees the upstream's close as a LOCAL close of the client connection", () => {
    mockHost.start("tcp-spec");
    reset("");
    const connection = mockHost.openConnection();
    mockHost.closeUpstream(connection);
    expect(joined(events)).toBe("newConnection downstreamClose(1) done log delete");
  });
});

describe("connection data", () => {
  it("edits the bytes in both directions", () => {
    mockHost.start("tcp-spec");
    reset("tag");
    const connection = mockHost.openConnection();
    mockHost.sendData(connection, DOWNSTREAM, "GET /");
    mockHost.sendData(connection, UPSTREAM, "200");
    expect(mockHost.forwardedData(connection, DOWNSTREAM)).toBe("[tag] GET /");
    expect(mockHost.forwardedData(connection, UPSTREAM)).toBe("<200>");
  });

  it("holds bytes while it answers StopIteration and sees them again with the next chunk", () => {
    mockHost.start("tcp-spec");
    reset("hold");
    const connection = mockHost.openConnection();
    expect(mockHost.sendData(connection, DOWNSTREAM, "ab")).toBe(FilterStatus.StopIteration);
    expect(mockHost.heldData(connection, DOWNSTREAM)).toBe("ab");
    expect(mockHost.sendData(connection, DOWNSTREAM, "cd")).toBe(FilterStatus.StopIteration);
    expect(mockHost.sendData(connection, DOWNSTREAM, "e", true)).toBe(FilterStatus.Continue);
    expect(seenSizes.length).toBe(3);
    expect(seenSizes[0]).toBe(2);
    expect(seenSizes[1]).toBe(4);
    expect(seenSizes[2]).toBe(5);
    expect(seenText).toBe("abcde");
    expect(mockHost.forwardedData(connection, DOWNSTREAM)).toBe("ABCDE");
    expect(mockHost.heldData(connection, DOWNSTREAM)).toBe("");
  });

  it("releases held client bytes with continueDownstream (here once the server has greeted)", () => {
    mockHost.start("tcp-spec");
    reset("serverFirst");
    const connection = mockHost.openConnection();
    expect(mockHost.sendData(connection, DOWNSTREAM, "EHLO")).toBe(FilterStatus.StopIteration);
    mockHost.sendData(connection, UPSTREAM, "220 ready");
    expect(seenResult).toBe(WasmResult.Ok);
    expect(mockHost.forwardedData(connection, DOWNSTREAM)).toBe("EHLO");
    expect(mockHost.forwardedData(connection, UPSTREAM)).toBe("220 ready");
    expect(joined(events)).toBe("newConnection downstreamData(4,0) upstreamData(9,0)");
  });

  it("finds the data buffers empty outside their callbacks, refuses writes there, and gets Unimplemented for continueUpstream", () => {
    mockHost.start("tcp-spec");
    reset("outside");
    mockHost.openConnection();
    expect(seenSize).toBe(0);
    expect(seenResult).toBe(WasmResult.BadArgument);
    expect(seenSecondResult).toBe(WasmResult.Unimplemented);
    expect(lastResult()).toBe(WasmResult.Unimplemented);
  });

  it("reads the connection's properties", () => {
    mockHost.start("tcp-spec");
    reset("properties");
    mockHost.openConnection();
    expect(seenSource).toBe("127.0.0.1:50000");
  });
});
