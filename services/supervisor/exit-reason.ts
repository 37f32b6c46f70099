// Turn what a dead child left on stderr into the one line an administrator needs to read
// in the service panel: `port 2525 is already in use`, not a stack trace.

/**
 * The reason a child gave for exiting: the first meaningful stderr line, without the
 * `sekisho receiver:` prefix and the `Error:` class name; a raw EADDRINUSE becomes
 * `port N is already in use`. Falls back to the exit code or signal.
 */
export function exitReason(
  service: string,
  stderrLines: readonly string[],
  code: number | null,
  signal: string | null,
): string {
  for (const raw of stderrLines) {
    let line = raw.trim();
    if (!line || line.startsWith('at ')) continue;
    const prefix = `sekisho ${service}:`;
    if (line.startsWith(prefix)) line = line.slice(prefix.length).trim();
    line = line.replace(/^(?:[A-Z][A-Za-z]*)?Error:\s*/, '');
    // One wording for the panel whatever the child added (`(EADDRINUSE)`, the address).
    const said = /\bport (\d+) is already in use\b/.exec(line);
    if (said) return `port ${said[1]} is already in use`;
    const inUse = /EADDRINUSE\b.*?(?:[\d.]+|\[?[0-9a-f:]*\]?):(\d+)\s*$/i.exec(line);
    if (inUse) return `port ${inUse[1]} is already in use`;
    if (line) return line;
  }
  if (signal) return `killed by signal ${signal}`;
  return `exited with code ${code ?? 'unknown'}`;
}
