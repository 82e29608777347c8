// request-stats: every HTTP stream, at its end (onLog), puts one event on a shared queue:
// method, path, status and duration. One aggregator for the whole proxy (a singleton
// root, in a VM of its own) drains the queue as events arrive, counts responses per
// status class, records durations, and logs a summary line every `summary_interval_ms`.
// The request path only pays for one enqueue; the counting happens off it, in one place.
//   {"queue": "request-stats", "aggregator_vm_id": "request-stats-aggregator", "summary_interval_ms": 60000}
// Root ids: "request-stats" (the HTTP filter, a WasmPlugin) and "request-stats-aggregator"
// (the singleton). Both read the same configuration.
import {
  ByteBuffer, ConfigReader, Configuration, Counter, Gauge, Histogram, HttpContext, lastResult, log, properties, registerRootContext, resultName,
  RootContext, SharedQueue, WasmResult,
} from "proxy-wasm-as/assembly";
export * from "proxy-wasm-as/assembly/exports";

class Settings {
  queue: string = "request-stats";
  aggregatorVmId: string = "request-stats-aggregator";
  summaryIntervalMs: u32 = 60_000;
}

/** The settings, or null after logging what is wrong with the configuration. */
function configure(configuration: Configuration, who: string): Settings | null {
  const config = new ConfigReader(configuration, "with the fields " + FIELDS);
  const settings = readSettings(config);
  return config.accept(who) ? settings : null;
}

// --- the filter: one event per stream --------------------------------------------------

const dropped = new Counter("request_stats.dropped");

class StatsFilterRoot extends RootContext {
  settings: Settings = new Settings();
  /** The aggregator's queue, once resolved (the aggregator may start after the filter). */
  queue: SharedQueue | null = null;

  onConfigure(pluginConfigurationSize: u32): bool {
    const settings = configure(this.pluginConfiguration, "request-stats");
    if (settings === null) return false;
    this.settings = settings;
    this.queue = null;
    dropped.define();
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new StatsFilter(contextId, this);
  }

  /** Enqueues `event`; resolves the queue first if needed, and again once if it went away. */
  send(event: ByteBuffer): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      let queue = this.queue;
      if (queue === null) {
        queue = SharedQueue.resolve(this.settings.queue, this.settings.aggregatorVmId);
        if (queue === null) break; // no aggregator (yet)
        this.queue = queue;
      }
      const result = queue.enqueueFrom(event);
      if (result == WasmResult.Ok) return;
      this.queue = null; // the aggregator's VM went away: its queue with it
      if (result != WasmResult.NotFound) break;
    }
    dropped.increment();
  }
}

class StatsFilter extends HttpContext {
  onLog(): void {
    const status = properties.getInt(RESPONSE_CODE, 0); // 0: no response (reset)
    const durationMs = properties.getInt(REQUEST_DURATION, 0) / 1_000_000;
    // "<method> <status> <duration ms> <path>": the reader splits at the first three spaces.
    EVENT.clear();
    this.appendHeader(":method");
    EVENT.appendByte(0x20);
    EVENT.appendDecimal(<u64>status);
    EVENT.appendByte(0x20);
    EVENT.appendDecimal(<u64>durationMs);
    EVENT.appendByte(0x20);
    this.appendHeader(":path");
    (this.root as StatsFilterRoot).send(EVENT);
  }

  /** The header's value, or "-" without it. */
  private appendHeader(name: string): void {
    if (this.requestHeaders.readInto(name, HEADER)) EVENT.appendFrom(HEADER);
    else EVENT.appendByte(0x2d);
  }
}

// The event a stream sends, and the header read into it: made once, reused by every
// stream (callbacks never overlap), so the request path makes no string.
const EVENT = new ByteBuffer();
const HEADER = new ByteBuffer();
const RESPONSE_CODE = properties.path("response.code");
const REQUEST_DURATION = properties.path("request.duration");

// --- the aggregator: a singleton that drains the queue ---------------------------------

const CLASSES = ["2xx", "3xx", "4xx", "5xx", "other"];
const responses = [
  new Counter("request_stats.responses_2xx"),
  new Counter("request_stats.responses_3xx"),
  new Counter("request_stats.responses_4xx"),
  new Counter("request_stats.responses_5xx"),
  new Counter("request_stats.responses_other"),
];
const durations = new Histogram("request_stats.duration_ms");
/** The slowest request of the last summary window. */
const windowMax = new Gauge("request_stats.window_max_duration_ms");

