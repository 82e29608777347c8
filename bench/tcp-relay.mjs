// The floor of the serve benchmark: a relay that copies bytes between the client's and the
// upstream's TCP connections and parses nothing. No proxy can do less per byte, so it shows
// what one more process hop costs on this machine. Prints its URL, serves until killed.
import { connect, createServer } from "node:net";

const upstream = new URL(process.argv[2]);
const server = createServer((client) => {
  const toUpstream = connect(Number(upstream.port), upstream.hostname);
  client.pipe(toUpstream);
  toUpstream.pipe(client);
  client.on("error", () => toUpstream.destroy());
  toUpstream.on("error", () => client.destroy());
});
server.listen(0, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${server.address().port}/`));
