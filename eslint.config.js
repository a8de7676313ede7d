// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'build/',
      'proto/gen/',
      'node_modules/',
      'bin/',
      'scripts/bench.js',
      'eslint.config.js',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The pure cores: no I/O, no timers, no clock, no ambient randomness.
    files: ['src/raft/**/*.ts', 'src/scheduler/**/*.ts'],
    ignores: ['src/raft/wal/**', 'src/raft/snapshot/**', 'src/raft/transport/**'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Count ticks; the driver owns timers.' },
        { name: 'setInterval', message: 'Count ticks; the driver owns timers.' },
        { name: 'setImmediate', message: 'Count ticks; the driver owns timers.' },
        { name: 'Date', message: 'Take time as an argument.' },
        { name: 'process', message: 'No environment in the core.' },
        { name: 'Promise', message: 'The core is synchronous.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use the injected random().' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'AwaitExpression', message: 'The core is synchronous.' },
        { selector: 'FunctionDeclaration[async=true]', message: 'The core is synchronous.' },
        { selector: 'ArrowFunctionExpression[async=true]', message: 'The core is synchronous.' },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'net', 'child_process'], message: 'The core does no I/O.' },
            {
              group: ['@grpc/*', 'dockerode', 'pino', '**/daemon/**', '**/cli/**'],
              message: 'The core must not know its callers.',
            },
          ],
        },
      ],
    },
  },
);
