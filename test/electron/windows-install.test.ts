// The Windows service XML, the NSIS include, sekisho.cmd and the PATH helper, checked as data
// (they cannot run here: WinSW needs .NET, NSIS needs Windows). The XML is parsed the way WinSW
// 1.17 reads it (ServiceDescriptor.cs: //tag look-ups, <startargument>/<stopargument>/<argument>
// concatenation), so a wrong key or a misplaced argument shows up as a wrong command line.
import { describe, it, expect } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  WINDOWS_INSTALL,
  generatedFiles,
  installCommands,
  installerNsh,
  secretScript,
  sekishoCmd,
  sekishoCmdCommandLine,
  serviceCommandLines,
  serviceXml,
  SID_ADMINISTRATORS,
  SID_SYSTEM,
} from '../../electron/windows-install.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const o = WINDOWS_INSTALL;

/** Every element `<tag ...>text</tag>` or `<tag .../>` (no nesting needed for WinSW's flat keys). */
function elements(xml: string, tag: string): Array<{ text: string; attrs: Record<string, string> }> {
  const noComments = xml.replace(/<!--[\s\S]*?-->/g, '');
  const re = new RegExp(`<${tag}((?:\\s+[\\w-]+="[^"]*")*)\\s*(?:/>|>([\\s\\S]*?)</${tag}>)`, 'g');
  const out: Array<{ text: string; attrs: Record<string, string> }> = [];
  for (const m of noComments.matchAll(re)) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? '').matchAll(/([\w-]+)="([^"]*)"/g)) attrs[a[1]] = a[2];
    out.push({ text: (m[2] ?? '').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>'), attrs });
  }
  return out;
}
const one = (xml: string, tag: string) => {
  const all = elements(xml, tag);
  expect(all, tag).toHaveLength(1);
  return all[0].text;
};

/** WinSW 1.17 AppendTags: each token expanded; quoted when it holds a space and is not quoted. */
function winswArgs(xml: string, tag: string, base: string): string {
  return elements(xml, tag)
    .map((e) => e.text.replace(/%BASE%/g, base))
    .map((t) => (t.startsWith('"') && t.endsWith('"') ? t : t.includes(' ') ? `"${t}"` : t))
    .map((t) => ` ${t}`)
    .join('');
}

