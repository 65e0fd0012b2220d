// ESLint (flat config) with typescript-eslint's recommended rules, not type-aware (fast: no
// type checking; `npm run typecheck` does that). `npm run lint`; CI runs it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_`-prefixed names are deliberately unused (a parameter a signature needs, a type check); `...rest` drops keys.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // `import x = require('…')` is TypeScript's form for CommonJS packages (zulip-js); a lazy require() takes an eslint-disable comment saying why.
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
      // A `let` assigned once, later, but read by a closure made before (app.ts's job runner, main.ts's app) cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Off: it flags initial values kept so a variable reads as defined on every path (a NaN, a false before a try), which TypeScript's definite-assignment checks rely on.
      'no-useless-assignment': 'off',
    },
  },
  {
    // Tests feed control characters on purpose (hostile names, bidi and NUL stripping).
    files: ['**/*.test.ts'],
    rules: { 'no-control-regex': 'off' },
  },
  {
    // Plain Node scripts (CommonJS): require() and Node's globals.
    files: ['**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', fetch: 'readonly', AbortSignal: 'readonly', URL: 'readonly' },
    },
  },
);
