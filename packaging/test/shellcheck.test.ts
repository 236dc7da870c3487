// Every shell script in the repository passes shellcheck (sourced files are
// followed relative to the script, as `# shellcheck source=` comments expect).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../repo.js';

// Tracked and new (not ignored) files: *.sh, plus extensionless scripts whose
// first line is a bash or sh shebang (.ci/run).
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '' && fs.existsSync(path.join(repoRoot, f)))
  .filter((f) => {
    if (f.endsWith('.sh')) return true;
    if (path.extname(f) !== '' || f.includes('node_modules/')) return false;
    const head = fs.readFileSync(path.join(repoRoot, f), 'utf8').slice(0, 64);
    return /^#!\s*\/(usr\/)?bin\/(env\s+)?(bash|sh)\b/.test(head);
  })
  .sort();

describe('shellcheck', () => {
  it('finds the scripts', () => {
    expect(files).toContain('e2e/kind/run.sh');
    expect(files).toContain('.ci/run');
  });

  it.each(files)('%s', (file) => {
    const result = spawnSync('shellcheck', ['-x', '--source-path=SCRIPTDIR', file], { cwd: repoRoot, encoding: 'utf8' });
    if (result.error) throw result.error;
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
