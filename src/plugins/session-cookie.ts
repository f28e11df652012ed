import type { CookieSerializeOptions } from '@fastify/cookie'

/** The cookie that names a browser session: HttpOnly, SameSite=Lax, and Secure (with the `__Host-` prefix) behind HTTPS. */
export interface SessionCookie {
  name: string
  secure: boolean
}

export function sessionCookie (publicBaseUrl: string): SessionCookie {
  const secure = new URL(publicBaseUrl).protocol === 'https:'
  return { name: secure ? '__Host-ra_session' : 'ra_session', secure }
}

export function sessionCookieOptions (cookie: SessionCookie, expiresAt?: string): CookieSerializeOptions {
  return {
    httpOnly: true,
    sameSite: 'lax',
    secure: cookie.secure,
    path: '/',
    ...(expiresAt !== undefined ? { expires: new Date(expiresAt) } : { maxAge: 0, expires: new Date(0) })
  }
}

/** Methods that change nothing: a cookie-authenticated request with any other needs the page's CSRF token. */
export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** The header a page's scripts send the CSRF token in (a form sends it as the field `csrf`). */
export const CSRF_HEADER = 'x-csrf-token'
