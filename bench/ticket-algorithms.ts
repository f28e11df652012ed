// Measures signing and verification cost of the two candidate ticket algorithms (issue 4: "measure and choose").
// Run: npx tsx bench/ticket-algorithms.ts
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto'
import { generateKeyPair, jwtVerify, SignJWT } from 'jose'

const ROUNDS = 5000
for (const alg of ['ES256', 'EdDSA', 'ES256', 'EdDSA'] as const) {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {})
  const sign = () => new SignJWT({ sub: 'invitation', jti: 'x' }).setProtectedHeader({ alg, typ: 'ra-invitation+jwt', kid: 'k' })
    .setIssuedAt().setNotBefore('0s').setExpirationTime('1h').setIssuer('http://127.0.0.1:8080').setAudience('x').sign(privateKey)
  let token = await sign()
  const t0 = performance.now()
  for (let i = 0; i < ROUNDS; i++) token = await sign()
  const t1 = performance.now()
  for (let i = 0; i < ROUNDS; i++) await jwtVerify(token, publicKey, { algorithms: [alg] })
  const t2 = performance.now()
  console.log(`${alg.padEnd(6)} sign ${((t1 - t0) / ROUNDS * 1000).toFixed(0)} µs/op  ` +
    `verify ${((t2 - t1) / ROUNDS * 1000).toFixed(0)} µs/op  token ${token.length} bytes`)
}

// What the service itself runs: node:crypto's one-shot sign on its signing thread (src/services/signer.ts), without
// jose's WebCrypto path above, whose own cost hides the algorithms' difference.
const input = Buffer.from('x'.repeat(400))
const keys = {
  EdDSA: generateKeyPairSync('ed25519').privateKey,
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
}
const RAW_ROUNDS = 20_000
for (const alg of ['ES256', 'EdDSA', 'ES256', 'EdDSA'] as const) {
  const t0 = performance.now()
  for (let i = 0; i < RAW_ROUNDS; i++) {
    if (alg === 'EdDSA') cryptoSign(null, input, keys.EdDSA)
    else cryptoSign('sha256', input, { key: keys.ES256, dsaEncoding: 'ieee-p1363' })
  }
  console.log(`${alg.padEnd(6)} node:crypto sign ${((performance.now() - t0) / RAW_ROUNDS * 1000).toFixed(1)} µs/op (a 400-byte input)`)
}
