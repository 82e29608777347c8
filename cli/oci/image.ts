// An image held in memory: its top manifest, every manifest below it (for an index) and
// every blob, all keyed by digest. Wasm plugins are small, so pwas builds, pushes and
// pulls whole images in memory and writes them out in one step.
import type { StoredManifest } from "./manifest.js";

export interface ImageBundle {
  /** The manifest a tag points to (an image manifest, or an index). */
  root: StoredManifest;
  /** Every manifest, the root included, by digest. */
  manifests: Map<string, StoredManifest>;
  /** Config and layer blobs by digest. */
  blobs: Map<string, Uint8Array>;
}

export function bundleOf(root: StoredManifest, blobs: Map<string, Uint8Array>, children: StoredManifest[] = []): ImageBundle {
  const manifests = new Map<string, StoredManifest>([[root.digest, root]]);
  for (const child of children) manifests.set(child.digest, child);
  return { root, manifests, blobs };
}
