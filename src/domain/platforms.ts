/**
 * The Windows platforms the service knows. The seeds distinguish XP/Server 2003
 * (Mailto invitations, 30-day Control Panel default, Sessmgr.exe exceptions) from
 * Vista and later (SMAPI only, 6-hour default, msra.exe / raserver.exe).
 */
export const PLATFORMS = {
  'xp-home': { family: 'xp-2003', label: 'Windows XP Home Edition' },
  'xp-pro': { family: 'xp-2003', label: 'Windows XP Professional' },
  'xp-pro-sp2': { family: 'xp-2003', label: 'Windows XP Professional SP2' },
  'xp-x64-sp1': { family: 'xp-2003', label: 'Windows XP Professional x64 SP1' },
  'server-2003': { family: 'xp-2003', label: 'Windows Server 2003' },
  'server-2003-sp1': { family: 'xp-2003', label: 'Windows Server 2003 SP1' },
  vista: { family: 'vista-or-later', label: 'Windows Vista' },
  'server-2008': { family: 'vista-or-later', label: 'Windows Server 2008' },
  'windows-7': { family: 'vista-or-later', label: 'Windows 7' },
  'server-2008-r2': { family: 'vista-or-later', label: 'Windows Server 2008 R2' },
  'windows-8': { family: 'vista-or-later', label: 'Windows 8' },
  'windows-8.1': { family: 'vista-or-later', label: 'Windows 8.1' },
  'server-2012': { family: 'vista-or-later', label: 'Windows Server 2012' },
  'server-2012-r2': { family: 'vista-or-later', label: 'Windows Server 2012 R2' },
  'windows-10': { family: 'vista-or-later', label: 'Windows 10' },
  'server-2016': { family: 'vista-or-later', label: 'Windows Server 2016' },
  'server-2019': { family: 'vista-or-later', label: 'Windows Server 2019' },
  'server-2022': { family: 'vista-or-later', label: 'Windows Server 2022' },
  'windows-11': { family: 'vista-or-later', label: 'Windows 11' },
  'server-2025': { family: 'vista-or-later', label: 'Windows Server 2025' }
} as const satisfies Record<string, { family: 'xp-2003' | 'vista-or-later', label: string }>

export type Platform = keyof typeof PLATFORMS
export type PlatformFamily = (typeof PLATFORMS)[Platform]['family']

export const PLATFORM_IDS = Object.keys(PLATFORMS) as Platform[]

export function platformFamily (platform: Platform): PlatformFamily {
  return PLATFORMS[platform].family
}
