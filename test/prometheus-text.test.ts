import t from 'tap'
import { parsePrometheusText, seriesKey } from './prometheus-text.js'

const HISTOGRAM = `# HELP h_seconds Time.
# TYPE h_seconds histogram
h_seconds_bucket{le="0.1",route="/a/:id"} 1
h_seconds_bucket{le="+Inf",route="/a/:id"} 2
h_seconds_sum{route="/a/:id"} 0.5
h_seconds_count{route="/a/:id"} 2
h_seconds_bucket{le="0.1",route="/b"} 0
h_seconds_bucket{le="+Inf",route="/b"} 1
h_seconds_sum{route="/b"} 3
h_seconds_count{route="/b"} 1
`

t.test('the strict reader of scrapes keeps every label of a labelled histogram, escapes and special values', async (t) => {
  const families = parsePrometheusText(`# A comment.
# HELP c_total A "counter"\\nwith a second line.
# TYPE c_total counter
c_total{code="A",path="C:\\\\x \\"q\\"\\n"} 3 1700000000000
c_total{code="B"} 1e3
# TYPE g gauge
g Nan
g2 -Inf
${HISTOGRAM}`)
  t.same(families.map((f) => [f.name, f.type]), [['c_total', 'counter'], ['g', 'gauge'], ['g2', 'untyped'], ['h_seconds', 'histogram']])
  t.equal(families[0]!.help, 'A "counter"\nwith a second line.')
  t.same(families[0]!.samples[0]!.labels, { code: 'A', path: 'C:\\x "q"\n' })
  t.equal(families[0]!.samples[1]!.value, 1000)
  t.ok(Number.isNaN(families[1]!.samples[0]!.value))
  t.equal(families[2]!.samples[0]!.value, -Infinity)
  const histogram = families[3]!.samples
  t.same(histogram.filter((s) => s.name === 'h_seconds_count').map((s) => [s.labels, s.value]), [[{ route: '/a/:id' }, 2], [{ route: '/b' }, 1]])
  t.equal(seriesKey('x', { b: '2', a: '1' }), 'x{a="1",b="2"}')
})

t.test('the strict reader refuses what Prometheus refuses', async (t) => {
  const refused: Record<string, string> = {
    'no final line feed': 'a 1',
    'a bad metric name': '1a 1\n',
    'no value': 'a\n',
    'a value that is no number': 'a one\n',
    'a bad timestamp': 'a 1 soon\n',
    'an unquoted label value': 'a{b=c} 1\n',
    'an unterminated label value': 'a{b="c} 1\n',
    'a bad escape': 'a{b="\\t"} 1\n',
    'a label given twice': 'a{b="1",b="2"} 1\n',
    'a reserved label name': 'a{__name__="x"} 1\n',
    'a series given twice': 'a{b="1"} 1\na{b="1"} 2\n',
    'a family split in two': 'a 1\nb 1\na{c="1"} 1\n',
    'an unknown type': '# TYPE a thing\na 1\n',
    'a TYPE after the samples': 'a 1\n# TYPE a gauge\n',
    'two HELP lines': '# HELP a x\n# HELP a y\na 1\n',
    'a histogram without +Inf': '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    'a histogram whose count is not its +Inf bucket': '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n',
    'buckets that are not cumulative': '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    'a bare sample in a histogram': '# TYPE h histogram\nh 1\n'
  }
  for (const [what, text] of Object.entries(refused)) t.throws(() => parsePrometheusText(text), what)
  t.same(parsePrometheusText(HISTOGRAM).length, 1, 'and reads what it allows')
})
