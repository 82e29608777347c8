// The baseline of the serve benchmark: a reverse proxy in plain Node, no plugins, that
// forwards requests and responses as they are. Prints its URL, serves until killed.
import { createServer, request as httpRequest } from "node:http";

const upstream = new URL(process.argv[2]);
const server = createServer((request, response) => {
  const outgoing = httpRequest(
    { hostname: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers },
    (upstreamResponse) => {
      response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
      upstreamResponse.pipe(response);
    },
  );
  outgoing.on("error", () => response.destroy());
  request.pipe(outgoing);
});
server.listen(0, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${server.address().port}/`));
