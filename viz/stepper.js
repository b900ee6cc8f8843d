// chainrule backward stepper: drives one stepper container. No globals, no network.
//
// `root` is the container element, `data` the payload written by viz/stepper.py; the graph
// drawn by viz.draw_dot (ids prefixed with the container id) is the fallback picture's SVG.
//   names[i], formulas[i]   display name and "c = a * b" text of value node i (node n{i} of the SVG)
//   terms[i]                names[i] as it stands in a derivative: d(n5), dL/da
//   root                    index of the output node (the L of dL/da)
//   blank, prefix           grad text of a node not reached yet, and the prefix of a reached one
//   unreached, textOn       fill of a node not reached yet; text colour for each fill used
//   steps[k] = [node, upstream, fill, contributions]; contributions[j] =
//       [child, local, added, total, fill, final]  (numbers already formatted by Python;
//       final: the child is a leaf and this is its last contribution)
// Position 0 is the seed (dL/dL); each later position is one backward step that passes
// gradient on. Steps of leaves, which pass nothing on, cost no click: a leaf's gradient is
// marked final with the last contribution it receives.
var VIEW = [
  '<div class="crs-bar">',
  '<button type="button" class="crs-prev" title="Previous step (left arrow)">Prev</button>',
  '<button type="button" class="crs-play" title="Play or pause">Play</button>',
  '<button type="button" class="crs-next" title="Next step (right arrow)">Next</button>',
  '<input type="range" class="crs-slider" min="0" max="0" value="0" step="1"',
  ' aria-label="backward step">',
  '<span class="crs-count"></span>',
  '<button type="button" class="crs-fit"',
  ' title="Fit the graph to the width (text stays readable) or show it at full size">',
  "Actual size</button>",
  "</div>",
  '<div class="crs-key">',
  '<span><i class="crs-key-current"></i>the node whose gradient is complete</span>',
  '<span><i class="crs-key-child"></i>its inputs, receiving gradient</span>',
  '<span><i class="crs-key-edge"></i>the edges of this step</span>',
  "</div>",
  '<div class="crs-graph"></div>',
  '<div class="crs-panel"><div class="crs-title"></div><div class="crs-rule"></div>',
  '<div class="crs-order"></div></div>',
].join("");

var ORDER_SHOWN = 6; // "Order so far" names the latest few steps

// Text of 11 pt (about 14.7 px at full size) stays at least 11 px when fitted to the width.
var READABLE_ZOOM = 0.75;

function chainruleStepper(root, data) {
  "use strict";
  var q = function (selector) { return root.querySelector(selector); };
  if (q(".crs-bar")) return; // already running in this container
  var pictures = chainruleTakeFallback(root, "crs");
  root.insertAdjacentHTML("beforeend", VIEW);
  var graph = q(".crs-graph");
  graph.innerHTML = chainruleSvgOf(pictures[0]); // one SVG, laid out once by Graphviz
  var svg = graph.querySelector("svg");
  var count = q(".crs-count"), fit = q(".crs-fit");
  var title = q(".crs-title"), rule = q(".crs-rule"), order = q(".crs-order");
  var last = data.steps.length - 1;
  var lit = [];

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

  // Totals dL/dx and local derivatives ∂c/∂x, names of several characters in parentheses.
  var total = function (i) { return "d" + data.terms[data.root] + "/d" + data.terms[i]; };
  var local = function (c, i) { return "\u2202" + data.terms[c] + "/\u2202" + data.terms[i]; };

  function describe(k) {
    var step = data.steps[k], node = step[0], name = data.names[node];
    rule.textContent = "";
    if (k === 0) {
      title.textContent = "Step 0 of " + last + ": seed the output " + name;
      line(total(node) + " = " + step[1] + "   (backward starts at the output)");
      if (last === 0) line(name + " is a leaf: its gradient is final.");
    } else {
      title.textContent = "Step " + k + " of " + last + ": " + data.formulas[node];
      line(total(node) + " = " + step[1] + " is complete: every node that uses " + name +
        " has passed its gradient back.");
      step[3].forEach(function (c) {
        line(total(c[0]) + " += " + total(node) + " * " + local(node, c[0]) + " = " + step[1] +
          " * " + c[1] + " = " + c[2] + "   (total " + c[3] + (c[5] ? ", final: a leaf" : "") +
          ")");
      });
    }
    order.textContent = "Order so far (reverse topological): ";
    var first = Math.max(1, k - ORDER_SHOWN + 1);
    if (first > 1) order.appendChild(document.createTextNode("\u2026 "));
    for (var s = first; s <= k; s++) {
      var item = document.createElement(s === k ? "b" : "span");
      item.textContent = data.names[data.steps[s][0]];
      if (s > first) order.appendChild(document.createTextNode(" \u2192 "));
      order.appendChild(item);
    }
    if (k === 0) order.appendChild(document.createTextNode("(none yet)"));
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
    lit.forEach(function (pair) { pair[0].classList.remove(pair[1]); });
    lit = [];
    // Each node's state after position k, worked out first and painted once.
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
    count.textContent = "step " + k + " / " + last;
    describe(k);
  }

  // Fitted, a graph is as wide as the output but never shrunk below READABLE_ZOOM (it then
  // scrolls) nor enlarged; at actual size it keeps Graphviz's size.
  var natural = svg.width.baseVal.value;
  svg.style.minWidth = natural * READABLE_ZOOM + "px";
  function fitWidth(on) {
    svg.style.width = on ? "100%" : natural + "px";
    svg.style.maxWidth = natural + "px";
    fit.textContent = on ? "Actual size" : "Fit width";
    fit.setAttribute("aria-pressed", on ? "true" : "false");
  }
  fitWidth(true);

  var scrubber = chainruleScrubber(
    { root: root, prev: q(".crs-prev"), play: q(".crs-play"), next: q(".crs-next"),
      slider: q(".crs-slider") },
    last, show, 800);
  fit.addEventListener("click", function () {
    fitWidth(svg.style.width !== "100%");
    scrubber.go(scrubber.position());
  });
  scrubber.go(0);
}
