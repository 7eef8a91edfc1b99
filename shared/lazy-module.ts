/**
 * A package loaded on first use instead of at start-up. The CLI bundle (bin/build.js) leaves
 * these packages out, so a command that never needs them (`llmxmr --help`, `jobs`, `up`) does
 * not pay for parsing them. The load is a plain CommonJS require, synchronous, so call sites
 * keep their synchronous signatures; it resolves from this file's location, which works from
 * the sources and from the bundle (both sit below the repository's node_modules).
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/** A getter that requires `specifier` the first time it is called and returns the same module afterwards. */
export function lazyModule<T>(specifier: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= load(specifier) as T);
}
