import type { Db } from '../db/database.js'
import { deepFreeze, directoryCache } from '../db/directory-cache.js'
import { policyEditCheck, type Principal } from '../domain/access.js'
import { offerInForceDecision, type Decision } from '../domain/decisions.js'
import { transitiveGroups } from '../domain/groups.js'
import { splitQualifiedName } from '../domain/names.js'
import { NOT_CONFIGURED, normalizeSettings, SETTING_NAMES, type PolicySettings } from '../domain/policy.js'
import { resolvePolicy, type ResultantPolicy } from '../domain/resultant-policy.js'
import { AppError, notFound, policyDenied } from '../errors.js'
import type { AccountsRepository } from '../repositories/accounts-repository.js'
import type { AuditRepository } from '../repositories/audit-repository.js'
import type { ComputersRepository } from '../repositories/computers-repository.js'
import type { DomainsRepository } from '../repositories/domains-repository.js'
import type { PoliciesRepository } from '../repositories/policies-repository.js'
import type { Computer } from '../schemas/directory.js'
import type { Policy, PolicyCreate, PolicySettingsInput, PolicyUpdate, Warning } from '../schemas/policy.js'
import type { ActorContext } from './context.js'
import { Signals } from './signals.js'

export interface PolicyRepositories {
  policies: PoliciesRepository
  domains: DomainsRepository
  accounts: AccountsRepository
  computers: ComputersRepository
}

/** Who is editing: the principal (for O11) and the audit context. */
export interface Editor {
  principal: Principal
  ctx: ActorContext
}

/**
 * Policy objects, their links, Local Computer Policies, and the resultant
 * policy of a computer. Every edit checks O11 and writes its audit event, with
 * the settings before and after, in the same transaction. Nothing is cached:
 * the next decision reads what was just written (O9).
 */
export class PolicyService {
  constructor (
    private readonly db: Db,
    private readonly repos: PolicyRepositories,
    private readonly audit: AuditRepository,
    private readonly signals: Signals
  ) {
    this.cachedPolicies = directoryCache(db).lookup<ResultantPolicy>()
  }

  private readonly cachedPolicies

  get (id: string): Policy {
    const policy = this.repos.policies.get(id)
    if (!policy) throw notFound('policy', id)
    return policy
  }

  create (input: PolicyCreate, editor: Editor): { policy: Policy, warnings: Warning[] } {
    this.requireEditor(editor, [])
    return this.changed(() => {
      this.checkNameFree(input.name)
      const { settings, warnings } = this.settingsFrom(NOT_CONFIGURED, input.settings)
      const id = this.repos.policies.insert({ name: input.name, description: input.description ?? null, settings })
      const policy = this.repos.policies.get(id)!
      this.record(editor, 'policy.create', `policies/${id}`, { name: policy.name, before: null, after: settings, warnings })
      return { policy, warnings }
    })
  }

  update (id: string, input: PolicyUpdate, editor: Editor): { policy: Policy, warnings: Warning[] } {
    this.requireEditor(editor, this.repos.policies.linkedDomains(this.get(id).id))
    return this.changed(() => {
      const before = this.get(id)
      if (input.name !== undefined) this.checkNameFree(input.name, id)
      const { settings, warnings } = this.settingsFrom(before.settings as PolicySettings, input.settings)
      this.repos.policies.update(id, {
        name: input.name ?? before.name,
        description: input.description === undefined ? before.description : input.description,
        settings
      })
      const policy = this.repos.policies.get(id)!
      this.record(editor, 'policy.update', `policies/${id}`, {
        name: policy.name,
        ...(policy.name !== before.name ? { renamedFrom: before.name } : {}),
        before: before.settings,
        after: settings,
        warnings
      })
      return { policy, warnings }
    })
  }

  delete (id: string, editor: Editor): void {
    this.requireEditor(editor, this.repos.policies.linkedDomains(this.get(id).id))
    this.changed(() => {
      const before = this.get(id)
      this.repos.policies.delete(id)
      this.record(editor, 'policy.delete', `policies/${id}`, { name: before.name, before: before.settings, after: null, links: before.links })
    })
  }

  domainLinks (domainId: string): { domain: string, links: ReturnType<PoliciesRepository['domainLinks']> } {
    const domain = this.repos.domains.get(domainId)
    if (!domain) throw notFound('domain', domainId)
    return { domain: domain.name, links: this.repos.policies.domainLinks(domainId) }
  }

  /** Replaces a domain's ordered list of policy links. */
  setDomainLinks (domainId: string, policyIds: string[], editor: Editor): ReturnType<PolicyService['domainLinks']> {
    this.requireEditor(editor, [this.domainLinks(domainId).domain])
    return this.changed(() => {
      const before = this.domainLinks(domainId)
      policyIds.forEach((id, i) => {
        if (!this.repos.policies.get(id)) throw new AppError('UNKNOWN_REFERENCE', `policies[${i}]: there is no policy ${id}`, { field: `policies[${i}]` })
      })
      this.repos.policies.setDomainLinks(domainId, policyIds)
      const after = this.domainLinks(domainId)
      this.record(editor, 'policy.links', `domains/${domainId}`, { domain: after.domain, before: before.links, after: after.links })
      return after
    })
  }

