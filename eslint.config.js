import js from '@eslint/js'
import reactHooks from 'eslint-plugin-react-hooks'
import tseslint from 'typescript-eslint'

/**
 * The layers of src/, lowest first (docs/architecture.md). A file may import its own layer and
 * the layers below it, never one above; outside the store only its interface (store/store.ts,
 * store/index.ts) is imported. Type-only imports count too. test/architecture.test.ts also
 * refuses import cycles.
 */
const LAYERS = ['core', 'store', 'engine', 'jobs', 'http', 'doors', 'app', 'cli']

const layerRules = LAYERS.map((layer, i) => {
  const above = LAYERS.slice(i + 1)
  const patterns = above.length
    ? [
        {
          group: above.map((l) => `**/${l}/**`),
          message: `src/${layer} may not import a layer above it (${above.join(', ')}): see docs/architecture.md`,
        },
      ]
    : []
  if (layer === 'http' || layer === 'doors')
    patterns.push({ group: ['**/store/**'], message: 'routes and doors reach the store through the services (src/jobs/services.ts)' })
  else if (layer !== 'store' && i > 1)
    patterns.push({
      group: ['**/store/**', '!**/store/store.js', '!**/store/index.js'],
      message: 'outside the store, import only its interface: store/store.js or store/index.js',
    })
  if (i <= 2)
    patterns.push({
      group: ['**/config.js'],
      message: `src/${layer} takes its settings as arguments; only http, app and cli read config.js`,
    })
  return { files: [`src/${layer}/**/*.ts`], ignores: ['**/*.test.ts'], rules: { 'no-restricted-imports': ['error', { patterns }] } }
})

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/', 'bench/results/', 'web/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
      eqeqeq: ['error', 'smart'],
    },
  },
  ...layerRules,
  // The console (web/): React's rules of hooks.
  { files: ['web/**/*.{ts,tsx}'], ...reactHooks.configs.flat.recommended },
  // The console talks to the server over HTTP only; of the server's code it may bundle the pure core.
  {
    files: ['web/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src/*/**', '!**/src/core/**', '**/src/config*'],
              message: 'web/ may import only pure code from src/core (docs/console.md)',
            },
          ],
        },
      ],
    },
  },
)
