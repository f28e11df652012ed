// The per-request hooks bench/ablation-server.ts can leave out (npm run bench:ablation).

/** Each hook that runs on every request, by where it is added: the file that calls `addHook`. */
export const HOOKS = {
  'request-id header': /src\/app\.ts/,
  'security headers': /src\/plugins\/security\.ts/,
  'rate limit': /src\/plugins\/rate-limit\.ts/,
  'load shedding': /src\/plugins\/pressure\.ts/,
  metrics: /src\/plugins\/metrics\.ts/,
  'closing header': /src\/plugins\/connections\.ts/
} as const satisfies Record<string, RegExp>
export type HookName = keyof typeof HOOKS
