/**
 * The command bundle's entry, dist/command/index.mjs: the compile cache on, then command.ts loaded
 * (a chunk of its own) and started (see launch.ts).
 */
import { launch } from './launch.ts';

await launch(() => import('./command.ts'), { bundleDir: new URL('.', import.meta.url) });
