/** A write task's digests are cut evenly when a section holds more text than one task may carry, and left alone otherwise. */
import { describe, expect, it } from 'vitest';
import { fitDigests } from '../../services/coordinator/jobs/v2-write.ts';

const digest = (i: number, chars: number) => ({ paperId: `P${i}`, text: `Paper ${i} reports that ${'caching keys saves memory. '.repeat(Math.ceil(chars / 27))}`.slice(0, chars) });

describe('fitDigests', () => {
  it('leaves digests that fit untouched', () => {
    const ds = [digest(1, 3000), digest(2, 5000)];
    expect(fitDigests(ds, 10_000)).toEqual(ds);
  });

  it('cuts every long digest to an even share so the total fits, keeping each paper', () => {
    const ds = Array.from({ length: 600 }, (_, i) => digest(i, 2200)); // 1.3 M characters
    const fitted = fitDigests(ds, 400_000);
    expect(fitted.map((d) => d.paperId)).toEqual(ds.map((d) => d.paperId));
    const total = fitted.reduce((n, d) => n + Buffer.byteLength(JSON.stringify(d)), 0);
    expect(total).toBeLessThanOrEqual(400_000);
    expect(fitted.every((d) => d.text.startsWith(`Paper ${d.paperId.slice(1)} reports`))).toBe(true);
  });

  it('fits multi-byte texts by their encoded size', () => {
    const ds = Array.from({ length: 300 }, (_, i) => ({ paperId: `P${i}`, text: 'Die Schlüssel-Wert-Caches der Übersetzungsmodelle sind größer. '.repeat(60) }));
    const fitted = fitDigests(ds, 200_000);
    expect(fitted.reduce((n, d) => n + Buffer.byteLength(JSON.stringify(d)), 0)).toBeLessThanOrEqual(200_000);
    expect(fitted.every((d) => d.text.length >= 160)).toBe(true);
  });

  it('writes a section of thousands of papers from as many as fit, in paper order', () => {
    const ds = Array.from({ length: 5000 }, (_, i) => digest(i, 1000));
    const fitted = fitDigests(ds, 400_000);
    expect(fitted.reduce((n, d) => n + Buffer.byteLength(JSON.stringify(d)), 0)).toBeLessThanOrEqual(400_000);
    expect(fitted.length).toBeGreaterThan(1000);
    expect(fitted.map((d) => d.paperId)).toEqual(ds.slice(0, fitted.length).map((d) => d.paperId));
  });

  it('keeps short digests whole while cutting the long ones', () => {
    const ds = [digest(1, 100), ...Array.from({ length: 10 }, (_, i) => digest(i + 2, 10_000))];
    const fitted = fitDigests(ds, 20_000);
    expect(fitted[0]).toEqual(ds[0]);
    expect(fitted.slice(1).every((d) => d.text.length < 2_100)).toBe(true);
  });
});
