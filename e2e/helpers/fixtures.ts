// ViewportRelay fixtures: YAML files in e2e/fixtures with ${NAME}
// placeholders (the platform URLs differ per run and provider).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const fixturesDir = join(import.meta.dirname, '..', 'fixtures');

/** fillPlaceholders replaces every ${NAME}; a placeholder without a value is an error, not an empty string. */
export function fillPlaceholders(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`fixture placeholder \${${name}} has no value`);
    return value;
  });
}

/** loadFixture reads e2e/fixtures/<name>.yaml with placeholders filled. */
export function loadFixture(name: string, values: Readonly<Record<string, string>>): Record<string, unknown> {
  const text = fillPlaceholders(readFileSync(join(fixturesDir, `${name}.yaml`), 'utf8'), values);
  return parse(text) as Record<string, unknown>;
}
