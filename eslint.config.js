// ESLint (flat config): `npm run lint`. typescript-eslint's recommended and type-aware rules
// over the TypeScript in src/, scripts/ and test/ (and drizzle.config.ts), typed by
// tsconfig.json, and over the web console in web/, typed by web/tsconfig.json; this file
// itself gets the plain JavaScript rules.
// @ts-check
import js from '@eslint/js'
import { defineConfig, globalIgnores } from 'eslint/config'
import tseslint from 'typescript-eslint'

export default defineConfig(
  // web/src/api/schema.d.ts is generated (`npm run api:types`) and checked against the routes instead.
  globalIgnores(['dist/', 'web/dist/', 'coverage/', '.tap/', '.data/', '.scratch/', 'web/src/api/schema.d.ts']),
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['eslint.config.js'],
    extends: [js.configs.recommended],
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Fastify plugins and hooks, and tap's test callbacks, are async by contract: the
      // framework awaits the returned promise. An async function without an `await` is how
      // they are written here, not a mistake.
      '@typescript-eslint/require-await': 'off',
      // A leading underscore marks a binding as deliberately unused, e.g. a field taken out of
      // a row with a rest pattern (`{ tokenHash: _hash, ...row }`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // tap's t.test() returns a promise that tap itself tracks: a subtest that is not
          // awaited is still run in order and its failures are still reported.
          allowForKnownSafePromises: [{ from: 'package', package: '@tapjs/core', name: 'PromiseWithSubtest' }],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read response bodies and database rows as the untyped values they are
      // (light-my-request's res.json() and pg's rows are `any`), and the assertions are what
      // check their shape; typing each one first would only restate the assertion.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
)
