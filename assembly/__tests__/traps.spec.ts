// A plugin that traps fails the spec that drove it, as in node tests: the helper that ran
// the callback throws the host's failure report (the host has applied Envoy's behaviour).
import { FilterHeadersStatus, Header, HttpContext, registerRootContext, RootContext } from "..";
import { mockHost, REQUEST } from "../testing/host";

class Root extends RootContext {
  createHttpContext(id: u32): HttpContext { return new OutOfRange(id, this); }
}

class OutOfRange extends HttpContext {
  onRequestHeaders(count: u32, endOfStream: bool): FilterHeadersStatus {
    const empty = new Array<i32>();
    return <FilterHeadersStatus>empty[<i32>count];
  }
}

registerRootContext((id: u32) => new Root(id));

function sendRequest(): void {
  const stream = mockHost.openStream();
  mockHost.sendHeaders(stream, REQUEST, [new Header(":method", "GET"), new Header(":path", "/"), new Header(":authority", "h")], true);
}

describe("a trap in plugin code", () => {
  it("throws from the helper that ran the callback", () => {
    expect(mockHost.start()).toBe(true);
    expect(mockHost.failureReport()).toBeNull();
    expect(sendRequest).toThrow();
  });

  it("is reported as the abort it was, with the callback and the plugin's frame", () => {
    const report = mockHost.failureReport();
    expect(report).not.toBeNull();
    const text = report!;
    expect(text.startsWith("abort in proxy_on_request_headers: Index out of range at ~lib/array.ts:")).toBe(true, text);
    expect(text.includes("    at OutOfRange#onRequestHeaders")).toBe(true, text);
  });
});
