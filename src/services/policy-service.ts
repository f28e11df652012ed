import { deepFreeze, type Freshness, lookupIn } from '../db/directory-cache.js'
import { policyEditCheck, type Principal } from '../domain/access.js'
import { offerInForceDecision, type Decision } from '../domain/decisions.js'
import { splitQualifiedName } from '../domain/names.js'
import { completeExtensions, NOT_CONFIGURED, normalizeSettings, SETTING_NAMES, type PolicyExtensions, type PolicySettings } from '../domain/policy.js'
import { registryFromSettings, settingsFromRegistry, type IgnoredEntry } from '../domain/policy-registry.js'
import { readRegistryPol, RegistryPolError, writeRegistryPol } from '../domain/registry-pol.js'
import { resolvePolicy, type ResultantPolicy } from '../domain/resultant-policy.js'
import { AppError, notFound, policyDenied } from '../errors.js'
import type { Repositories, Store, Unit } from '../repositories/index.js'
import type { DomainLink } from '../repositories/policies-repository.js'
import type { Computer } from '../schemas/directory.js'
import type { Policy, PolicyCreate, PolicySettingsInput, PolicyUpdate, Warning } from '../schemas/policy.js'
import type { ActorContext } from './context.js'
import type { Signals } from './signals.js'

/** Who is editing: the principal (for O11) and the audit context. */
export interface Editor {
  principal: Principal
  ctx: ActorContext
}

/**
 * Policy objects, their links, Local Computer Policies, and the resultant
 * policy of a computer. Every edit checks O11 and writes its audit event, with
 * the settings before and after, in the same unit of work. Resultant policies
 * are cached only until the directory or a policy changes: the next decision
 * reads what was just committed (O9).
 */
export class PolicyService {
  private readonly cachedPolicies

  constructor (
    private readonly store: Store,
    private readonly signals: Signals
  ) {
    this.cachedPolicies = lookupIn<ResultantPolicy>(store.repos.cache)
  }

  get (id: string): Promise<Policy> {
    return this.policyIn(this.store.repos, id)
  }

  /** `origin` goes into the audit event: where the settings came from, when not from the JSON API. */
  async create (input: PolicyCreate, editor: Editor, origin?: Record<string, unknown>): Promise<{ policy: Policy, warnings: Warning[] }> {
    await this.requireEditor(editor, [])
    return this.changed(async (u) => {
      await this.checkNameFree(u, input.name)
      const { settings, warnings } = await this.settingsFrom(u, NOT_CONFIGURED, input.settings)
      const extensions = completeExtensions(input.extensions)
      const id = await u.policies.insert({ name: input.name, description: input.description ?? null, settings, extensions })
      const policy = (await u.policies.get(id))!
      await this.record(u, editor, 'policy.create', `policies/${id}`, {
        name: policy.name, ...origin, before: null, after: settings, extensions: { before: null, after: extensions }, warnings
      })
      return { policy, warnings }
    })
  }

  /**
   * Creates a policy object from a GPO's Registry.pol (O11, audited, effective at once as any
   * new policy). A file that cannot be read is refused with the byte offset of the fault, and
   * nothing is created. Warnings name the ADMX defaults that stood in for values the file lacks,
   * then the service's own (O10); `ignored` lists the entries that are not Remote Assistance policy.
   */
  async importRegistryPol (file: Uint8Array, name: string, editor: Editor): Promise<{ policy: Policy, warnings: Warning[], ignored: IgnoredEntry[] }> {
    // O11 first: someone who may not edit policy learns nothing about the file.
    await this.requireEditor(editor, [])
    let entries
    try {
      entries = readRegistryPol(file)
    } catch (err) {
      if (!(err instanceof RegistryPolError)) throw err
      throw new AppError('REGISTRY_POL_MALFORMED', `the body is not a Registry.pol file this service can read: ${err.message}`, { offset: err.offset })
    }
    const mapped = settingsFromRegistry(entries)
    if ('problem' in mapped) throw new AppError('INVALID_VALUE', mapped.problem.message, { field: mapped.problem.field })
    const origin = { import: { format: 'Registry.pol', bytes: file.byteLength, entries: entries.length, ignored: mapped.ignored.length } }
    const { policy, warnings } = await this.create({ name, settings: mapped.settings }, editor, origin)
    return { policy, warnings: [...mapped.warnings, ...warnings], ignored: mapped.ignored }
  }

  /** A policy object as the Registry.pol GPMC would write for it (the Machine part of a GPO). */
  async registryPol (id: string): Promise<{ policy: Policy, file: Buffer }> {
    const policy = await this.get(id)
    return { policy, file: writeRegistryPol(registryFromSettings(policy.settings as PolicySettings)) }
  }

