// chainrule's viewers (the backward stepper, the training player) share these helpers.
// viz/_page.py puts this file inside each viewer's own function: nothing here is global.

// The SVG text carried by a fallback picture, <img src="data:image/svg+xml;base64,...">.
function chainruleSvgOf(img) {
  var src = img.getAttribute("src");
  var bytes = atob(src.slice(src.indexOf(",") + 1));
  var codes = new Uint8Array(bytes.length);
  for (var i = 0; i < bytes.length; i++) codes[i] = bytes.charCodeAt(i);
  return new TextDecoder("utf-8").decode(codes);
}

// Takes the fallback (note and pictures) out of a viewer's container; returns its pictures.
function chainruleTakeFallback(root, kind) {
  var fallback = root.querySelector("." + kind + "-nojs");
  if (!fallback) return [];
  var pictures = Array.prototype.slice.call(fallback.querySelectorAll("img"));
  fallback.parentNode.removeChild(fallback);
  return pictures;
}

// Prev, Play/Pause, Next, a slider and the keys (left/right arrows, Home, End) over the
// positions 0..last. parts: {root, prev, play, next, slider}; show(k) draws position k.
// Keys are taken from the notebook (which would move between cells) and from other viewers.
function chainruleScrubber(parts, last, show, interval) {
  "use strict";
  var position = 0, timer = null;

  function go(k) {
    position = Math.max(0, Math.min(last, k | 0));
    parts.slider.value = String(position);
    parts.prev.disabled = position === 0;
    parts.next.disabled = position === last;
    show(position);
  }

  function pause() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    parts.play.textContent = "Play";
  }

  function toggle() {
    if (timer !== null) return pause();
    if (position === last) go(0);
    parts.play.textContent = "Pause";
    timer = setInterval(function () {
      if (!parts.root.isConnected || position >= last) return pause();
      go(position + 1);
      if (position === last) pause();
    }, interval);
  }

  parts.prev.addEventListener("click", function () { pause(); go(position - 1); });
  parts.next.addEventListener("click", function () { pause(); go(position + 1); });
  parts.play.addEventListener("click", toggle);
  parts.slider.addEventListener("input", function () { pause(); go(Number(parts.slider.value)); });
  parts.root.addEventListener("keydown", function (event) {
    var moves = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity };
    if (!(event.key in moves)) return;
    event.stopPropagation();
    if (event.target === parts.slider) return; // the slider moves itself and fires "input"
    event.preventDefault();
    pause();
    var move = moves[event.key];
    go(move === -Infinity ? 0 : move === Infinity ? last : position + move);
  });
  parts.slider.min = "0";
  parts.slider.max = String(last);
  return { go: go, pause: pause, position: function () { return position; } };
}
