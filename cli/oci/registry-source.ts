// An image in a registry as an ImageSource, and a memoising wrapper so checking and
// copying the same image downloads each blob once.
import type { ImageSource } from "./image-source.js";
import { verifyAgainst } from "./image-source.js";
import type { StoredManifest } from "./manifest.js";
import { formatReference, type ImageReference } from "./reference.js";
import type { RegistryClient } from "./registry-client.js";

export function registrySource(client: RegistryClient, ref: ImageReference): ImageSource {
  return {
    description: `oci://${formatReference(ref)}`,
    root: () => client.getManifest(ref.repository, ref.digest ?? ref.tag ?? "latest"),
    manifest: async (d) => {
      const m = await client.getManifest(ref.repository, d.digest);
      verifyAgainst(m.bytes, d, `manifest ${d.digest}`);
      return m;
    },
    blob: (d) => client.getBlob(ref.repository, d),
  };
}

export function cachingSource(source: ImageSource): ImageSource {
  let root: Promise<StoredManifest> | undefined;
  const manifests = new Map<string, Promise<StoredManifest>>();
  const blobs = new Map<string, Promise<Uint8Array>>();
  const memo = <T>(map: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> => {
    let value = map.get(key);
    if (!value) {
      value = load();
      map.set(key, value);
      value.catch(() => map.delete(key));
    }
    return value;
  };
  return {
    description: source.description,
    root: () => (root ??= source.root()),
    manifest: (d) => memo(manifests, d.digest, () => source.manifest(d)),
    blob: (d) => memo(blobs, d.digest, () => source.blob(d)),
  };
}

/** The same source, rooted at another manifest (e.g. the child an index resolved to). */
export const rootedAt = (source: ImageSource, root: StoredManifest): ImageSource => ({ ...source, root: async () => root });
