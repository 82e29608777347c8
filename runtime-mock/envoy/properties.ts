// Envoy's attribute model for proxy_get_property / proxy_set_property (ABI.md §5.4, §6.2,
// §6.3, §7). Implementation in ./properties/: values.ts (CEL values and their encodings),
// proto.ts (protobuf messages such as xds.node), path.ts (path bytes), model.ts (lookup).
export {
  TypedValue,
  encodeValue,
  encodePropertyPairs,
  decodePropertyPairs,
  decode,
  mergePropertyTrees,
  type PropertyValue,
  type PropertyTree,
  type TypedKind,
} from "./properties/values.js";
export {
  protoMessage,
  structValue,
  schemas,
  decodeProtoFields,
  type ProtoSchema,
  type ProtoField,
  type ProtoType,
  type ProtoScalar,
  type ProtoWireField,
  type Json,
} from "./properties/proto.js";
export { encodePath, pathOf, splitPath, filterStateKey } from "./properties/path.js";
export {
  getProperty,
  setProperty,
  type HeaderView,
  type StreamFacts,
  type PropertyContext,
} from "./properties/model.js";
