// The linking contract between Envoy and a plugin: which host functions exist for each
// ABI version and with which wasm types (ABI.md §1.2, §5, §5.16), which plugin exports
// Envoy looks up (§1.3, §4), and the checks Envoy applies to both before running anything.
import type { AbiVersion } from "./types.js";
import {
  formatEngineFuncType,
  formatFuncType,
  ModuleLoadError,
  sameFuncType,
  type FuncType,
  type ModuleInfo,
  type ValType,
} from "./module.js";

/** `fn("iiI", "i")`: one letter per value, i = i32, I = i64 (the only types the ABI uses). */
function fn(params: string, results = ""): FuncType {
  const types = (s: string): ValType[] => [...s].map((c) => (c === "I" ? "i64" : "i32"));
  return { params: types(params), results: types(results) };
}
const i32s = (n: number, results = "i") => fn("i".repeat(n), results);

/** cpp-host FOR_ALL_HOST_FUNCTIONS: registered for every ABI version. */
const PROXY_FUNCTIONS: Record<string, FuncType> = {
  proxy_log: i32s(3),
  proxy_get_status: i32s(3),
  proxy_set_property: i32s(4),
  proxy_get_property: i32s(4),
  proxy_send_local_response: i32s(8),
  proxy_get_shared_data: i32s(5),
  proxy_set_shared_data: i32s(5),
  proxy_register_shared_queue: i32s(3),
  proxy_resolve_shared_queue: i32s(5),
  proxy_dequeue_shared_queue: i32s(3),
  proxy_enqueue_shared_queue: i32s(3),
  proxy_get_header_map_value: i32s(5),
  proxy_add_header_map_value: i32s(5),
  proxy_replace_header_map_value: i32s(5),
  proxy_remove_header_map_value: i32s(3),
  proxy_get_header_map_pairs: i32s(3),
  proxy_set_header_map_pairs: i32s(3),
  proxy_get_header_map_size: i32s(2),
  proxy_get_buffer_status: i32s(3),
  proxy_get_buffer_bytes: i32s(5),
  proxy_set_buffer_bytes: i32s(5),
  proxy_http_call: i32s(10),
  proxy_grpc_call: i32s(12),
  proxy_grpc_stream: i32s(9),
  proxy_grpc_close: i32s(1),
  proxy_grpc_cancel: i32s(1),
  proxy_grpc_send: i32s(4),
  proxy_set_tick_period_milliseconds: i32s(1),
  proxy_get_current_time_nanoseconds: i32s(1),
  proxy_define_metric: i32s(4),
  proxy_increment_metric: fn("iI", "i"),
  proxy_record_metric: fn("iI", "i"),
  proxy_get_metric: i32s(2),
  proxy_set_effective_context: i32s(1),
  proxy_done: i32s(0),
  proxy_call_foreign_function: i32s(6),
  // Not proxy-wasm, but registered in `env` for every version (cpp-host + Envoy).
  pthread_equal: i32s(2),
  emscripten_notify_memory_growth: i32s(1, ""),
  envoy_resolve_dns: i32s(3),
};

/** Registered only for the listed version(s) (cpp-host `registerCallbacks`). */
const VERSIONED_FUNCTIONS: Record<AbiVersion, Record<string, FuncType>> = {
  "0.1.0": {
    proxy_get_configuration: i32s(2),
    proxy_continue_request: i32s(0), // the 0.1.0 spec says "no result"; cpp-host returns i32
    proxy_continue_response: i32s(0),
    proxy_clear_route_cache: i32s(0),
  },
  "0.2.0": { proxy_continue_stream: i32s(1), proxy_close_stream: i32s(1) },
  "0.2.1": { proxy_continue_stream: i32s(1), proxy_close_stream: i32s(1), proxy_get_log_level: i32s(1) },
};

