// The built-in upstream of `pwas serve` (and of `npm start`): answers every request with
// 200 and a JSON echo of what it received, so a user sees what the plugins changed.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface EchoUpstream {
  url: URL;
  close(): Promise<void>;
}

export async function startEchoUpstream(host = "127.0.0.1", port = 0): Promise<EchoUpstream> {
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const headers: Record<string, string> = {};
      for (let i = 0; i < request.rawHeaders.length; i += 2) headers[request.rawHeaders[i].toLowerCase()] = request.rawHeaders[i + 1];
      const body = JSON.stringify({ method: request.method, path: request.url, headers, body: Buffer.concat(chunks).toString("utf8") }, null, 2) + "\n";
      response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body), server: "pwas-echo" });
      response.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: new URL(`http://${host}:${address.port}`),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
