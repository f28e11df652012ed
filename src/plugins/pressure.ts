import { EventEmitter } from 'node:events'
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'
import type { FastifyBaseLogger } from 'fastify'
import fp from 'fastify-plugin'
import { AppError } from '../errors.js'
import { sendError } from './errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false`: answered even under pressure (the liveness probe). */
    shed?: boolean
  }
}

export interface PressureLimits {
  /** 0: not checked. */
  maxEventLoopDelayMs: number
  maxHeapUsedBytes: number
  maxRssBytes: number
  sampleIntervalMs?: number
}

export type PressureReason = 'event-loop-delay' | 'heap-used' | 'rss' | 'monitor-error'

const RESOLUTION_MS = 10

/**
 * Samples the event loop's delay and the process's memory on a timer, and says
 * whether the service is under pressure. Reading the figures can itself fail
 * (resident memory is read from a file, so it fails with EMFILE when a flood
 * of sockets has used up the descriptors): such an error counts as pressure,
 * never as a crash. Emits `sample` after each sample, with the reason or null.
 */
export class PressureMonitor extends EventEmitter<{ sample: [PressureReason | null] }> {
  private reason: PressureReason | null = null
  private histogram: IntervalHistogram | undefined
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly limits: PressureLimits, private readonly log: FastifyBaseLogger) {
    super()
  }

  /**
   * Starts sampling. Called once the app is ready: the start's own synchronous
   * work (migrations, key generation) would otherwise count as event-loop delay
   * and shed the first requests of a healthy instance.
   */
  start (): void {
    if (!this.enabled || this.timer !== undefined) return
    if (this.limits.maxEventLoopDelayMs > 0) {
      this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
      this.histogram.enable()
    }
    this.timer = setInterval(() => this.sample(), this.limits.sampleIntervalMs ?? 1000)
    this.timer.unref()
  }

  get enabled (): boolean {
    return this.limits.maxEventLoopDelayMs > 0 || this.limits.maxHeapUsedBytes > 0 || this.limits.maxRssBytes > 0
  }

  /** Why the service is shedding load now, or null when it is not. */
  get underPressure (): PressureReason | null {
    return this.reason
  }

  /** Takes one sample; also what the timer calls. */
  sample (): void {
    let next: PressureReason | null = null
    const figures: Record<string, number> = {}
    try {
      const { maxEventLoopDelayMs, maxHeapUsedBytes, maxRssBytes } = this.limits
      if (this.histogram) {
        const mean = this.histogram.mean / 1e6
        this.histogram.reset()
        figures['eventLoopDelayMs'] = Number.isNaN(mean) ? 0 : Math.max(0, mean - RESOLUTION_MS)
        if (figures['eventLoopDelayMs'] > maxEventLoopDelayMs) next = 'event-loop-delay'
      }
      if (maxHeapUsedBytes > 0) {
        figures['heapUsedBytes'] = getHeapStatistics().used_heap_size
        if (next === null && figures['heapUsedBytes'] > maxHeapUsedBytes) next = 'heap-used'
      }
      if (maxRssBytes > 0) {
        figures['rssBytes'] = process.memoryUsage.rss()
        if (next === null && figures['rssBytes'] > maxRssBytes) next = 'rss'
      }
    } catch (err) {
      next = 'monitor-error'
      if (this.reason !== 'monitor-error') this.log.warn({ err }, 'the load monitor could not read the process\'s figures: shedding load until it can')
    }
    // The figures go to the log, never to a client.
    if (next !== null && next !== 'monitor-error' && this.reason === null) {
      this.log.warn({ reason: next, ...figures, limits: this.limits }, 'under pressure: answering 503 until it passes')
    }
    if (next === null && this.reason !== null) this.log.info({ ...figures }, 'no longer under pressure')
    this.reason = next
    this.emit('sample', next)
  }

  close (): void {
    clearInterval(this.timer)
    this.histogram?.disable()
  }
}

/**
 * 503 at once while under pressure, for every route but those marked
 * `shed: false` (`/healthz`: a liveness probe must answer while the process
 * can, or an orchestrator restarts a healthy instance). The body is generic.
 */
export default fp<{ limits: PressureLimits }>(async (fastify, { limits }) => {
  const monitor = new PressureMonitor(limits, fastify.log)
  fastify.decorate('pressure', monitor)
  fastify.addHook('onReady', async () => monitor.start())
  fastify.addHook('onClose', async () => monitor.close())
  if (!monitor.enabled) return
  fastify.addHook('onRequest', (request, reply, done) => {
    if (monitor.underPressure === null || request.routeOptions.config.shed === false) return done()
    sendError(reply, request, new AppError('SERVICE_UNAVAILABLE', 'the service is overloaded; retry shortly', { retryAfterS: 10 }))
  })
}, { name: 'pressure', dependencies: ['errors'] })

declare module 'fastify' {
  interface FastifyInstance {
    pressure: PressureMonitor
  }
}
