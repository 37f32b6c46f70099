// The Windows service and installer of an installed Sekisho (issue 16), generated as text from
// one set of names and paths so that they are tested as data (test/electron/windows-install.test.ts)
// and cannot drift apart: the WinSW service XML, the NSIS include of the installer
// (electron-builder `nsis.include`), `sekisho.cmd`, the PATH and control-secret helpers. The generated files live
// in resources/windows/; `npx tsx electron/windows-install.ts --write` rewrites them and a test
// fails while the committed files differ from what this module produces.
//
// Layout of an installation (electron-builder, $INSTDIR = C:\Program Files\Sekisho):
//   Sekisho.exe                          the app; with ELECTRON_RUN_AS_NODE=1 it is plain Node
//   resources\app.asar                   dist/ (services, electron, renderer) + node_modules
//   resources\service\SekishoService.exe WinSW 1.17 (node-windows' bin/winsw/winsw.exe), renamed:
//   resources\service\SekishoService.xml   WinSW reads <its own name>.xml beside it
//   resources\service\SekishoService.exe.config   lets the .NET 2.0 build run on .NET 4
//   resources\windows\path.ps1           adds/removes bin\ on the system PATH
//   resources\windows\secret.ps1         writes <workdir>\control.secret when there is none
//   bin\sekisho.cmd                      the `sekisho` command (bin\ like VS Code's bin\code.cmd:
//                                        were the exe folder on PATH, `sekisho` would start
//                                        Sekisho.exe, since PATHEXT tries .EXE before .CMD)
//
// Why WinSW and not NSSM (docs/guide.md, "Windows service"): a service stop must end in
// Sekisho's graceful stop. WinSW's <stopexecutable> runs `sekisho stop`, which asks serve over
// the authenticated control API to stop its children gracefully and waits for it to exit.
// NSSM 2.24 can only stop a console child with Ctrl+C, and on Server 2016 and later it needs
// AppNoConsole=1 to start services at all: then there is no console, and its stop falls through
// to TerminateProcess, which would cut DATA in progress.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface WindowsInstall {
  /** The service name (`net start SekishoGateway`); also the virtual account NT SERVICE\<id>. */
  serviceId: string;
  displayName: string;
  description: string;
  /** The work folder the service runs `serve` on (SPEC 2: C:\mail). */
  workdir: string;
  /** Inbound TCP ports opened in Windows Firewall (the defaults of a new work folder). */
  smtpPorts: number[];
  /** `sekisho stop --timeout`: how long serve's graceful stop may take before it is killed. */
  stopTimeoutSec: number;
  /** Name of the renamed winsw.exe (and of its .xml / .exe.config) under resources\service. */
  hostName: string;
  /** Windows Firewall rule name. */
  firewallRule: string;
}

export const WINDOWS_INSTALL: WindowsInstall = {
  serviceId: 'SekishoGateway',
  displayName: 'Sekisho SMTP Gateway',
  description: 'Sekisho SMTP gateway: receiver, delivery and control API (sekisho serve).',
  workdir: 'C:\\mail',
  smtpPorts: [25],
  stopTimeoutSec: 60,
  hostName: 'SekishoService',
  firewallRule: 'Sekisho SMTP',
};

/** Installed paths, relative to the installation folder ($INSTDIR). */
export const INSTALLED = {
  exe: 'Sekisho.exe',
  cliMain: 'resources\\app.asar\\dist\\services\\cli\\main.js',
  serviceDir: 'resources\\service',
  pathScript: 'resources\\windows\\path.ps1',
  secretScript: 'resources\\windows\\secret.ps1',
  cmd: 'bin\\sekisho.cmd',
} as const;

/** SIDs, not names: group names are localized (a Japanese Windows may not know "Administrators"). */
export const SID_ADMINISTRATORS = 'S-1-5-32-544';
export const SID_SYSTEM = 'S-1-5-18';

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The service's command lines as WinSW 1.17 builds them (Main.cs OnStart/StopIt): with
 * <stopargument> present, start = <startargument>s + <argument>s and stop = <stopargument>s +
 * <argument>s, each token expanded (%BASE% = the folder of SekishoService.exe) and quoted when
 * it holds a space. `base` is that folder; the Wine lane runs exactly these.
 */
