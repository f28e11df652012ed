// The fastify org's style (neostandard: standard, for TypeScript too), and a line length.
import neostandard, { plugins } from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'coverage/**', '.tap/**', 'openapi/**', 'node_modules/**', 'screenshots/**', '.stryker-tmp/**', 'reports/**'],
    env: ['browser'],
    files: []
  }),
  {
    rules: {
      '@stylistic/max-len': ['error', { code: 160, ignoreUrls: true, ignoreRegExpLiterals: true }]
    }
  },
  // Storage is asynchronous: a promise that is not awaited (a check that always passes, a write whose failure
  // nobody sees) is a defect the type checker alone does not catch. These rules need the types.
  {
    files: ['src/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': plugins['typescript-eslint'].plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error'
    }
  }
]
