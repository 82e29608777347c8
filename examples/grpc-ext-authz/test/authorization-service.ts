// Envoy's envoy.service.auth.v3.Authorization service from the example's protos (../proto),
// loaded with @grpc/proto-loader: for the Check server of the end-to-end test, and for
// decoding CheckRequests and encoding CheckResponses in the mock-host tests.
import { fileURLToPath } from "node:url";
import { loadSync } from "@grpc/proto-loader";
import { loadPackageDefinition, type ServiceDefinition } from "@grpc/grpc-js";

const PROTO_DIR = fileURLToPath(new URL("../proto", import.meta.url));

export function authorizationService(): ServiceDefinition {
  const definition = loadSync("envoy/service/auth/v3/external_auth.proto", { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: Number, defaults: true, oneofs: true });
  const pkg = loadPackageDefinition(definition) as unknown as { envoy: { service: { auth: { v3: { Authorization: { service: ServiceDefinition } } } } } };
  return pkg.envoy.service.auth.v3.Authorization.service;
}
