// The fastify org's style (neostandard: standard, for TypeScript too), and a line length.
import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', '.tap/**', 'openapi/**', 'node_modules/**'] }),
  {
    rules: {
      '@stylistic/max-len': ['error', { code: 160, ignoreUrls: true, ignoreRegExpLiterals: true }]
    }
  }
]
