// dcc.Dropdown (react-select) gives its combobox no accessible name and marks the shown value as an
// orphan role="option": name each combobox after the <label> of its field and drop the stray role.
(function () {
  function fix() {
    document.querySelectorAll('.field').forEach(function (field) {
      var label = field.querySelector('label');
      if (!label) { return; }
      field.querySelectorAll('[role="combobox"]').forEach(function (box) {
        if (box.getAttribute('aria-label') !== label.textContent) { box.setAttribute('aria-label', label.textContent); }
      });
    });
    document.querySelectorAll('.Select-value-label[role="option"], .Select-value-label[aria-selected]').forEach(function (el) { el.removeAttribute('role'); el.removeAttribute('aria-selected'); });
  }
  new MutationObserver(fix).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener('DOMContentLoaded', fix);
})();
