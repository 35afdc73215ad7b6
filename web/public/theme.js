// Applies the saved theme before the first paint; the app's toggle writes the same key.
try {
  var t = localStorage.getItem('conductor.theme');
  if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
} catch (e) { /* storage disabled: dark default */ }
