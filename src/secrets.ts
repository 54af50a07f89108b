// Passwords in a PostgreSQL conninfo, found and taken out in one place: a run names its warehouse
// without one (history keeps it), so the client, the workflow and the warehouse's name share these.
/** A conninfo setting `password=…`, its value quoted or not. */
const PASSWORD_SETTING = /(^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S*)/gi;
/** A URI's `user:password@`. */
const URI_PASSWORD = /(:\/\/[^:@/\s]+):[^@/\s]*@/;

/** Whether a location or conninfo holds a password, in either form. */
export function holdsPassword(text: string): boolean {
  return new RegExp(PASSWORD_SETTING.source, 'i').test(text) || URI_PASSWORD.test(text);
}

/** A conninfo without its password, its settings' spacing made single. */
export function withoutPassword(conninfo: string): string {
  return conninfo.replace(PASSWORD_SETTING, '').replace(URI_PASSWORD, '$1@').trim().replace(/\s+/g, ' ');
}

/** A password's value as messages show it. */
export const MASK = '***';

/**
 * Text (a conninfo, an error's message) with every password masked, in either form, and every
 * given secret (S3 keys, tokens) replaced: the one masking of meterflow's messages.
 */
export function masked(text: string, secrets: readonly string[] = []): string {
  const settings = text.replace(PASSWORD_SETTING, (_match, lead: string) => `${lead}password=${MASK}`);
  const uris = settings.replace(new RegExp(URI_PASSWORD.source, 'g'), `$1:${MASK}@`);
  return secrets.filter((secret) => secret.length > 0).reduce((out, secret) => out.split(secret).join(MASK), uris);
}
