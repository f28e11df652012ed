/**
 * Server-rendered HTML with every interpolated value escaped: `html\`<p>${name}</p>\``
 * is safe for any `name`; only another `html` fragment (or `raw`) goes in as markup.
 */
export class Html {
  constructor (readonly text: string) {}
  toString (): string { return this.text }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml (value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

type Value = Html | string | number | boolean | null | undefined | Value[]

function render (value: Value): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof Html) return value.text
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(String(value))
}

export function html (strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!
  return new Html(out)
}

/** Markup written by this service itself (never a value from a request or the database). */
export const raw = (text: string): Html => new Html(text)
