import { readFile } from 'node:fs/promises';

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

export interface Dockerfile {
  readonly instructions: readonly Instruction[];
  /** ARGs declared before the first FROM, with their defaults (what FROM lines may use). */
  readonly args: Readonly<Record<string, string>>;
  /** FROM lines: image (global ARGs replaced by their defaults), platform, stage name. */
  readonly stages: readonly { readonly image: string; readonly platform?: string; readonly name?: string }[];
  /** ENV of the final stage, in order. */
  readonly env: Readonly<Record<string, string>>;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly user?: string;
  readonly copies: readonly { readonly from?: string; readonly sources: readonly string[]; readonly destination: string }[];
  /** RUN lines of the final stage, exec form (a shell-form RUN reads as `['/bin/sh', '-c', …]`). */
  readonly runs: readonly (readonly string[])[];
}

/** Reads the subset of the Dockerfile syntax the images use (enough to check and run them). */
export async function parseDockerfile(path: string): Promise<Dockerfile> {
  const text = await readFile(path, 'utf8');
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
  const instructions = logical.map((line) => {
    const [keyword, ...rest] = line.split(/\s+/);
    return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
  });
  const globalArgs: Record<string, string> = {};
  const withArgs = (value: string) => value.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => globalArgs[(braced ?? bare)!] ?? whole);
  const stages: { image: string; platform?: string; name?: string }[] = [];
  let env: Record<string, string> = {};
  let entrypoint: string[] | undefined;
  let cmd: string[] | undefined;
  let user: string | undefined;
  const copies: { from?: string; sources: string[]; destination: string }[] = [];
  const runs: string[][] = [];
  for (const { keyword, args } of instructions) {
    switch (keyword) {
      case 'ARG': {
        if (stages.length > 0) break;
        const [, name, value] = /^(\w+)(?:=(.*))?$/.exec(args) ?? [];
        if (name) globalArgs[name] = (value ?? '').replace(/^"|"$/g, '');
        break;
      }
      case 'FROM': {
        const platform = /--platform=(\S+)/.exec(args)?.[1];
        const [image, , name] = args.replace(/--platform=\S+\s*/, '').split(/\s+/);
        stages.push({ image: withArgs(image!), ...(platform ? { platform } : {}), ...(name ? { name } : {}) });
        env = {};
        entrypoint = undefined;
        cmd = undefined;
        user = undefined;
        copies.length = 0;
        runs.length = 0;
        break;
      }
      case 'ENV':
        for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[match[1]!] = match[2]!.replace(/^"|"$/g, '');
        break;
      case 'ENTRYPOINT':
        entrypoint = JSON.parse(args) as string[];
        break;
      case 'CMD':
        cmd = JSON.parse(args) as string[];
        break;
      case 'RUN':
        runs.push(args.startsWith('[') ? (JSON.parse(args) as string[]) : ['/bin/sh', '-c', args]);
        break;
      case 'USER':
        user = args;
        break;
      case 'COPY': {
        const from = /--from=(\S+)/.exec(args)?.[1];
        const parts = args.replace(/--\S+\s*/g, '').split(/\s+/);
        copies.push({ ...(from ? { from } : {}), sources: parts.slice(0, -1), destination: parts[parts.length - 1]! });
        break;
      }
      default:
        break;
    }
  }
  return {
    instructions,
    args: globalArgs,
    stages,
    env,
    ...(entrypoint ? { entrypoint } : {}),
    ...(cmd ? { cmd } : {}),
    ...(user ? { user } : {}),
    copies,
    runs,
  };
}
