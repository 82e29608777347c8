// Wires the mock host into as-pect: the AssemblyScript test module gets the real host
// functions (env.proxy_*, WASI), and a small `pwas_test` import module through which a
// spec starts the plugin and drives HTTP streams, so SDK code runs against the same host
// behaviour as a built plugin. See assembly/__tests__/support/host.ts for the spec side.
import { Host, LogLevel, PluginVm, resolveSettings } from "../../dist/index.js";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export function createAspectHost() {
  let vm = newVm({});
  let host;
  let instance;
  const streams = [];

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
  const message = (stream, direction) => (direction === 0 ? streams[stream].request : streams[stream].response);

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
      vm = newVm({ rootId: readString(rootIdPtr, rootIdLen), pluginConfig: readString(configPtr, configLen), logLevel });
      imports = vm.importObject();
      vm.bind(instance);
      host = Host.fromVm(vm);
      return host.start().ok ? 1 : 0;
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
  };

  return {
    /** Imports to merge into as-pect's. */
    imports: { ...delegating, pwas_test: pwasTest },
    /** Call with the instance as-pect created. */
    attach(created) {
      instance = created;
    },
  };
}