describe('the WinSW service XML', () => {
  const xml = serviceXml(o);
  const base = 'C:\\Program Files\\Sekisho\\resources\\service';

  it('names the service and runs `serve --require-auth` on C:\\mail through Sekisho.exe as Node', () => {
    expect(one(xml, 'id')).toBe('SekishoGateway');
    expect(one(xml, 'name')).toBe('Sekisho SMTP Gateway');
    expect(one(xml, 'executable')).toBe('%BASE%\\..\\..\\Sekisho.exe');
    expect(elements(xml, 'env').map((e) => e.attrs)).toEqual([{ name: 'ELECTRON_RUN_AS_NODE', value: '1' }]);
    expect(one(xml, 'workingdirectory')).toBe('C:\\mail');
    // Start = startarguments + " " + arguments (WinSW 1.17 Main.cs OnStart).
    const start = winswArgs(xml, 'startargument', base) + ' ' + winswArgs(xml, 'argument', base);
    expect(start).toBe(' "C:\\Program Files\\Sekisho\\resources\\service\\..\\app.asar\\dist\\services\\cli\\main.js" serve --require-auth  --workdir C:\\mail');
  });

  it('stops through `sekisho stop` (graceful), with the same work folder', () => {
    expect(one(xml, 'stopexecutable')).toBe('%BASE%\\..\\..\\Sekisho.exe');
    // Stop = stoparguments + " " + arguments (WinSW 1.17 Main.cs StopIt).
    const stop = winswArgs(xml, 'stopargument', base) + ' ' + winswArgs(xml, 'argument', base);
    expect(stop).toBe(' "C:\\Program Files\\Sekisho\\resources\\service\\..\\app.asar\\dist\\services\\cli\\main.js" stop --timeout 60  --workdir C:\\mail');
    // No <stoptimeout>: with stoparguments WinSW 1.17 waits for the processes, and `stop` bounds it.
    expect(elements(xml, 'stoptimeout')).toEqual([]);
  });

  it('the command lines the Wine lane runs are the XML\'s', () => {
    const lines = serviceCommandLines(o, base);
    expect(lines.start.command).toBe(`${base}\\..\\..\\Sekisho.exe`);
    expect(lines.start.args).toEqual([`${base}\\..\\app.asar\\dist\\services\\cli\\main.js`, 'serve', '--require-auth', '--workdir', 'C:\\mail']);
    expect(lines.stop.args).toEqual([`${base}\\..\\app.asar\\dist\\services\\cli\\main.js`, 'stop', '--timeout', '60', '--workdir', 'C:\\mail']);
    expect(lines.env).toEqual({ ELECTRON_RUN_AS_NODE: '1' });
  });

  it('starts automatically, restarts on failure, logs under the work folder', () => {
    expect(one(xml, 'startmode')).toBe('Automatic');
    expect(elements(xml, 'onfailure').map((e) => e.attrs)).toEqual([
      { action: 'restart', delay: '10 sec' },
      { action: 'restart', delay: '30 sec' },
      { action: 'restart', delay: '60 sec' },
    ]);
    expect(one(xml, 'resetfailure')).toBe('1 hour');
    expect(one(xml, 'logpath')).toBe('C:\\mail\\log\\service');
    expect(elements(xml, 'log')[0].attrs).toEqual({ mode: 'roll-by-size' });
    // Sub-second values only: WinSW 1.17 uses TimeSpan.Milliseconds (the 0-999 part).
    for (const tag of ['sleeptime', 'waithint']) expect(one(xml, tag)).toMatch(/^[1-9]\d{0,2} ms$/);
    // Keys WinSW 1.17 does not know would be silently ignored: none.
    const known = new Set(['service', 'id', 'name', 'description', 'executable', 'startargument', 'stopexecutable', 'stopargument', 'argument', 'env', 'workingdirectory', 'logpath', 'log', 'sizeThreshold', 'keepFiles', 'startmode', 'onfailure', 'resetfailure', 'sleeptime', 'waithint']);
    const tags = [...xml.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<([a-zA-Z]+)/g)].map((m) => m[1]);
    expect(tags.filter((t) => !known.has(t))).toEqual([]);
  });
});

