// How a model's template is kept when it calls the project's macros: the macro files it needs, each
// after a comment naming it, then the model. Self-contained, so the workers render from it alone and
// a model's definition hash changes with the macros it uses; nunjucks renders it unchanged as well.

/** One file of macros, as read from the project's `macro-paths`. */
export interface MacroSource {
  /** Path relative to the project folder, for messages. */
  readonly file: string;
  readonly source: string;
  /** The installed package it is of (`dbt_utils`), whose name its macros are called under; absent: the project's own. */
  readonly package?: string;
}

const FILE_MARKER = /\{# meterflow macro file: (\S+)(?: of package (\w+))? #\}/g;
const MODEL_MARKER = '{# meterflow model #}';

/** The template with the macro files it uses in front; a template that uses none stays as it is. */
export function bundleTemplate(template: string, macros: readonly MacroSource[]): string {
  if (macros.length === 0) return template;
  const marker = (macro: MacroSource) => `{# meterflow macro file: ${macro.file}${macro.package ? ` of package ${macro.package}` : ''} #}`;
  return `${macros.map((macro) => `${marker(macro)}${macro.source}`).join('')}${MODEL_MARKER}${template}`;
}

/** The macro files and the model's own template, from what `bundleTemplate` made (or a plain template). */
export function splitBundle(text: string): { macros: MacroSource[]; model: string } {
  const end = text.indexOf(MODEL_MARKER);
  if (!text.startsWith('{# meterflow macro file: ') || end < 0) return { macros: [], model: text };
  const head = text.slice(0, end);
  const markers = [...head.matchAll(FILE_MARKER)];
  const macros = markers.map((marker, i) => ({
    file: marker[1] as string,
    source: head.slice((marker.index ?? 0) + marker[0].length, markers[i + 1]?.index ?? head.length),
    ...(marker[2] ? { package: marker[2] } : {}),
  }));
  return { macros, model: text.slice(end + MODEL_MARKER.length) };
}
