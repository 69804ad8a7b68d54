import js from '@eslint/js'
import pluginVue from 'eslint-plugin-vue'
import globals from 'globals'
import tseslint from 'typescript-eslint'

/**
 * Layers are kept apart by rule, not by habit (as VS Code does): the engine never sees Electron or
 * the UI, the shared contract depends on nothing but zod, and the renderer reaches the app only
 * through its API interface.
 */
const restrict = (patterns, message) => ['error', { patterns: [{ group: patterns, message }] }]

/**
 * Inside the engine, imports run one way (design.md section 2): common helpers (files, data, jobs,
 * errors, scratch folders, backend detection) <- onnx <- exec <- autodiff <- train <- formats <- model
 * <- cam / fewshot / audit, where the audit may use cam (it measures CAM methods) and nothing else at
 * the top uses another. Each folder may not import the folders above it.
 */
const ENGINE_ORDER = ['common', 'onnx', 'exec', 'autodiff', 'train', 'formats', 'model', 'top']
const TOP = ['cam', 'fewshot', 'audit']
const COMMON = ['files', 'data', 'jobs']
function engineLayers() {
  const electron = { group: ['electron', 'electron/*'], message: 'The engine and its hosts outside src/main/electron never import electron.' }
  const folder = (name) => [`**/${name}`, `**/${name}/**`]
  const above = (layer) => ENGINE_ORDER.slice(ENGINE_ORDER.indexOf(layer) + 1).flatMap((l) => (l === 'top' ? TOP : [l]))
  const rule = (files, forbidden, who) => ({
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            electron,
            ...(forbidden.length ? [{ group: forbidden.flatMap(folder).concat(['**/engine/workspace', '**/engine/demo']), message: `${who} sits below these in the engine's layers (design.md section 2): move the shared code down instead.` }] : [])
          ]
        }
      ]
    }
  })
  const files = (dirs) => dirs.map((d) => `src/main/engine/${d}/**/*.ts`)
  return [
    rule([...files(COMMON), 'src/main/engine/errors.ts', 'src/main/engine/scratch-dir.ts', 'src/main/engine/backends.ts'], above('common'), 'Common engine code'),
    ...['onnx', 'exec', 'autodiff', 'train', 'formats', 'model'].map((l) => rule(files([l]), above(l), `engine/${l}`)),
    rule(files(['cam']), ['fewshot', 'audit'], 'engine/cam'),
    rule(files(['fewshot']), ['cam', 'audit'], 'engine/fewshot'),
    rule(files(['audit']), ['fewshot'], 'engine/audit')
  ]
}

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'resources/**', '.cache/**', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...pluginVue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } }
  },
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Spreading a map or a batch into arguments overflows the call stack on real data.
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name=/^(min|max)$/] > SpreadElement",
          message: 'Math.min/max(...array) overflows the stack on data-sized arrays; use minOf/maxOf from src/shared/stats.'
        }
      ],
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off'
    }
  },
  {
    files: ['src/main/engine/**/*.ts', 'src/main/service.ts', 'src/main/host/**/*.ts', 'src/main/server/**/*.ts', 'src/main/cli.ts', 'src/main/serve.ts', 'src/main/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(['electron', 'electron/*'], 'The engine and its hosts outside src/main/electron never import electron.')
    }
  },
  ...engineLayers(),
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        ['electron', 'node:*', 'fs', 'path', 'vue', 'pinia', '../main/*', '../renderer/*'],
        'src/shared is the API contract: types and zod schemas only.'
      )
    }
  },
  {
    files: ['src/renderer/**/*.{ts,vue}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': restrict(
        ['electron', 'node:*', '**/main/**', '**/preload/**'],
        'The renderer talks to the app only through the API interface (src/renderer/src/api).'
      )
    }
  },
  {
    files: ['src/renderer/src/components/**/*.vue', 'src/renderer/src/stores/**/*.ts', 'src/renderer/src/App.vue'],
    rules: {
      'no-restricted-globals': ['error', { name: 'fetch', message: 'Use the api module.' }, { name: 'WebSocket', message: 'Use the api module.' }]
    }
  }
)
