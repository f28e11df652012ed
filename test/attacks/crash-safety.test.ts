import t from 'tap'
import { crashRounds } from '../../scripts/crash-test.js'

t.test('SIGKILL under load: every acknowledged invitation survives and the database passes integrity_check', async (t) => {
  const report = await crashRounds(3, t.testdir())
  t.ok(report.acknowledged > 0, `${report.acknowledged} invitations acknowledged across ${report.rounds} kills`)
  t.same(report.lost, [], 'none lost')
  t.same(report.integrity, [], 'integrity_check ok after every kill')
})
