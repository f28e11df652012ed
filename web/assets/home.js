// The home page watches for sessions waiting for this person's answer (an expert who redeemed their
// invitation, or offered help unasked) and shows each at once, with a link to its prompt.
import { api, el } from './common.js'

const main = document.getElementById('main')
const me = main.dataset.me.toUpperCase()
const waiting = document.getElementById('waiting-for-you')
let shown = ''

async function look () {
  try {
    const { items } = await api('GET', '/v1/sessions?state=awaiting-novice&limit=20')
    const mine = items.filter((s) => s.novice.name.toUpperCase() === me)
    const key = mine.map((s) => s.id).join()
    if (key === shown) return
    shown = key
    waiting.replaceChildren(...mine.map((s) => {
      const who = s.expert.displayName ? `${s.expert.displayName} (${s.expert.name})` : s.expert.name
      return el('div', { class: 'prompt' },
        el('h2', {}, s.consent.solicited ? `${who} opened your invitation` : `${who} offers to help you`),
        el('p', {}, `On ${s.computer}. Nothing is shared until you accept.`),
        el('p', {}, el('a', { class: 'button', href: `/sessions/${s.id}` }, 'Answer')))
    }))
  } catch { /* tried again shortly */ }
}

look()
setInterval(look, 3000)