  async update (id: string, input: PolicyUpdate, editor: Editor): Promise<{ policy: Policy, warnings: Warning[] }> {
    await this.requireEditor(editor, await this.store.repos.policies.linkedDomains((await this.get(id)).id))
    return this.changed(async (u) => {
      const before = await this.policyIn(u, id)
      if (input.name !== undefined) await this.checkNameFree(u, input.name, id)
      const { settings, warnings } = await this.settingsFrom(u, before.settings as PolicySettings, input.settings)
      const extensions: PolicyExtensions = { ...before.extensions, ...input.extensions }
      await u.policies.update(id, {
        name: input.name ?? before.name,
        description: input.description === undefined ? before.description : input.description,
        settings,
        extensions
      })
      const policy = (await u.policies.get(id))!
      await this.record(u, editor, 'policy.update', `policies/${id}`, {
        name: policy.name,
        ...(policy.name !== before.name ? { renamedFrom: before.name } : {}),
        before: before.settings,
        after: settings,
        extensions: { before: before.extensions, after: extensions },
        warnings
      })
      return { policy, warnings }
    })
  }

  async delete (id: string, editor: Editor): Promise<void> {
    await this.requireEditor(editor, await this.store.repos.policies.linkedDomains((await this.get(id)).id))
    await this.changed(async (u) => {
      const before = await this.policyIn(u, id)
      await u.policies.delete(id)
      await this.record(u, editor, 'policy.delete', `policies/${id}`, { name: before.name, before: before.settings, after: null, links: before.links })
    })
  }

  domainLinks (domainId: string): Promise<{ domain: string, links: DomainLink[] }> {
    return this.domainLinksIn(this.store.repos, domainId)
  }

  /** Replaces a domain's ordered list of policy links. */
  async setDomainLinks (domainId: string, policyIds: string[], editor: Editor): Promise<{ domain: string, links: DomainLink[] }> {
    await this.requireEditor(editor, [(await this.domainLinks(domainId)).domain])
    return this.changed(async (u) => {
      const before = await this.domainLinksIn(u, domainId)
      for (const [i, id] of policyIds.entries()) {
        if (!await u.policies.get(id)) throw new AppError('UNKNOWN_REFERENCE', `policies[${i}]: there is no policy ${id}`, { field: `policies[${i}]` })
      }
      await u.policies.setDomainLinks(domainId, policyIds)
      const after = await this.domainLinksIn(u, domainId)
      await this.record(u, editor, 'policy.links', `domains/${domainId}`, { domain: after.domain, before: before.links, after: after.links })
      return after
    })
  }

  localPolicy (computerId: string): Promise<LocalPolicy> {
    return this.localPolicyIn(this.store.repos, computerId)
  }

  /** Replaces a computer's Local Computer Policy (settings left out become not configured). */
  async setLocalPolicy (
    computerId: string,
    input: PolicySettingsInput,
    editor: Editor
  ): Promise<{ localPolicy: LocalPolicy, warnings: Warning[] }> {
    await this.requireEditor(editor, [splitQualifiedName((await this.localPolicy(computerId)).computer).domain])
    return this.changed(async (u) => {
      const before = await this.localPolicyIn(u, computerId)
      const { settings, warnings } = await this.settingsFrom(u, NOT_CONFIGURED, input)
      await u.policies.setLocalPolicy(computerId, settings)
      await this.record(u, editor, 'policy.local', `computers/${computerId}`, { computer: before.computer, before: before.settings, after: settings, warnings })
      return { localPolicy: await this.localPolicyIn(u, computerId), warnings }
    })
  }

  /** The resultant policy of a computer, as committed now (O9). */
  async resultant (computerId: string): Promise<{ computer: Computer, policy: ResultantPolicy }> {
    return this.resultantFor(await this.computerIn(this.store.repos, computerId))
  }

  /**
   * The same, for a computer already read (as the repository returns it for
   * this directory version). Cached until the directory or any policy changes,
   * which the next lookup sees, so it is still the policy in force now (O9).
   * Reads committed data only, so it may be called from inside a unit of work.
   * `since`: the mark of the request it serves (DirectoryCache).
   */
  async resultantFor (computer: Computer, since?: Freshness): Promise<{ computer: Computer, policy: ResultantPolicy }> {
    const policy = (await this.cachedPolicies(computer.id, async () => {
      const domain = (await this.store.repos.domains.findByName(computer.domain))!
      const layers = await this.store.repos.policies.layersFor({ id: computer.id, name: computer.name, domainId: domain.id, domain: domain.name })
      return deepFreeze(resolvePolicy(layers, { name: computer.name, platform: computer.platform, controlPanel: computer.controlPanel }))
    }, since))!
    return { computer, policy }
  }

  async effectivePolicy (computerId: string): Promise<{
    computer: { id: string, name: string, platform: string | null }
    settings: ResultantPolicy
    offer: Decision
  }> {
    const { computer, policy } = await this.resultant(computerId)
    const offer = offerInForceDecision(policy, { name: computer.name, platform: computer.platform })
    return {
      computer: { id: computer.id, name: computer.name, platform: computer.platform },
      settings: policy,
      offer: { allowed: offer.allowed, checks: offer.checks }
    }
  }

