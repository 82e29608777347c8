// The built-in upstream of `pwas serve` (and of `npm start`): answers every request with
// 200 and a JSON echo of what it received, so a user sees what the plugins changed. It
// speaks HTTP/1.1 and h2c on one port, as the proxy's listener does.
import { HeaderMap } from "../../runtime-mock/index.js";
import { Listener, type Downstream } from "./downstream.js";

export interface EchoUpstream {
  url: URL;
  close(): Promise<void>;
}

export async function startEchoUpstream(host = "127.0.0.1", port = 0): Promise<EchoUpstream> {
  const listener = new Listener({
    host,
    port,
    http1: { maxHeaderSize: 64 * 1024, headersTimeout: 60_000, connectionsCheckingInterval: 30_000, requestTimeout: 0 },
    maxHeaderListBytes: 64 * 1024,
    onRequest: echo,
    onHttp1ClientError: (_error, socket) => socket.destroy(),
  });
  await listener.listen();
  return { url: new URL(`http://${host}:${listener.address().port}`), close: () => listener.close() };
}

function echo(downstream: Downstream): void {
  const chunks: Uint8Array[] = [];
  const answer = () => {
    const headers: Record<string, string> = {};
    const raw = downstream.head.rawHeaders;
    if (downstream.head.authority !== undefined) headers.host = downstream.head.authority;
    for (let i = 0; i < raw.length; i += 2) if (!raw[i].startsWith(":")) headers[raw[i].toLowerCase()] = raw[i + 1];
    const body = new TextEncoder().encode(
      JSON.stringify({ method: downstream.head.method, path: downstream.head.target, headers, body: Buffer.concat(chunks).toString("utf8") }, null, 2) + "\n",
    );
    const response = new HeaderMap("responseHeaders", [[":status", "200"], ["content-type", "application/json"], ["content-length", String(body.length)], ["server", "pwas-echo"]]);
    downstream.respond(response, false);
    downstream.end(body);
  };
  if (downstream.hasNoBody) {
    downstream.resumeRequest();
    answer();
    return;
  }
  downstream.readBody(
    (chunk, end) => {
      chunks.push(chunk.slice());
      if (end) answer();
    },
    () => answer(),
    () => {},
  );
}