export function serviceCommandLines(o: WindowsInstall, base: string): {
  start: { command: string; args: string[] };
  stop: { command: string; args: string[] };
  env: Record<string, string>;
  workingDirectory: string;
} {
  const expand = (s: string) => s.replace(/%BASE%/g, base);
  const x = serviceXmlParts(o);
  const tail = x.arguments.map(expand);
  return {
    start: { command: expand(x.executable), args: [...x.startArguments.map(expand), ...tail] },
    stop: { command: expand(x.stopExecutable), args: [...x.stopArguments.map(expand), ...tail] },
    env: { ...x.env },
    workingDirectory: o.workdir,
  };
}

function serviceXmlParts(o: WindowsInstall) {
  // From resources\service: the exe two folders up, app.asar one up.
  const exe = `%BASE%\\..\\..\\${INSTALLED.exe}`;
  const cli = `%BASE%\\..\\app.asar\\dist\\services\\cli\\main.js`;
  return {
    executable: exe,
    stopExecutable: exe,
    // --require-auth: other local users (RDP) cannot read the work folder and so not the control
    // secret; this keeps them from the control API as well, even with control.password empty.
    startArguments: [cli, 'serve', '--require-auth'],
    stopArguments: [cli, 'stop', '--timeout', String(o.stopTimeoutSec)],
    // Appended to both start and stop by WinSW 1.17.
    arguments: ['--workdir', o.workdir],
    env: { ELECTRON_RUN_AS_NODE: '1' },
  };
}

/** The WinSW 1.17 configuration (keys checked against WinSW v1.17 ServiceDescriptor.cs). */
export function serviceXml(o: WindowsInstall): string {
  const x = serviceXmlParts(o);
  const el = (name: string, value: string) => `  <${name}>${xmlEscape(value)}</${name}>`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!-- Generated by electron/windows-install.ts: the Windows service of Sekisho (docs/guide.md). -->',
    '<service>',
    el('id', o.serviceId),
    el('name', o.displayName),
    el('description', o.description),
    '  <!-- Sekisho.exe runs as plain Node: `sekisho serve` on the work folder; every control API call',
    '       needs control.secret (readable by Administrators and SYSTEM only) or control.password. -->',
    el('executable', x.executable),
    ...x.startArguments.map((a) => el('startargument', a)),
    '  <!-- Stop = `sekisho stop`: serve stops its children gracefully (DATA in progress and delivery',
    '       attempts finish) and exits; WinSW waits for both processes. `stop` kills serve itself',
    '       after the timeout, so a stop always ends. -->',
    el('stopexecutable', x.stopExecutable),
    ...x.stopArguments.map((a) => el('stopargument', a)),
    '  <!-- Appended to the start and the stop command lines alike. -->',
    ...x.arguments.map((a) => el('argument', a)),
    ...Object.entries(x.env).map(([k, v]) => `  <env name="${xmlEscape(k)}" value="${xmlEscape(v)}"/>`),
    el('workingdirectory', o.workdir),
    // WinSW's own log and serve's stdout/stderr, beside the mail logs, rolled at 10 MB x 8.
    el('logpath', `${o.workdir}\\log\\service`),
    '  <log mode="roll-by-size">',
    '    <sizeThreshold>10240</sizeThreshold>',
    '    <keepFiles>8</keepFiles>',
    '  </log>',
    // The installer makes it delayed-automatic with `sc config start= delayed-auto`: WinSW 1.17
    // has no <delayedAutoStart>.
    el('startmode', 'Automatic'),
    // Restart on failure: serve exiting non-zero (not an orderly stop) is a failure for the SCM.
    '  <onfailure action="restart" delay="10 sec"/>',
    '  <onfailure action="restart" delay="30 sec"/>',
    '  <onfailure action="restart" delay="60 sec"/>',
    el('resetfailure', '1 hour'),
    // WinSW 1.17 passes TimeSpan.Milliseconds (the 0-999 part, not the total) to the SCM and to
    // its wait loop: values under a second are the only ones that mean what they say.
    el('sleeptime', '500 ms'),
    el('waithint', '900 ms'),
    '</service>',
    '',
  ];
  return lines.join('\r\n');
}

