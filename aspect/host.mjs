// Wires the mock host into as-pect: the AssemblyScript test module gets the real host
// functions (env.proxy_*, WASI), and a small `pwas_test` import module through which a
// spec starts the plugin and drives HTTP streams, so SDK code runs against the same host
// behaviour as a built plugin. See assembly/testing/host.ts for the spec side.
import { COVERAGE_IMPORT_MODULE, Host, LogLevel, PluginTrapError, PluginVm, WasmResult, coverageImports, resolveSettings } from "../dist/index.js";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * as-pect shows an error's first line and only the stack lines that mention wasm: the
 * plugin's frames from the failure report are written in that form, so a spec whose plugin
 * trapped fails naming them.
 */
function counters(binary) {
  if (!binary) return {};
  const builds = WebAssembly.Module.imports(new WebAssembly.Module(binary)).filter((i) => i.module === COVERAGE_IMPORT_MODULE).map((i) => i.name);
  return builds.length > 0 ? { [COVERAGE_IMPORT_MODULE]: coverageImports(builds) } : {};
}

function withTrapReports(functions) {
  const wrapped = {};
  for (const [name, fn] of Object.entries(functions)) {
    wrapped[name] = (...args) => {
      try {
        return fn(...args);
      } catch (error) {
        if (error instanceof PluginTrapError) {
          const [first, ...frames] = error.failure.report.split("\n");
          error.stack = [`${error.name}: ${first}`, ...frames.map((frame) => `${frame} (plugin wasm)`)].join("\n");
        }
        throw error;
      }
    };
  }
  return wrapped;
}

