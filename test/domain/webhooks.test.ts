import t from 'tap'
import { Webhook } from 'standardwebhooks'
import {
  generateWebhookSecret, isWebhookEventType, webhookAddressProblem, webhookSignature, webhookUrlProblem, WEBHOOK_EVENT_TYPES
} from '../../src/domain/webhooks.js'

t.test('signatures verify with the standardwebhooks package; during a rotation either secret verifies', async (t) => {
  const oldSecret = generateWebhookSecret()
  const newSecret = generateWebhookSecret()
  t.match(oldSecret, /^whsec_[A-Za-z0-9+/]{43}=$/)
  t.not(oldSecret, newSecret)
  const id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W'
  const timestamp = Math.floor(Date.now() / 1000)
  const body = JSON.stringify({ type: 'invitation.created', data: { invitationId: 'x', externalRef: 'INC0012345' } })
  const headers = (secrets: string[], payload = body) => ({
    'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': webhookSignature(secrets, id, timestamp, payload)
  })
  t.same(new Webhook(oldSecret).verify(body, headers([oldSecret])), JSON.parse(body))
  for (const secret of [oldSecret, newSecret]) t.ok(new Webhook(secret).verify(body, headers([oldSecret, newSecret])), 'overlap: both sign')
  t.throws(() => new Webhook(newSecret).verify(body, headers([oldSecret])), 'another secret does not verify')
  t.throws(() => new Webhook(oldSecret).verify(body.replace('INC0012345', 'INC0012346'), headers([oldSecret])), 'a changed body does not verify')
  t.throws(() => webhookSignature([], id, timestamp, body))
  t.throws(() => webhookSignature(['not-a-secret'], id, timestamp, body), /whsec_/)
  t.equal(WEBHOOK_EVENT_TYPES.length, 26, 'the 20 of issue 18 and the 6 of issue 19')
})

t.test('addresses a webhook is never sent to: link-local and metadata, unique-local IPv6, unspecified, multicast; loopback only for testing', async (t) => {
  for (const bad of ['169.254.169.254', '169.254.0.1', 'fe80::1', 'fd00::1', 'fd00:ec2::254', 'fc00::2', '::ffff:169.254.169.254',
    '100.100.100.200', '0.0.0.0', '::', '224.0.0.1', 'ff02::1', '255.255.255.255', '240.0.0.1']) {
    t.type(webhookAddressProblem(bad, true), 'string', bad)
  }
  t.match(webhookAddressProblem('169.254.169.254', true), /link-local/)
  for (const good of ['10.0.0.5', '192.168.1.20', '172.16.4.4', '8.8.8.8', '2606:4700::1111', '100.64.0.1']) {
    t.equal(webhookAddressProblem(good, false), null, `${good}: a helpdesk on a private network is fine`)
  }
  t.match(webhookAddressProblem('127.0.0.1', false), /loopback/)
  t.equal(webhookAddressProblem('127.0.0.1', true), null)
  t.equal(webhookAddressProblem('::1', true), null)
  t.match(webhookAddressProblem('not-an-ip', true), /not an IP address/)
})

t.test('webhook URLs: https, or http to loopback only when allowed; no credentials or fragment; literal addresses checked at once', async (t) => {
  t.equal(webhookUrlProblem('https://itsm.contoso.com/hooks/ra', false), null)
  t.equal(webhookUrlProblem('https://10.1.2.3:8443/hook', false), null)
  t.match(webhookUrlProblem('http://itsm.contoso.com/hook', false), /only https/)
  t.match(webhookUrlProblem('http://itsm.contoso.com/hook', true), /http only to a loopback/)
  t.equal(webhookUrlProblem('http://127.0.0.1:9000/hook', true), null)
  t.equal(webhookUrlProblem('http://[::1]:9000/hook', true), null)
  t.equal(webhookUrlProblem('http://localhost:9000/hook', true), null)
  t.match(webhookUrlProblem('https://169.254.169.254/latest/meta-data', false), /link-local/)
  t.match(webhookUrlProblem('https://[fd00:ec2::254]/', false), /metadata|unique-local/)
  t.match(webhookUrlProblem('https://user:pw@itsm.contoso.com/', false), /user name or password/)
  t.match(webhookUrlProblem('https://itsm.contoso.com/#x', false), /fragment/)
  t.match(webhookUrlProblem('ftp://itsm.contoso.com/', true), /only https/)
  t.match(webhookUrlProblem('not a url', true), /not a URL/)
})

t.test('webhook addresses: each refusal in its own words; URLs without credentials of any kind; http to loopback only', async (t) => {
  t.ok(isWebhookEventType('session.accepted'))
  t.notOk(isWebhookEventType('session.created'), 'not every session event is a webhook event')
  t.equal(webhookAddressProblem('fd00:ec2::254', false), 'fd00:ec2::254 is a cloud metadata address', 'written short, matched in full')
  t.equal(webhookAddressProblem('100.100.100.200', false), '100.100.100.200 is a cloud metadata address')
  t.equal(webhookAddressProblem('fd12::1', false), 'fd12::1 is a unique-local IPv6 address')
  t.equal(webhookAddressProblem('169.254.169.254', false), '169.254.169.254 is link-local (where cloud metadata services answer)')
  t.equal(webhookAddressProblem('224.0.0.1', false), '224.0.0.1 is multicast')
  t.equal(webhookAddressProblem('10.1.2.3', false), null, 'private networks are allowed: helpdesk systems live there')
  t.equal(webhookUrlProblem('https://user@hooks.example.com/x', false), 'a user name or password in the URL is not allowed (use the signature to authenticate)')
  t.equal(webhookUrlProblem('https://:secret@hooks.example.com/x', false), 'a user name or password in the URL is not allowed (use the signature to authenticate)')
  t.equal(webhookUrlProblem('http://hooks.example.com/x', true), 'http only to a loopback address')
  t.equal(webhookUrlProblem('http://[::1]:8080/x', true), null)
  t.equal(webhookUrlProblem('http://localhost:8080/x', true), null)
  t.equal(webhookUrlProblem('https://hooks.example.com/x#frag', false), 'a fragment is not allowed')
  t.equal(webhookUrlProblem('ftp://hooks.example.com/x', false), 'only https')
  t.equal(webhookUrlProblem('http://10.0.0.1/x', true), 'http only to a loopback address', 'a literal address that is not loopback, over http')
  t.equal(webhookAddressProblem('192.0.0.192', false), '192.0.0.192 is a cloud metadata address', 'Oracle Cloud\'s')
  t.throws(() => webhookSignature([], 'msg_1', 1, '{}'), { message: 'at least one secret signs' })
})
