// Turns parsed YAML/JSON into Lua table constructors, the shape Argo CD hands a
// health script: objects become keyed tables, arrays 1-based lists, null nil.

/** toLua renders a JSON-like value as a Lua expression. */
export function toLua(value: unknown, indent = ''): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return luaString(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`toLua: ${value} has no Lua literal`);
    return String(value);
  }
  if (typeof value === 'boolean') return String(value);
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '{}';
    return `{\n${value.map((v) => `${inner}${toLua(v, inner)},`).join('\n')}\n${indent}}`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, v]) => `${inner}[${luaString(k)}] = ${toLua(v, inner)},`).join('\n')}\n${indent}}`;
  }
  throw new Error(`toLua: cannot render ${typeof value}`);
}

// luaString quotes a string; control bytes become decimal escapes, UTF-8
// passes through (Lua strings are bytes).
function luaString(s: string): string {
  const escaped = s.replace(/[\\"\x00-\x1f\x7f]/g, (c) => {
    if (c === '\\' || c === '"') return '\\' + c;
    return '\\' + String(c.charCodeAt(0)).padStart(3, '0');
  });
  return `"${escaped}"`;
}
