import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  caseForms,
  centrality,
  cosine,
  distinctKeywords,
  features,
  keywordTitle,
  kmeans,
  labelTerms,
  tfidfVectors,
} from '../../shared/algo/tfidf.ts';
import { createRng } from '../../shared/algo/rng.ts';

describe('features', () => {
  it('keeps content words and pairs of adjacent ones, never across punctuation, stop words or LaTeX', () => {
    expect(features('The KV cache grows; eviction helps. \\emph{Quantization}')).toEqual(['kv', 'cache', 'kv cache', 'grows', 'cache grows', 'eviction', 'helps', 'eviction helps', 'quantization']);
    expect(features('memory of the cache', false)).toEqual(['memory', 'cache']);
    expect(features('2024 128 tokens')).toEqual(['tokens']);
  });
});

describe('vectors and similarity', () => {
  it('scores a document closest to itself and 0 against one with no shared terms', () => {
    const { vectors } = tfidfVectors([features('cache eviction policy'), features('cache eviction scores'), features('speech recognition')]);
    expect(cosine(vectors[0], vectors[0])).toBeCloseTo(1);
    expect(cosine(vectors[0], vectors[1])).toBeGreaterThan(cosine(vectors[0], vectors[2]));
    expect(cosine(vectors[0], vectors[2])).toBe(0);
  });

  it('ranks the sentence that shares most with the others as most central', () => {
    const s = ['Eviction drops cache entries.', 'Cache entries are dropped by eviction policies.', 'Bananas are yellow.'];
    const c = centrality(tfidfVectors(s.map((x) => features(x))).vectors);
    expect(c[2]).toBe(0);
    expect(Math.max(c[0], c[1])).toBeGreaterThan(0);
  });
});

describe('kmeans', () => {
  const docs = [
    'kv cache quantization two bits',
    'low bit quantization of kv cache',
    'quantization outliers kv cache',
    'token eviction attention scores',
    'attention based token eviction',
    'eviction of tokens by attention',
  ].map((d) => features(d));
  const { vectors } = tfidfVectors(docs);

  it('separates two obvious topics', () => {
    const { assignments } = kmeans(vectors, 2, createRng(3));
    expect(new Set(assignments.slice(0, 3)).size).toBe(1);
    expect(new Set(assignments.slice(3)).size).toBe(1);
    expect(assignments[0]).not.toBe(assignments[3]);
  });

  it('is deterministic for a seed and numbers clusters by first appearance', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 6 }), (seed, k) => {
        const a = kmeans(vectors, k, createRng(seed));
        const b = kmeans(vectors, k, createRng(seed));
        expect(a.assignments).toEqual(b.assignments);
        expect(a.assignments[0]).toBe(0);
        expect(a.members.flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);
        expect(a.members.every((m) => m.length > 0)).toBe(true);
      }),
    );
  });

  it('respects a size cap', () => {
    const { members } = kmeans(vectors, 3, createRng(1), { maxSize: 2 });
    expect(Math.max(...members.map((m) => m.length))).toBeLessThanOrEqual(2);
  });
});

describe('labels', () => {
  it('picks distinct keywords, letting a phrase replace the word it extends', () => {
    expect(distinctKeywords(['memory', 'eviction', 'memory eviction', 'tokens', 'cache tokens'], 3)).toEqual(['memory eviction', 'cache tokens']);
  });

  it('drops generic research words and words of the survey topic', () => {
    const v = new Map([
      ['models', 0.9],
      ['kv-cache', 0.8],
      ['caches', 0.7],
      ['eviction', 0.6],
      ['cache eviction', 0.5],
    ]);
    expect(labelTerms(v, 5, new Set(['kv', 'cache']))).toEqual(['cache eviction', 'eviction']);
    expect(labelTerms(v, 5, new Set(), new Set(['eviction']))).toEqual(['kv-cache', 'caches']);
  });

  it('spells titles as the texts do, capitalising plain words', () => {
    const forms = caseForms(['The KV cache of VideoLLMs.', 'Attention is costly; attention sinks matter.']);
    expect(keywordTitle(['kv', 'videollms', 'attention'], forms)).toBe('KV, VideoLLMs and Attention');
  });
});
