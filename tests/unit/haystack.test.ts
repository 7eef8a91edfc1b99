import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { createRng } from '../../shared/algo/rng.ts';
import { makeHaystack, needleContext, NOISE, noiseLinesFor } from '../../shared/algo/haystack.ts';

const DATA = new URL('../../../shared/data/v1/infinitebench/', import.meta.url);

describe('InfiniteBench haystacks', () => {
  it('place the needle at the requested depth with the recipe noise count', () => {
    const h = makeHaystack('passkey', 131072, createRng(1), 0.5);
    const lines = h.context.split('\n').filter(Boolean);
    expect(lines.length).toBe(5220 + 1);
    const at = lines.findIndex((l) => l.includes(h.answer));
    expect(at).toBe(2610);
    expect(h.answer).toMatch(/^\d{5}$/);
  });
  it('scale the noise for sizes outside the recipe table', () => {
    expect(noiseLinesFor(32768)).toBe(1305);
    expect(noiseLinesFor(100_000)).toBeGreaterThan(3000);
  });
  it('kv haystacks hold the asked key and its value as JSON', () => {
    const h = makeHaystack('kv_retrieval', 8192, createRng(3));
    const json = JSON.parse(h.context.slice('JSON data:\n'.length));
    const key = /Key: "([^"]+)"/.exec(h.question)![1];
    expect(json[key]).toBe(h.answer);
  });
  it.runIf(existsSync(DATA))('rebuild the official 32k files by the recipe (data-backed)', () => {
    const rows = readFileSync(new URL('passkey_32768.compact.jsonl', DATA), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const r of rows.slice(0, 20)) {
      const ctx = needleContext('passkey', r.answer, r.noise_before, r.noise_after);
      expect(ctx.startsWith(NOISE.repeat(r.noise_before) + `The pass key is ${r.answer}.`)).toBe(true);
      expect(r.noise_before + r.noise_after).toBe(1305);
    }
  });
});
