// chainrule backward stepper: drives one stepper container. No globals, no network.
//
// `root` is the container element, `data` the payload written by viz/stepper.py:
//   svg                     the graph drawn by viz.draw_dot, ids prefixed with the container id
//   names[i], formulas[i]   display name and "c = a * b" text of value node i (node n{i} of the SVG)
//   rootName                name of the output node (the L of dL/da)
//   blank, prefix           grad text of a node not reached yet, and the prefix of a reached one
//   unreached, textOn       fill of a node not reached yet; text colour for each fill used
//   steps[k] = [node, upstream, fill, contributions]; contributions[j] =
//       [child, local, added, total, fill]  (numbers already formatted by Python)
// Position 0 is the seed (dL/dL); position k >= 1 is backward step k - 1.
var VIEW = [
  '<div class="crs-bar">',
  '<button type="button" class="crs-prev" title="Previous step (left arrow)">Prev</button>',
  '<button type="button" class="crs-play" title="Play or pause">Play</button>',
  '<button type="button" class="crs-next" title="Next step (right arrow)">Next</button>',
  '<input type="range" class="crs-slider" min="0" max="0" value="0" step="1"',
  ' aria-label="backward step">',
  '<span class="crs-count"></span>',
  '<button type="button" class="crs-fit"',
  ' title="Fit the graph to the width or show it at full size">Fit width</button>',
  "</div>",
  '<div class="crs-graph"></div>',
  '<div class="crs-panel"><div class="crs-title"></div><div class="crs-rule"></div>',
  '<div class="crs-order"></div></div>',
].join("");

