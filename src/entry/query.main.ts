/**
 * The query bundle's entry, dist/query/index.mjs: the compile cache on, then query.ts loaded
 * (a chunk of its own) and started (see launch.ts).
 */
import { launch } from './launch.ts';

await launch(() => import('./query.ts'), { bundleDir: new URL('.', import.meta.url) });
