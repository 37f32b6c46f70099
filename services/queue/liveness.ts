// Whether the process that wrote an owner record still runs — by more than its PID.
//
// A PID alone is not an identity: Windows reuses PIDs within seconds, containers restart them
// at 1, and a reused PID owned by another account answers EPERM to kill(pid, 0), which reads as
// "alive". A lock of a dead process would then be held forever. So an owner record also says
// which *start* of that PID wrote it, in a form another process can check without native code:
//
// - Linux: `boot=<boot id> start=proc:<ticks>` — the kernel's random boot id
//   (/proc/sys/kernel/random/boot_id) and the process's start time in clock ticks since boot
//   (field 22 of /proc/<pid>/stat, proc(5)). A reader on another boot knows the writer is dead;
//   on the same boot, a PID whose start time differs is another process.
// - Windows: `start=lock:<pid>.<token>` — a beacon file of that name in one machine-wide folder
//   (%ProgramData%\Sekisho\alive, which every account can read) that the writer keeps open with
//   no sharing (libuv's UV_FS_O_EXLOCK: share mode 0) for its whole life. Windows closes the
//   handle when the process ends however it ends (crash, taskkill /F, reboot), so a reader
//   that can open the beacon, or finds it gone, knows the writer is dead; one that gets EBUSY
//   (sharing violation) knows it lives. Windows' process creation time would need WMI or
//   PowerShell (slow, and absent under Wine) or a native addon; the beacon needs neither.
//   The beacon is not kept in the work folder: an open handle there would stop an
//   administrator (or a test) from deleting or moving that folder while the process runs.
// - Elsewhere (macOS, BSD): no start identity; kill(pid, 0) as before.
//
// Records without these fields (written before the upgrade: `pid host time nonce`) are judged
// by kill(pid, 0) as before, so an upgrade never declares a live old-version process dead.
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, unlinkSync, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

/** libuv's UV_FS_O_EXLOCK (Windows): open with share mode 0. Node does not export the constant. */
const UV_FS_O_EXLOCK = 0x10000000;
const BEACON_RE = /^\d+\.[0-9a-f]+$/;

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

let bootIdCache: string | null | undefined;
/** The kernel's boot id (Linux), or null where there is none. */
export function bootId(): string | null {
  if (bootIdCache === undefined) {
    const t = process.platform === 'linux' ? readText('/proc/sys/kernel/random/boot_id') : null;
    bootIdCache = t && /^[0-9a-f-]{8,}$/i.test(t.trim()) ? t.trim() : null;
  }
  return bootIdCache;
}

/** Start time of `pid` in clock ticks since boot (proc(5) field 22); null when unreadable. */
export function procStartTicks(pid: number): string | null {
  const t = readText(`/proc/${pid}/stat`);
  return t === null ? null : startTicksFromStat(t);
}

/** Field 22 (starttime) of a /proc/<pid>/stat line; null when it is not there. */
export function startTicksFromStat(stat: string): string | null {
  // Field 2 (the command name) is in parentheses and may itself hold spaces and ')': the
  // fields after it start after the LAST ')'.
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const ticks = stat.slice(close + 2).split(' ')[22 - 3];
  return ticks && /^\d+$/.test(ticks) ? ticks : null;
}

/** The machine-wide folder of beacons (Windows): the same for every account and service. */
export function beaconDir(): string {
  return join(process.env.ProgramData ?? process.env.ALLUSERSPROFILE ?? tmpdir(), 'Sekisho', 'alive');
}

/** This process's beacon: its name and the handle kept open until exit; null: none possible. */
let beacon: { name: string; fd: number } | null | undefined;

function ownBeacon(token: string): string | null {
  if (beacon !== undefined) return beacon?.name ?? null;
  const dir = beaconDir();
  const name = `${process.pid}.${token}`;
  try {
    mkdirSync(dir, { recursive: true });
    clearDeadBeacons(dir);
    const fd = openSync(join(dir, name), fsc.O_CREAT | fsc.O_EXCL | fsc.O_RDWR | UV_FS_O_EXLOCK);
    beacon = { name, fd };
  } catch {
    // No beacon folder (a locked-down account): records carry no start identity and readers
    // fall back to kill(pid, 0), as before.
    beacon = null;
  }
  return beacon?.name ?? null;
}

/** Remove beacons of ended processes (crashed, or killed): nobody holds them open any more. */
function clearDeadBeacons(dir: string): void {
  for (const n of readdirSync(dir)) {
    if (!BEACON_RE.test(n)) continue;
    const p = join(dir, n);
    try {
      // A minute old at least, never one a starting process is creating (create+lock is one call,
      // but be generous).
      if (Date.now() - statSync(p).mtimeMs > 60_000 && !beaconHeld(p)) unlinkSync(p);
    } catch {
      /* held, or gone meanwhile */
    }
  }
}

/** Close this process's beacon and give its path (at exit; the caller unlinks it). */
export function releaseBeacon(): string | null {
  if (!beacon) return null;
  try {
    closeSync(beacon.fd);
  } catch {
    /* closed already */
  }
  const path = join(beaconDir(), beacon.name);
  beacon = null;
  return path;
}

/**
 * The identity fields this process appends to an owner record (with a leading space), `token`
 * being unique to this process.
 */
let linuxSelf: string | undefined;
export function selfIdentity(token: string): string {
  if (process.platform === 'linux') {
    // Read once: a process's boot and start time never change (records are written per lock
    // where hard links are missing).
    if (linuxSelf === undefined) {
      const boot = bootId();
      const start = procStartTicks(process.pid);
      linuxSelf = `${boot ? ` boot=${boot}` : ''}${start ? ` start=proc:${start}` : ''}`;
    }
    return linuxSelf;
  }
  if (process.platform === 'win32') {
    const name = ownBeacon(token);
    return name ? ` start=lock:${name}` : '';
  }
  return '';
}

/** Whether a beacon file is held open by its (live) writer. */
export function beaconHeld(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Gone, or openable: nobody holds it. EBUSY (sharing violation) or anything else odd:
    // assume held — calling a live process dead is the mistake that must never happen.
    return !(code === 'ENOENT' || code === 'ENOTDIR');
  }
  closeSync(fd);
  return false;
}

function kill0Alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: a process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** `key=value` fields after the four positional ones of an owner record. */
export function recordFields(raw: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of raw.trim().split(/\s+/).slice(4)) {
    const eq = f.indexOf('=');
    if (eq > 0) m.set(f.slice(0, eq), f.slice(eq + 1));
  }
  return m;
}

/**
 * Whether the process `pid` of this host that wrote a record with `fields` may still run.
 * Only ever says "dead" when that is certain.
 */
export function writerAlive(pid: number, fields: Map<string, string>): boolean {
  const start = fields.get('start') ?? '';
  if (start.startsWith('lock:')) {
    const name = start.slice(5);
    // Only a beacon name (never a path a forged record could point anywhere).
    if (!BEACON_RE.test(name)) return kill0Alive(pid);
    // The beacon is what the writer holds, whatever its PID has become since.
    return beaconHeld(join(beaconDir(), name));
  }
  const boot = fields.get('boot');
  const hereBoot = bootId();
  if (boot && hereBoot && boot !== hereBoot) return false; // written before the last reboot
  if (!kill0Alive(pid)) return false;
  if (start.startsWith('proc:') && hereBoot && boot === hereBoot) {
    const now = procStartTicks(pid);
    // Unreadable (/proc mounted with hidepid, or the process just ended): keep kill's answer.
    if (now !== null && now !== start.slice(5)) return false; // the PID belongs to another process now
  }
  return true;
}