  /** Runs an edit as one unit of work, then (once it has committed) tells live sessions (O9). */
  private changed<T> (edit: (u: Unit) => Promise<T>): Promise<T> {
    return this.store.work(async (u) => {
      const result = await edit(u)
      this.signals.notify(u, 'policy-changed')
      return result
    })
  }

  private async policyIn (repos: Repositories, id: string): Promise<Policy> {
    const policy = await repos.policies.get(id)
    if (!policy) throw notFound('policy', id)
    return policy
  }

  private async domainLinksIn (repos: Repositories, domainId: string): Promise<{ domain: string, links: DomainLink[] }> {
    const domain = await repos.domains.get(domainId)
    if (!domain) throw notFound('domain', domainId)
    return { domain: domain.name, links: await repos.policies.domainLinks(domainId) }
  }

  private async localPolicyIn (repos: Repositories, computerId: string): Promise<LocalPolicy> {
    const computer = await this.computerIn(repos, computerId)
    const local = await repos.policies.localPolicy(computerId)
    return { computer: computer.name, settings: local?.settings ?? NOT_CONFIGURED, updatedAt: local?.updatedAt ?? null }
  }

  private async computerIn (repos: Repositories, id: string): Promise<Computer> {
    const computer = await repos.computers.get(id)
    if (!computer) throw notFound('computer', id)
    return computer
  }

  /**
   * O11, for the domains the edit touches (a user always needs the right in their own
   * domain too). Runs before the edit's unit of work, so that the refusal's audit event
   * (a unit of its own) stays.
   */
  private async requireEditor (editor: Editor, domains: string[]): Promise<void> {
    const p = editor.principal
    let groups: string[] = []
    let concerned = domains
    if (p.kind === 'user') {
      groups = (await this.store.repos.accounts.transitiveGroupsOf(p.accountId)).map((g) => g.name)
      concerned = [...new Set([splitQualifiedName(p.name).domain.toUpperCase(), ...domains.map((d) => d.toUpperCase())])]
    }
    const check = policyEditCheck(p, groups, concerned)
    if (!check.passed) {
      await this.store.repos.audit.record({
        ...editor.ctx, action: 'policy.edit-denied', target: 'policies', outcome: 'denied', details: { rule: 'O11', detail: check.detail }
      })
      throw policyDenied('the policy may not be edited', [check])
    }
  }

  private async checkNameFree (u: Unit, name: string, self?: string): Promise<void> {
    const other = await u.policies.findByName(name)
    if (other && other.id !== self) throw new AppError('DUPLICATE_NAME', `name: a policy named ${other.name} already exists`, { field: 'name' })
  }

  /**
   * Merges the settings given over `base` (each setting given replaces that
   * setting whole), checks them, and lists helpers the directory does not know
   * (O10: saved anyway, with a warning).
   */
  private async settingsFrom (
    u: Unit,
    base: PolicySettings,
    input: PolicySettingsInput | undefined
  ): Promise<{ settings: PolicySettings, warnings: Warning[] }> {
    const merged: Partial<PolicySettings> = { ...base }
    for (const name of SETTING_NAMES) {
      const given = input?.[name]
      if (given !== undefined) (merged as Record<string, unknown>)[name] = given
    }
    const result = normalizeSettings(merged)
    if ('problem' in result) throw new AppError('INVALID_VALUE', result.problem.message, { field: result.problem.field })
    const warnings: Warning[] = []
    for (const [i, helper] of (result.settings.offerRemoteAssistance.helpers ?? []).entries()) {
      const account = await u.accounts.findByName(helper)
      const field = `settings.offerRemoteAssistance.helpers[${i}]`
      if (!account) warnings.push({ field, message: `${helper} is not a user or group in the directory; it is saved, but matches no one until it exists` })
      else if (!account.enabled) warnings.push({ field, message: `${account.name} is disabled` })
    }
    return { settings: result.settings, warnings }
  }

  /** The change's audit event and its `policy.changed` webhook event (what changed, where; not the settings themselves). */
  private async record (u: Unit, editor: Editor, action: string, target: string, details: Record<string, unknown>): Promise<void> {
    await u.audit.record({ ...editor.ctx, action, target, outcome: 'success', details })
    await u.webhooks.publish('policy.changed', {
      actor: editor.ctx.actor,
      invitationId: null,
      sessionId: null,
      computer: typeof details.computer === 'string' ? details.computer : null,
      novice: null,
      expert: null,
      externalRef: null,
      rules: [],
      change: action.slice('policy.'.length),
      target,
      ...(typeof details.name === 'string' ? { policy: details.name } : {}),
      ...(typeof details.domain === 'string' ? { domain: details.domain } : {})
    })
  }
}

/** A computer's Local Computer Policy, as the API shows it. */
export interface LocalPolicy {
  computer: string
  settings: PolicySettings
  updatedAt: string | null
}
