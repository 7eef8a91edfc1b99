/**
 * The parameters of a V2 (survey) job, all of them: the wire schema every publisher is checked
 * against (in the client before publishing, and by the coordinator on intake). Strict: a
 * misspelt key ("groupsize", "conv.topk") is refused with its name and the nearest known key,
 * never silently ignored.
 */
import { z } from 'zod';
import { SourcesSpecSchema } from '../sources/spec.ts';
import { OutlineNodeSchema } from '../algo/outline.ts';

/** Entropy-driven convolution settings of a refinement block (upstream defaults). */
export const ConvParamsSchema = z
  .object({
    /** Stacked kernel layers after layer 0. */
    convLayer: z.number().int().min(0).max(50).default(6),
    /** Suggestions per kernel group (k). */
    kernelWidth: z.number().int().min(1).max(16).default(3),
    /** Kernel groups per layer when not pooling. */
    resultNum: z.number().int().min(1).max(100).default(10),
    /** Candidates kept across layers (the residual pool). */
    topK: z.number().int().min(1).max(100).default(6),
    selfRefineCount: z.number().int().min(0).max(20).default(3),
    selfRefineBestOf: z.number().int().min(1).max(20).default(3),
    /** Judge samples averaged per candidate. */
    judgeSamples: z.number().int().min(1).max(10).default(1),
    /** Stop the layers when one improves the best score by less than this (0: never stop early). */
    earlyStopDelta: z.number().min(0).default(0),
    /** 'evolve': kernels edit the current best outline; 'original': always the block's own (upstream). */
    mode: z.enum(['evolve', 'original']).default('evolve'),
    /** Upstream acceptance: take the best of the last pool and of each self-refine round even if worse. */
    upstreamAcceptance: z.boolean().default(false),
    /** Deepest section level of revised outlines. */
    maxDepth: z.number().int().min(1).max(4).default(3),
  })
  .strict();

export const V2ParamsSchema = z
  .object({
    /** Object Store key of the V2 input record (one JSON object: title + papers). */
    inputKey: z.string().min(1),
    blocks: z.number().int().min(0).max(8).default(0),
    groupSize: z.number().int().min(1).max(64).default(3),
    groupMode: z.enum(['random', 'llm']).default('random'),
    /** Papers per grouping task in llm mode. */
    groupBatch: z.number().int().min(2).max(2000).default(300),
    /** Digest groups per partial outline (upstream: 3). */
    outlineBatch: z.number().int().min(1).max(64).default(3),
    /** Partial outlines per merge task; more partials are merged in a tree. */
    mergeFanIn: z.number().int().min(2).max(256).default(16),
    /** Characters of paper text per digest task; longer papers are digested in chunks. */
    digestChunkChars: z.number().int().min(2000).max(2_000_000).default(48_000),
    /** Deepest section level of the outline (1-4). */
    maxDepth: z.number().int().min(1).max(4).default(3),
    /** Characters of each abstract shown to the partial-outline op. */
    abstractChars: z.number().int().min(200).max(20_000).default(1500),
    /** Target words per section (passed to the writer; the offline writer ignores it). */
    sectionWords: z.number().int().min(50).max(5000).optional(),
    figures: z.boolean().default(false),
    bibtex: z.boolean().default(false),
    /** Write the survey in this language (e.g. "French", "de"); citations and references are unchanged. */
    language: z.string().min(2).max(40).optional(),
    /** Citation verification after writing: off, a report only, or repair unsupported citations. */
    verify: z.enum(['off', 'report', 'repair']).default('repair'),
    /**
     * A survey that cites fewer than half of its papers, or has an empty section, fails the job
     * unless this is set: then it succeeds with the shortfall in the record.
     */
    keepPartial: z.boolean().default(false),
    /** Entropy-driven convolution settings of the refinement blocks (upstream defaults). */
    conv: ConvParamsSchema.omit({ maxDepth: true }).partial().strict().default({}),
    /** Topic-only mode: search, fetch and filter papers on the cluster before ingest (docs/sources.md). */
    sources: SourcesSpecSchema.optional(),
    /**
     * Pause after the outline is drafted and again after refinement (once with no blocks) until a
     * person resumes the job, possibly with an edited outline (docs/outline-review.md).
     */
    reviewOutline: z.boolean().default(false),
    /** The survey's outline, given: grouping, drafting and refinement are skipped. */
    outline: OutlineNodeSchema.optional(),
    /**
     * A rerun of a finished survey with an edited `outline`: the base job's digests and task
     * results are reused, so only what the edit touches is written again. `from` names, for each
     * section of `outline`, the base sections whose material it takes (absent: a new section).
     */
    baseJob: z
      .object({ jobId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a job id'), from: z.record(z.string(), z.array(z.string()).max(32)) })
      .strict()
      .optional(),
  })
  .strict();
export type V2Params = z.infer<typeof V2ParamsSchema>;
