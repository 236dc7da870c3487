// Lint for correctness, not taste: type-aware rules that catch real bugs
// (floating promises, misused promises) across every workspace.
import tseslint from 'typescript-eslint';

// The house rules of the relay: a module may import its own layer and the
// layers below it, never one above (docs/architecture.md). Top first.
export const RELAY_LAYERS = [
  ['cli.ts', 'main.ts', 'index.ts'],
  ['server'],
  ['session', 'probe-page'],
  ['admin', 'admission', 'worker', 'backplane', 'browser', 'probe'],
  ['platform', 'devissuer'],
  ['config'],
  ['routing'],
  ['frames'],
  ['e2ee', 'bus', 'net', 'limits', 'version.ts'],
];
// Leaves import nothing from the rest of the relay.
const RELAY_LEAVES = new Set(['e2ee', 'bus', 'net', 'limits']);
// Pure layers decide; they never touch a socket, a file, a process or a cluster.
const RELAY_PURE = new Set(['frames', 'routing', 'e2ee', 'bus', 'limits']);
const IO_MODULES = [
  'node:fs', 'node:fs/promises', 'node:net', 'node:http', 'node:https', 'node:http2', 'node:tls', 'node:dgram', 'node:dns',
  'node:child_process', 'node:worker_threads', 'ws', 'ioredis', 'prom-client', '@kubernetes/client-node',
];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// An import specifier that reaches member m of relay/src from anywhere below relay/src.
const reaches = (m) => (m.endsWith('.ts') ? `^(\\.\\./)+${escape(m.replace(/\.ts$/, '.js'))}$` : `^(\\.\\./)+${escape(m)}/`);

function relayLayerRules() {
  return RELAY_LAYERS.flatMap((layer, depth) => {
    const above = RELAY_LAYERS.slice(0, depth).flat();
    return layer.map((member) => {
      const patterns = above.map((m) => ({ regex: reaches(m), message: `relay/src/${member} may not import ${m}: it is a higher layer (docs/architecture.md)` }));
      if (RELAY_LEAVES.has(member)) patterns.push({ regex: '^\\.\\./', message: `relay/src/${member} is a leaf: it imports nothing from the rest of the relay` });
      const paths = RELAY_PURE.has(member) ? IO_MODULES.map((name) => ({ name, message: `relay/src/${member} is pure: no I/O modules` })) : [];
      return {
        files: [member.endsWith('.ts') ? `relay/src/${member}` : `relay/src/${member}/**/*.ts`],
        ignores: ['**/*.test.ts'],
        rules: { 'no-restricted-imports': ['error', { paths, patterns }] },
      };
    });
  });
}

// The operator's pure layers: api/ (the CRD's types and rules) and desired/
// (what the cluster should hold) compute; kube/, reconcile/ and main do I/O.
function operatorPureRules() {
  const io = IO_MODULES.map((name) => ({ name, message: 'a pure layer of the operator: no I/O modules' }));
  return [
    {
      files: ['operator/src/api/**/*.ts'],
      ignores: ['**/*.test.ts'],
      rules: { 'no-restricted-imports': ['error', { paths: io, patterns: [{ regex: '^\\.\\./\\.\\./', message: 'operator/src/api is a leaf: it imports nothing outside api/' }] }] },
    },
    {
      files: ['operator/src/desired/**/*.ts'],
      ignores: ['**/*.test.ts'],
      rules: {
        'no-restricted-imports': ['error', {
          paths: io,
          patterns: [{ regex: '^\\.\\./(?!api/|object\\.js$)', message: 'operator/src/desired may import only api/ and object.ts' }],
        }],
      },
    },
  ];
}

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'e2e/.work/**', 'coverage/**', 'eslint.config.js', 'charts/**'],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  ...relayLayerRules(),
  ...operatorPureRules(),
);
