import t from 'tap'
import { controlDecision, invitationDecision, offerInForceDecision } from '../../src/domain/decisions.js'
import type { Platform } from '../../src/domain/platforms.js'
import { normalizeSettings, type PolicySettings } from '../../src/domain/policy.js'
import { resolvePolicy, type PolicyLayer } from '../../src/domain/resultant-policy.js'
import type { ControlPanel } from '../../src/schemas/directory.js'

// The decisions' every check, detail and remedy, word for word: what an administrator reads is part of the rule.

const settings = (s: Partial<PolicySettings>): PolicySettings => {
  const r = normalizeSettings(s)
  if ('problem' in r) throw new Error(r.problem.message)
  return r.settings
}
const domainLayer = (s: Partial<PolicySettings>): PolicyLayer =>
  ({ source: { type: 'domain-policy', policyId: 'p1', policyName: 'RA Helpdesk', domain: 'CONTOSO', linkOrder: 1 }, settings: settings(s) })
const localLayer = (s: Partial<PolicySettings>): PolicyLayer => ({ source: { type: 'local-policy', computer: 'CONTOSO\\PC1' }, settings: settings(s) })
const resolved = (layers: PolicyLayer[], platform: Platform | null = 'windows-10', controlPanel: ControlPanel | null = null) =>
  resolvePolicy(layers, { name: 'CONTOSO\\PC1', platform, controlPanel })
const cp = (on: boolean, control = true): ControlPanel =>
  ({ remoteAssistanceEnabled: on, allowRemoteControl: control, maxInvitationTime: { value: 2, unit: 'hours' } })
const at = { computer: 'CONTOSO\\PC1', user: 'CONTOSO\\alice', sitsAtComputer: true }
const BY_DOMAIN = 'policy "RA Helpdesk" linked to CONTOSO (link order 1)'

t.test('S1/S2/S3: enabled by a domain policy, a user at the computer may invite, for the policy\'s time, with its control permission', async (t) => {
  const policy = resolved([domainLayer({
    solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'control', maxTicketTime: { value: 3, unit: 'hours' } }
  })])
  t.same(invitationDecision(policy, at), {
    allowed: true,
    maxLifetimeMinutes: 180,
    mode: 'control',
    checks: [
      { rule: 'S1', passed: true, detail: 'CONTOSO\\alice is a user of CONTOSO\\PC1' },
      { rule: 'S1', passed: true, detail: `Configure Solicited Remote Assistance is Enabled for CONTOSO\\PC1 by ${BY_DOMAIN}` },
      { rule: 'S3', passed: true, detail: `maximum ticket time 3 hours, from ${BY_DOMAIN}` },
      { rule: 'S2', passed: true, detail: `helpers may request control, per ${BY_DOMAIN}` }
    ]
  })
  const viewOnly = resolved([localLayer({
    solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'view', maxTicketTime: { value: 1, unit: 'days' } }
  })])
  const view = invitationDecision(viewOnly, at)
  t.match(view, { allowed: true, maxLifetimeMinutes: 1440, mode: 'view' })
  t.same(view.checks.slice(2), [
    { rule: 'S3', passed: true, detail: 'maximum ticket time 1 day, from the Local Computer Policy of CONTOSO\\PC1' },
    { rule: 'S2', passed: true, detail: 'helpers may only view, per the Local Computer Policy of CONTOSO\\PC1' }
  ])
})

t.test('S1: a user who does not sit at the computer may not invite from it: no lifetime, no mode, even where policy allows', async (t) => {
  const policy = resolved([domainLayer({ solicitedRemoteAssistance: { state: 'enabled' } })])
  const d = invitationDecision(policy, { ...at, sitsAtComputer: false })
  t.match(d, { allowed: false, maxLifetimeMinutes: null, mode: null })
  t.same(d.checks[0], {
    rule: 'S1',
    passed: false,
    detail: 'CONTOSO\\alice is not among the users of CONTOSO\\PC1; only a user at the computer can ask for help from it',
    remedy: 'Add CONTOSO\\alice to the users of CONTOSO\\PC1 in the directory'
  })
})