/** cpp-host FOR_ALL_WASI_FUNCTIONS, registered under both WASI module names. */
export const WASI_FUNCTIONS: Readonly<Record<string, FuncType>> = {
  args_get: i32s(2),
  args_sizes_get: i32s(2),
  environ_get: i32s(2),
  environ_sizes_get: i32s(2),
  clock_res_get: i32s(2),
  clock_time_get: fn("iIi", "i"),
  fd_advise: fn("iIIi", "i"),
  fd_allocate: fn("iII", "i"),
  fd_close: i32s(1),
  fd_datasync: i32s(1),
  fd_fdstat_get: i32s(2),
  fd_fdstat_set_flags: i32s(2),
  fd_fdstat_set_rights: fn("iII", "i"),
  fd_filestat_get: i32s(2),
  fd_filestat_set_size: fn("iI", "i"),
  fd_filestat_set_times: fn("iIIi", "i"),
  fd_pread: fn("iiiIi", "i"),
  fd_prestat_get: i32s(2),
  fd_prestat_dir_name: i32s(3),
  fd_pwrite: fn("iiiIi", "i"),
  fd_read: i32s(4),
  fd_readdir: fn("iiiIi", "i"),
  fd_renumber: i32s(2),
  fd_seek: fn("iIii", "i"),
  fd_sync: i32s(1),
  fd_tell: i32s(2),
  fd_write: i32s(4),
  path_create_directory: i32s(3),
  path_filestat_get: i32s(5),
  path_filestat_set_times: fn("iiiiIIi", "i"),
  // ⚠ cpp-host declares these with one parameter fewer than WASI preview1 (7 and 5), so a
  // module importing the standard signature fails to link (verified in cpp-host).
  path_link: i32s(6),
  path_symlink: i32s(4),
  path_open: fn("iiiiiIIii", "i"),
  path_readlink: i32s(6),
  path_remove_directory: i32s(3),
  path_rename: i32s(6),
  path_unlink_file: i32s(3),
  poll_oneoff: i32s(4),
  proc_exit: i32s(1, ""),
  random_get: i32s(2),
  sched_yield: i32s(0),
  sock_accept: i32s(3),
  sock_recv: i32s(6),
  sock_send: i32s(5),
  sock_shutdown: i32s(2),
};

export const WASI_MODULES = ["wasi_snapshot_preview1", "wasi_unstable"] as const;

/** Every import Envoy can satisfy for `version`, keyed "module.name". */
const hostTables = new Map<AbiVersion, ReadonlyMap<string, FuncType>>();

/** What the host provides for `version`, keyed `module.name`: built once per version (every load reads it). */
export function hostFunctionTypes(version: AbiVersion): ReadonlyMap<string, FuncType> {
  let table = hostTables.get(version);
  if (!table) hostTables.set(version, (table = buildHostFunctionTypes(version)));
  return table;
}

function buildHostFunctionTypes(version: AbiVersion): Map<string, FuncType> {
  const table = new Map<string, FuncType>();
  for (const [name, type] of Object.entries({ ...PROXY_FUNCTIONS, ...VERSIONED_FUNCTIONS[version] })) {
    table.set(`env.${name}`, type);
  }
  for (const module of WASI_MODULES) {
    for (const [name, type] of Object.entries(WASI_FUNCTIONS)) table.set(`${module}.${name}`, type);
  }
  return table;
}

/** Start-up and allocator exports, in the order cpp-host `getFunctions` looks them up. */
const STARTUP_EXPORTS: Record<string, FuncType> = {
  _initialize: i32s(0, ""),
  main: i32s(2),
  __main_void: i32s(0),
  _start: i32s(0, ""),
  malloc: i32s(1),
  proxy_on_memory_allocate: i32s(1),
};

/** cpp-host FOR_ALL_MODULE_FUNCTIONS, in lookup order. */
const CALLBACK_EXPORTS: Record<string, FuncType> = {
  proxy_validate_configuration: i32s(2),
  proxy_on_vm_start: i32s(2),
  proxy_on_configure: i32s(2),
  proxy_on_tick: i32s(1, ""),
  proxy_on_context_create: i32s(2, ""),
  proxy_on_new_connection: i32s(1),
  proxy_on_downstream_data: i32s(3),
  proxy_on_upstream_data: i32s(3),
  proxy_on_downstream_connection_close: i32s(2, ""),
  proxy_on_upstream_connection_close: i32s(2, ""),
  proxy_on_request_body: i32s(3),
  proxy_on_request_trailers: i32s(2),
  proxy_on_request_metadata: i32s(2),
  proxy_on_response_body: i32s(3),
  proxy_on_response_trailers: i32s(2),
  proxy_on_response_metadata: i32s(2),
  proxy_on_http_call_response: i32s(5, ""),
  proxy_on_grpc_receive: i32s(3, ""),
  proxy_on_grpc_close: i32s(3, ""),
  proxy_on_grpc_receive_initial_metadata: i32s(3, ""),
  proxy_on_grpc_receive_trailing_metadata: i32s(3, ""),
  proxy_on_queue_ready: i32s(2, ""),
  proxy_on_done: i32s(1),
  proxy_on_log: i32s(1, ""),
  proxy_on_delete: i32s(1, ""),
};

