// Kept for imports of "proxy-wasm-as/assembly/tcp": the TCP context lives with the other
// contexts (context.ts), its data buffers with the other bodies (body.ts).
export { TcpContext, PassThroughTcpContext } from "./context";
export { downstreamData, upstreamData } from "./body";