t.test('S5: disabled by policy (domain or local), with the remedy naming where to change it; no S2/S3 then', async (t) => {
  const byDomain = invitationDecision(resolved([domainLayer({ solicitedRemoteAssistance: { state: 'disabled' } })]), at)
  t.same(byDomain, {
    allowed: false,
    maxLifetimeMinutes: null,
    mode: null,
    checks: [
      { rule: 'S1', passed: true, detail: 'CONTOSO\\alice is a user of CONTOSO\\PC1' },
      {
        rule: 'S5',
        passed: false,
        detail: `Configure Solicited Remote Assistance is Disabled for CONTOSO\\PC1 by ${BY_DOMAIN}`,
        remedy: 'Set Configure Solicited Remote Assistance to Enabled or Not configured in policy "RA Helpdesk" (linked to CONTOSO), or unlink it'
      }
    ]
  })
  const byLocal = invitationDecision(resolved([localLayer({ solicitedRemoteAssistance: { state: 'disabled' } })]), at)
  t.same(byLocal.checks[1], {
    rule: 'S5',
    passed: false,
    detail: 'Configure Solicited Remote Assistance is Disabled for CONTOSO\\PC1 by the Local Computer Policy of CONTOSO\\PC1',
    remedy: 'Set Configure Solicited Remote Assistance to Enabled or Not configured in the Local Computer Policy of CONTOSO\\PC1'
  })
})

t.test('S6: not configured by policy, the Control Panel decides, on or off; with none recorded, the platform default', async (t) => {
  const off = invitationDecision(resolved([], 'xp-pro', cp(false)), at)
  t.same(off.checks[1], {
    rule: 'S6',
    passed: false,
    detail: 'Solicited Remote Assistance is not configured by policy and is turned off in the Control Panel of CONTOSO\\PC1',
    remedy: 'Turn on Remote Assistance invitations in the Control Panel of CONTOSO\\PC1 (System → Remote), or configure it by policy'
  })
  t.match(off, { allowed: false, maxLifetimeMinutes: null, mode: null })
  const on = invitationDecision(resolved([], 'xp-pro', cp(true, false)), at)
  t.same(on.checks[1], {
    rule: 'S6',
    passed: true,
    detail: 'Solicited Remote Assistance is not configured by policy; the Control Panel of CONTOSO\\PC1 allows invitations'
  })
  t.match(on, { allowed: true, maxLifetimeMinutes: 120, mode: 'view' })
  const platform = invitationDecision(resolved([], 'windows-10'), at)
  t.match(platform, { allowed: true, maxLifetimeMinutes: 360, mode: 'control' })
  t.same(platform.checks[1].detail, 'Solicited Remote Assistance is not configured by policy; the default of Windows 10 allows invitations')
})

t.test('S2/S6/S5: control in a solicited session, from policy, the Control Panel or the platform; refused with where to change it', async (t) => {
  t.same(controlDecision(resolved([domainLayer({ solicitedRemoteAssistance: { state: 'enabled' } })]), 'invitation'), {
    allowed: true,
    mode: 'control',
    checks: [{ rule: 'S2', passed: true, detail: `remote control is permitted by ${BY_DOMAIN}` }]
  })
  t.same(controlDecision(resolved([domainLayer({ solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'view' } })]), 'invitation'), {
    allowed: false,
    mode: 'view',
    checks: [{
      rule: 'S2',
      passed: false,
      detail: `helpers may only view: ${BY_DOMAIN} does not permit remote control`,
      remedy: 'Choose "Allow helpers to remotely control the computer" in policy "RA Helpdesk" (linked to CONTOSO), or unlink it'
    }]
  })
  t.same(controlDecision(resolved([], 'xp-pro', cp(true, false)), 'invitation').checks, [{
    rule: 'S6',
    passed: false,
    detail: 'helpers may only view: the Control Panel of CONTOSO\\PC1 does not permit remote control',
    remedy: 'Allow this computer to be controlled remotely in the Control Panel of CONTOSO\\PC1 (System → Remote), or configure it by policy'
  }])
  t.same(controlDecision(resolved([], 'windows-10'), 'invitation').checks, [{
    rule: 'S6', passed: true, detail: 'remote control is permitted by the default of Windows 10'
  }], 'the platform default is S6 too: no policy decided')
  t.same(controlDecision(resolved([], 'xp-pro', cp(false)), 'invitation'), {
    allowed: false,
    mode: null,
    checks: [{
      rule: 'S6',
      passed: false,
      detail: 'Solicited Remote Assistance is off (the Control Panel of CONTOSO\\PC1)',
      remedy: 'Enable Solicited Remote Assistance in the Control Panel of CONTOSO\\PC1 (System → Remote), or configure it by policy'
    }]
  })
  t.same(controlDecision(resolved([localLayer({ solicitedRemoteAssistance: { state: 'disabled' } })]), 'invitation').checks, [{
    rule: 'S5',
    passed: false,
    detail: 'Solicited Remote Assistance is off (the Local Computer Policy of CONTOSO\\PC1)',
    remedy: 'Enable Solicited Remote Assistance in the Local Computer Policy of CONTOSO\\PC1'
  }])
})

