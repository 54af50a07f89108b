// The exit codes of the meterflow command, written once: the CLI uses them and its --help lists them.

/** The command did what it was asked (a run completed; a worker stopped when told to). */
export const EXIT_OK = 0;
/** A run failed, or the command could not do its work (Temporal unreachable, a location it cannot write). */
export const EXIT_FAILED = 1;
/** Bad usage: an unknown command or option, a missing or malformed value. */
export const EXIT_USAGE = 2;
/** SIGINT (Ctrl-C) or SIGTERM interrupted a run: it was cancelled. One code for both, so scripts check one. */
export const EXIT_INTERRUPTED = 130;

/** The epilogue of `meterflow --help`. */
export const EXIT_CODES_HELP = `
Output: results on stdout; progress, warnings and errors on stderr.

Exit codes:
  ${EXIT_OK}    success (a worker or dev server stopped by SIGINT/SIGTERM also exits ${EXIT_OK})
  ${EXIT_FAILED}    the run failed, or the command could not do its work
  ${EXIT_USAGE}    bad usage: unknown command or option, missing or malformed value
  ${EXIT_INTERRUPTED}  interrupted: SIGINT (Ctrl-C) or SIGTERM cancelled the run (a second Ctrl-C exits at once)

Signals: SIGINT (Ctrl-C) or SIGTERM during \`run\` cancels the run it started, waits (at most 8 s) for
it to end cancelled, stops an embedded server, and exits 130; a second one exits at once (a run on
TEMPORAL_ADDRESS may then go on). \`worker\` and \`dev\` let in-flight activities finish and exit 0.

Temporal: TEMPORAL_ADDRESS (default 127.0.0.1:7233; \`run\` and \`quickstart\` start an embedded
server when it is unset), TEMPORAL_NAMESPACE (default "default").`;
