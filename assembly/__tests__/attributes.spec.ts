// Typed attribute readers and map/list property values against the mock host, with the
// properties a test sets (ABI.md §6.2, §7).
import {
  attributes, FilterHeadersStatus, Header, HttpContext, lastResult, properties, PropertyEntry, PropertyValue, registerRootContext,
  RootContext, WasmResult,
} from "..";
import { mockHost, REQUEST } from "../testing/host";

let sourceAddress: string | null = null;
let sourcePort: i64 = 0;
let destinationPort: i64 = 0;
let upstreamAddress: string | null = null;
let upstreamPort: i64 = 0;
let mtls: bool = false;
let sni: string | null = null;
let connectionId: u64 = 0;
let nodeId: string | null = null;
let podName: string | null = null;
let replicas: f64 = 0;
let labels: Array<PropertyEntry> = [];
let clusterName: string | null = null;
let routeName: string | null = null;
let direction: i64 = 0;
let pluginName: string | null = null;
let missing: string | null = "unset";
let missingResult: WasmResult = WasmResult.Ok;

let metadata: Array<PropertyEntry> = [];
// Scalars read with a string path, with a path made once, absent (the fallback), and of another size (0).
let replicasByName: f64 = 0;
let replicasByPath: f64 = 0;
let absentWithFallback: f64 = 0;
let stringAsInt: i64 = -1;
const REPLICAS = properties.path("xds.node.metadata.REPLICAS");
let ports: Array<PropertyValue> = [];

class Root extends RootContext {
  onConfigure(size: u32): bool {
    // xds.node is local info: readable in any plugin context, including the root's.
    const all = properties.get("xds.node.metadata");
    metadata = all !== null ? all.asEntries() : [];
    const list = properties.getPath(["xds", "node", "metadata", "PORTS"]);
    ports = list !== null ? list.asItems() : [];
    replicasByName = properties.getDouble("xds.node.metadata.REPLICAS");
    replicasByPath = properties.getDouble(REPLICAS);
    absentWithFallback = properties.getDouble("xds.node.metadata.ABSENT", 7.5);
    stringAsInt = properties.getInt(properties.path("plugin_name"), 99);
    return true;
  }
  createHttpContext(contextId: u32): HttpContext { return new Stream(contextId, this); }
}

class Stream extends HttpContext {
  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    sourceAddress = attributes.sourceAddress();
    sourcePort = attributes.sourcePort();
    destinationPort = attributes.destinationPort();
    upstreamAddress = attributes.upstreamAddress();
    upstreamPort = attributes.upstreamPort();
    mtls = attributes.connectionMtls();
    sni = attributes.requestedServerName();
    connectionId = attributes.connectionId();
    nodeId = attributes.nodeId();
    podName = attributes.nodeMetadataString("NAME");
    const count = attributes.nodeMetadata("REPLICAS");
    replicas = count !== null ? count.asDouble() : -1;
    const labelMap = attributes.nodeMetadata("LABELS");
    labels = labelMap !== null ? labelMap.asEntries() : [];
    clusterName = attributes.clusterName();
    routeName = attributes.routeName();
    direction = attributes.listenerDirection();
    pluginName = attributes.pluginName();
    missing = attributes.nodeMetadataString("NOT_THERE");
    missingResult = lastResult();
    return FilterHeadersStatus.Continue;
  }
}

registerRootContext((id: u32) => new Root(id), "attributes");

function run(options: string): void {
  mockHost.hostOptions(options);
  mockHost.start("attributes");
  const stream = mockHost.openStream();
  mockHost.sendHeaders(stream, REQUEST, [new Header(":method", "GET"), new Header(":path", "/"), new Header(":authority", "h")], true);
}

