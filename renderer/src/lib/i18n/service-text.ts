// Japanese for the texts the services send to the UI as English sentences: the policy
// tester's reasons and trace lines (services/policy), a service's exit reason and last error
// (services/supervisor), the overview's last errors. The services keep one language (their
// logs and the CLI are read and grepped in English); the UI translates by the shape of the
// sentence, as it translates diagnostics by their code.
//
// A shape is the English text with `{name}` where the service puts a value (kept as it is: an
// address, a file:line, a number) and `{*name}` where it puts another English sentence (that
// one is translated in turn). test/renderer/service-text.test.ts reads every sentence shape
// from the services' sources and fails when one has no Japanese here.

export type ServiceTextLang = 'ja' | 'en';

/** English shape → Japanese. */
export const SERVICE_TEXT_JA: Readonly<Record<string, string>> = {
  // --- supervisor: exit reasons and start failures (ServiceStatus.lastExit.reason, lastError)
  stopped: '停止しました',
  'port {port} is already in use': 'ポート {port} は既に使用されています',
  'port {port}: permission denied (EACCES); ports below 1024 need administrator rights':
    'ポート {port}: 権限がありません (EACCES)。1024 未満のポートには管理者権限が必要です',
  'killed by signal {signal}': 'シグナル {signal} で強制終了しました',
  'exited with code {code}': '終了コード {code} で終了しました',
  'supervisor is closed': 'サービス管理は終了しています',
  'killed after {secs} s: did not stop within the grace period': '{secs} 秒以内に停止しなかったため強制終了しました',
  '[supervisor] {name} (pid {pid}) did not stop within {secs} s after the stop request; killing it':
    '[サービス管理] {name} (PID {pid}) が停止要求から {secs} 秒以内に停止しないため、強制終了します',
  'unknown service "{name}"': '不明なサービスです "{name}"',
  'did not report ready within {secs} s': '{secs} 秒以内に起動完了を報告しませんでした',
  '{name} was stopped before it was ready': '{name} は起動完了前に停止されました',
  'cannot find the sekisho entry point at {path}': 'Sekisho の起動ファイルが見つかりません: {path}',
  'sekisho {name}:': 'sekisho {name}:',
  '{text}… ({n} characters)': '{text}… ({n} 文字)',
  'the configuration has errors:': '設定にエラーがあります:',
  // the receiver's start failures (receiver.ts ReceiverStartError), the first stderr line
  'port {port} is already in use (EADDRINUSE)': 'ポート {port} は既に使用されています (EADDRINUSE)',
  'tls.cert and tls.key must both be set (or both empty)': 'tls.cert と tls.key は両方とも設定してください (または両方とも空に)',
  'cannot read {name} {path} ({code})': '{name} {path} を読み込めません ({code})',
  'cannot listen on {bind}:{port}: address not available (EADDRNOTAVAIL); check receiver.bind':
    '{bind}:{port} で待ち受けできません: そのアドレスはありません (EADDRNOTAVAIL)。receiver.bind を確認してください',
  'cannot listen on {bind}:{port}: {error}': '{bind}:{port} で待ち受けできません: {error}',
  'receiver.implicitTlsPorts {ports} need tls.cert and tls.key': 'receiver.implicitTlsPorts {ports} には tls.cert と tls.key が必要です',
  'receiver.ports and receiver.implicitTlsPorts are both empty: nothing to listen on':
    'receiver.ports と receiver.implicitTlsPorts がどちらも空です: 待ち受けるポートがありません',
  'port {port} is listed twice in receiver.ports / receiver.implicitTlsPorts': 'ポート {port} が receiver.ports / receiver.implicitTlsPorts に2回書かれています',
  'worker {n} of {count} exited ({how}); stopping the others': 'ワーカー {n}/{count} が終了しました ({how})。ほかのワーカーも停止します',
  'code {code}': 'コード {code}',

  // --- delivery: the sender log lines the overview shows as its last errors (delivery/attempt.ts)
  '[{time}] [{id}] <{address}> deferred ({kind}) host={host}: {*reply}': '[{time}] [{id}] <{address}> 再送待ち ({kind}) ホスト={host}: {*reply}',
  '[{time}] [{id}] <{address}> deferred ({kind}): {*reply}': '[{time}] [{id}] <{address}> 再送待ち ({kind}): {*reply}',
  '[{time}] [{id}] <{address}> failed host={host}: {*reply}': '[{time}] [{id}] <{address}> 配送失敗 ホスト={host}: {*reply}',
  '[{time}] [{id}] <{address}> failed: {*reply}': '[{time}] [{id}] <{address}> 配送失敗: {*reply}',
  '[{time}] [{id}] attempt failed: {error}': '[{time}] [{id}] 配送処理の失敗: {error}',
  '{*reply} (host unreachable a moment ago, not tried again yet)': '{*reply} (少し前に接続できなかったホストのため、まだ再試行していません)',

  // --- control API errors an administrator sees (services/control/handlers.ts)
  'deleted by administrator': '管理者が削除しました',
  'unknown table "{name}" (one of {names})': '不明なテーブルです "{name}" ({names} のいずれか)',
  'lines must be a list of strings': '行は文字列のリストで指定してください',
  '"{id}" is not a queue ID (B followed by ten digits)': '"{id}" はキュー ID ではありません (B に続く10桁の数字)',
  'a line must not contain a line break': '1行の中に改行は入れられません',
  'saveTable needs { table, lines, baseVersion }': 'saveTable には { table, lines, baseVersion } が必要です',
  'baseVersion must be the version readTable returned': 'baseVersion には readTable が返した版を指定してください',
  'settings.json has errors: {*errors}': 'settings.json にエラーがあります: {*errors}',
  'line {n}: {*message}': '{n} 行目: {*message}',
  'line {n}: ': '{n} 行目: ',
  'settings.json was changed elsewhere since it was loaded: reload it and apply the change again':
    'settings.json は読み込んだ後にほかの場所で変更されました: 読み込み直して、もう一度変更してください',
  'message {id} is not in the queue (delivered or removed meanwhile)': 'メッセージ {id} はキューにありません (その間に配送または削除されました)',
  'message {id} is being delivered right now; try again when this attempt is over': 'メッセージ {id} は今配送中です。この配送が終わってからもう一度操作してください',
  'message {id} is not in the queue': 'メッセージ {id} はキューにありません',
  'message {id} has no recipient left to bounce': 'メッセージ {id} にはエラー返送する未配送の宛先がありません',
  'tls.key is set but tls.cert is empty': 'tls.key は設定されていますが tls.cert が空です',
  'the certificate expired on {date}': '証明書は {date} に期限切れになりました',
  'the certificate is not valid before {date}': '証明書は {date} より前には有効ではありません',
  'tls.key is empty': 'tls.key が空です',
  'the key does not belong to the certificate': '秘密鍵が証明書と一致しません',
  'readLog needs { kind: "accept" | "receive" | "sender" }': 'readLog には { kind: "accept" | "receive" | "sender" } が必要です',
  'day must be YYMMDD': '日付は YYMMDD で指定してください',
  'searchLogs needs { text }: an address, a queue ID or an IP': '検索する文字 (アドレス、キュー ID または IP アドレス) を入力してください',
  'kinds must be a list of "accept", "receive", "sender"': 'kinds は "accept"、"receive"、"sender" のリストで指定してください',
  'explain needs { client, from, to: [...] }': 'explain には { client, from, to: [...] } が必要です',
  'the configuration has errors, fix them first: {errors}': '設定にエラーがあります。先に修正してください: {errors}',
  'address must be a string': 'アドレスは文字列で指定してください',
  'this process cannot be shut down through the control API': 'このプロセスは管理 API からは終了できません',

  // --- accounts (services/config/accounts.ts): names, passwords, account files
  'the user name is empty': 'ユーザー名が空です',
  'the user name is longer than 64 characters': 'ユーザー名が64文字を超えています',
  '"{user}": a user name has only letters, digits, ".", "_" and "-"': '"{user}": ユーザー名には英字、数字、"."、"_"、"-" だけが使えます',
  '"{user}": a user name does not start or end with "."': '"{user}": ユーザー名の先頭と末尾に "." は使えません',
  '"{user}" is a reserved device name on Windows': '"{user}" は Windows の予約されたデバイス名です',
  'apop.dat is empty: write the password on its first line': 'apop.dat が空です: 1行目にパスワードを書いてください',
  'apop.dat: malformed $scrypt$<salt>$<hash> line': 'apop.dat: $scrypt$<salt>$<hash> の行が壊れています',
  '"{days}" is not a day or a range of days (sun mon tue wed thu fri sat, e.g. mon-fri or sat,sun)':
    '"{days}" は曜日または曜日の範囲ではありません (sun mon tue wed thu fri sat。例: mon-fri、sat,sun)',
  'a line is "HH:MM-HH:MM", optionally after days: "mon-fri 08:00-18:00"': '1行は "HH:MM-HH:MM" で、前に曜日を付けられます: "mon-fri 08:00-18:00"',
  '"{time}" is not a time (00:00-23:59)': '"{time}" は時刻ではありません (00:00〜23:59)',
  '"{time}" is not a time (00:00-24:00)': '"{time}" は時刻ではありません (00:00〜24:00)',
  'start and end are equal: the window would be empty (write 00:00-24:00 for the whole day)':
    '開始と終了が同じです: 時間帯が空になります (1日中なら 00:00-24:00 と書きます)',
  'a line is "PATTERN,CODE": -1 forbids, 0 allows (e.g. *@example.jp,-1)': '1行は "パターン,コード" です: -1 で禁止、0 で許可 (例: *@example.jp,-1)',
  '"{code}" is not a code: -1 forbids, 0 allows': '"{code}" はコードではありません: -1 で禁止、0 で許可',
  '{*why} (a pattern is *, *@domain, user@domain or domain)': '{*why} (パターンは *、*@ドメイン、ユーザー@ドメイン、ドメインのいずれか)',
  'not an account folder: {path}': 'アカウントのフォルダーではありません: {path}',
  'two account folders differ only in letter case ("{names}")': '大文字・小文字だけが違うアカウントフォルダーが2つあります ("{names}")',
  'the password is empty': 'パスワードが空です',
  'the password must not contain a line break': 'パスワードに改行は入れられません',
  'the account "{user}" already exists': 'アカウント "{user}" は既にあります',
  'no account "{user}"': 'アカウント "{user}" はありません',
  'the account "{user}" holds {n} delivered message(s); delete them first or force': 'アカウント "{user}" には配送済みのメッセージが {n} 通あります。先に削除してください',

  // --- policy: effect.dat (connect, MAIL FROM)
  'standing {action}': '扱い {action}',
  'standing {action}{*rule}': '扱い {action}{*rule}',
  'standing {action} ({*rule})': '扱い {action} ({*rule})',
  'standing {action}, authenticated': '扱い {action}、認証済み',
  'standing {action}, not authenticated': '扱い {action}、未認証',
  'standing {action}: relay refused even after AUTH': '扱い {action}: 認証 (AUTH) 後も中継は拒否',
  'standing false': '扱い false',
  'client address {ip} is not an IP address: no IP pattern can match':
    'クライアントのアドレス {ip} は IP アドレスではありません: IP パターンは一致しません',
  '{rule}: a sender `only` line; lines after it are dead, decided at MAIL FROM':
    '{rule}: 送信者の only 行です。これより後の行は使われません (MAIL FROM で判定)',
  'not refused ({rule} only is decided at MAIL FROM)': '拒否しません ({rule} の only は MAIL FROM で判定します)',
  '{rule}: no match; evaluation ends at an only line': '{rule}: 一致しません。only 行で評価が終わります',
  'not refused ({rule} did not match; evaluation ends there)': '拒否しません ({rule} に一致せず、そこで評価が終わります)',
  '{rule}: matches client {ip}{host}': '{rule}: クライアント {ip}{host} に一致',
  '{rule}: matches': '{rule}: 一致',
  'refused by {rule}': '{rule} により拒否',
  'no effect.dat IP/domain line matched': 'effect.dat の IP・ドメインの行はどれも一致しません',
  'no effect.dat line matched': 'effect.dat のどの行にも一致しません',
  '{rule}: no match; evaluation ends at an only line -> built-in default':
    '{rule}: 一致しません。only 行で評価が終わります -> 既定の default',
  '{rule} did not match; evaluation ends there': '{rule} に一致せず、そこで評価が終わります',
  'no effect.dat line matched -> built-in default': 'effect.dat のどの行にも一致しません -> 既定の default',
  'MAIL FROM {sender}: {*error}': 'MAIL FROM {sender}: {*error}',
  'bad sender address: {*error}': '送信者アドレスが正しくありません: {*error}',
  'sender uses a relay form ({*form}); that alone grants nothing': '送信者が中継用の書式 ({*form}) です。それだけでは何も許可されません',
  'sender <{address}> is local account {user}{*password}': '送信者 <{address}> はローカルアカウント {user} です{*password}',
  ' (has a password)': ' (パスワードあり)',
  ' (no password)': ' (パスワードなし)',
  'authenticated as {user}: account sender allowed': '{user} として認証済み: アカウントの送信者として許可',
  'trusted by {*reason}: account sender allowed without AUTH': '{*reason} により信頼: 認証なしでアカウントの送信者として許可',
  'sender is local account {user} but the session authenticated as {auth}': '送信者はローカルアカウント {user} ですが、認証したのは {auth} です',
  'sender is local account {user}, which has a password: AUTH required (auth.accountSendersNeedAuth)':
    '送信者はパスワードのあるローカルアカウント {user} です: 認証 (AUTH) が必要です (auth.accountSendersNeedAuth)',
  'MAIL FROM': 'MAIL FROM',
  authenticated: '認証済み',
  'account {user} ({*via}) has $offsmtp': 'アカウント {user} ({*via}) に $offsmtp があります',
  'sending disabled for account {user} (inbox/{user2}/$offsmtp)': 'アカウント {user} は送信禁止です (inbox/{user2}/$offsmtp)',
  'account {user}: {time} is outside every usetime.dat window': 'アカウント {user}: {time} は usetime.dat のどの時間帯にも入りません',
  'account {user}: {time} inside {rule} {from}-{to}': 'アカウント {user}: {time} は {rule} {from}-{to} の時間帯内',
  'outside the sending hours of account {user} (usetime.dat, now {time})': 'アカウント {user} の送信可能時間外です (usetime.dat、現在 {time})',

  // --- policy: recipients (RCPT TO)
  '{address} (local inbox/{user}/)': '{address} (ローカル inbox/{user}/)',
  '<{raw}> without a domain read as {address} (RFC 5321 4.5.1; first line of domains.dat)':
    'ドメインのない <{raw}> を {address} として扱います (RFC 5321 4.5.1、domains.dat の1行目)',
  'bad recipient address: {*error}': '宛先アドレスが正しくありません: {*error}',
  'no domain': 'ドメインがありません',
  'domain written with a trailing dot; matched as {domain}': 'ドメインの末尾にドットがあります。{domain} として照合します',
  '{*form}: never relayed unless trusted ({*standing})': '{*form}: 信頼されていない限り中継しません ({*standing})',
  '{*form}: allowed, {*standing}': '{*form}: 許可、{*standing}',
  'trusted ({*standing}); relay form passed as written': '信頼 ({*standing})。中継用の書式をそのまま渡します',
  '{domain} is {*what}': '{domain} は{*what}',
  'a local domain (domains.dat)': '自ドメインです (domains.dat)',
  'routed by gateway.dat': 'gateway.dat で転送先が決まっています',
  'local account {user} (inbox/{user2}/)': 'ローカルアカウント {user} (inbox/{user2}/)',
  'local account {user}': 'ローカルアカウント {user}',
  'alias {alias}': 'エイリアス {alias}',
  'wildcard alias {alias}': 'ワイルドカードエイリアス {alias}',
  'no account or alias; User unknown check skipped ({*standing})': 'アカウントもエイリアスもありません。User unknown の確認は省略 ({*standing})',
  'no account or alias, trusted ({*standing})': 'アカウントもエイリアスもありません。信頼 ({*standing})',
  'no local account or alias for {address}': '{address} のローカルアカウントもエイリアスもありません',
  '{domain} is neither local nor routed: relay refused ({*why})': '{domain} は自ドメインでも転送先のあるドメインでもありません: 中継を拒否 ({*why})',
  'relay refused: {*why}': '中継を拒否: {*why}',
  '{domain} is neither local nor routed: relay allowed ({*why})': '{domain} は自ドメインでも転送先のあるドメインでもありません: 中継を許可 ({*why})',
  'relay allowed: {*why}': '中継を許可: {*why}',
  '{rule} {pattern},-1 forbids {address} for account {user}': '{rule} {pattern},-1 がアカウント {user} の {address} 宛を禁止',
  '{rule} {pattern},0 allows {address}': '{rule} {pattern},0 が {address} 宛を許可',
  'destination forbidden for account {user} by {rule} {pattern},-1': 'アカウント {user} のこの宛先は {rule} {pattern},-1 で禁止されています',
  'no sender.dat line of {user} matches {address}: allowed': '{user} の sender.dat に {address} に一致する行はありません: 許可',

  // --- policy: routes
  'route {domain} -> {hops}': '配送経路 {domain} -> {hops}',
  'route {domain} -> smarthost {host} (settings.json delivery.smarthost; no gateway.dat line)':
    '配送経路 {domain} -> スマートホスト {host} (settings.json の delivery.smarthost。gateway.dat に行なし)',
  'route {domain} -> DNS MX of {domain2} (no gateway.dat line, no smarthost)':
    '配送経路 {domain} -> {domain2} の DNS MX (gateway.dat に行なし、スマートホストなし)',
  'local delivery {address} -> inbox/{user}/': 'ローカル配送 {address} -> inbox/{user}/',

  // --- policy: recipient verification against the internal server
  'recipient verification skipped for <{address}>: trusted client (standing {action})': '<{address}> の受信者確認は省略: 信頼されたクライアント (扱い {action})',
  'recipient verification skipped for <{address}>: authenticated as {user}': '<{address}> の受信者確認は省略: {user} として認証済み',
  'recipient verification of {domain} is on, but gateway.dat has no route for it: <{address}> not verified':
    '{domain} の受信者確認がオンですが、gateway.dat に転送先がありません: <{address}> は確認されません',
  'just now': 'たった今',
  '{n} s ago': '{n} 秒前',
  '{n} min ago': '{n} 分前',
  '{n} h ago': '{n} 時間前',
  '{n} days ago': '{n} 日前',
  'asked now': '今問い合わせ',
  'cached {*ago}': 'キャッシュ {*ago}',
  'verified by {host} ({*when})': '{host} で確認済み ({*when})',
  'refused by {host}: {reply} ({*when})': '{host} が拒否: {reply} ({*when})',
  'recipientCheck.domains lists {domain}, but gateway.dat has no route for it: there is no internal server to ask, so its recipients are not verified':
    'recipientCheck.domains に {domain} がありますが、gateway.dat に転送先がありません: 問い合わせる内部サーバーがないため、受信者は確認されません',
  'recipient check': '受信者確認',
  'recipient check <{address}>: {*answer}': '受信者確認 <{address}>: {*answer}',
  'recipient check <{address}>: no cached answer; the receiver would ask {hops}': '受信者確認 <{address}>: キャッシュされた回答はありません。受信時に {hops} へ問い合わせます',

  // --- policy: the tester's summary lines (explain)
  'MAIL FROM:<>': 'MAIL FROM:<>',
  'MAIL FROM: (blank)': 'MAIL FROM: (空)',
  'MAIL FROM:<{address}>': 'MAIL FROM:<{address}>',
  'RCPT TO:<{address}>': 'RCPT TO:<{address}>',
  'AUTH {user}: auth.enabled is off; treated as not authenticated': 'AUTH {user}: auth.enabled がオフです。未認証として扱います',
  'AUTH {user}: no such account (inbox/{user2}/); treated as not authenticated': 'AUTH {user}: そのアカウントはありません (inbox/{user2}/)。未認証として扱います',
  'AUTH {user}: the account has no apop.dat password, so it cannot authenticate; treated as not authenticated':
    'AUTH {user}: アカウントに apop.dat のパスワードがないため認証できません。未認証として扱います',
  'AUTH {user}: as if authenticated': 'AUTH {user}: 認証済みとして扱います',
  'not reached: {*why}': '未到達: {*why}',
  'connection refused': '接続を拒否',
  'MAIL FROM refused': 'MAIL FROM を拒否',
  'the connection is closed: MAIL FROM and RCPT TO are not reached': '接続は切断されます: MAIL FROM と RCPT TO には進みません',
  'connect {ip}{host}: refused {reply} ({*reason})': '接続 {ip}{host}: 拒否 {reply} ({*reason})',
  'connect {ip}{host}: accepted ({*reason})': '接続 {ip}{host}: 受付 ({*reason})',
  '{what}: refused {reply} ({*reason})': '{what}: 拒否 {reply} ({*reason})',
  '{what}: refused {reply} ({*reason}; {*check})': '{what}: 拒否 {reply} ({*reason}; {*check})',
  '{what}: accepted, {*reason}': '{what}: 受付、{*reason}',
  '{what}: accepted -> {*reason}; {*route}': '{what}: 受付 -> {*reason}; {*route}',
  '{what}: accepted -> {*reason}; {*route}{*checks}': '{what}: 受付 -> {*reason}; {*route}{*checks}',

  // --- policy: relay forms and address errors (address.ts), named inside other sentences
  'source route (@host:user@domain, RFC 5321 C)': 'ソースルート (@host:user@domain、RFC 5321 C)',
  'second @ in the local part': 'ローカル部に2つ目の @',
  'quoted local part holding an @': '@ を含む引用符付きローカル部',
  '% in the local part (percent hack)': 'ローカル部に % (パーセントハック)',
  '! in the local part (UUCP bang path)': 'ローカル部に ! (UUCP バンパス)',
  ': in the local part': 'ローカル部に :',
  'IP address literal as domain': 'ドメインに IP アドレスリテラル',
  'empty address': 'アドレスが空です',
  'address too long': 'アドレスが長すぎます',
  'control character in address': 'アドレスに制御文字があります',
  'source route without ":"': '":" のないソースルート',
  'unterminated quoted local part': 'ローカル部の引用符が閉じていません',
  'text after the quoted local part': '引用符付きローカル部の後ろに文字があります',
  'invalid character in the local part': 'ローカル部に使えない文字があります',
  'empty local part': 'ローカル部が空です',
  'domain too long': 'ドメインが長すぎます',
  'invalid domain': 'ドメインが正しくありません',
  'empty domain': 'ドメインが空です',
};