/** `sekisho.cmd`: the CLI of this installation through Sekisho.exe as Node. */
export function sekishoCmd(): string {
  return [
    '@echo off',
    'rem The `sekisho` command of an installed Sekisho (docs/guide.md): Sekisho.exe runs the CLI as',
    'rem plain Node (ELECTRON_RUN_AS_NODE), like VS Code\'s bin\\code.cmd. Generated by',
    'rem electron/windows-install.ts.',
    'setlocal',
    'set ELECTRON_RUN_AS_NODE=1',
    `"%~dp0..\\${INSTALLED.exe}" "%~dp0..\\${INSTALLED.cliMain}" %*`,
    'endlocal & exit /b %ERRORLEVEL%',
    '',
  ].join('\r\n');
}

/** What `sekisho.cmd ARGS` runs, for an installation folder `inst` (the Wine lane runs this). */
export function sekishoCmdCommandLine(inst: string, args: string[]): { command: string; args: string[]; env: Record<string, string> } {
  return { command: `${inst}\\${INSTALLED.exe}`, args: [`${inst}\\${INSTALLED.cliMain}`, ...args], env: { ELECTRON_RUN_AS_NODE: '1' } };
}

/**
 * Adds or removes one folder on the machine PATH. Read and written through the registry as
 * REG_EXPAND_SZ without expanding it (.NET's [Environment]::SetEnvironmentVariable would expand
 * %SystemRoot% and friends in the whole PATH); NSIS strings are too short for a long PATH.
 */
export function pathScript(): string {
  return [
    '# Generated by electron/windows-install.ts: adds (-Add) or removes (-Remove) one folder on the',
    '# machine PATH, for the `sekisho` command (bin\\sekisho.cmd). Run elevated by the installer.',
    'param([string]$Add, [string]$Remove)',
    "$ErrorActionPreference = 'Stop'",
    "$key = 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment'",
    '$item = Get-Item -LiteralPath $key',
    "$old = $item.GetValue('Path', '', 'DoNotExpandEnvironmentNames')",
    "$parts = @($old -split ';' | Where-Object { $_ -ne '' })",
    'if ($Remove) { $parts = @($parts | Where-Object { $_.TrimEnd(\'\\\') -ine $Remove.TrimEnd(\'\\\') }) }',
    "if ($Add -and -not ($parts | Where-Object { $_.TrimEnd('\\') -ieq $Add.TrimEnd('\\') })) { $parts += $Add }",
    "$new = $parts -join ';'",
    "if ($new -ne $old) { Set-ItemProperty -LiteralPath $key -Name Path -Value $new -Type ExpandString }",
    '',
  ].join('\r\n');
}

/**
 * Writes the control secret (services/control/secret.ts: 32 random bytes as 64 hex digits and a
 * newline) when the work folder has none, so it exists, under the folder's ACL, before the
 * service first starts; serve keeps an existing one (ensureControlSecret).
 */
export function secretScript(): string {
  return [
    '# Generated by electron/windows-install.ts: the control secret of the work folder (64 hex',
    '# digits), written once by the installer; serve keeps it (services/control/secret.ts).',
    'param([Parameter(Mandatory = $true)][string]$Workdir)',
    "$ErrorActionPreference = 'Stop'",
    "$path = Join-Path $Workdir 'control.secret'",
    'if (Test-Path -LiteralPath $path) { exit 0 }',
    '$bytes = New-Object byte[] 32',
    '[System.Security.Cryptography.RandomNumberGenerator]::Create().GetBytes($bytes)',
    "$hex = -join ($bytes | ForEach-Object { $_.ToString('x2') })",
    "$tmp = \"$path.$PID.tmp\"",
    "[System.IO.File]::WriteAllText($tmp, \"$hex`n\", (New-Object System.Text.UTF8Encoding($false)))",
    'Move-Item -LiteralPath $tmp -Destination $path',
    '',
  ].join('\r\n');
}

/** NSIS: quote a value for a command line inside an NSIS '...' string. */
function q(s: string): string {
  return `"${s}"`;
}

/**
 * The icacls and netsh command lines the installer runs, as data (the NSIS include is built
 * from these, and the tests read them). `inst` is the installation folder ($INSTDIR in NSIS).
 */
