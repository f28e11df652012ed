import * as client from 'openid-client'
import { isHttpsOrLoopback } from '../config.js'
import { AppError } from '../errors.js'

export interface OidcSettings {
  issuer: string
  clientId: string
  clientSecret: string | undefined
  usernameClaim: string
  scopes: string
}

/**
 * OpenID Connect, Authorization Code with PKCE (S256), state and nonce, through `openid-client`. The identity
 * provider's metadata is discovered on first use (and again after a failure), so the service starts while the
 * provider is away and signs in once it is back.
 */
export class OidcClient {
  private config: Promise<client.Configuration> | undefined

  constructor (private readonly settings: OidcSettings, private readonly redirectUri: string) {}

  /** Where to send the browser, for the round trip that `state` names. */
  async authorizationUrl (trip: { state: string, codeVerifier: string, nonce: string }): Promise<URL> {
    return client.buildAuthorizationUrl(await this.configuration(), {
      redirect_uri: this.redirectUri,
      scope: this.settings.scopes,
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(trip.codeVerifier),
      code_challenge_method: 'S256',
      state: trip.state,
      nonce: trip.nonce
    })
  }

  /**
   * Exchanges the code the provider sent back (`callbackUrl`, as the browser asked for it) for an ID token, checks
   * it (signature, issuer, audience, expiry, nonce, state), and resolves to the claim that names the directory user.
   * A claim asked for by scope (`profile`, `email`) may come from the UserInfo endpoint only (OpenID Connect Core
   * 5.4: a conforming provider that also issues an access token keeps them out of the ID token); it is then read
   * there, with the access token, for the ID token's subject.
   */
  async usernameFrom (callbackUrl: URL, trip: { state: string, codeVerifier: string, nonce: string }): Promise<string> {
    const config = await this.configuration()
    const name = this.settings.usernameClaim
    let value: unknown
    try {
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: trip.codeVerifier,
        expectedState: trip.state,
        expectedNonce: trip.nonce,
        idTokenExpected: true
      })
      const claims = tokens.claims()
      value = claims?.[name]
      if (value === undefined && claims !== undefined && config.serverMetadata().userinfo_endpoint !== undefined) {
        const userInfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
        value = userInfo[name]
      }
    } catch (err) {
      throw new AppError('SIGN_IN_REFUSED', `the identity provider's answer was refused: ${describe(err)}`)
    }
    if (typeof value !== 'string' || value === '') {
      throw new AppError('SIGN_IN_REFUSED', `the identity provider names no user: neither its ID token nor its UserInfo has a ${name} claim`)
    }
    return value
  }

  private configuration (): Promise<client.Configuration> {
    this.config ??= client.discovery(
      new URL(this.settings.issuer),
      this.settings.clientId,
      undefined,
      this.settings.clientSecret === undefined ? client.None() : client.ClientSecretBasic(this.settings.clientSecret),
      // http is allowed to a loopback provider only (config.ts refuses any other).
      isHttpsOrLoopback(this.settings.issuer) && this.settings.issuer.startsWith('http:')
        ? { execute: [client.allowInsecureRequests], timeout: 10 }
        : { timeout: 10 }
    ).catch((err: unknown) => {
      this.config = undefined
      throw new AppError('SERVICE_UNAVAILABLE', `the identity provider cannot be reached: ${describe(err)}`)
    })
    return this.config
  }
}

/** An openid-client error in words, without anything secret (it never quotes tokens or the client secret). */
function describe (err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : ''
    return err.message + cause
  }
  return 'unknown error'
}
