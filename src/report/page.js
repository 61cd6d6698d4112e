// The mediasift report page. Everything is built with DOM calls and textContent: names and
// texts come from the media and their uploaders, so none of them is ever parsed as HTML.
(function () {
  "use strict";
  const { report: r, mediaBase, home } = JSON.parse(document.getElementById("report-data").textContent);
  const root = document.getElementById("report");
  root.textContent = "";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const svg = (tag, attrs) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  };
  const media = (key) => mediaBase + key.split("/").map(encodeURIComponent).join("/");
  function clock(seconds) {
    if (!Number.isFinite(seconds)) return "–";
    const s = Math.max(0, seconds);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = (s % 60).toFixed(2).padStart(5, "0");
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + sec;
  }
  function factsTable(facts) {
    return el("table", {}, facts.map((f) => el("tr", {}, el("th", {}, f.label), el("td", {}, f.value))));
  }
  function section(title, ...content) {
    return el("section", { id: title.toLowerCase().replace(/[^a-z]+/g, "-") }, el("h2", {}, title), ...content);
  }

  // Header.
  if (home) root.append(el("nav", {}, el("a", { href: home }, "← all assets")));
  root.append(
    el("h1", {}, r.name, " ", el("span", { class: "badge " + r.status, id: "status" }, r.status)),
    el("p", { class: "meta" },
      r.mediaType, " · asset ", el("code", {}, r.assetId),
      r.durationSeconds ? " · " + clock(r.durationSeconds) : "",
      r.source ? " · " + r.source : ""),
  );
  if (r.cause) root.append(el("p", { class: "meta" }, r.cause));

  // The player.
  let player = null;
  const timed = r.mediaType === "video" || r.mediaType === "audio";
  if (r.media.proxy && timed) {
    const tag = r.mediaType === "video" ? "video" : "audio";
    player = el(tag, {
      id: "player", controls: true, preload: "metadata", src: media(r.media.proxy),
      poster: r.mediaType === "video" && r.media.poster ? media(r.media.poster) : null,
    });
    root.append(el("div", { class: "player" }, player));
  } else if (r.media.proxy && r.mediaType === "image") {
    root.append(el("div", { class: "player" }, el("img", { id: "image", src: media(r.media.proxy), alt: (r.image && r.image.description) || r.name })));
  } else if (timed) {
    root.append(el("p", { class: "muted" }, "No proxy was made, so there is nothing to play."));
  }

  // The timeline.
  function seek(seconds) {
    if (!player) return;
    player.currentTime = seconds;
  }
  const duration = () => r.durationSeconds || (player && Number.isFinite(player.duration) ? player.duration : 0) ||
    Math.max(1, ...r.tracks.flatMap((t) => t.items.map((i) => i.end)));
  if (timed && (r.tracks.length || r.loudness)) {
    const total = duration();
    const pct = (s) => (100 * Math.min(Math.max(s, 0), total) / total) + "%";
    const lanes = el("div", { class: "lanes-wrap" });
    const timeline = el("div", { class: "timeline", id: "timeline" }, lanes);
    const clockLine = el("div", { class: "clock", id: "clock" }, clock(0) + " / " + clock(total));
    const laneClick = (event) => {
      if (event.target !== event.currentTarget) return;
      const box = event.currentTarget.getBoundingClientRect();
      seek(total * (event.clientX - box.left) / box.width);
    };
    for (const track of r.tracks) {
      const lane = el("div", { class: "lane", onclick: laneClick });
      for (const item of track.items) {
        const point = item.end <= item.start;
        const title = item.label + " · " + clock(item.start) + (point ? "" : " – " + clock(item.end)) +
          (item.score != null ? " · " + (item.score > 1 ? item.score.toFixed(1) + "%" : "score " + item.score.toFixed(2)) : "") +
          (item.detail ? "\n" + item.detail : "");
        lane.append(el("button", {
          type: "button", class: "item " + track.kind + (point ? " point" : ""), title,
          "data-start": item.start, "data-kind": track.kind,
          style: "left:" + pct(item.start) + (point ? "" : ";width:calc(" + pct(item.end) + " - " + pct(item.start) + ")"),
          onclick: () => seek(item.start),
        }, point ? "" : item.label));
      }
      if (!track.items.length) lane.append(el("span", { class: "muted", style: "font-size:11px;padding-left:4px" }, "none found"));
      lanes.append(el("div", { class: "row", "data-track": track.kind }, el("div", { class: "name", title: track.name }, track.name), lane));
    }
    if (r.loudness && r.loudness.momentaryLufs.length) {
      const l = r.loudness, floor = -60, top = 0;
      const curve = svg("svg", { class: "curve", viewBox: "0 0 1000 100", preserveAspectRatio: "none" });
      const points = l.momentaryLufs.map((v, i) => {
        const x = 1000 * Math.min((i + 0.5) * l.intervalSeconds, total) / total;
        const y = 100 * (top - Math.max(floor, v == null ? floor : v)) / (top - floor);
        return x.toFixed(1) + "," + y.toFixed(1);
      });
      const line = svg("polyline", { points: points.join(" ") });
      const label = "Loudness (track " + l.track + ")" + (l.integratedLufs != null ? ": " + l.integratedLufs.toFixed(1) + " LUFS" : "");
      line.append(svg("title", {}));
      line.firstChild.textContent = label;
      curve.append(line);
      const lane = el("div", { class: "lane tall", onclick: laneClick });
      lane.append(curve);
      curve.style.pointerEvents = "none";
      lanes.append(el("div", { class: "row", "data-track": "loudness" }, el("div", { class: "name", title: label }, "Loudness"), lane));
    }
    const head = el("div", { class: "playhead", id: "playhead" });
    const marker = el("div", { style: "position:absolute;top:0;bottom:0;left:130px;right:10px;pointer-events:none" }, head);
    lanes.append(marker);
    root.append(section("Timeline", clockLine, timeline,
      el("p", { class: "muted" }, "Click an item, or anywhere on a row, to move the player there.")));
    if (player) {
      const update = () => {
        head.style.left = pct(player.currentTime);
        clockLine.textContent = clock(player.currentTime) + " / " + clock(total);
        for (const s of document.querySelectorAll(".segment")) {
          const on = player.currentTime >= +s.dataset.start && player.currentTime < +s.dataset.end;
          s.classList.toggle("current", on);
        }
      };
      player.addEventListener("timeupdate", update);
      player.addEventListener("seeked", update);
    }
  }

  // Speech.
  if (r.transcript.length) {
    root.append(section("Transcript", el("div", { class: "transcript", id: "transcript" },
      r.transcript.map((s) => el("div", { class: "segment", "data-start": s.start, "data-end": s.end, onclick: () => seek(s.start) },
        el("time", {}, clock(s.start)), el("span", {}, s.text))))));
  }
  if (r.keyphrases.length || r.entities.length) {
    root.append(section("Keyphrases and entities",
      el("div", { class: "chips" }, r.keyphrases.map((k) => el("span", {}, k))),
      el("div", { class: "chips" }, r.entities.map((e) => el("span", {}, e.text, " ", el("small", {}, e.kind.toLowerCase()))))));
  }

  // Images.
  if (r.image) {
    const i = r.image;
    const parts = [];
    if (i.description) parts.push(el("p", { id: "description" }, i.description));
    if (i.gps) parts.push(el("p", {}, "Taken at ", i.gps.latitude.toFixed(5) + ", " + i.gps.longitude.toFixed(5), " · ",
      el("a", { href: i.gps.mapUrl, target: "_blank", rel: "noopener noreferrer", id: "map-link" }, "open in OpenStreetMap")));
    if (i.detections.length) parts.push(el("div", { class: "chips" }, i.detections.map((d) =>
      el("span", {}, d.name, " ", el("small", {}, d.feature + (d.confidence != null ? " " + d.confidence.toFixed(0) + "%" : ""))))));
    if (i.exif.length) parts.push(factsTable(i.exif));
    root.append(section("Image", ...parts));
  }

  // Documents.
  if (r.pages.length) {
    root.append(section("Pages", r.pages.map((p) => el("div", { class: "page", id: "page-" + p.page },
      p.image ? el("img", { src: media(p.image), alt: "page " + p.page, loading: "lazy" }) : el("div", { class: "muted" }, "no page image"),
      el("div", {}, el("strong", {}, "Page " + p.page), " ", el("small", { class: "muted" }, p.source === "ocr" ? "(OCR)" : ""),
        el("pre", {}, p.text || "(no text)"))))));
  }

  // Analyses, checksums, technical metadata.
  if (r.analyses.length) {
    root.append(section("Analyses", el("table", { id: "analyses" }, r.analyses.map((a) => el("tr", {},
      el("th", {}, a.analysis),
      el("td", {}, el("span", { class: "badge " + (a.status === "completed" ? "completed" : a.status === "failed" ? "failed" : "partial") }, a.status),
        a.cause ? " " + a.cause : "",
        a.skipped.map((s) => el("div", { class: "skipped" }, "skipped " + s.feature + ": " + s.reason))))))));
  }
  const c = r.checksums;
  const fixity = [
    { label: "MD5", value: c.md5 || "–" },
    { label: "fixity", value: (c.fixity || "–") + (c.comparedWith ? " (compared with " + c.comparedWith + (c.expected ? " " + c.expected : "") + ")" : "") },
  ];
  if (c.sizeBytes != null) fixity.push({ label: "size", value: c.sizeBytes.toLocaleString("en") + " bytes" });
  root.append(el("div", { class: "two" },
    section("Checksums", el("div", { id: "checksums" }, factsTable(fixity))),
    section("Technical metadata", factsTable(r.technical))));
  if (r.notes.length) root.append(section("Notes", el("ul", {}, r.notes.map((n) => el("li", {}, n)))));
  root.append(el("p", { class: "muted" }, "mediasift report · asset " + r.assetId));
})();