export function installCommands(o: WindowsInstall, inst: string) {
  const host = `${inst}\\${INSTALLED.serviceDir}\\${o.hostName}.exe`;
  const account = `NT SERVICE\\${o.serviceId}`;
  return {
    host,
    account,
    /**
     * Administrators and SYSTEM only, inherited by everything below (OI)(CI); /inheritance:r
     * drops what C:\ would pass down (Users: read), so apop.dat and queued mail are not
     * readable by every local user. Granted by SID, which is the same on every language.
     */
    aclFolder: `icacls.exe ${q(o.workdir)} /inheritance:r /grant:r *${SID_ADMINISTRATORS}:(OI)(CI)F *${SID_SYSTEM}:(OI)(CI)F`,
    /** Files that existed before (an upgrade from a version that set no ACL) inherit the folder's. */
    aclReset: `icacls.exe ${q(`${o.workdir}\\*`)} /reset /T /C /Q`,
    /** The service's virtual account: modify, not full control (it cannot change the ACL). */
    aclService: `icacls.exe ${q(o.workdir)} /grant ${q(`${account}:(OI)(CI)M`)}`,
    serviceInstall: `${q(host)} install`,
    serviceUninstall: `${q(host)} uninstall`,
    /** Kept current on every install (an upgrade may come from another folder or version). */
    serviceConfig: `sc.exe config ${o.serviceId} binPath= ${q(host)} start= delayed-auto obj= ${q(account)} DisplayName= ${q(o.displayName)}`,
    serviceFailure: `sc.exe failure ${o.serviceId} reset= 3600 actions= restart/10000/restart/30000/restart/60000`,
    serviceStart: `net.exe start ${o.serviceId}`,
    serviceStop: `net.exe stop ${o.serviceId}`,
    serviceQuery: `sc.exe query ${o.serviceId}`,
    firewallDelete: `netsh.exe advfirewall firewall delete rule name=${q(o.firewallRule)}`,
    firewallAdd:
      `netsh.exe advfirewall firewall add rule name=${q(o.firewallRule)} dir=in action=allow protocol=TCP ` +
      `localport=${o.smtpPorts.join(',')} program=${q(`${inst}\\${INSTALLED.exe}`)} profile=any`,
    pathAdd: `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File ${q(`${inst}\\${INSTALLED.pathScript}`)} -Add ${q(`${inst}\\bin`)}`,
    secretWrite: `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File ${q(`${inst}\\${INSTALLED.secretScript}`)} -Workdir ${q(o.workdir)}`,
    pathRemove: `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File ${q(`${inst}\\${INSTALLED.pathScript}`)} -Remove ${q(`${inst}\\bin`)}`,
  };
}

/** NSIS: `$` starts a variable; a literal dollar is `$$`. Our commands hold none but $INSTDIR. */
function nsisExec(cmd: string, log = true, indent = '  '): string {
  if (cmd.includes("'")) throw new Error(`an NSIS '...' string cannot hold a single quote: ${cmd}`);
  return `${indent}nsExec::${log ? 'ExecToLog' : 'Exec'} '${cmd}'\n${indent}Pop $0`;
}

