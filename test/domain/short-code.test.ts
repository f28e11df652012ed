import t from 'tap'
import {
  CODE_ALPHABET, expectedHoursToGuess, formatShortCode, generateShortCode, normalizeShortCode, shortCodeHash, shortCodeMinutes
} from '../../src/domain/short-code.js'
import { loadConfig } from '../../src/config.js'

t.test('short codes: 12 Crockford base32 characters, random, shown in groups of four', async (t) => {
  const seen = new Set<string>()
  const counts = new Map<string, number>()
  for (let i = 0; i < 2000; i++) {
    const code = generateShortCode()
    t.match(code, /^[0-9A-HJKMNP-TV-Z]{12}$/)
    seen.add(code)
    for (const c of code) counts.set(c, (counts.get(c) ?? 0) + 1)
  }
  t.equal(seen.size, 2000, 'no repeats')
  t.equal(counts.size, 32, 'every symbol of the alphabet appears')
  t.ok([...counts.values()].every((n) => n > 24000 / 32 / 2 && n < 24000 / 32 * 2), 'roughly evenly')
  t.equal(formatShortCode('ABCDEFGHJKMN'), 'ABCD-EFGH-JKMN')
  t.equal(CODE_ALPHABET.length, 32)
})

t.test('short codes are read as dictated: any case, spaces and hyphens, I L O U folded; anything else is not a code', async (t) => {
  t.equal(normalizeShortCode('abcd-efgh-jkmn'), 'ABCDEFGHJKMN')
  t.equal(normalizeShortCode(' abcd efgh jkmn '), 'ABCDEFGHJKMN')
  t.equal(normalizeShortCode('iLoU-0000-1111'), '110V00001111')
  t.equal(normalizeShortCode('ABCD-EFGH-JKM'), null, 'too short')
  t.equal(normalizeShortCode('ABCD-EFGH-JKMNP'), null, 'too long')
  t.equal(normalizeShortCode('ABCD-EFGH-JK!N'), null, 'not in the alphabet')
})

t.test('short codes are stored by a keyed hash; a code lives at most 30 minutes', async (t) => {
  const key = Buffer.alloc(32, 7)
  t.equal(shortCodeHash(key, 'ABCDEFGHJKMN'), shortCodeHash(key, 'ABCDEFGHJKMN'))
  t.not(shortCodeHash(key, 'ABCDEFGHJKMN'), shortCodeHash(Buffer.alloc(32, 8), 'ABCDEFGHJKMN'), 'another key, another hash')
  t.notOk(shortCodeHash(key, 'ABCDEFGHJKMN').includes('ABCDEFGHJKMN'))
  t.equal(shortCodeMinutes(120), 30)
  t.equal(shortCodeMinutes(10), 10, 'never longer than the invitation')
})

t.test('the guessing budget: with the default limits, the expected time to guess one live code is over a year', async (t) => {
  const config = loadConfig({})
  const perHour = config.codes.guessesPerHour
  const hours = expectedHoursToGuess(1, perHour)
  t.ok(hours > 365 * 24, `one live code: ${hours.toExponential(2)} hours at ${perHour} wrong guesses an hour, service-wide`)
  // Even with a million codes live at once (far more than any helpdesk has), it stays far over a year.
  t.ok(expectedHoursToGuess(1_000_000, perHour) > 365 * 24 * 1000)
})

t.test('the guessing budget is half the code space, shared by the live codes, spent at the allowed rate', async (t) => {
  // 60 bits: on average a guesser finds one of n live codes after 2^59 / n guesses.
  t.equal(expectedHoursToGuess(1, 1), 2 ** 59)
  t.equal(expectedHoursToGuess(4, 1), 2 ** 57, 'four live codes: four times as fast')
  t.equal(expectedHoursToGuess(1, 8), 2 ** 56, 'eight guesses an hour: eight times as fast')
  t.equal(expectedHoursToGuess(2, 4), 2 ** 56)
})