t.test('O3/O1: control in an offered session follows the offer permission; without Offer RA there is none', async (t) => {
  const offer = (permission: 'view' | 'control') => resolved([domainLayer({ offerRemoteAssistance: { state: 'enabled', permission, helpers: [] } })])
  t.same(controlDecision(offer('control'), 'offer'), {
    allowed: true,
    mode: 'control',
    checks: [{ rule: 'O3', passed: true, detail: `Offer Remote Assistance permits helpers to view and control, per ${BY_DOMAIN}` }]
  })
  t.same(controlDecision(offer('view'), 'offer'), {
    allowed: false,
    mode: 'view',
    checks: [{
      rule: 'O3',
      passed: false,
      detail: `Offer Remote Assistance permits helpers only to view, per ${BY_DOMAIN}`,
      remedy: 'Choose "Allow helpers to remotely control the computer" in policy "RA Helpdesk" (linked to CONTOSO), or unlink it'
    }]
  })
  t.same(controlDecision(resolved([]), 'offer'), {
    allowed: false,
    mode: null,
    checks: [{
      rule: 'O1',
      passed: false,
      detail: 'Offer Remote Assistance is not enabled (no policy (not configured))',
      remedy: 'Enable Configure Offer Remote Assistance by policy'
    }]
  })
})

t.test('O1/S7/O7: Offer RA in force: enabled, and Solicited RA not disabled (except on XP SP2); every check word for word', async (t) => {
  const pc = (platform: Platform) => ({ name: 'CONTOSO\\PC1', platform })
  const enabled = { offerRemoteAssistance: { state: 'enabled' as const, permission: 'view' as const, helpers: [] } }
  t.same(offerInForceDecision(resolved([domainLayer(enabled)]), pc('windows-10')), {
    allowed: true,
    permission: 'view',
    checks: [
      { rule: 'O1', passed: true, detail: `Configure Offer Remote Assistance is Enabled for CONTOSO\\PC1 by ${BY_DOMAIN}` },
      { rule: 'S7', passed: true, detail: 'Solicited Remote Assistance is not disabled on CONTOSO\\PC1' }
    ]
  })
  for (const [state, word] of [['disabled', 'Disabled'], ['not-configured', 'Not configured']] as const) {
    const d = offerInForceDecision(resolved([domainLayer({ offerRemoteAssistance: { state } })]), pc('windows-10'))
    t.same(d, {
      allowed: false,
      permission: null,
      checks: [
        {
          rule: 'O1',
          passed: false,
          detail: `Configure Offer Remote Assistance is ${word} for CONTOSO\\PC1 (${state === 'disabled' ? BY_DOMAIN : 'no policy (not configured)'})`,
          remedy: state === 'disabled'
            ? 'Enable Configure Offer Remote Assistance and list the helpers in policy "RA Helpdesk" (linked to CONTOSO), or unlink it'
            : 'Enable Configure Offer Remote Assistance and list the helpers by policy'
        },
        { rule: 'S7', passed: true, detail: 'Solicited Remote Assistance is not disabled on CONTOSO\\PC1' }
      ]
    }, `${state}: one failing check is enough to refuse`)
  }
  const solicitedOff = [domainLayer({ ...enabled, solicitedRemoteAssistance: { state: 'disabled' } })]
  t.same(offerInForceDecision(resolved(solicitedOff, 'xp-pro'), pc('xp-pro')), {
    allowed: false,
    permission: null,
    checks: [
      { rule: 'O1', passed: true, detail: `Configure Offer Remote Assistance is Enabled for CONTOSO\\PC1 by ${BY_DOMAIN}` },
      {
        rule: 'S7',
        passed: false,
        detail: `Solicited Remote Assistance is disabled on CONTOSO\\PC1 by ${BY_DOMAIN}, which disables Offer Remote Assistance too (O7)`,
        remedy: 'Set Configure Solicited Remote Assistance to Enabled or Not configured in policy "RA Helpdesk" (linked to CONTOSO), or unlink it'
      }
    ]
  })
  t.same(offerInForceDecision(resolved(solicitedOff, 'xp-pro-sp2'), pc('xp-pro-sp2')).checks[1], {
    rule: 'O7',
    passed: true,
    detail: `Solicited Remote Assistance is disabled on CONTOSO\\PC1 (${BY_DOMAIN}), which does not stop offers on Windows XP SP2`
  })
})