/** The electron-builder NSIS include (nsis.include): elevated customInstall / customUnInstall. */
export function installerNsh(o: WindowsInstall): string {
  const c = installCommands(o, '$INSTDIR');
  const cmdLine = (args: string) => `"$SYSDIR\\cmd.exe" /c ""$INSTDIR\\${INSTALLED.cmd}" ${args}"`;
  return `; Generated by electron/windows-install.ts (npx tsx electron/windows-install.ts --write): the
; Windows service "${o.displayName}", the work folder ${o.workdir}, the firewall rule and the
; \`sekisho\` command. Included by electron-builder (nsis.include); the installer runs elevated
; (perMachine). What it does is described in docs/guide.md, "Installing on Windows".

; _CHECK_APP_RUNNING (electron-builder) needs these when customCheckAppRunning is defined.
!include "getProcessInfo.nsh"
Var pid

; Stop the service and wait until the SCM reports it STOPPED. The stop is graceful: WinSW runs
; \`sekisho stop\` (the <stopexecutable>), which ends in serve's graceful stop.
!macro sekishoStopService
${nsisExec(c.serviceQuery, false)}
  \${If} $0 == 0
    DetailPrint "Sekisho: stopping the service ${o.serviceId} (graceful)"
${nsisExec(c.serviceStop, true, '    ')}
    StrCpy $1 0
    \${Do}
      nsExec::Exec '"$SYSDIR\\cmd.exe" /c ${c.serviceQuery} | "$SYSDIR\\find.exe" "STOPPED"'
      Pop $0
      \${If} $0 == 0
        \${Break}
      \${EndIf}
      IntOp $1 $1 + 1
      \${If} $1 > ${o.stopTimeoutSec + 30}
        DetailPrint "Sekisho: the service did not stop in time"
        \${Break}
      \${EndIf}
      Sleep 1000
    \${Loop}
  \${EndIf}
!macroend

; Before files are replaced or removed: the service's Sekisho.exe holds them. Stop it
; gracefully first (electron-builder's own check would kill every Sekisho.exe by name), then
; close running app windows as electron-builder does.
!macro customCheckAppRunning
  !insertmacro sekishoStopService
  !insertmacro IS_POWERSHELL_AVAILABLE
  !insertmacro _CHECK_APP_RUNNING
!macroend

!macro customInstall
  ; 1. The work folder: Administrators and SYSTEM only. Kept on upgrade and uninstall.
  CreateDirectory "${o.workdir}"
  CreateDirectory "${o.workdir}\\log\\service"
${nsisExec(c.aclFolder)}
${nsisExec(c.aclReset)}
  ; 2. A new work folder gets commented defaults in the system's language.
  \${IfNot} \${FileExists} "${o.workdir}\\settings.json"
    System::Call 'kernel32::GetSystemDefaultUILanguage() i .r2'
    IntOp $2 $2 & 0x3FF
    StrCpy $3 "en"
    \${If} $2 == 17
      StrCpy $3 "ja"
    \${EndIf}
    nsExec::ExecToLog '${cmdLine(`init --workdir "${o.workdir}" --lang $3`)}'
    Pop $0
  \${EndIf}
  ; The control secret (Mail Control and \`sekisho stop\` prove with it that they may manage the
  ; service), written now so it exists under the folder's ACL before the service first starts.
${nsisExec(c.secretWrite)}
  ; 3. The service (WinSW reads its XML at every start, so an upgrade only updates the SCM's
  ;    record): automatic delayed start, restart on failure, the virtual account.
${nsisExec(c.serviceQuery, false)}
  \${If} $0 != 0
${nsisExec(c.serviceInstall, true, '    ')}
  \${EndIf}
${nsisExec(c.serviceConfig)}
${nsisExec(c.serviceFailure)}
${nsisExec(c.aclService)}
  ; 4. Windows Firewall: the SMTP ports, for Sekisho.exe only.
${nsisExec(c.firewallDelete)}
${nsisExec(c.firewallAdd)}
  ; 5. \`sekisho\` on the system PATH.
${nsisExec(c.pathAdd)}
  SendMessage \${HWND_BROADCAST} \${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=5000
  ; 6. Start it.
${nsisExec(c.serviceStart)}
!macroend

!macro customUnInstall
  ; A silent uninstall skips the running-app check: stop the service here too.
  !insertmacro sekishoStopService
  \${IfNot} \${isUpdated}
${nsisExec(c.serviceUninstall, true, '    ')}
${nsisExec(c.firewallDelete, true, '    ')}
${nsisExec(c.pathRemove, true, '    ')}
    SendMessage \${HWND_BROADCAST} \${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=5000
    ; ${o.workdir} (mail, settings, logs) is kept.
  \${EndIf}
!macroend
`.replace(/\n/g, '\r\n');
}

/** File name (under resources/windows/) → generated text. */
export function generatedFiles(o: WindowsInstall = WINDOWS_INSTALL): Record<string, string> {
  return {
    [`${o.hostName}.xml`]: serviceXml(o),
    'installer.nsh': installerNsh(o),
    'sekisho.cmd': sekishoCmd(),
    'path.ps1': pathScript(),
    'secret.ps1': secretScript(),
  };
}

/** `npx tsx electron/windows-install.ts --write`: regenerate resources/windows/. */
async function writeAll(): Promise<void> {
  const dir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'resources', 'windows');
  for (const [name, text] of Object.entries(generatedFiles())) await writeFile(join(dir, name), text);
}

if (process.argv.includes('--write') && process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeAll();
}