interface Rule {
  re: RegExp;
  names: Array<{ name: string; translate: boolean }>;
  ja: string;
  /** Characters of fixed text: the more, the more specific (tried first). */
  weight: number;
}

const PLACEHOLDER = /\{(\*?)(\w+)\}/g;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function compile(shape: string, ja: string): Rule {
  const names: Rule['names'] = [];
  let re = '';
  let last = 0;
  let weight = 0;
  for (const m of shape.matchAll(PLACEHOLDER)) {
    const fixed = shape.slice(last, m.index);
    re += escapeRe(fixed);
    weight += fixed.length;
    re += '([\\s\\S]*?)';
    names.push({ name: m[2], translate: m[1] === '*' });
    last = m.index! + m[0].length;
  }
  re += escapeRe(shape.slice(last));
  weight += shape.length - last;
  return { re: new RegExp(`^${re}$`), names, ja, weight };
}

const RULES: Rule[] = Object.entries(SERVICE_TEXT_JA)
  .map(([en, ja]) => compile(en, ja))
  .sort((a, b) => b.weight - a.weight);

/** A shape with every placeholder written `{}`: what the test compares with the sources. */
export function shapeKey(shape: string): string {
  return shape.replace(PLACEHOLDER, '{}');
}

interface Translation {
  text: string;
  /** Nested sentences ({*name}) that no rule knew: fewer is a better reading. */
  misses: number;
}

