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
    // A module is reached only through its index.ts (ARCHITECTURE.md, layout).
    files: ['src/modules/command/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)query/', message: 'The command module never imports the query module.' }] }],
    },
  },
  {
    files: ['src/modules/query/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)command/', message: 'The query module never imports the command module.' }] }],
    },
  },
  {
    files: ['src/eventstore/**/*.ts', 'src/shared/**/*.ts', 'src/contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)modules/', message: 'Shared code never imports a module.' }] }],
    },
  },
  {
    // A module's public API is its index.ts; the query module also has projector.ts, the projector
    // role alone (no query routes, no user auth), for the projector function's bundle.
    files: ['src/entry/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '(^|/)modules/(?!query/projector\\.ts$)[^/]+/(?!index\\.ts$)', message: 'Entry points compose modules through their index.ts only.' }] },
      ],
    },
  },
  {
    files: ['scripts/**/*.ts', 'tools/**/*.ts', 'src/entry/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