/** `binary`: the spec module; under `pwas coverage` its counters (the coverage transform's) are provided. */
export function createAspectHost(binary) {
  let vm = newVm({});
  let host;
  let instance;
  const streams = [];
  const connections = [];

  function newVm(options) {
    return new PluginVm(resolveSettings({ logLevel: LogLevel.Trace, ...options }));
  }

  const memory = () => new Uint8Array(instance.exports.memory.buffer);
  const readString = (ptr, len) => decoder.decode(memory().slice(ptr >>> 0, (ptr >>> 0) + (len >>> 0)));
  const readPairs = (ptr, len) => {
    const view = new DataView(instance.exports.memory.buffer);
    const count = len === 0 ? 0 : view.getUint32(ptr, true);
    const pairs = [];
    let data = ptr + 4 + 8 * count;
    for (let i = 0; i < count; i++) {
      const k = view.getUint32(ptr + 4 + 8 * i, true);
      const v = view.getUint32(ptr + 8 + 8 * i, true);
      pairs.push([readString(data, k), readString(data + k + 1, v)]);
      data += k + v + 2;
    }
    return pairs;
  };
  /** Hands a string to the module through its allocator; returns its length, or -1 for none. */
  const writeOut = (text, ptrOut, sizeOut) => {
    if (text === undefined) return -1;
    const bytes = typeof text === "string" ? encoder.encode(text) : text;
    const ptr = bytes.length === 0 ? 0 : instance.exports.malloc(bytes.length) >>> 0;
    if (bytes.length) memory().set(bytes, ptr);
    const view = new DataView(instance.exports.memory.buffer);
    view.setUint32(ptrOut, ptr, true);
    view.setUint32(sizeOut, bytes.length, true);
    return bytes.length;
  };
  // HostOptions for the next start (pwas_test.host_options); the test functions are registered on every host.
  let nextOptions = {};
  const testForeignFunctions = {
    "pwas_test.echo": (args) => args,
    "pwas_test.fail": () => ({ status: WasmResult.ParseFailure, result: "failed" }),
  };
  const message = (stream, direction) => (direction === 0 ? streams[stream].request : streams[stream].response);
  const byToken = (list, token, what) => {
    const found = list.find((c) => c.token === token >>> 0);
    if (!found) throw new Error(`no ${what} with token ${token >>> 0}`);
    return found;
  };
  const httpCall = (token) => byToken(host.httpCallHistory, token, "HTTP call");
  const grpcCall = (token) => byToken(host.grpcCallHistory, token, "gRPC call");
  const grpcStream = (token) => byToken(host.grpcStreamHistory, token, "gRPC stream");

  // Host functions delegate to the current VM, so a spec can restart the plugin with
  // other settings while the test module (and its imports) stay the same.
  const delegating = {};
  for (const [module, functions] of Object.entries(vm.importObject())) {
    delegating[module] = {};
    for (const name of Object.keys(functions)) {
      delegating[module][name] = (...args) => currentImports()[module][name](...args);
    }
  }
  let imports = vm.importObject();
  const currentImports = () => imports;

  const pwasTest = {
    /** (Re)starts the plugin: root id, plugin configuration, log level. Returns 1 when it started. */
    start(rootIdPtr, rootIdLen, configPtr, configLen, logLevel) {
      if (host) host.shutdown();
      streams.length = 0;
      connections.length = 0;
      vm = newVm({ ...nextOptions, rootId: readString(rootIdPtr, rootIdLen), pluginConfig: readString(configPtr, configLen), logLevel });
      imports = vm.importObject();
      vm.bind(instance);
      host = Host.fromVm(vm);
      for (const [name, fn] of Object.entries(testForeignFunctions)) host.registerForeignFunction(name, fn);
      return host.start().ok ? 1 : 0;
    },
    /** A TCP connection through the plugin (on_context_create + on_new_connection run now). */
    open_connection() {
      connections.push(host.newTcpConnection());
      return connections.length - 1;
    },
    new_connection_status(connection) {
      return connections[connection].newConnectionStatus;
    },
    /** direction 0: client → upstream (downstream data); 1: upstream → client. */
    send_data(connection, direction, ptr, len, endOfStream) {
      const c = connections[connection];
      const chunk = memory().slice(ptr >>> 0, (ptr >>> 0) + (len >>> 0));
      return direction === 0 ? c.sendDownstreamData(chunk, endOfStream !== 0) : c.sendUpstreamData(chunk, endOfStream !== 0);
    },
    close_downstream(connection, peer) {
      connections[connection].closeDownstream(peer);
    },
    close_upstream(connection) {
      connections[connection].closeUpstream();
    },
    /** What went past the filter (held 0) or what Envoy holds for it (held 1), in one direction. */
    connection_data(connection, direction, held, ptrOut, sizeOut) {
      const flow = direction === 0 ? connections[connection].downstream : connections[connection].upstream;
      return writeOut(held !== 0 ? flow.held : flow.forwarded, ptrOut, sizeOut);
    },
    /** The peer type of the close (1 local, 2 remote); -1 while open. */
    close_type(connection) {
      return connections[connection].closeType ?? -1;
    },
    open_stream() {
      streams.push(host.newHttpStream());
      return streams.length - 1;
    },
    send_headers(stream, direction, ptr, len, endOfStream) {
      const s = streams[stream];
      const headers = readPairs(ptr, len);
      return direction === 0 ? s.sendRequestHeaders(headers, endOfStream !== 0) : s.sendResponseHeaders(headers, endOfStream !== 0);
    },
    send_body(stream, direction, ptr, len, endOfStream) {
      const s = streams[stream];
      const chunk = memory().slice(ptr >>> 0, (ptr >>> 0) + (len >>> 0));
      return direction === 0 ? s.sendRequestBody(chunk, endOfStream !== 0) : s.sendResponseBody(chunk, endOfStream !== 0);
    },
    send_trailers(stream, direction, ptr, len) {
      const s = streams[stream];
      const trailers = readPairs(ptr, len);
      return direction === 0 ? s.sendRequestTrailers(trailers) : s.sendResponseTrailers(trailers);
    },
    end_stream(stream) {
      streams[stream].end();
    },
    /** The first value of a header as the filter forwarded it; -1 when absent. */
    forwarded_header(stream, direction, namePtr, nameLen, ptrOut, sizeOut) {
      return writeOut(message(stream, direction).headers.get(readString(namePtr, nameLen)), ptrOut, sizeOut);
    },
    forwarded_body(stream, direction, ptrOut, sizeOut) {
      return writeOut(message(stream, direction).body, ptrOut, sizeOut);
    },
    paused(stream, direction) {
      return message(stream, direction).paused ? 1 : 0;
    },
    local_response_status(stream) {
      return streams[stream].localResponse?.status ?? 0;
    },
    local_response_body(stream, ptrOut, sizeOut) {
      return writeOut(streams[stream].localResponse?.body, ptrOut, sizeOut);
    },
    /** The newest log message at exactly `level`; -1 when there is none. */
    last_log(level, ptrOut, sizeOut) {
      const entries = host ? host.logsAt(level) : [];
      return writeOut(entries.length ? entries[entries.length - 1] : undefined, ptrOut, sizeOut);
    },
    log_count(level) {
      return host ? host.logsAt(level).length : 0;
    },
    clear_logs() {
      if (host) host.clearLogs();
    },

    // --- shared state, metrics, foreign functions, shutdown (assembly/__tests__/shared.spec.ts & co.)
    /** HostOptions (JSON: vmId, properties, legacyPropertyNames…) for the next start. */
    host_options(jsonPtr, jsonLen) {
      nextOptions = JSON.parse(readString(jsonPtr, jsonLen));
    },
    /** Runs the work the plugin posted (queue notifications). */
    run_posted() {
      host.process.runPosted();
    },
    shutdown() {
      host.shutdown();
    },
    awaiting_done() {
      return host.awaitingDone ? 1 : 0;
    },
    /** Enqueues as another component of the process would; returns the status. */
    enqueue(token, ptr, len) {
      return host.sharedQueues.enqueue(token >>> 0, memory().slice(ptr >>> 0, (ptr >>> 0) + (len >>> 0)));
    },
    /** Items waiting in a queue; -1 for an unknown token. */
    queue_depth(token) {
      return host.sharedQueues.depth(token >>> 0) ?? -1;
    },
    /** The shared-data value of this VM's vm_id as text; -1 when absent. */
    shared_data(keyPtr, keyLen, ptrOut, sizeOut) {
      return writeOut(host.sharedData.text(host.vmId, readString(keyPtr, keyLen)), ptrOut, sizeOut);
    },
    /** A counter's or gauge's value by name; -1 when never defined. */
    metric_value(namePtr, nameLen) {
      return host.metrics.value(readString(namePtr, nameLen)) ?? -1n;
    },
    /** A histogram's number of samples; -1 when never defined. */
    metric_samples(namePtr, nameLen) {
      return host.metrics.samples(readString(namePtr, nameLen))?.length ?? -1;
    },
    // --- callouts and time (assembly/__tests__/callouts.spec.ts, timers.spec.ts); calls are found by token
    /** Moves the virtual clock: ticks and callout timeouts fire. */
    advance_time(ms) {
      host.advanceTime(ms >>> 0);
    },
    /** The wall clock in ms since the epoch (what the plugin's current time reads, in ms). */
    current_time_ms() {
      return host.currentTimeNs / 1_000_000n;
    },
    /** HTTP calls waiting for an answer. */
    http_call_count() {
      return host.httpCalls.length;
    },
    /** A request header of HTTP call `token` as Envoy sent it; -1 when absent. */
    http_call_header(token, namePtr, nameLen, ptrOut, sizeOut) {
      return writeOut(httpCall(token).headers.get(readString(namePtr, nameLen)), ptrOut, sizeOut);
    },
    http_call_body(token, ptrOut, sizeOut) {
      return writeOut(httpCall(token).body, ptrOut, sizeOut);
    },
    /** Answers HTTP call `token`: status, body, extra headers (pairs). */
    respond_http_call(token, status, bodyPtr, bodyLen, headersPtr, headersLen) {
      httpCall(token).respond({ status, headers: readPairs(headersPtr, headersLen), body: memory().slice(bodyPtr >>> 0, (bodyPtr >>> 0) + (bodyLen >>> 0)) });
    },
    fail_http_call(token) {
      httpCall(token).fail();
    },
    /** Unary gRPC calls waiting for an answer. */
    grpc_call_count() {
      return host.grpcCalls.length;
    },
    grpc_call_message(token, ptrOut, sizeOut) {
      return writeOut(grpcCall(token).message, ptrOut, sizeOut);
    },
    respond_grpc_call(token, ptr, len) {
      grpcCall(token).respond(memory().slice(ptr >>> 0, (ptr >>> 0) + (len >>> 0)));
    },
    fail_grpc_call(token, status, messagePtr, messageLen) {
      grpcCall(token).fail(status, readString(messagePtr, messageLen));
    },
    /** The server side of gRPC stream `token`. */
    grpc_stream_headers(token, pairsPtr, pairsLen) {
      grpcStream(token).sendInitialMetadata(readPairs(pairsPtr, pairsLen));
    },
    grpc_stream_message(token, ptr, len) {
      grpcStream(token).sendMessage(memory().slice(ptr >>> 0, (ptr >>> 0) + (len >>> 0)));
    },
    grpc_stream_close(token, status, messagePtr, messageLen) {
      grpcStream(token).close(status, readString(messagePtr, messageLen));
    },
    /** Message `index` the plugin sent on stream `token`; -1 when there is none. */
    grpc_stream_sent(token, index, ptrOut, sizeOut) {
      return writeOut(grpcStream(token).messages[index], ptrOut, sizeOut);
    },
    /** 0 open, 1 open and half-closed by the plugin, 2 closed by the server, 3 reset. */
    grpc_stream_state(token) {
      const stream = grpcStream(token);
      return stream.state === "closed" ? 2 : stream.state === "reset" ? 3 : stream.halfClosed ? 1 : 0;
    },
    /** Tokens Envoy's Wasm context still tracks for the root. */
    callouts_in_flight() {
      return host.calloutsInFlight.length;
    },

    /** The report of the plugin's failure (host.failure); -1 while it has not failed. */
    failure_report(ptrOut, sizeOut) {
      return writeOut(host?.failure?.report, ptrOut, sizeOut);
    },

    /** The host calls the plugin's proxy_on_foreign_function; 1 when it was called. */
    invoke_foreign_function(functionId, ptr, len) {
      return host.invokeForeignFunction(functionId >>> 0, memory().slice(ptr >>> 0, (ptr >>> 0) + (len >>> 0))) ? 1 : 0;
    },
  };

  // AssemblyScript strings: UTF-16LE, their byte length in the header word before them.
  const readAsString = (ptr) => {
    if (!ptr) return "";
    const bytes = memory();
    const length = new DataView(bytes.buffer).getUint32((ptr >>> 0) - 4, true);
    return new TextDecoder("utf-16le").decode(bytes.slice(ptr >>> 0, (ptr >>> 0) + length));
  };
  const env = {
    ...delegating.env,
    // as-pect calls this before its own abort handler: the trap that follows is reported as this abort.
    abort(messagePtr, filePtr, line, column) {
      vm.noteAbort(`${readAsString(messagePtr)} at ${readAsString(filePtr)}:${line}:${column}`);
    },
  };

  return {
    /** Imports to merge into as-pect's. */
    imports: { ...delegating, env, pwas_test: withTrapReports(pwasTest), ...counters(binary) },
    /** Call with the instance as-pect created. */
    attach(created) {
      instance = created;
    },
  };
}