/**
 * The Japanese of `text`, or null when no rule matches. Several shapes can match one text
 * (a sentence nested in another); the reading whose nested sentences are all known wins, then
 * the more specific shape.
 */
function translateBest(text: string, depth: number): Translation | null {
  if (depth > 6 || text === '') return null;
  let best: Translation | null = null;
  for (const r of RULES) {
    const m = r.re.exec(text);
    if (!m) continue;
    const values = new Map<string, string>();
    let misses = 0;
    r.names.forEach((n, i) => {
      const v = m[i + 1];
      if (!n.translate) return void values.set(n.name, v);
      const t = translateBest(v, depth + 1);
      // A nested value that is no sentence (a rule reference, an empty part) is no miss.
      if (!t && /[a-z]{3,} [a-z]{2,}/.test(v)) misses++;
      misses += t?.misses ?? 0;
      values.set(n.name, t?.text ?? v);
    });
    const candidate = { text: r.ja.replace(PLACEHOLDER, (_all, _star, name: string) => values.get(name) ?? ''), misses };
    if (!best || candidate.misses < best.misses) best = candidate;
    if (best.misses === 0) break;
  }
  if (best) return best;
  // A chain of sentences joined by "; " (the tester's reason; route; checks).
  if (text.includes('; ')) {
    const parts = text.split('; ').map((p) => ({ p, t: translateBest(p, depth + 1) }));
    if (parts.some((x) => x.t)) {
      return { text: parts.map((x) => x.t?.text ?? x.p).join('; '), misses: parts.reduce((n, x) => n + (x.t ? x.t.misses : 1), 0) };
    }
  }
  return null;
}

function translate(text: string, depth: number): string | null {
  return translateBest(text, depth)?.text ?? null;
}

/** Whether a rule knows this text (or every part of a "; " chain). */
export function hasServiceText(text: string): boolean {
  return translate(text, 0) !== null;
}

/** A service's English sentence in the UI language; unknown sentences stay as they are. */
export function serviceText(text: string | null | undefined, lang: ServiceTextLang): string {
  if (text === null || text === undefined) return '';
  if (lang === 'en') return text;
  return translate(text, 0) ?? text;
}
