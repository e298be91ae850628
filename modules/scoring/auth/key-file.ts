/**
 * A key file holds the accepted keys: either Azure ML's credentials JSON
 * (`{"primaryKey": "…", "secondaryKey": "…"}`) or one key per line (blank lines and `#` comments
 * are ignored; the first is the primary, the second the secondary).
 */
export function parseKeyFile(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const doc = JSON.parse(trimmed) as Record<string, unknown>;
    return ['primaryKey', 'secondaryKey']
      .map((k) => doc[k])
      .filter((v): v is string => typeof v === 'string' && v.length > 0);
  }
  return trimmed
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
}
