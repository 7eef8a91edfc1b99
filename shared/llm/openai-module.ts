/**
 * The openai package, loaded on first use (a large package that commands without a model never
 * need; bin/build.js leaves it out of the CLI bundle). The client and the error classes the
 * failure rules test against come from this one load, so `instanceof` holds between them.
 */
import { lazyModule } from '../lazy-module.ts';

export const openaiModule = lazyModule<typeof import('openai')>('openai');
