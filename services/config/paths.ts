// Where everything lives inside the work folder (SPEC 2). One place, so no module spells
// `log/accept` or `inbox/<user>` by hand.
import { join, resolve } from 'node:path';
import { TABLE_FILES } from './types.js';

export interface WorkPaths {
  root: string;
  settings: string;
  gateway: string;
  effect: string;
  aliases: string;
  domains: string;
  inbox: string;
  incoming: string;
  logAccept: string;
  logReceive: string;
  logSender: string;
}

export function workPaths(workdir: string): WorkPaths {
  const root = resolve(workdir);
  return {
    root,
    settings: join(root, TABLE_FILES.settings),
    gateway: join(root, TABLE_FILES.gateway),
    effect: join(root, TABLE_FILES.effect),
    aliases: join(root, TABLE_FILES.aliases),
    domains: join(root, TABLE_FILES.domains),
    inbox: join(root, 'inbox'),
    incoming: join(root, 'incoming'),
    logAccept: join(root, 'log', 'accept'),
    logReceive: join(root, 'log', 'receive'),
    logSender: join(root, 'log', 'sender'),
  };
}

/** The files of one account folder `inbox/<user>/` (SPEC 7). */
export const ACCOUNT_FILES = {
  password: 'apop.dat',
  sendingDisabled: '$offsmtp',
  usetime: 'usetime.dat',
  sender: 'sender.dat',
} as const;

/** Absolute path of `inbox/<user>/`. The caller validates `user` first (accounts.ts). */
export function accountDir(workdir: string, user: string): string {
  return join(workPaths(workdir).inbox, user);
}
