// A reverse proxy in front of the real test registry that injects faults (HTTP errors,
// connection resets) or demands Basic auth, to test retries and the Basic flow.
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";

export interface ProxyOptions {
  /** Answer the first N requests with `failStatus` (default 503). */
  failFirst?: number;
  failStatus?: number;
  /** Answer every request with `failStatus`. */
  failAlways?: boolean;
  /** Destroy the connection of the first N requests without answering. */
  resetFirst?: number;
  /** Require Basic credentials (the registry behind allows anonymous access). */
  basic?: { user: string; password: string };
  /** Listen address (default 127.0.0.1); "0.0.0.0" makes it reachable on non-loopback interfaces. */
  listen?: string;
  /** Answer every blob GET with this many junk bytes (chunked, no length), as a hostile registry would. */
  oversizeBlobs?: number;
}

export interface RunningProxy {
  host: string;
  /** Requests seen (method + path), faults included. */
  seen: string[];
  /** Junk bytes written for oversizeBlobs before the client hung up. */
  junkBytesSent(): number;
  stop(): Promise<void>;
}

export async function startProxy(target: string, options: ProxyOptions): Promise<RunningProxy> {
  const seen: string[] = [];
  let count = 0;
  let junk = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    count++;
    seen.push(`${req.method} ${req.url}`);
    if (options.oversizeBlobs && req.method === "GET" && /\/blobs\/sha256:/.test(req.url ?? "")) {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const more = () => {
        while (junk < options.oversizeBlobs! && !res.destroyed) {
          junk += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", more);
        }
        res.end();
      };
      res.on("error", () => {});
      more();
      return;
    }
    if (options.resetFirst && count <= options.resetFirst) {
      req.socket.destroy();
      return;
    }
    if (options.failAlways || (options.failFirst && count <= options.failFirst)) {
      req.resume();
      res.writeHead(options.failStatus ?? 503, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "injected by the test proxy" }] }));
      return;
    }
    if (options.basic) {
      const expected = `Basic ${Buffer.from(`${options.basic.user}:${options.basic.password}`).toString("base64")}`;
      if (req.headers.authorization !== expected) {
        req.resume();
        res.writeHead(401, { "www-authenticate": 'Basic realm="pwas-test"', "content-type": "application/json" });
        res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
        return;
      }
    }
    const [hostname, port] = target.split(":");
    const headers = { ...req.headers };
    delete headers.authorization;
    const upstream = request({ hostname, port: Number(port), method: req.method, path: req.url, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, options.listen ?? "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    host: `127.0.0.1:${port}`,
    seen,
    junkBytesSent: () => junk,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
