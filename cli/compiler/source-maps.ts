// Every build writes a source map beside each module, so failure reports in the mock host
// and `pwas serve` name the plugin's source lines. A release target is compiled with
// debug names (same code, byte for byte), and the names are then moved from the module's
// name section into the map: the module Envoy loads grows only by its sourceMappingURL.
import { splitFunctionNames } from "../../runtime-mock/wasm/diagnostics/source-map.js";

/** An output file of a build: where it goes and its bytes. */
export interface BuiltFile {
  path: string;
  contents: Uint8Array;
}

/** asc arguments that add the source map, and the names to move into it for a target without `debug`. */
export function sourceMapArgs(targetOptions: Record<string, unknown>): string[] {
  return targetOptions.debug === true ? ["--sourceMap"] : ["--sourceMap", "--debug"];
}

/** For a target built with `sourceMapArgs` without its own `debug`: each module's names go into its map. */
export function moveNamesIntoMaps(files: BuiltFile[]): BuiltFile[] {
  return files.map((file) => {
    if (!file.path.endsWith(".wasm")) return file;
    const map = files.find((f) => f.path === `${file.path}.map`);
    if (!map) return file;
    const split = splitFunctionNames(file.contents, new TextDecoder().decode(map.contents));
    map.contents = new TextEncoder().encode(split.map);
    return { ...file, contents: split.wasm };
  });
}
