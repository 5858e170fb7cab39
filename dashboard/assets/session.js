// A callback that met a refused token renders .expired-marker: go back to the sign-in page with a message.
(function () {
  new MutationObserver(function () {
    if (document.querySelector('.expired-marker')) { window.location.assign('/logout?reason=expired'); }
  }).observe(document.documentElement, {childList: true, subtree: true});
})();
