// Layout problems of the page in view (tests/layout.py): run by playwright's page.evaluate.
({minTap, minText, checkText}) => {
  const problems = [];
  const W = window.innerWidth, H = window.innerHeight;
  const doc = document.documentElement;
  if (doc.scrollWidth > W) problems.push(`page scrolls sideways: ${doc.scrollWidth} px wide`);
  if (checkText && doc.scrollHeight > H) problems.push(`page scrolls: ${doc.scrollHeight} px tall`);
  const name = (e) => {
    const text = (e.innerText || e.getAttribute('aria-label') || '').trim().slice(0, 30);
    return `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}` +
      `${typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\s+/).join('.') : ''}` +
      `${text ? ' "' + text.replace(/\s+/g, ' ') + '"' : ''}`;
  };
  const visible = (e) => {
    const s = getComputedStyle(e);
    if (s.visibility === 'hidden' || s.display === 'none') return false;
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && e.closest('[hidden]') === null;
  };
  for (const e of document.body.querySelectorAll('*')) {
    if (!visible(e) || e.closest('svg, canvas') && e.tagName !== 'svg' && e.tagName !== 'CANVAS') continue;
    const r = e.getBoundingClientRect();
    if (checkText && (r.left < -0.5 || r.top < -0.5 || r.right > W + 0.5 || r.bottom > H + 0.5))
      problems.push(`${name(e)} outside the ${W}x${H} viewport (${Math.round(r.left)},${Math.round(r.top)} to ${Math.round(r.right)},${Math.round(r.bottom)})`);
    if (!checkText && r.right > W + 0.5) problems.push(`${name(e)} sticks out to ${Math.round(r.right)} px`);
    const s = getComputedStyle(e);
    if (['auto', 'scroll', 'hidden'].includes(s.overflowY) && e.scrollHeight > e.clientHeight + 1 && e !== doc && e !== document.body)
      problems.push(`${name(e)} cuts off or scrolls its content (${e.scrollHeight} px in ${e.clientHeight} px)`);
    if (['auto', 'scroll', 'hidden'].includes(s.overflowX) && e.scrollWidth > e.clientWidth + 1 && e !== doc && e !== document.body && e.tagName !== 'TABLE')
      problems.push(`${name(e)} cuts off or scrolls its content sideways (${e.scrollWidth} px in ${e.clientWidth} px)`);
    if (e.matches('button, a[href], input, select, [role=button]')) {
      // a tick box is tapped anywhere on its label
      const box = e.matches('input[type=checkbox], input[type=radio]') && e.closest('label');
      const t = box ? box.getBoundingClientRect() : r;
      if (t.width < minTap - 0.5 || t.height < minTap - 0.5)
        problems.push(`${name(e)} is ${Math.round(t.width)}x${Math.round(t.height)} px, under ${minTap} px to tap`);
    }
    if (checkText) {
      const own = Array.from(e.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
      const size = parseFloat(s.fontSize);
      if (own && size < minText - 0.01) problems.push(`${name(e)} text is ${size} px, under ${minText} px`);
    }
  }
  // a word split across two lines ("Caden" / "ce") reads as two: every word stays whole
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const holder = n.parentElement;
    if (!holder || !visible(holder) || holder.closest('svg, script, style')) continue;
    for (const m of n.textContent.matchAll(/[^\s-]+-?/g)) {  // a line may end after a hyphen
      range.setStart(n, m.index);
      range.setEnd(n, m.index + m[0].length);
      const tops = new Set(Array.from(range.getClientRects()).filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (tops.size > 1) problems.push(`${name(holder)}: the word "${m[0].slice(0, 30)}" is split across lines`);
    }
  }
  return problems;
}
