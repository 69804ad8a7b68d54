/**
 * Which weight files a TensorFlow.js model.json names, read the way tfjs resolves them. The renderer
 * uses it to choose the files to send with a model, the upload route to accept a shard whatever it
 * is called (tfjs-converter writes `group1-shard1of2`, with no extension): a file is a weight shard
 * because its manifest says so, not because of its name.
 */

/** 'a//./b\\c' -> 'a/b/c': the segments of a relative path, joined with forward slashes. */
export function normalRelativePath(p: string): string {
  return p
    .split(/[\\/]/)
    .filter((s) => s !== '' && s !== '.')
    .join('/')
}

/**
 * The weight shard paths a tfjs model.json lists, relative to its folder (URL-decoded, as tfjs
 * resolves them), or null when the parsed JSON is not a tfjs model (Teachable Machine's
 * metadata.json, a labels file).
 */
export function tfjsShardPaths(json: unknown): string[] | null {
  if (!json || typeof json !== 'object' || !('modelTopology' in json)) return null
  const manifest = (json as { weightsManifest?: unknown }).weightsManifest
  if (!Array.isArray(manifest)) return []
  const paths: string[] = []
  for (const group of manifest) {
    const list = (group as { paths?: unknown })?.paths
    if (!Array.isArray(list)) continue
    for (const p of list) {
      if (typeof p !== 'string') continue
      let decoded = p
      try {
        decoded = decodeURIComponent(p)
      } catch {
        // A stray '%' is a literal character in the name.
      }
      paths.push(normalRelativePath(decoded))
    }
  }
  return paths
}
