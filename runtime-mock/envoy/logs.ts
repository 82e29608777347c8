// Plugin log records, filtered like Envoy's `wasm` logger (ABI.md §5.1): a message below
// the logger's level is dropped (proxy_log still answers Ok), so only messages at or above
// it are recorded; the dropped ones are counted.
import { LogLevel } from "../wasm/types.js";

export interface LogEntry {
  level: LogLevel;
  message: string;
  /** The context the message was logged on (the effective context; 0 = the VM context). */
  contextId: number;
  /** The line as Envoy prints it, e.g. "wasm log my-plugin my-root my-vm: hello". */
  formatted: string;
  /** "plugin": proxy_log / stdout / stderr; "host": the host's own line (e.g. a VM failure). */
  origin: "plugin" | "host";
}

export interface PluginIdentity {
  name: string;
  rootId: string;
  vmId: string;
}

const join = (parts: string[]) => parts.filter((p) => p !== "").map((p) => ` ${p}`).join("");

/** cpp-host `PluginBase::makeLogPrefix` (stream contexts): " <plugin> <root_id> <vm_id>", empty parts left out. */
export function streamLogPrefix(plugin: PluginIdentity): string {
  return join([plugin.name, plugin.rootId, plugin.vmId]);
}

/** cpp-host `makeRootLogPrefix` (root contexts): " <root_id> <vm_id>", no plugin name. */
export function rootLogPrefix(plugin: PluginIdentity): string {
  return join([plugin.rootId, plugin.vmId]);
}

export class LogBook {
  private readonly records: LogEntry[] = [];
  private droppedCount = 0;

  constructor(
    private threshold: LogLevel,
    private readonly sink?: (entry: LogEntry) => void,
  ) {}

  get level(): LogLevel {
    return this.threshold;
  }

  set level(level: LogLevel) {
    this.threshold = level;
  }

  /** Envoy's "wasm log<prefix>: <message>" for plugin messages. */
  writePlugin(level: LogLevel, message: string, contextId: number, prefix: string): void {
    this.write({ level, message, contextId, formatted: `wasm log${prefix}: ${message}`, origin: "plugin" });
  }

  /** A line of the host itself (Envoy logs these on the same `wasm` logger, unprefixed). */
  writeHost(level: LogLevel, message: string, contextId: number): void {
    this.write({ level, message, contextId, formatted: message, origin: "host" });
  }

  get entries(): readonly LogEntry[] {
    return this.records;
  }

  /** Messages recorded at exactly `level`. */
  at(level: LogLevel): string[] {
    return this.records.filter((e) => e.level === level).map((e) => e.message);
  }

  /** How many messages were below the level and dropped. */
  get dropped(): number {
    return this.droppedCount;
  }

  clear(): void {
    this.records.length = 0;
    this.droppedCount = 0;
  }

  private write(entry: LogEntry): void {
    if (entry.level < this.threshold) {
      this.droppedCount++;
      return;
    }
    this.records.push(entry);
    this.sink?.(entry);
  }
}
