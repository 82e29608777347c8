// What Envoy's codecs refuse to put on the wire, checked where a filter hands a header map
// on: a header name that is not an RFC 9110 token, a value with CR, LF or NUL (Envoy's
// HeaderString validity; nghttp2's field check), and a response without exactly one
// three-digit :status. A plugin can set any of these through the ABI; on the wire they
// would split a header (response splitting) or crash the writer, so the stream is reset.
import type { HeaderMap } from "../../runtime-mock/index.js";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PSEUDO = /^:[a-z]+$/;
const STATUS = /^[1-9][0-9]{2}$/;

/** Why a codec would refuse this map, or undefined when it is fine. */
export function codecProblem(headers: HeaderMap, kind: "request" | "response" | "trailers"): string | undefined {
  let problem: string | undefined;
  let statuses = 0;
  headers.forEach((name, value) => {
    if (problem !== undefined) return;
    if (name.startsWith(":") ? kind === "trailers" || !PSEUDO.test(name) : !TOKEN.test(name)) {
      problem = `header name ${JSON.stringify(name)} is not a valid token`;
    } else if (/[\r\n\0]/.test(value)) {
      problem = `header ${name} has a value with CR, LF or NUL`;
    } else if (name === ":status") {
      statuses++;
      if (!STATUS.test(value)) problem = `:status ${JSON.stringify(value)} is not a three-digit status code`;
    }
  });
  if (problem === undefined && kind === "response" && statuses !== 1) problem = statuses === 0 ? "the response has no :status" : "the response has more than one :status";
  return problem;
}