/** Each event the aggregator takes from the queue: one buffer, reused. */
const RECEIVED = new ByteBuffer();

class Aggregator extends RootContext {
  settings: Settings = new Settings();
  queue: SharedQueue | null = null;
  // The current summary window.
  counts: StaticArray<u64> = new StaticArray<u64>(5);
  total: u64 = 0;
  totalMs: u64 = 0;
  slowestMs: u64 = 0;
  slowest: string = "";

  onConfigure(pluginConfigurationSize: u32): bool {
    const settings = configure(this.pluginConfiguration, "request-stats-aggregator");
    if (settings === null) return false;
    this.settings = settings;
    const queue = SharedQueue.register(settings.queue);
    if (queue === null) {
      log.error("request-stats-aggregator: cannot register the queue \"" + settings.queue + "\": " + resultName(lastResult()));
      return false;
    }
    this.queue = queue;
    for (let i = 0; i < responses.length; i++) responses[i].define();
    windowMax.define();
    this.setTickPeriod(settings.summaryIntervalMs);
    return true;
  }

  /** Once per enqueued event, after the fact: take everything waiting (later calls may find it empty). */
  onQueueReady(queueToken: u32): void {
    const queue = this.queue;
    if (queue === null || queue.token != queueToken) return;
    while (queue.dequeueInto(RECEIVED)) this.count(RECEIVED);
    // lastResult() is Empty here: the queue is drained.
  }

  private count(event: ByteBuffer): void {
    const first = event.indexOf(0x20);
    const second = event.indexOf(0x20, first + 1);
    const third = event.indexOf(0x20, second + 1);
    if (first < 0 || second < 0 || third < 0) return; // not ours
    const status = event.parseDecimal(first + 1, second);
    const ms = event.parseDecimal(second + 1, third);
    const klass = status >= 200 && status < 600 ? <i32>(status / 100) - 2 : 4;
    responses[klass].increment();
    durations.record(ms);
    this.counts[klass]++;
    this.total++;
    this.totalMs += ms;
    if (this.total == 1 || ms > this.slowestMs) {
      this.slowestMs = ms;
      this.slowest = event.toString(0, first) + " " + event.toString(third + 1);
    }
  }

  /** The summary of the window, then a new window. A window without requests logs nothing. */
  onTick(): void {
    windowMax.set(this.slowestMs);
    if (this.total == 0) return;
    let line = "request-stats: " + this.total.toString() + (this.total == 1 ? " request" : " requests") + " in the last " + (this.settings.summaryIntervalMs / 1000).toString() + " s:";
    for (let i = 0; i < CLASSES.length; i++) line += (i == 0 ? " " : ", ") + CLASSES[i] + " " + this.counts[i].toString();
    line += "; mean " + (this.totalMs / this.total).toString() + " ms; slowest " + this.slowest + " " + this.slowestMs.toString() + " ms";
    log.info(line);
    for (let i = 0; i < this.counts.length; i++) this.counts[i] = 0;
    this.total = 0;
    this.totalMs = 0;
    this.slowestMs = 0;
    this.slowest = "";
  }
}

// --- configuration -------------------------------------------------------------------

const FIELDS = "queue, aggregator_vm_id, summary_interval_ms";

function readSettings(config: ConfigReader): Settings {
  const settings = new Settings();
  // Field by field in document order, so the problem reported is the first one in the text.
  const names = config.keys();
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (name == "queue") {
      settings.queue = config.nonEmptyString(name, settings.queue);
    } else if (name == "aggregator_vm_id") {
      settings.aggregatorVmId = config.string(name, settings.aggregatorVmId);
    } else if (name == "summary_interval_ms") {
      settings.summaryIntervalMs = <u32>config.integer(name, settings.summaryIntervalMs, 1000, 86_400_000, "a whole number of milliseconds");
    } else {
      config.unknown(name, FIELDS);
    }
  }
  return settings;
}

registerRootContext((contextId: u32) => new StatsFilterRoot(contextId), "request-stats");
registerRootContext((contextId: u32) => new Aggregator(contextId), "request-stats-aggregator");
