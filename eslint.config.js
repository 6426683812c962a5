import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', '.data/', '.tap/', 'cdk.out/', '.stryker-tmp/', 'reports/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // A module is reached only through its index.ts (ARCHITECTURE.md, layout). The write side
    // knows nothing of the read side; the query and projector modules read and feed the
    // projections through the projection module's index.ts; the projections know neither.
    files: ['src/modules/command/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)(query|projection|projector)/', message: 'The command module never imports the query, projection or projector module.' }] }],
    },
  },
  {
    files: ['src/modules/query/**/*.ts', 'src/modules/projector/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)command/', message: 'The read side never imports the command module.' },
            { regex: '(^|/)(query|projector)/', message: 'The query and projector modules never import each other.' },
            { regex: '(^|/)projection/(?!index\\.ts$)', message: 'The projection module is reached through its index.ts only.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/modules/projection/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)(command|query|projector)/', message: 'The projection module never imports the modules that use it.' }] }],
    },
  },
  {
    files: ['src/eventstore/**/*.ts', 'src/shared/**/*.ts', 'src/contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)modules/', message: 'Shared code never imports a module.' }] }],
    },
  },
  {
    // A module's public API is its index.ts, and nothing else.
    files: ['src/entry/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '(^|/)modules/[^/]+/(?!index\\.ts$)', message: 'Entry points compose modules through their index.ts only.' }] },
      ],
    },
  },
  {
    files: ['scripts/**/*.ts', 'tools/**/*.ts', 'src/entry/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