describe("attributes", () => {
  it("reads peers, connection, upstream, node and route with their types", () => {
    run(
      "{\"pluginName\": \"attrs\", \"properties\": {" +
        "\"source\": {\"address\": \"10.0.0.7:4000\"}, \"destination\": {\"address\": \"10.0.0.1:8443\"}," +
        "\"connection\": {\"mtls\": true, \"requested_server_name\": \"api.example.com\"}," +
        "\"upstream\": {\"address\": \"10.2.0.9:9090\"}," +
        "\"xds\": {\"node\": {\"id\": \"sidecar~10.0.0.1~pod-1.ns~ns.svc.cluster.local\", \"metadata\": " +
        "{\"NAME\": \"pod-1\", \"REPLICAS\": 3, \"LABELS\": {\"app\": \"shop\", \"version\": \"v2\"}}}," +
        "\"cluster_name\": \"outbound|80||shop\", \"route_name\": \"default\", \"listener_direction\": 1}}}",
    );
    expect(sourceAddress).toBe("10.0.0.7:4000");
    expect(sourcePort).toBe(4000);
    expect(destinationPort).toBe(8443);
    expect(upstreamAddress).toBe("10.2.0.9:9090");
    expect(upstreamPort).toBe(9090);
    expect(mtls).toBe(true);
    expect(sni).toBe("api.example.com");
    expect(connectionId).toBeGreaterThan(0);
    expect(nodeId).toBe("sidecar~10.0.0.1~pod-1.ns~ns.svc.cluster.local");
    expect(podName).toBe("pod-1");
    expect(replicas).toBe(3.0);
    expect(labels.length).toBe(2);
    let version = "";
    for (let i = 0; i < labels.length; i++) if (labels[i].key == "version") version = labels[i].value.asString();
    expect(version).toBe("v2");
    expect(clusterName).toBe("outbound|80||shop");
    expect(routeName).toBe("default");
    expect(direction).toBe(1);
    expect(pluginName).toBe("attrs");
    expect(missing).toBeNull();
    expect(missingResult).toBe(WasmResult.NotFound);
  });

  it("falls back to the legacy top-level names where xds.* is unknown", () => {
    // "xds" replaced by a scalar: every xds.* path is NotFound, as in Envoy before xds attributes.
    run("{\"properties\": {\"xds\": \"absent\", \"node\": {\"id\": \"legacy-node\", \"metadata\": {\"NAME\": \"old-pod\"}}, \"cluster_name\": \"legacy-cluster\"}}");
    expect(nodeId).toBe("legacy-node");
    expect(podName).toBe("old-pod");
    expect(clusterName).toBe("legacy-cluster");
  });

  it("is null where neither exists (current Envoy without the legacy names)", () => {
    run("{\"legacyPropertyNames\": false, \"properties\": {\"xds\": \"absent\", \"node\": {\"id\": \"legacy-node\"}}}");
    expect(nodeId).toBeNull();
    expect(direction).toBe(-1);
    mockHost.hostOptions("{}");
  });
});

describe("map and list values", () => {
  it("asEntries keeps each value's type (Struct numbers are doubles); asItems each element's", () => {
    mockHost.hostOptions("{\"properties\": {\"xds\": {\"node\": {\"metadata\": {\"REPLICAS\": 2.5, \"PORTS\": [80, 443]}}}}}");
    mockHost.start("attributes");
    expect(metadata.length).toBe(2);
    let replicas: f64 = 0;
    for (let i = 0; i < metadata.length; i++) if (metadata[i].key == "REPLICAS") replicas = metadata[i].value.asDouble();
    expect(replicas).toBe(2.5);
    expect(ports.length).toBe(2);
    expect(ports[1].asDouble()).toBe(443.0);
    expect(replicasByName).toBe(2.5);
    expect(replicasByPath).toBe(2.5, "a path made once reads the same");
    expect(absentWithFallback).toBe(7.5, "absent: the fallback");
    expect(stringAsInt).toBe(0, "present but not 8 bytes: 0, as PropertyValue#asInt");
    mockHost.hostOptions("{}");
  });
});
