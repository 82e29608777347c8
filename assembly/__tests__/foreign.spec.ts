// Foreign functions both ways against the mock host (ABI.md §4.3, §5.14). The harness
// registers "pwas_test.echo" (returns its arguments) and "pwas_test.fail" (ParseFailure).
import { callForeignFunction, foreignFunctionArguments, lastResult, registerRootContext, RootContext, WasmResult } from "..";
import { mockHost } from "../testing/host";

let calledWith: u32 = 0;
let argumentsSize: u32 = 0;
let argumentsText: string = "";

class Root extends RootContext {
  onForeignFunction(functionId: u32, size: u32): void {
    calledWith = functionId;
    argumentsSize = size;
    argumentsText = String.UTF8.decode(foreignFunctionArguments());
  }
}

registerRootContext((id: u32) => new Root(id), "foreign");

describe("callForeignFunction", () => {
  it("returns the function's output", () => {
    mockHost.start("foreign");
    const out = callForeignFunction("pwas_test.echo", "hello");
    expect(out).not.toBeNull();
    expect(String.UTF8.decode(out!)).toBe("hello");
  });

  it("round-trips Envoy's compress and uncompress", () => {
    mockHost.start("foreign");
    const text = "abcabcabcabcabcabcabcabc";
    const compressed = callForeignFunction("compress", text)!;
    expect(compressed.byteLength).toBeGreaterThan(0);
    const restored = callForeignFunction("uncompress", compressed)!;
    expect(String.UTF8.decode(restored)).toBe(text);
  });

  it("is empty, not null, for a function without output (clear_route_cache)", () => {
    mockHost.start("foreign");
    const out = callForeignFunction("clear_route_cache", "");
    expect(out).not.toBeNull();
    expect(out!.byteLength).toBe(0);
  });

  it("is null with NotFound for an unknown name, and with the function's status when it fails", () => {
    mockHost.start("foreign");
    expect(callForeignFunction("no_such_function", "")).toBeNull();
    expect(lastResult()).toBe(WasmResult.NotFound);
    expect(callForeignFunction("pwas_test.fail", "")).toBeNull();
    expect(lastResult()).toBe(WasmResult.ParseFailure);
    expect(callForeignFunction("uncompress", "not zlib")).toBeNull();
    expect(lastResult()).toBe(WasmResult.SerializationFailure);
  });
});

describe("onForeignFunction", () => {
  it("gets the function id and size, with the arguments readable", () => {
    mockHost.start("foreign");
    expect(mockHost.invokeForeignFunction(42, "the arguments")).toBe(true);
    expect(calledWith).toBe(42);
    expect(argumentsSize).toBe(13);
    expect(argumentsText).toBe("the arguments");
  });
});