  localPolicy (computerId: string): { computer: string, settings: PolicySettings, updatedAt: string | null } {
    const computer = this.computer(computerId)
    const local = this.repos.policies.localPolicy(computerId)
    return { computer: computer.name, settings: local?.settings ?? NOT_CONFIGURED, updatedAt: local?.updatedAt ?? null }
  }

  /** Replaces a computer's Local Computer Policy (settings left out become not configured). */
  setLocalPolicy (
    computerId: string,
    input: PolicySettingsInput,
    editor: Editor
  ): { localPolicy: ReturnType<PolicyService['localPolicy']>, warnings: Warning[] } {
    this.requireEditor(editor, [splitQualifiedName(this.localPolicy(computerId).computer).domain])
    return this.changed(() => {
      const before = this.localPolicy(computerId)
      const { settings, warnings } = this.settingsFrom(NOT_CONFIGURED, input)
      this.repos.policies.setLocalPolicy(computerId, settings)
      this.record(editor, 'policy.local', `computers/${computerId}`, { computer: before.computer, before: before.settings, after: settings, warnings })
      return { localPolicy: this.localPolicy(computerId), warnings }
    })
  }

  /** The resultant policy of a computer, read fresh (O9). */
  resultant (computerId: string): { computer: Computer, policy: ResultantPolicy } {
    return this.resultantFor(this.computer(computerId))
  }

  /**
   * The same, for a computer already read (as the repository returns it for
   * this directory version). Cached until the directory or any policy changes,
   * which the next lookup sees, so it is still the policy in force now (O9).
   */
  resultantFor (computer: Computer): { computer: Computer, policy: ResultantPolicy } {
    const policy = this.cachedPolicies(computer.id, () => {
      const domain = this.repos.domains.findByName(computer.domain)!
      const layers = this.repos.policies.layersFor({ id: computer.id, name: computer.name, domainId: domain.id, domain: domain.name })
      return deepFreeze(resolvePolicy(layers, { name: computer.name, platform: computer.platform, controlPanel: computer.controlPanel }))
    })!
    return { computer, policy }
  }

  effectivePolicy (computerId: string): { computer: { id: string, name: string, platform: string | null }, settings: ResultantPolicy, offer: Decision } {
    const { computer, policy } = this.resultant(computerId)
    const offer = offerInForceDecision(policy, { name: computer.name, platform: computer.platform })
    return {
      computer: { id: computer.id, name: computer.name, platform: computer.platform },
      settings: policy,
      offer: { allowed: offer.allowed, checks: offer.checks }
    }
  }

  /** Runs an edit in one transaction, then tells live sessions (O9). */
  private changed<T> (edit: () => T): T {
    const result = this.db.transaction(edit).immediate()
    this.signals.notify('policy-changed')
    return result
  }

  private computer (id: string): Computer {
    const computer = this.repos.computers.get(id)
    if (!computer) throw notFound('computer', id)
    return computer
  }

  /**
   * O11, for the domains the edit touches (a user always needs the right in their own
   * domain too). Runs before the edit's transaction, so that the refusal's audit event stays.
   */
  private requireEditor (editor: Editor, domains: string[]): void {
    const p = editor.principal
    let groups: string[] = []
    let concerned = domains
    if (p.kind === 'user') {
      groups = transitiveGroups(p.accountId, (id) => this.repos.accounts.parentGroupsOf(id)).map((g) => g.name)
      concerned = [...new Set([splitQualifiedName(p.name).domain.toUpperCase(), ...domains.map((d) => d.toUpperCase())])]
    }
    const check = policyEditCheck(p, groups, concerned)
    if (!check.passed) {
      this.audit.record({ ...editor.ctx, action: 'policy.edit-denied', target: 'policies', outcome: 'denied', details: { rule: 'O11', detail: check.detail } })
      throw policyDenied('the policy may not be edited', [check])
    }
  }

  private checkNameFree (name: string, self?: string): void {
    const other = this.repos.policies.findByName(name)
    if (other && other.id !== self) throw new AppError('DUPLICATE_NAME', `name: a policy named ${other.name} already exists`, { field: 'name' })
  }

  /**
   * Merges the settings given over `base` (each setting given replaces that
   * setting whole), checks them, and lists helpers the directory does not know
   * (O10: saved anyway, with a warning).
   */
  private settingsFrom (base: PolicySettings, input: PolicySettingsInput | undefined): { settings: PolicySettings, warnings: Warning[] } {
    const merged: Partial<PolicySettings> = { ...base }
    for (const name of SETTING_NAMES) {
      const given = input?.[name]
      if (given !== undefined) (merged as Record<string, unknown>)[name] = given
    }
    const result = normalizeSettings(merged)
    if ('problem' in result) throw new AppError('INVALID_VALUE', result.problem.message, { field: result.problem.field })
    const warnings: Warning[] = []
    result.settings.offerRemoteAssistance.helpers?.forEach((helper, i) => {
      const account = this.repos.accounts.findByName(helper)
      const field = `settings.offerRemoteAssistance.helpers[${i}]`
      if (!account) warnings.push({ field, message: `${helper} is not a user or group in the directory; it is saved, but matches no one until it exists` })
      else if (!account.enabled) warnings.push({ field, message: `${account.name} is disabled` })
    })
    return { settings: result.settings, warnings }
  }

  private record (editor: Editor, action: string, target: string, details: Record<string, unknown>): void {
    this.audit.record({ ...editor.ctx, action, target, outcome: 'success', details })
  }
}
