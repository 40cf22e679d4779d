// portal: the little the pages do with JavaScript, as a static file (the CSP allows no
// inline script). Without it every page still works: times stay in UTC, and nothing is
// updated in place that needs announcing.
//
// 1. Times in the viewer's time zone. The server writes
//    <time datetime="2026-11-28T14:30:05Z" title="2026-11-28 14:30:05 UTC">... UTC</time>;
//    this rewrites the text to local time and leaves the UTC on hover (title).
// 2. Announcing htmx updates. Parts that htmx replaces carry data-announce (worded by the
//    server); the page's aria-live region (#announcer) reads it out, and the notices that
//    come with an update. A MutationObserver sees the swaps whatever the htmx version.
(function () {
  "use strict";

  function pad(n) { return String(n).padStart(2, "0"); }

  function zoneName(date) {
    const part = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" })
      .formatToParts(date).find((p) => p.type === "timeZoneName");
    return part ? part.value : "";
  }

  function localTime(date) {
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
      `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ` +
      zoneName(date);
  }

  function localizeTimes(root) {
    const times = root.matches && root.matches("time[datetime$='Z']") ? [root]
      : root.querySelectorAll("time[datetime$='Z']");
    for (const time of times) {
      if (time.dataset.local) continue;
      const date = new Date(time.getAttribute("datetime"));
      if (Number.isNaN(date.getTime())) continue;
      time.textContent = localTime(date);
      time.dataset.local = "true";
    }
  }

  function announce(text) {
    const region = document.getElementById("announcer");
    if (!region || !text) return;
    // Emptied first, so the same words twice in a row are read twice.
    region.textContent = "";
    window.setTimeout(() => { region.textContent = text; }, 50);
  }

  function announcement(node) {
    const parts = [];
    const notices = node.id === "notices" ? node : null;
    if (notices && notices.textContent.trim()) parts.push(notices.textContent.trim());
    if (node.dataset && node.dataset.announce) parts.push(node.dataset.announce);
    return parts.join(" ").replace(/\s+/g, " ");
  }

  function watch() {
    localizeTimes(document);
    new MutationObserver((mutations) => {
      const said = [];
      for (const mutation of mutations) {
        for (const node of mutation.addedNodes) {
          if (node.nodeType !== Node.ELEMENT_NODE) continue;
          localizeTimes(node);
          const text = announcement(node);
          if (text) said.push(text);
        }
      }
      if (said.length) announce(said.join(" "));
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", watch);
  } else {
    watch();
  }
}());
