// A one-time sign-in link carries its code in the fragment (never sent to a server log): the form posts it.
// Opening the page does not use the link up (a mail scanner fetching it changes nothing); the button does.
const code = new URLSearchParams(location.hash.slice(1)).get('code')
history.replaceState(null, '', location.pathname)
const field = document.getElementById('code')
const state = document.getElementById('link-state')
const button = document.getElementById('use-link')
if (code) {
  field.value = code
  button.focus()
} else {
  state.textContent = 'This link is incomplete: open the whole link from the message again, or ask for a new one.'
  state.setAttribute('role', 'alert')
  button.disabled = true
}
