// Copying whole images between memory and a registry: push (blobs, then child manifests,
// then the tagged manifest) and pull (resolve as istio-agent does, download, verify).
import type { ImageBundle } from "./image.js";
import { loadBundle, resolveImage, type ResolvedImage } from "./image-source.js";
import { checkImage, type ImageCheck } from "./istio-acceptance.js";
import { formatBytes, silentProgress, type Progress } from "./progress.js";
import type { ImageReference } from "./reference.js";
import type { RegistryClient } from "./registry-client.js";
import { cachingSource, registrySource, rootedAt } from "./registry-source.js";

export interface PushResult {
  digest: string;
  /** Blobs uploaded (the others were there already). */
  uploaded: number;
  skipped: number;
}

/** Pushes `bundle` to `repository`, tagging the root `reference` (a tag, or the root's digest). */
export async function pushBundle(client: RegistryClient, repository: string, bundle: ImageBundle, reference: string, progress: Progress = silentProgress): Promise<PushResult> {
  let uploaded = 0;
  let skipped = 0;
  const blobs = [...bundle.blobs];
  for (const [i, [digest, bytes]] of blobs.entries()) {
    const descriptor = { mediaType: "application/octet-stream", digest, size: bytes.byteLength };
    if (await client.hasBlob(repository, digest)) {
      skipped++;
      continue;
    }
    const task = progress.task(`blob ${i + 1}/${blobs.length} ${digest.slice(7, 19)}`, bytes.byteLength);
    await client.pushBlob(repository, descriptor, bytes, (sent) => task.update(sent));
    task.finish(formatBytes(bytes.byteLength));
    uploaded++;
  }
  // Children before parents: a registry may refuse an index whose manifests it lacks.
  const children = [...bundle.manifests.values()].filter((m) => m.digest !== bundle.root.digest).reverse();
  for (const child of children) await client.putManifest(repository, child.digest, child);
  const digest = await client.putManifest(repository, reference, bundle.root);
  return { digest, uploaded, skipped };
}

export interface PullResult {
  /** The image istio-agent would use (the linux/amd64 child for an index), with every blob, verified. */
  bundle: ImageBundle;
  resolved: ResolvedImage;
  check: ImageCheck;
}

export async function pullImage(client: RegistryClient, ref: ImageReference): Promise<PullResult> {
  const source = cachingSource(registrySource(client, ref));
  const resolved = await resolveImage(source);
  const bundle = await loadBundle(rootedAt(source, resolved.image));
  const check = await checkImage(source, { reference: ref });
  return { bundle, resolved, check };
}
