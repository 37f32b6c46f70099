// The control API over real HTTP as the require-auth tests call it (the in-process server in
// test/services/control/http-require-auth.test.ts and a real serve in
// test/e2e/serve-require-auth.test.ts): one POST /api/<method>, and the first event of
// GET /api/events.
export type Headers = Record<string, string>;

/** POST /api/<method> with `args`; the status and the JSON answer. */
export async function postApi(base: string, method: string, args: unknown[] = [], headers: Headers = {}) {
  const res = await fetch(`${base}/api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ args }),
  });
  return { status: res.status, body: (await res.json()) as { ok: boolean; result?: unknown; error?: string } };
}

/** GET /api/events: its status, and the first event when it opened (bounded in time and reads). */
export async function firstEvent(base: string, headers: Headers, timeoutMs: number): Promise<{ status: number; first: { type: string } | null }> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    const res = await fetch(`${base}/api/events`, { headers, signal: ctrl.signal });
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel();
      return { status: res.status, first: null };
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (let i = 0; i < 100 && !/^data: .*\n\n/m.test(text); i++) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const line = /^data: (.*)$/m.exec(text)?.[1];
    return { status: res.status, first: line ? (JSON.parse(line) as { type: string }) : null };
  } finally {
    clearTimeout(timer);
    ctrl.abort();
  }
}
