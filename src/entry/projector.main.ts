/**
 * The projector bundle's entry, dist/projector/index.mjs: the compile cache on, then projector.ts loaded
 * (a chunk of its own) and started (see launch.ts).
 */
import { launch } from './launch.ts';

await launch(() => import('./projector.ts'), { bundleDir: new URL('.', import.meta.url) });