function chainruleStepper(root, data) {
  "use strict";
  var q = function (selector) { return root.querySelector(selector); };
  if (q(".crs-bar")) return; // already running in this container
  var nojs = q(".crs-nojs");
  if (nojs) nojs.parentNode.removeChild(nojs);
  root.insertAdjacentHTML("beforeend", VIEW);
  var graph = q(".crs-graph");
  graph.innerHTML = data.svg; // one SVG, laid out once by Graphviz
  var svg = graph.querySelector("svg");
  var slider = q(".crs-slider"), prev = q(".crs-prev"), next = q(".crs-next");
  var play = q(".crs-play"), count = q(".crs-count"), fit = q(".crs-fit");
  var title = q(".crs-title"), rule = q(".crs-rule"), order = q(".crs-order");
  var last = data.steps.length - 1;
  var position = 0, timer = null, lit = [];

  // Graphviz writes each node as <g class="node"><title>name</title>...; find ours by name.
  var groups = {};
  svg.querySelectorAll("g.node").forEach(function (g) {
    var t = g.querySelector("title");
    if (t) groups[t.textContent.trim()] = g;
  });
  var shapeOf = function (g) {
    var shapes = g.querySelectorAll("polygon, path, ellipse");
    for (var i = 0; i < shapes.length; i++) {
      if (shapes[i].getAttribute("fill") !== "none") return shapes[i];
    }
    return shapes.length ? shapes[0] : null;
  };
  var value = data.names.map(function (_, i) {
    var g = groups["n" + i];
    if (!g) return null;
    var texts = g.querySelectorAll("text");
    return { g: g, texts: texts, grad: texts[texts.length - 1], shape: shapeOf(g) };
  });
  // Edges run child -> n{i}op -> n{i}: every edge of node i's chain rule names n{i}op.
  var edgesOf = {};
  svg.querySelectorAll("g.edge").forEach(function (e) {
    var t = e.querySelector("title");
    var m = t && /(?:^|[^\w])n(\d+)op(?![\w])/.exec(t.textContent);
    if (m) (edgesOf[m[1]] = edgesOf[m[1]] || []).push(e);
  });

  function paint(i, text, fill) {
    var v = value[i];
    if (!v || (v.text === text && v.fill === fill)) return; // touch the DOM only on change
    v.text = text;
    v.grad.textContent = text;
    if (v.fill !== fill) {
      v.fill = fill;
      if (v.shape) v.shape.style.fill = fill;
      var ink = data.textOn[fill] || "";
      v.texts.forEach(function (t) { t.style.fill = ink; });
    }
  }

  function light(element, cls) {
    if (!element) return;
    element.classList.add(cls);
    lit.push([element, cls]);
  }

  function line(text) {
    var div = document.createElement("div");
    div.textContent = text;
    rule.appendChild(div);
  }

  function describe(k) {
    var step = data.steps[k], node = step[0], name = data.names[node];
    var d = function (x) { return "d" + data.rootName + "/d" + x; };
    rule.textContent = "";
    if (k === 0) {
      title.textContent = "Step 0 of " + last + ": seed the output " + name;
      line(d(name) + " = " + step[1] + "   (backward starts at the output)");
    } else if (step[3].length === 0) {
      title.textContent = "Step " + k + " of " + last + ": " + name + " is a leaf";
      line(d(name) + " = " + step[1] + " is final: a leaf passes nothing on.");
    } else {
      title.textContent = "Step " + k + " of " + last + ": " + data.formulas[node];
      line(d(name) + " = " + step[1] + " is complete: every node that uses " + name +
        " has passed its gradient back.");
      step[3].forEach(function (c) {
        var child = data.names[c[0]];
        line(d(child) + " += " + d(name) + " * d" + name + "/d" + child + " = " + step[1] +
          " * " + c[1] + " = " + c[2] + "   (total " + c[3] + ")");
      });
    }
    order.textContent = "Order so far (reverse topological): ";
    for (var s = 1; s <= k; s++) {
      var item = document.createElement(s === k ? "b" : "span");
      item.textContent = data.names[data.steps[s][0]];
      if (s > 1) order.appendChild(document.createTextNode(" \u2192 "));
      order.appendChild(item);
    }
    if (k === 0) order.appendChild(document.createTextNode("(none yet)"));
    order.scrollTop = order.scrollHeight; // the newest entry stays in view
  }

  function reveal(g) {
    // Scroll the graph box, never the page, so the current node is visible.
    var box = graph.getBoundingClientRect(), r = g.getBoundingClientRect();
    if (r.left < box.left || r.right > box.right) {
      graph.scrollLeft += r.left - box.left - (box.width - r.width) / 2;
    }
    if (r.top < box.top || r.bottom > box.bottom) {
      graph.scrollTop += r.top - box.top - (box.height - r.height) / 2;
    }
  }

  function show(k) {
    k = Math.max(0, Math.min(last, k | 0));
    position = k;
    lit.forEach(function (pair) { pair[0].classList.remove(pair[1]); });
    lit = [];
    // Each node's state after step k, worked out first and painted once.
    var text = [], fill = [];
    var set = function (i, number, colour) { text[i] = data.prefix + number; fill[i] = colour; };
    for (var s = 0; s <= k; s++) {
      var step = data.steps[s];
      set(step[0], step[1], step[2]);
      step[3].forEach(function (c) { set(c[0], c[3], c[4]); });
    }
    for (var i = 0; i < value.length; i++) {
      if (text[i] === undefined) paint(i, data.blank, data.unreached);
      else paint(i, text[i], fill[i]);
    }
    var current = data.steps[k], node = current[0];
    if (value[node]) light(value[node].g, "crs-current");
    if (k > 0) { // the seed only sets the output's gradient; later steps use its op
      light(groups["n" + node + "op"], "crs-current");
      (edgesOf[node] || []).forEach(function (e) { light(e, "crs-active"); });
    }
    current[3].forEach(function (c) { if (value[c[0]]) light(value[c[0]].g, "crs-child"); });
    if (value[node]) reveal(value[node].g);
    slider.value = String(k);
    count.textContent = "step " + k + " / " + last;
    prev.disabled = k === 0;
    next.disabled = k === last;
    describe(k);
  }

  function pause() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    play.textContent = "Play";
  }

  function toggle() {
    if (timer !== null) return pause();
    if (position === last) show(0);
    play.textContent = "Pause";
    timer = setInterval(function () {
      if (!root.isConnected || position >= last) return pause();
      show(position + 1);
      if (position === last) pause();
    }, 800);
  }

  // Small graphs fit the width of the output; big ones keep their size and scroll.
  var natural = svg.width.baseVal.value;
  function fitWidth(on) {
    svg.style.width = on ? "100%" : "";
    svg.style.maxWidth = on ? natural + "px" : "none";
    fit.textContent = on ? "Actual size" : "Fit width";
    fit.setAttribute("aria-pressed", on ? "true" : "false");
  }
  fitWidth(natural <= 2 * graph.clientWidth);
  fit.addEventListener("click", function () { fitWidth(svg.style.width === ""); show(position); });

  prev.addEventListener("click", function () { pause(); show(position - 1); });
  next.addEventListener("click", function () { pause(); show(position + 1); });
  play.addEventListener("click", toggle);
  slider.addEventListener("input", function () { pause(); show(Number(slider.value)); });
  root.addEventListener("keydown", function (event) {
    var moves = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity };
    if (!(event.key in moves)) return;
    // Keep the keys from the notebook (which would move between cells) and from other steppers.
    event.stopPropagation();
    if (event.target === slider) return; // the slider moves itself and fires "input"
    event.preventDefault();
    pause();
    var move = moves[event.key];
    show(move === -Infinity ? 0 : move === Infinity ? last : position + move);
  });

  slider.max = String(last);
  show(0);
}
