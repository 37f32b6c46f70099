// Sender-log IDs of SPEC 8/10: the first attempt of a message logs under its queue ID
// `B0000000186`, the n-th retry under `B0000000186-R000n`, and the bounce made during that
// attempt under `B0000000186-R000n-E001` (`B0000000186-E001` when it was the first attempt).

export function attemptLogId(id: string, retries: number): string {
  return retries > 0 ? `${id}-R${String(retries).padStart(4, '0')}` : id;
}

export function bounceLogId(id: string, retries: number, n = 1): string {
  return `${attemptLogId(id, retries)}-E${String(n).padStart(3, '0')}`;
}