describe('the installer (NSIS include)', () => {
  const nsh = installerNsh(o).replace(/\r\n/g, '\n');
  const c = installCommands(o, '$INSTDIR');
  const macro = (name: string) => {
    const m = nsh.match(new RegExp(`!macro ${name}\\n([\\s\\S]*?)!macroend`));
    expect(m, name).not.toBeNull();
    return m![1];
  };
  const execs = (body: string) => [...body.matchAll(/nsExec::\w+ '([^']*)'/g)].map((m) => m[1]);

  it('defines the hooks electron-builder calls', () => {
    for (const name of ['customInstall', 'customUnInstall', 'customCheckAppRunning']) macro(name);
    // Every nsExec result is popped (else the stack grows and a later Pop reads garbage).
    expect(nsh.match(/nsExec::/g)!.length).toBe(nsh.match(/\bPop \$0/g)!.length);
  });

  it('sets the work folder ACL to Administrators and SYSTEM (by SID), then the service account', () => {
    const install = execs(macro('customInstall'));
    expect(install).toContain(`icacls.exe "C:\\mail" /inheritance:r /grant:r *${SID_ADMINISTRATORS}:(OI)(CI)F *${SID_SYSTEM}:(OI)(CI)F`);
    expect(install).toContain('icacls.exe "C:\\mail\\*" /reset /T /C /Q');
    expect(install).toContain('icacls.exe "C:\\mail" /grant "NT SERVICE\\SekishoGateway:(OI)(CI)M"');
    // The folder is locked down before anything is written into it.
    expect(install.indexOf(c.aclFolder)).toBeLessThan(install.findIndex((e) => e.includes(' init ')));
    expect(install.indexOf(c.aclFolder)).toBeLessThan(install.indexOf(c.serviceStart));
  });

  it('writes the control secret into the locked-down folder before the service first starts', () => {
    const install = execs(macro('customInstall'));
    const write = install.indexOf('powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "$INSTDIR\\resources\\windows\\secret.ps1" -Workdir "C:\\mail"');
    expect(write).toBeGreaterThan(install.indexOf(c.aclFolder));
    expect(write).toBeLessThan(install.indexOf(c.serviceStart));
    // The format services/control/secret.ts reads: 32 random bytes as 64 lowercase hex digits + LF,
    // written under a temporary name and moved; an existing secret is kept.
    const ps = secretScript();
    expect(ps).toContain('$bytes = New-Object byte[] 32');
    expect(ps).toContain('[System.Security.Cryptography.RandomNumberGenerator]::Create().GetBytes($bytes)');
    expect(ps).toContain("$_.ToString('x2')");
    expect(ps).toContain('"$hex`n"');
    expect(ps).toMatch(/if \(Test-Path -LiteralPath \$path\) \{ exit 0 \}[\s\S]*Move-Item -LiteralPath \$tmp -Destination \$path/);
  });

  it('creates a new work folder with init in the system language, and keeps an existing one', () => {
    const body = macro('customInstall');
    expect(body).toMatch(/\$\{IfNot\} \$\{FileExists\} "C:\\mail\\settings\.json"[\s\S]*init --workdir "C:\\mail" --lang \$3/);
    expect(body).toContain("GetSystemDefaultUILanguage");
    expect(body).toMatch(/\$\{If\} \$2 == 17\n\s+StrCpy \$3 "ja"/); // LANG_JAPANESE = 0x11
  });

  it('registers the service once, then delayed-automatic, virtual account, recovery, and starts it', () => {
    const install = execs(macro('customInstall'));
    expect(install).toContain('"$INSTDIR\\resources\\service\\SekishoService.exe" install');
    expect(install).toContain(
      'sc.exe config SekishoGateway binPath= "$INSTDIR\\resources\\service\\SekishoService.exe" start= delayed-auto obj= "NT SERVICE\\SekishoGateway" DisplayName= "Sekisho SMTP Gateway"',
    );
    expect(install).toContain('sc.exe failure SekishoGateway reset= 3600 actions= restart/10000/restart/30000/restart/60000');
    expect(install[install.length - 1]).toBe('net.exe start SekishoGateway');
    // install only when `sc query` says it is not there (an upgrade keeps the registration).
    expect(macro('customInstall')).toMatch(/sc\.exe query SekishoGateway'\n\s+Pop \$0\n\s+\$\{If\} \$0 != 0\n\s+nsExec::ExecToLog '"\$INSTDIR\\resources\\service\\SekishoService\.exe" install'/);
  });

  it('opens the SMTP ports for Sekisho.exe in Windows Firewall, replacing an older rule', () => {
    const install = execs(macro('customInstall'));
    const del = install.indexOf('netsh.exe advfirewall firewall delete rule name="Sekisho SMTP"');
    const add = install.indexOf(
      'netsh.exe advfirewall firewall add rule name="Sekisho SMTP" dir=in action=allow protocol=TCP localport=25 program="$INSTDIR\\Sekisho.exe" profile=any',
    );
    expect(del).toBeGreaterThanOrEqual(0);
    expect(add).toBeGreaterThan(del);
    expect(installCommands({ ...o, smtpPorts: [25, 587] }, 'X').firewallAdd).toContain('localport=25,587 ');
  });

  it('puts bin\\ on the system PATH through the helper script', () => {
    expect(execs(macro('customInstall'))).toContain(
      'powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "$INSTDIR\\resources\\windows\\path.ps1" -Add "$INSTDIR\\bin"',
    );
  });

  it('stops the service gracefully (net stop → WinSW → sekisho stop) before files are touched', () => {
    const stop = macro('sekishoStopService');
    expect(execs(stop)).toEqual(['sc.exe query SekishoGateway', 'net.exe stop SekishoGateway', '"$SYSDIR\\cmd.exe" /c sc.exe query SekishoGateway | "$SYSDIR\\find.exe" "STOPPED"']);
    // Bounded wait: the stop timeout plus a margin, one poll a second.
    expect(stop).toMatch(new RegExp(`\\$\\{If\\} \\$1 > ${o.stopTimeoutSec + 30}`));
    expect(macro('customCheckAppRunning').trim().split('\n')[0].trim()).toBe('!insertmacro sekishoStopService');
    expect(macro('customUnInstall').trim().split('\n')[1].trim()).toBe('!insertmacro sekishoStopService');
  });

  it('uninstall removes the service, the rule and the PATH entry, but not on upgrade, and never C:\\mail', () => {
    const body = macro('customUnInstall');
    const notUpdated = body.slice(body.indexOf('${IfNot} ${isUpdated}'));
    expect(execs(notUpdated)).toEqual([
      '"$INSTDIR\\resources\\service\\SekishoService.exe" uninstall',
      'netsh.exe advfirewall firewall delete rule name="Sekisho SMTP"',
      'powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "$INSTDIR\\resources\\windows\\path.ps1" -Remove "$INSTDIR\\bin"',
    ]);
    expect(nsh).not.toMatch(/RMDir[^\n]*mail|Delete[^\n]*mail/i);
  });
});

describe('sekisho.cmd', () => {
  it('runs the CLI in app.asar through Sekisho.exe with ELECTRON_RUN_AS_NODE, passing the exit code', () => {
    const lines = sekishoCmd().split('\r\n');
    expect(lines[0]).toBe('@echo off');
    expect(lines).toContain('set ELECTRON_RUN_AS_NODE=1');
    expect(lines).toContain('"%~dp0..\\Sekisho.exe" "%~dp0..\\resources\\app.asar\\dist\\services\\cli\\main.js" %*');
    expect(lines).toContain('endlocal & exit /b %ERRORLEVEL%');
    expect(sekishoCmd()).not.toMatch(/[^\r]\n/); // CRLF only: cmd.exe misreads LF-only batch files
    expect(sekishoCmdCommandLine('C:\\P\\Sekisho', ['check', '--workdir', 'C:\\mail'])).toEqual({
      command: 'C:\\P\\Sekisho\\Sekisho.exe',
      args: ['C:\\P\\Sekisho\\resources\\app.asar\\dist\\services\\cli\\main.js', 'check', '--workdir', 'C:\\mail'],
      env: { ELECTRON_RUN_AS_NODE: '1' },
    });
  });
});

describe('resources/windows/', () => {
  it('holds exactly what electron/windows-install.ts generates (npx tsx electron/windows-install.ts --write)', async () => {
    for (const [name, text] of Object.entries(generatedFiles())) {
      expect(await readFile(join(ROOT, 'resources', 'windows', name), 'utf8'), name).toBe(text);
    }
  });

  it('electron-builder.yml packages the service host, its XML and sekisho.cmd, and includes the NSIS script', async () => {
    const yml = await readFile(join(ROOT, 'electron-builder.yml'), 'utf8');
    expect(yml).toContain('from: node_modules/node-windows/bin/winsw/winsw.exe\n      to: service/SekishoService.exe');
    expect(yml).toContain('from: resources/windows/SekishoService.xml\n      to: service/SekishoService.xml');
    expect(yml).toContain('from: resources/windows/sekisho.cmd\n      to: bin/sekisho.cmd');
    expect(yml).toContain('from: resources/windows/secret.ps1\n      to: windows/secret.ps1');
    expect(yml).toContain('include: resources/windows/installer.nsh');
  });
});
