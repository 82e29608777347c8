// The HTTP stream callbacks (ABI.md §4.4), dispatched to the stream's HttpContext.
import { collectIfDue } from "../collector";
import { httpContext } from "../../registry";
import { FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus } from "../../types";

export function proxy_on_request_headers(contextId: u32, headerCount: u32, endOfStream: bool): FilterHeadersStatus {
  collectIfDue();
  const context = httpContext(contextId);
  return context !== null ? context.onRequestHeaders(headerCount, endOfStream) : FilterHeadersStatus.Continue;
}

export function proxy_on_request_body(contextId: u32, bodySize: u32, endOfStream: bool): FilterDataStatus {
  collectIfDue();
  const context = httpContext(contextId);
  return context !== null ? context.onRequestBody(bodySize, endOfStream) : FilterDataStatus.Continue;
}

export function proxy_on_request_trailers(contextId: u32, trailerCount: u32): FilterTrailersStatus {
  collectIfDue();
  const context = httpContext(contextId);
  return context !== null ? context.onRequestTrailers(trailerCount) : FilterTrailersStatus.Continue;
}

export function proxy_on_response_headers(contextId: u32, headerCount: u32, endOfStream: bool): FilterHeadersStatus {
  collectIfDue();
  const context = httpContext(contextId);
  return context !== null ? context.onResponseHeaders(headerCount, endOfStream) : FilterHeadersStatus.Continue;
}

export function proxy_on_response_body(contextId: u32, bodySize: u32, endOfStream: bool): FilterDataStatus {
  collectIfDue();
  const context = httpContext(contextId);
  return context !== null ? context.onResponseBody(bodySize, endOfStream) : FilterDataStatus.Continue;
}

export function proxy_on_response_trailers(contextId: u32, trailerCount: u32): FilterTrailersStatus {
  collectIfDue();
  const context = httpContext(contextId);
  return context !== null ? context.onResponseTrailers(trailerCount) : FilterTrailersStatus.Continue;
}

