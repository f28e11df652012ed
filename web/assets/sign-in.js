// The sign-in page: an invitation link (/redeem#ticket=…) that led here keeps its ticket in this tab only,
// and the fragment leaves the address bar, so it goes neither to the identity provider nor into history.
if (location.hash.startsWith('#ticket=')) {
  sessionStorage.setItem('ra-redeem-ticket', decodeURIComponent(location.hash.slice('#ticket='.length)))
  history.replaceState(null, '', location.pathname + location.search)
}
document.getElementById('token')?.focus()
