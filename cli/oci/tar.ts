// Tar archives through tar-stream. Writing is deterministic (sorted entries, mtime 0, fixed
// mode/owner) so the same files always give the same bytes, and so the same layer digest.
import tarStream from "tar-stream";

export interface TarFile {
  name: string;
  data: Uint8Array;
}

export interface TarEntry {
  name: string;
  type: string;
  data: Uint8Array;
}

const FIXED = { mode: 0o644, uid: 0, gid: 0, uname: "", gname: "", mtime: new Date(0) } as const;

export async function createTar(files: readonly TarFile[]): Promise<Uint8Array> {
  const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const file of sorted) {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ ...FIXED, name: file.name, size: file.data.byteLength, type: "file" }, Buffer.from(file.data), (err) => (err ? reject(err) : resolve())),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Reads every entry of a tar held in memory (wasm plugins are small). Throws on a malformed tar. */
export async function readTar(bytes: Uint8Array): Promise<TarEntry[]> {
  // allowUnknownFormat: also read pre-POSIX (v7) headers, as Go's archive/tar does.
  const extract = tarStream.extract({ allowUnknownFormat: true } as unknown as Parameters<typeof tarStream.extract>[0]);
  const entries: TarEntry[] = [];
  extract.end(Buffer.from(bytes));
  for await (const entry of extract) {
    const parts: Buffer[] = [];
    for await (const chunk of entry) parts.push(chunk as Buffer);
    entries.push({ name: entry.header.name, type: entry.header.type ?? "file", data: Buffer.concat(parts) });
  }
  return entries;
}

/** POSIX (ustar) tar, recognised the way istio-agent's http fetcher does: magic at offset 257. */
export const isPosixTar = (b: Uint8Array): boolean =>
  b.length > 262 && Buffer.from(b.subarray(257, 262)).toString("latin1") === "ustar";
