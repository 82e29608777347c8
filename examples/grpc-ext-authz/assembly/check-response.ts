// envoy.service.auth.v3.CheckResponse, read with the SDK's protobuf reader (the field
// numbers of Envoy's external_auth.proto):
//   CheckResponse      { google.rpc.Status status = 1; DeniedHttpResponse denied_response = 2;
//                        OkHttpResponse ok_response = 3; Struct dynamic_metadata = 4 }
//   google.rpc.Status  { int32 code = 1; string message = 2 }
//   DeniedHttpResponse { envoy.type.v3.HttpStatus status = 1 (StatusCode code = 1);
//                        repeated HeaderValueOption headers = 2; string body = 3 }
//   OkHttpResponse     { repeated HeaderValueOption headers = 2; repeated string headers_to_remove = 5;
//                        repeated HeaderValueOption response_headers_to_add = 6 }
//   HeaderValueOption  { HeaderValue header = 1 (key 1, value 2, raw_value 3);
//                        BoolValue append = 2; HeaderAppendAction append_action = 3 }
import { asciiLowerCase, ProtoReader } from "proxy-wasm-as/assembly";

/** One header of the answer, with how Envoy applies it. */
export class HeaderChange {
  name: string = "";
  value: string = "";
  /** append: true: add a value (otherwise the value replaces the header's). */
  append: bool = false;
  /** ADD_IF_ABSENT. */
  ifAbsent: bool = false;
  /** OVERWRITE_IF_EXISTS. */
  ifExists: bool = false;
}

export class CheckAnswer {
  /** google.rpc.Status code: 0 (OK) allows. */
  code: i32 = 0;
  message: string = "";
  /** DeniedHttpResponse.status.code; 0 when absent (the filter then uses 403). */
  deniedStatus: u32 = 0;
  body: string = "";
  /** OkHttpResponse.headers (to the request), or DeniedHttpResponse.headers (to the client). */
  headers: Array<HeaderChange> = new Array<HeaderChange>();
  headersToRemove: Array<string> = new Array<string>();
  responseHeadersToAdd: Array<HeaderChange> = new Array<HeaderChange>();
}

/** The answer, or null when the bytes are not a valid CheckResponse. */
export function decodeCheckResponse(bytes: ArrayBuffer): CheckAnswer | null {
  const answer = new CheckAnswer();
  const reader = new ProtoReader(bytes);
  while (reader.next()) {
    if (reader.field == 1) {
      const status = reader.message();
      while (status.next()) {
        if (status.field == 1) answer.code = status.int32();
        else if (status.field == 2) answer.message = status.string();
        else status.skip();
      }
      if (status.error) return null;
    } else if (reader.field == 2) {
      const denied = reader.message();
      while (denied.next()) {
        if (denied.field == 1) {
          const httpStatus = denied.message();
          while (httpStatus.next()) {
            if (httpStatus.field == 1) answer.deniedStatus = httpStatus.uint32();
            else httpStatus.skip();
          }
          if (httpStatus.error) return null;
        } else if (denied.field == 2) {
          const change = headerValueOption(denied.message());
          if (change === null) return null;
          answer.headers.push(change);
        } else if (denied.field == 3) {
          answer.body = denied.string();
        } else {
          denied.skip();
        }
      }
      if (denied.error) return null;
    } else if (reader.field == 3) {
      const ok = reader.message();
      while (ok.next()) {
        if (ok.field == 2 || ok.field == 6) {
          const change = headerValueOption(ok.message());
          if (change === null) return null;
          if (ok.field == 2) answer.headers.push(change);
          else answer.responseHeadersToAdd.push(change);
        } else if (ok.field == 5) {
          answer.headersToRemove.push(asciiLowerCase(ok.string()));
        } else {
          ok.skip();
        }
      }
      if (ok.error) return null;
    } else {
      reader.skip();
    }
  }
  return reader.error ? null : answer;
}

function headerValueOption(option: ProtoReader): HeaderChange | null {
  const change = new HeaderChange();
  let appendSet = false;
  let action: u32 = 0;
  while (option.next()) {
    if (option.field == 1) {
      const header = option.message();
      while (header.next()) {
        if (header.field == 1) change.name = asciiLowerCase(header.string());
        else if (header.field == 2) change.value = header.string();
        else if (header.field == 3) change.value = String.UTF8.decode(header.bytes());
        else header.skip();
      }
      if (header.error) return null;
    } else if (option.field == 2) {
      const value = option.message();
      while (value.next()) {
        if (value.field == 1) change.append = value.bool();
        else value.skip();
      }
      if (value.error) return null;
      appendSet = true;
    } else if (option.field == 3) {
      action = option.uint32();
    } else {
      option.skip();
    }
  }
  if (option.error) return null;
  // append_action counts when append is not set. For ext_authz its default (0) replaces,
  // as the message's documented default (append: false) does.
  if (!appendSet) {
    change.ifAbsent = action == 1;
    change.ifExists = action == 3;
  }
  return change;
}