/** Looked up after the common callbacks: the header callbacks changed shape in 0.2.0. */
function versionedExports(version: AbiVersion): Record<string, FuncType> {
  if (version === "0.1.0") {
    return { proxy_on_request_headers: i32s(2), proxy_on_response_headers: i32s(2) };
  }
  return {
    proxy_on_request_headers: i32s(3),
    proxy_on_response_headers: i32s(3),
    proxy_on_foreign_function: i32s(3, ""),
  };
}

/** Envoy's own additions (`Wasm::getFunctions`), looked up last. */
const ENVOY_EXPORTS: Record<string, FuncType> = {
  envoy_on_resolve_dns: i32s(3, ""),
  envoy_on_stats_update: i32s(2, ""),
};

/** Every export Envoy looks up for `version`, with the type it requires, in lookup order. */
export function pluginExportTypes(version: AbiVersion): Map<string, FuncType> {
  return new Map(Object.entries({ ...STARTUP_EXPORTS, ...CALLBACK_EXPORTS, ...versionedExports(version), ...ENVOY_EXPORTS }));
}

/**
 * Links the module's imports the way V8 does in Envoy (cpp-host `V8::link`): the first
 * import the host cannot satisfy fails the load. Imported memories and tables are fine.
 */
export function checkImports(info: ModuleInfo): void {
  const host = hostFunctionTypes(info.abiVersion);
  for (const imp of info.imports) {
    const key = `${imp.module}.${imp.name}`;
    if (imp.kind === "memory" || imp.kind === "table") continue;
    const want = imp.kind === "function" ? host.get(key) : undefined;
    if (!want || !imp.type) {
      throw new ModuleLoadError(`Failed to load Wasm module due to a missing import: ${key}`, missingImportHint(imp.kind, imp.module, imp.name, info.abiVersion));
    }
    if (!sameFuncType(imp.type, want)) {
      throw new ModuleLoadError(
        `Failed to load Wasm module due to an import type mismatch: ${key}, ` +
          `want: ${formatEngineFuncType(imp.type)}, but host exports: ${formatEngineFuncType(want)}`,
        `The module declares ${key} as ${formatFuncType(imp.type)}; Envoy provides ${formatFuncType(want)}. ` +
          mismatchAdvice(imp.name),
      );
    }
  }
}

const ONLY_010 = ["proxy_get_configuration", "proxy_continue_request", "proxy_continue_response", "proxy_clear_route_cache"];
const ONLY_02X = ["proxy_continue_stream", "proxy_close_stream"];

