/**
 * Blob texts a worker has read, kept for the next task that reads the same key: the V2
 * refinement's tasks all read one sources blob (tens of KB), each a read of two round trips plus
 * the transfer, on the chain of dependent calls. A cached text is returned only when the
 * object's current digest (one metadata round trip) still names its SHA-256, so an overwritten
 * or deleted object is read again. Bounded by total size; the least recently used go first.
 */
import { createHash } from 'node:crypto';
import type { Bus } from './bus.ts';
import { sumMatches } from './blob-read.ts';

export interface BlobTextCacheOptions {
  /** Total characters kept. */
  maxChars?: number;
  /** Texts longer than this are never kept. */
  maxEntryChars?: number;
}

export class BlobTextCache {
  private readonly entries = new Map<string, { sum: Buffer; text: string }>();
  private chars = 0;
  hits = 0;
  misses = 0;
  private readonly maxChars: number;
  private readonly maxEntryChars: number;

  constructor(
    private readonly bus: Pick<Bus, 'blobs' | 'blobText'>,
    o: BlobTextCacheOptions = {},
  ) {
    this.maxChars = o.maxChars ?? 32 * 1024 * 1024;
    this.maxEntryChars = o.maxEntryChars ?? 4 * 1024 * 1024;
  }

  async text(key: string): Promise<string> {
    const hit = this.entries.get(key);
    if (hit) {
      const info = await this.bus.blobs.info(key);
      if (info && !info.deleted && sumMatches(info.digest, hit.sum)) {
        this.entries.delete(key); // most recently used last
        this.entries.set(key, hit);
        this.hits++;
        return hit.text;
      }
      this.drop(key);
    }
    this.misses++;
    const text = await this.bus.blobText(key);
    if (text.length <= this.maxEntryChars) {
      this.drop(key);
      this.entries.set(key, { sum: createHash('sha256').update(text).digest(), text });
      this.chars += text.length;
      for (const [k] of this.entries) {
        if (this.chars <= this.maxChars) break;
        this.drop(k);
      }
    }
    return text;
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.chars -= e.text.length;
  }
}
