// A strict reader of Prometheus' text exposition format (version 0.0.4), as Prometheus itself reads a scrape:
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format. It throws, naming the line, on
// anything the format does not allow. (parse-prometheus-text-format, the npm package, drops the labels of every
// labelled histogram: its issue #13, open since 2020.)

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface Sample { name: string, labels: Record<string, string>, value: number }

export interface MetricFamily { name: string, help: string | undefined, type: MetricType, samples: Sample[] }

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
/** A float as Prometheus reads one (Go's ParseFloat): NaN and Inf in any case (prom-client writes `Nan`). */
const VALUE = /^[+-]?(?:inf(?:inity)?|nan|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)$/i
const TYPES: readonly string[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped']

const SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count']
}

/** The same series, written the same way: `name{a="1",b="2"}` with labels sorted (for comparing scrapes). */
export function seriesKey (name: string, labels: Record<string, string> = {}): string {
  const pairs = Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`)
  return pairs.length === 0 ? name : `${name}{${pairs.join(',')}}`
}

function parseValue (text: string, line: string): number {
  if (!VALUE.test(text)) throw new Error(`not a sample value: ${JSON.stringify(text)} in ${line}`)
  if (/nan/i.test(text)) return NaN
  return /inf/i.test(text) ? (text.startsWith('-') ? -Infinity : Infinity) : Number(text)
}

/** `{a="x",b="y\"z"}` from position `at`: the labels and where they end. */
function parseLabels (line: string, at: number): { labels: Record<string, string>, end: number } {
  const labels: Record<string, string> = {}
  let i = at + 1
  for (;;) {
    if (line[i] === '}') return { labels, end: i + 1 }
    const eq = line.indexOf('=', i)
    if (eq < 0) throw new Error(`unterminated labels: ${line}`)
    const name = line.slice(i, eq)
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`bad label name ${JSON.stringify(name)}: ${line}`)
    if (Object.hasOwn(labels, name)) throw new Error(`label ${name} given twice: ${line}`)
    if (line[eq + 1] !== '"') throw new Error(`label value not quoted: ${line}`)
    let value = ''
    let j = eq + 2
    for (; j < line.length && line[j] !== '"'; j++) {
      if (line[j] !== '\\') {
        value += line[j]
        continue
      }
      const escaped = line[++j]
      if (escaped === 'n') value += '\n'
      else if (escaped === '\\' || escaped === '"') value += escaped
      else throw new Error(`bad escape \\${escaped ?? ''} in a label value: ${line}`)
    }
    if (j >= line.length) throw new Error(`unterminated label value: ${line}`)
    labels[name] = value
    i = j + 1
    if (line[i] === ',') i++
    else if (line[i] !== '}') throw new Error(`expected , or } after a label: ${line}`)
  }
}

function parseSample (line: string): Sample {
  const nameEnd = line.search(/[{ \t]/)
  if (nameEnd < 0) throw new Error(`a sample without a value: ${line}`)
  const name = line.slice(0, nameEnd)
  if (!METRIC_NAME.test(name)) throw new Error(`bad metric name ${JSON.stringify(name)}: ${line}`)
  let rest = nameEnd
  let labels: Record<string, string> = {}
  if (line[nameEnd] === '{') ({ labels, end: rest } = parseLabels(line, nameEnd))
  const fields = line.slice(rest).trim().split(/[ \t]+/)
  if (!/^[ \t]/.test(line.slice(rest)) || fields.length < 1 || fields.length > 2) throw new Error(`expected a value and an optional timestamp: ${line}`)
  if (fields.length === 2 && !/^-?\d+$/.test(fields[1]!)) throw new Error(`bad timestamp: ${line}`)
  return { name, labels, value: parseValue(fields[0]!, line) }
}

/** Histograms: per series, buckets by increasing `le`, cumulative, ending with +Inf equal to _count, and a _sum. */
function checkHistogram (family: MetricFamily): void {
  const series = new Map<string, { buckets: Array<[number, number]>, sum?: number, count?: number }>()
  for (const s of family.samples) {
    const { le, ...rest } = s.labels
    const key = seriesKey('', rest)
    const entry = series.get(key) ?? { buckets: [] }
    series.set(key, entry)
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`)
      entry.buckets.push([parseValue(le, `le="${le}"`), s.value])
    } else if (le !== undefined) {
      throw new Error(`${s.name}: le on a sample that is not a bucket`)
    } else if (s.name.endsWith('_sum')) entry.sum = s.value
    else entry.count = s.value
  }
  for (const [key, { buckets, sum, count }] of series) {
    const where = `${family.name}${key}`
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]![0] > buckets[i - 1]![0]) || buckets[i]![1] < buckets[i - 1]![1]) throw new Error(`${where}: buckets not in order or not cumulative`)
    }
    const last = buckets.at(-1)
    if (last?.[0] !== Infinity) throw new Error(`${where}: no +Inf bucket`)
    if (count !== last[1] || sum === undefined) throw new Error(`${where}: _count must equal the +Inf bucket, and _sum be there`)
  }
}

/** Reads a whole scrape; throws on the first thing the format does not allow. */
export function parsePrometheusText (text: string): MetricFamily[] {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the text must end with a line feed')
  const families: MetricFamily[] = []
  const byName = new Map<string, MetricFamily>()
  const seen = new Set<string>()
  let current: MetricFamily | undefined
  const familyOf = (name: string): MetricFamily => {
    let family = byName.get(name)
    if (family === undefined) {
      family = { name, help: undefined, type: 'untyped', samples: [] }
      byName.set(name, family)
      families.push(family)
    } else if (family !== current) {
      throw new Error(`the lines of ${name} are not together`)
    }
    current = family
    return family
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    if (line.startsWith('#')) {
      const meta = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line)
      if (!meta) continue // a plain comment
      const [, kind, name, rest = ''] = meta as unknown as [string, string, string, string | undefined]
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name in ${line}`)
      const family = familyOf(name)
      if (kind === 'HELP') {
        if (family.help !== undefined) throw new Error(`a second HELP for ${name}`)
        if (/\\(?!n)/.test(rest.replace(/\\\\/g, ''))) throw new Error(`bad escape in ${line}`)
        family.help = rest.replace(/\\(n|\\)/g, (_m, c: string) => c === 'n' ? '\n' : '\\')
      } else {
        if (!TYPES.includes(rest) || family.samples.length > 0 || seen.has(`TYPE ${name}`)) throw new Error(`bad or late TYPE: ${line}`)
        seen.add(`TYPE ${name}`)
        family.type = rest as MetricType
      }
      continue
    }
    const sample = parseSample(line)
    let owner: MetricFamily
    if (current !== undefined && SUFFIXES[current.type].some((s) => `${current!.name}${s}` === sample.name)) {
      owner = current
    } else {
      owner = familyOf(sample.name)
      if (!SUFFIXES[owner.type].includes('')) throw new Error(`a ${owner.type} has no sample named ${sample.name}`)
    }
    const key = seriesKey(sample.name, sample.labels)
    if (seen.has(key)) throw new Error(`a series given twice: ${key}`)
    seen.add(key)
    owner.samples.push(sample)
  }
  for (const family of families) if (family.type === 'histogram') checkHistogram(family)
  return families
}
