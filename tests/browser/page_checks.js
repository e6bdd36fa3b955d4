// The checks run inside each page (see sitecheck.py): problems, links and anchors.
async ([checkScale, minTextPx, minColumnChars, minTextKey]) => {
  const problems = [];
  const add = (kind, detail) => problems.push({kind, detail});
  const main = document.querySelector('main, article, [role=main]') || document.body;
  const content = main.querySelector('article, .bd-article') || main;
  const label = (el) => {
    const t = (el.innerText || el.textContent || '').trim().replace(/\s+/g, ' ');
    return el.tagName.toLowerCase() + ' "' + t.slice(0, 60) + '"';
  };
  const scrolls = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const hidden = (el) => el.offsetParent === null && getComputedStyle(el).position !== 'fixed';
  // overflow: wider than the content area, and no scroll box between it and the content
  const edge = content.getBoundingClientRect().right;
  for (const el of content.querySelectorAll('table, pre')) {
    if (hidden(el)) continue;
    let box = null;
    for (let a = el; a && a !== content.parentElement; a = a.parentElement) {
      if (scrolls(a)) { box = a; break; }
    }
    const right = el.getBoundingClientRect().right;
    if (box === null && right > edge + 2) {
      add('overflow', label(el) + ' ends at ' + Math.round(right) + ' px, past the content edge at ' + Math.round(edge) + ' px');
    }
    if (box === null && el.scrollWidth > el.clientWidth + 2 && !scrolls(el)) {
      add('overflow', label(el) + ' is ' + el.scrollWidth + ' px wide in ' + el.clientWidth + ' px and is clipped');
    }
  }
  // the ledger: every verdict and note cell on screen, not behind a scroll box
  const width = document.documentElement.clientWidth;
  for (const cell of document.querySelectorAll('table.claims-ledger td.verdict, table.claims-ledger td.note')) {
    const r = cell.getBoundingClientRect();
    let clip = null;
    for (let a = cell.parentElement; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a).overflowX;
      if (s !== 'visible') { clip = a.getBoundingClientRect(); break; }
    }
    const right = Math.min(width, clip ? clip.right : width);
    if (r.width < 40 || r.right > right + 2 || r.left < -2) {
      add('ledger', cell.className + ' cell ' + label(cell) + ' is not on screen (' + Math.round(r.left) + '-' + Math.round(r.right) + ' px of ' + Math.round(right) + ')');
    }
  }
  // a header row that stays in view must not cover the rows it heads: inside a scroll box
  // "sticky" is relative to that box, so an offset for the page's top bar moves the header
  // down over the first row
  for (const table of content.querySelectorAll('table')) {
    const th = table.querySelector('thead th');
    const row = table.querySelector('tbody tr:not([hidden])');
    if (!th || !row || hidden(table) || getComputedStyle(th).position !== 'sticky') continue;
    if (th.getBoundingClientRect().bottom > row.getBoundingClientRect().top + 2) {
      add('header', 'the header of a table covers its first row (' + label(row) + ')');
    }
  }
  // math left as source, or not rendered by MathJax
  const text = content.innerText || '';
  for (const pattern of [/\\\(/, /\\\[/, /\$\$/, /\\(times|frac|text|mathrm)\{/]) {
    const m = text.match(pattern);
    if (m) add('math', 'LaTeX shown as text near "' + text.slice(Math.max(0, m.index - 30), m.index + 30).replace(/\s+/g, ' ') + '"');
  }
  for (const el of content.querySelectorAll('.math')) {
    if (!el.querySelector('mjx-container, .katex, svg')) add('math', 'math not rendered: ' + label(el));
  }
  // a failed cell or table: a traceback anywhere, NaN anywhere (never prose), and table
  // cells that hold a missing value as Python or pandas print it
  for (const word of ['Traceback', 'NaN']) {
    const m = text.match(new RegExp('\\b' + word + '\\b'));
    if (m) add('text', '"' + word + '" in the content near "' + text.slice(Math.max(0, m.index - 40), m.index + 40).replace(/\s+/g, ' ') + '"');
  }
  for (const cell of content.querySelectorAll('td, th')) {
    const value = (cell.innerText || '').trim();
    if (['None', 'nan', 'NaT', '<NA>', 'True', 'False'].includes(value)) {
      add('text', 'a table cell shows "' + value + '" (' + label(cell.closest('tr')) + ')');
    }
  }
  // column and row names left as code names (mean_prompt_tokens, parameters_b)
  for (const th of content.querySelectorAll('table th')) {
    const name = (th.innerText || '').trim();
    if (/^[a-z0-9]+(_[a-z0-9]+)+$/.test(name)) add('text', 'code name "' + name + '" as a table heading');
  }
  // images: loaded, with alt text that describes them
  for (const img of content.querySelectorAll('img')) {
    const alt = (img.getAttribute('alt') || '').trim();
    const src = img.getAttribute('src') || '';
    if (!img.complete || img.naturalWidth === 0) add('image', src + ' did not load');
    // figures are 2x PNGs shown at the width the page gives (a width attribute or style): shrunk
    // further to fit the page, their text would fall below a readable size
    const meant = parseFloat(img.getAttribute('width') || img.style.width || '0');
    const shown = img.getBoundingClientRect().width;
    if (checkScale && meant > 0 && shown < 0.75 * meant) {
      add('image', src + ' is shown at ' + Math.round(100 * shown / meant) + '% of its size: its text is too small to read');
    }
    if (alt.split(/\s+/).filter(Boolean).length < 3 || /[\\/]|\.(png|svg|jpe?g)$/i.test(alt) || alt === src) {
      add('image', src + ' has no alt text that describes it ("' + alt.slice(0, 60) + '")');
    }
  }
  // figures: the smallest text the figure was drawn with (written into the PNG by the book,
  // in the PNG's own pixels), scaled by the width the page shows the figure at
  const pngText = async (src) => {
    try {
      const bytes = new Uint8Array(await (await fetch(src)).arrayBuffer());
      const view = new DataView(bytes.buffer);
      const found = {};
      for (let at = 8; at + 8 <= bytes.length;) {
        const length = view.getUint32(at);
        const kind = String.fromCharCode(...bytes.slice(at + 4, at + 8));
        if (kind === 'tEXt') {
          const body = bytes.slice(at + 8, at + 8 + length);
          const zero = body.indexOf(0);
          found[String.fromCharCode(...body.slice(0, zero))] = String.fromCharCode(...body.slice(zero + 1));
        }
        if (kind === 'IEND') break;
        at += 12 + length;
      }
      return found;
    } catch (e) { return {}; }
  };
  for (const img of content.querySelectorAll('img')) {
    if (!img.complete || img.naturalWidth === 0 || !/\.png($|\?)/i.test(img.currentSrc || img.src)) continue;
    const textPx = parseFloat((await pngText(img.currentSrc || img.src))[minTextKey] || 'NaN');
    if (!Number.isFinite(textPx)) continue;  // not one of the book's figures
    const shownPx = textPx * img.getBoundingClientRect().width / img.naturalWidth;
    if (shownPx < minTextPx) {
      add('figure-text', (img.getAttribute('src') || '') + ': its smallest text is shown ' + shownPx.toFixed(1) + ' px high (at least ' + minTextPx + ' px is readable)');
    }
  }
  // text columns of tables: a cell of long text squeezed to a few characters a line
  const charWidth = (el) => {
    const canvas = document.createElement('canvas').getContext('2d');
    const style = getComputedStyle(el);
    canvas.font = style.fontWeight + ' ' + style.fontSize + ' ' + style.fontFamily;
    return canvas.measureText('abcdefghijklmnopqrstuvwxyz').width / 26;
  };
  for (const cell of content.querySelectorAll('td')) {
    if (hidden(cell)) continue;
    const words = (cell.innerText || '').trim();
    if (words.length < 2 * minColumnChars || !/\s/.test(words)) continue;  // short or one token
    const style = getComputedStyle(cell);
    const inner = cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const chars = inner / charWidth(cell);
    if (chars < minColumnChars) {
      add('column', 'a text column holds ' + chars.toFixed(1) + ' characters a line (' + label(cell) + ')');
    }
  }
  // model output rendered as markup
  for (const el of content.querySelectorAll('.model-output *, table.dataframe td *')) {
    add('markup', '<' + el.tagName.toLowerCase() + '> inside model output or a data cell: ' + label(el.parentElement));
  }
  // what this page links to, and the anchors it has
  const links = [];
  for (const el of document.querySelectorAll('a[href], img[src], link[href], script[src]')) {
    links.push(el.href || el.src);
  }
  const ids = Array.from(document.querySelectorAll('[id]')).map((e) => e.id)
    .concat(Array.from(document.querySelectorAll('a[name]')).map((e) => e.name));
  return {problems, links, ids};
}