function missingImportHint(kind: string, module: string, name: string, version: AbiVersion): string {
  if (kind !== "function") {
    return `Envoy cannot link an imported ${kind}. Define ${module}.${name} inside the module instead of importing it.`;
  }
  if (module === "env" && (name === "abort" || name === "trace" || name === "seed")) {
    return (
      `AssemblyScript imports env.${name} by default (abort: failed assertions and errors; trace: trace(); ` +
      "seed: Math.random()), and Envoy does not provide it. Build with the SDK's asconfig (\"extends\": " +
      "\"proxy-wasm-as/asconfig.json\"), which redirects abort, trace and seed to SDK functions with " +
      "`--use abort=… trace=… seed=…`; other AssemblyScript SDKs need the same `--use` options."
    );
  }
  const markerHint = (v: string) => `or export proxy_abi_version_${v.replaceAll(".", "_")} instead of proxy_abi_version_${version.replaceAll(".", "_")}`;
  if (module === "env" && name === "proxy_get_log_level") {
    return `proxy_get_log_level exists only in ABI 0.2.1 and this module declares ${version}: don't import it, ${markerHint("0.2.1")}.`;
  }
  if (module === "env" && ONLY_010.includes(name)) {
    return (
      `${name} exists only in ABI 0.1.0 and this module declares ${version}. In 0.2.x use proxy_continue_stream, ` +
      "proxy_get_buffer_bytes (buffer 6/7 for configuration) or the clear_route_cache foreign function."
    );
  }
  if (module === "env" && ONLY_02X.includes(name)) {
    return `${name} exists only in ABI 0.2.x and this module declares 0.1.0: use proxy_continue_request/proxy_continue_response, ${markerHint("0.2.1")}.`;
  }
  if (module === WASI_MODULES[0] || module === WASI_MODULES[1]) {
    return `Envoy implements only part of WASI preview1 (stdout/stderr, clocks, random, environment); ${name} is not among it. Avoid the library call that needs it.`;
  }
  return (
    `Envoy provides only the proxy-wasm functions of ABI ${version}, WASI (wasi_snapshot_preview1 / wasi_unstable), ` +
    `env.pthread_equal, env.emscripten_notify_memory_growth and env.envoy_resolve_dns. Remove the import of ${module}.${name} ` +
    "or implement it inside the module."
  );
}

function mismatchAdvice(name: string): string {
  if (name === "path_link" || name === "path_symlink") {
    return "cpp-host registers path_link and path_symlink with one parameter fewer than WASI preview1, so the standard import cannot link: avoid filesystem calls.";
  }
  return "Fix the declaration (an @external in AssemblyScript) to match.";
}

/**
 * The export checks of cpp-host `getFunctions` (+ Envoy's), in its order: every looked-up
 * function export must have exactly the expected type, and an allocator must exist.
 */
export function checkExports(info: ModuleInfo): void {
  // V8 takes the first exported memory or the imported one; without either, no host call
  // could read or write the plugin. Envoy has no message for it: this one is ours.
  if (!info.exportsMemory && !info.importsMemory) {
    throw new ModuleLoadError(
      "Wasm module has no memory: it neither exports nor imports one.",
      "Export the module's linear memory (AssemblyScript and the other SDKs do it by default as \"memory\"); do not build with --noExportMemory.",
    );
  }
  const want = pluginExportTypes(info.abiVersion);
  const functions = new Map<string, FuncType>();
  for (const e of info.exports) if (e.kind === "function" && e.type && !functions.has(e.name)) functions.set(e.name, e.type);

  /** cpp-host `getFunction`: absent is fine, present with another type fails the VM. */
  const lookUp = (name: string): boolean => {
    const got = functions.get(name);
    if (!got) return false;
    const expected = want.get(name)!;
    if (!sameFuncType(got, expected)) {
      throw new ModuleLoadError(
        `Bad function signature for: ${name}, want: ${formatEngineFuncType(expected)}, but the module exports: ${formatEngineFuncType(got)}`,
        `Envoy calls ${name} as ${formatFuncType(expected)} for ABI ${info.abiVersion}; the module exports ${formatFuncType(got)}.`,
      );
    }
    return true;
  };

  // WASI reactor (`_initialize`, then main / __main_void) or command (`_start`), never both.
  if (lookUp("_initialize")) {
    lookUp("main");
    lookUp("__main_void");
  } else {
    lookUp("_start");
  }
  // ⚠ malloc wins; proxy_on_memory_allocate is not even looked up when malloc exists.
  if (!lookUp("malloc") && !lookUp("proxy_on_memory_allocate")) {
    throw new ModuleLoadError(
      "Wasm module is missing malloc function.",
      "Export an allocator `malloc(size: i32) -> i32` or `proxy_on_memory_allocate(size: i32) -> i32`. An AssemblyScript plugin " +
        'gets it by re-exporting the SDK\'s ABI from its entry file: export * from "proxy-wasm-as/assembly/exports".',
    );
  }
  for (const name of want.keys()) if (!(name in STARTUP_EXPORTS)) lookUp(name);
}
