import t from 'tap'
import type { SessionEventRow } from '../../src/repositories/sessions-repository.js'
import { SessionStreams, type StreamSubscriber } from '../../src/services/session-streams.js'

// The streams' source here answers each read when the test says so: the race needs a read still running when a stream
// is added, which a real database makes likely (a reading thread, a PostgreSQL round trip) but not certain.
const row = (id: number, type: string): SessionEventRow => ({ id, session_id: 's1', occurred_at: '2026-12-06T00:00:00.000Z', type, actor: 'a', data: null })
const LOG = [row(1, 'session.created'), row(2, 'session.accepted')]

t.test('C1: a stream added while its session\'s events are being read still gets every event after its cursor, once, in order', async (t) => {
  const reads: Array<{ after: number, answer: () => void }> = []
  let stored = 1
  const streams = new SessionStreams({
    eventsAfter: (_id, after) => new Promise((resolve) => reads.push({ after, answer: () => resolve(LOG.slice(0, stored).filter((e) => e.id > after)) })),
    isLive: async () => true
  }, (err) => { throw err }, 60_000)
  t.teardown(() => streams.close())
  const subscriber = (cursor: number) => {
    const seen: string[] = []
    const s: StreamSubscriber & { seen: string[] } = { cursor, seen, write: (frame) => seen.push(frame.text.split('\n')[1]!), end: () => {} }
    return s
  }
  const next = async () => {
    for (let i = 0; i < 100 && reads.length === 0; i++) await new Promise(setImmediate)
    if (reads.length === 0) throw new Error('no read was started')
    return reads.shift()!
  }

  const alice = subscriber(0)
  const subscribed = streams.subscribe('s1', alice)
  ;(await next()).answer()
  await subscribed
  t.same(alice.seen, ['event: session.created'])

  stored = 2
  streams.notify('s1')
  const running = await next()
  t.equal(running.after, 1, 'the read of the new event starts after alice\'s cursor')
  const bob = subscriber(0)
  const bobSubscribed = streams.subscribe('s1', bob)
  running.answer()
  const again = await next()
  t.equal(again.after, 0, 'bob\'s subscribe asked for a read from his own cursor')
  again.answer()
  await bobSubscribed
  for (let i = 0; i < 100 && bob.seen.length < 2; i++) await new Promise(setImmediate)
  t.same(bob.seen, ['event: session.created', 'event: session.accepted'], 'bob gets both, in order')
  t.same(alice.seen, ['event: session.created', 'event: session.accepted'], 'alice gets each once')
})
