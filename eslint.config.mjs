// Lint: typed rules for promises and imports; workflow code may not touch Node, DuckDB or the AWS SDK.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test-artifacts/**', '.meterflow/**', 'bin/**', '*.config.js', '*.config.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // plain CommonJS scripts run by node directly
    files: ['**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // the contract is shared by every side, so it imports none of them
    files: ['src/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '../workflows',
                '../workflows/*',
                '../activities',
                '../activities/*',
                '../client',
                '../client/*',
                '../cli/*',
                '../report/*',
                '../worker',
              ],
              message: 'the contract imports none of the sides that share it',
            },
          ],
        },
      ],
    },
  },
  {
    // the bottom layer: DuckDB settings, instances and connections, extensions, attaching a lake, readers,
    // SQL helpers; everything else sits on it. It takes two leaves from above, which import nothing: its
    // errors are meterflow's (their class says retry or not), and its messages mask secrets as all do
    files: ['src/duckdb/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*', '!../duckdb', '!../duckdb/*', '!../errors', '!../secrets'],
              message: "src/duckdb is the bottom layer: it imports nothing of meterflow's but src/errors.ts and src/secrets.ts",
            },
            {
              group: ['../lake', '../lake/*', '../warehouse', '../warehouse/*'],
              message: 'src/duckdb sits below the lake and the warehouse',
            },
          ],
        },
      ],
    },
  },
  {
    // the lake (DuckLake's own operations) sits on src/duckdb, and the warehouse on both
    files: ['src/lake/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../warehouse', '../warehouse/*'], message: 'src/lake sits below the warehouse: the warehouse imports the lake' },
          ],
        },
      ],
    },
  },
  {
    // arrows point down: activities and the report never reach up into workflow code
    files: ['src/activities/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../workflows', '../workflows/*'], message: 'share through src/contract, not workflow code' }] },
      ],
    },
  },
  {
    // the domain (seeding, building, analytics) is plain code: the activities call it, and it knows nothing of Temporal
    files: ['src/seed/**/*.ts', 'src/build/**/*.ts', 'src/analytics/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@temporalio/*'], message: 'the domain knows nothing of Temporal: pass what it needs from the activity' },
            {
              group: ['../workflows', '../workflows/*', '../activities', '../activities/*'],
              message: 'the domain sits below the activities',
            },
          ],
        },
      ],
    },
  },
  {
    // the report is plain domain code: the report and notify activities call it, and it knows nothing of Temporal
    files: ['src/report/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@temporalio/*'], message: 'the report knows nothing of Temporal: pass what it needs from the activity' },
            { group: ['../workflows', '../workflows/*'], message: 'share through src/contract, not workflow code' },
            { group: ['../activities', '../activities/*'], message: 'the report reads the contract, not activity code' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'os', 'child_process', 'crypto', 'net', 'http', 'https'],
              message: 'workflow code must be deterministic: no Node built-ins',
            },
            { group: ['@duckdb/*', '@aws-sdk/*'], message: 'workflow code does no I/O: use an activity' },
            {
              group: ['../activities', '../activities/*', '../warehouse/*', '../storage/*'],
              allowTypeImports: true,
              message: 'import activity types only',
            },
          ],
        },
      ],
    },
  },
);
