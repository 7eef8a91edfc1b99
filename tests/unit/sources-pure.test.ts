/** Pure parts of topic-only mode: robots.txt rules, offline queries and verdicts, OpenAlex abstracts, private hosts, the spec. */
import { describe, expect, it } from 'vitest';
import { parseRobots, robotsAllow } from '../../shared/sources/robots.ts';
import { offlineQueries } from '../../shared/sources/queries.ts';
import { offlineVerdict, judgeOp } from '../../shared/ops/sources/judge.ts';
import { queriesOp } from '../../shared/ops/sources/queries.ts';
import { invertedToText } from '../../shared/sources/providers/openalex.ts';
import { parseArxiv } from '../../shared/sources/providers/arxiv.ts';
import { parseSearxng } from '../../shared/sources/providers/searxng.ts';
import { MalformedResponse } from '../../shared/sources/providers/types.ts';
import { isPrivateHost } from '../../shared/sources/http.ts';
import { SourcesSpecSchema } from '../../shared/sources/spec.ts';
import { splitSources } from '../../cli/commands/sources.ts';

describe('robots.txt', () => {
  const txt = 'User-agent: otherbot\nDisallow: /\n\nUser-agent: *\nDisallow: /private/\nAllow: /private/open$\nDisallow: /*.zip\n';
  it('applies the * group, the longest match winning, with * and $ patterns', () => {
    const r = parseRobots(txt, 'llmxmr-sources/0.1');
    expect(robotsAllow(r, '/abs/1')).toBe(true);
    expect(robotsAllow(r, '/private/report')).toBe(false);
    expect(robotsAllow(r, '/private/open')).toBe(true);
    expect(robotsAllow(r, '/private/open/more')).toBe(false);
    expect(robotsAllow(r, '/data/all.zip')).toBe(false);
  });
  it('applies a group naming the agent instead of *', () => {
    expect(robotsAllow(parseRobots(txt, 'otherbot/2.0'), '/abs/1')).toBe(false);
  });
});

describe('offline queries and verdicts', () => {
  it('makes queries of the topic\'s own words, the topic first, without repeats', () => {
    const q = offlineQueries('KV cache compression for long contexts', 6);
    expect(q[0]).toBe('KV cache compression for long contexts');
    expect(q).toHaveLength(6);
    expect(new Set(q.map((x) => x.toLowerCase())).size).toBe(6);
    for (const x of q) for (const w of x.split(' ')) expect('KV cache compression for long contexts survey benchmark'.split(' ')).toContain(w);
  });
  it('puts the topic first in a model\'s queries and keeps n', () => {
    expect(queriesOp.finalize!({ queries: ['kv quantization', 'KV cache compression', 'token eviction', 'x y z'] }, { topic: 'KV cache compression', n: 3 })).toEqual({ queries: ['KV cache compression', 'kv quantization', 'token eviction'] });
  });
  it('judges a source relevant when it shares enough of the topic\'s terms', () => {
    expect(offlineVerdict('KV cache compression', 'Compressing the KV cache', 'We quantize keys').relevant).toBe(true);
    expect(offlineVerdict('KV cache compression', 'Seed caching by squirrels', 'squirrels cache seeds').relevant).toBe(false);
  });
  it('keeps candidates a model gave no verdict for, and drops unknown ids', () => {
    const out = judgeOp.finalize!({ verdicts: [{ id: 'C1', relevant: false, reason: 'off' }, { id: 'C9', relevant: true, reason: '' }] }, { topic: 't t', candidates: [{ id: 'C1', title: 'a', abstract: '' }, { id: 'C2', title: 'b', abstract: '' }] });
    expect(out.verdicts.map((v) => [v.id, v.relevant])).toEqual([['C1', false], ['C2', true]]);
  });
});

describe('provider parsing', () => {
  it('rebuilds an OpenAlex abstract from its inverted index', () => {
    expect(invertedToText({ cache: [1], The: [0], grows: [2] })).toBe('The cache grows');
  });
  it('refuses a non-Atom arXiv answer and broken SearXNG JSON as malformed', () => {
    expect(() => parseArxiv('<html>rate limited</html>')).toThrow(MalformedResponse);
    expect(() => parseSearxng('{"results": [')).toThrow(/malformed JSON/);
    expect(() => parseSearxng('{"answers": []}')).toThrow(/without a results array/);
  });
});

describe('guards and options', () => {
  it('treats loopback, private and link-local hosts as private', () => {
    for (const h of ['localhost', '127.0.0.1', '10.1.2.3', '192.168.0.9', '172.20.0.1', '169.254.169.254', '[::1]']) expect(isPrivateHost(h), h).toBe(true);
    for (const h of ['export.arxiv.org', '8.8.8.8', '172.32.0.1']) expect(isPrivateHost(h), h).toBe(false);
  });
  it('refuses an unknown provider or key in the sources spec', () => {
    expect(SourcesSpecSchema.safeParse({ topic: 'KV cache', providers: ['google'] }).success).toBe(false);
    expect(SourcesSpecSchema.safeParse({ topic: 'KV cache', providers: ['arxiv'], maxfetch: 3 }).success).toBe(false);
    expect(SourcesSpecSchema.parse({ topic: 'KV cache', providers: ['arxiv'] })).toMatchObject({ queries: 4, perQuery: 10, maxFetch: 200, maxSources: 60 });
  });
  it('reads provider lists and paths from --sources values', () => {
    expect(splitSources(['arxiv,searxng', './papers/', 'openalex', 'notes/*.md'])).toEqual({ local: ['./papers/', 'notes/*.md'], providers: ['arxiv', 'searxng', 'openalex'] });
  });
});
