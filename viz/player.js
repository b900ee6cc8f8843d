// chainrule training player: drives one player container. No globals, no network.
//
// `root` is the container, `data` the payload written by viz/player.py:
//   epochs[f]            the epoch (snapshot index) of frame f; 0 is before training
//   kind                 "boundary", "regression" or "confusion": the main picture
//   plot                 its fixed part (extent, palette, points, classes, colours / truth)
//   curves               loss, valLoss, metric, valMetric per epoch (1..epochs), metricName
//   networkPicture       which fallback picture is draw_network's (-1: none); network.slots
//                        are [group title, element number, attribute] and network.strings
//                        the values frames[f].net index (-1: attribute absent)
//   structure, samples   the MLP's layers and neurons; the samples' rows, inputs and targets
//   frames[f]            {plot: {...}, net: [...], samples: [[numbers of one pass]]}
// All numbers shown are formatted by Python (viz._style.fmt), as draw_network and the stepper.
var PLAYER_VIEW = [
  '<div class="crp-bar">',
  '<button type="button" class="crp-prev" title="Previous epoch (left arrow)">Prev</button>',
  '<button type="button" class="crp-play" title="Play or pause">Play</button>',
  '<button type="button" class="crp-next" title="Next epoch (right arrow)">Next</button>',
  '<input type="range" class="crp-slider" min="0" max="0" value="0" step="1" aria-label="epoch">',
  '<span class="crp-count"></span>',
  "</div>",
  '<div class="crp-thinned"></div>',
  '<div class="crp-top">',
  '<div class="crp-plot"><div class="crp-heading crp-plot-title"></div>',
  '<div class="crp-canvas-box"></div></div>',
  '<div class="crp-curves"><div class="crp-heading crp-curves-title"></div></div>',
  "</div>",
  '<div class="crp-heading crp-net-title"></div><div class="crp-net"></div>',
  '<div class="crp-samples"></div>',
].join("");

var NET_HEIGHT = 560; // pixels: the network's picture is shrunk to this height at most
var SVG_NS = "http://www.w3.org/2000/svg", XLINK_NS = "http://www.w3.org/1999/xlink";

function chainrulePlayer(root, data) {
  "use strict";
  var q = function (selector) { return root.querySelector(selector); };
  if (q(".crp-bar")) return; // already running in this container
  var pictures = chainruleTakeFallback(root, "crp");
  root.insertAdjacentHTML("beforeend", PLAYER_VIEW);
  var last = data.frames.length - 1;
  var frame = 0, selected = data.samples && data.samples.length ? 0 : -1;
  var open = {}; // neurons whose records are unfolded, by name

  function svgElement(tag, attributes, parent) {
    var e = document.createElementNS(SVG_NS, tag);
    for (var name in attributes) e.setAttribute(name, attributes[name]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, content, attributes) {
    var t = svgElement("text", Object.assign({ x: x, y: y }, attributes || {}), parent);
    t.textContent = content;
    return t;
  }
  function linear(d0, d1, r0, r1) {
    var span = d1 - d0 || 1;
    return function (v) { return r0 + (v - d0) / span * (r1 - r0); };
  }
  function niceTicks(lo, hi, count) {
    var span = hi - lo;
    if (!(span > 0)) return [lo];
    var step = Math.pow(10, Math.floor(Math.log10(span / count)));
    var err = span / count / step;
    step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
    var ticks = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    return ticks;
  }
  function tickText(v) { return String(Number(v.toPrecision(6))); }

  // A box of axes: returns {svg, x, y} with x(), y() mapping data to pixels.
  function axes(parent, width, height, xs, ys, labels, logY) {
    var m = { left: 46, right: 10, top: 8, bottom: 34 };
    var svg = svgElement("svg", { width: width, height: height, class: "crp-axes" }, parent);
    var toY = logY ? function (v) { return Math.log10(v); } : function (v) { return v; };
    var x = linear(xs[0], xs[1], m.left, width - m.right);
    var yy = linear(toY(ys[0]), toY(ys[1]), height - m.bottom, m.top);
    var y = function (v) { return yy(toY(v)); };
    svgElement("rect", { x: m.left, y: m.top, width: width - m.left - m.right,
      height: height - m.top - m.bottom, class: "crp-frame" }, svg);
    niceTicks(xs[0], xs[1], 5).forEach(function (t) {
      svgElement("line", { x1: x(t), x2: x(t), y1: height - m.bottom, y2: height - m.bottom + 4,
        class: "crp-tick" }, svg);
      text(svg, x(t), height - m.bottom + 15, tickText(t), { "text-anchor": "middle" });
    });
    var yTicks = logY ? niceTicks(toY(ys[0]), toY(ys[1]), 4).map(function (t) {
      return Math.pow(10, t); }) : niceTicks(ys[0], ys[1], 4);
    yTicks.forEach(function (t) {
      svgElement("line", { x1: m.left - 4, x2: m.left, y1: y(t), y2: y(t), class: "crp-tick" }, svg);
      text(svg, m.left - 6, y(t) + 4, logY ? Number(t.toPrecision(2)).toString() : tickText(t),
        { "text-anchor": "end" });
    });
    text(svg, (m.left + width - m.right) / 2, height - 4, labels[0], { "text-anchor": "middle",
      class: "crp-label" });
    var ylabel = text(svg, 12, (m.top + height - m.bottom) / 2, labels[1],
      { "text-anchor": "middle", class: "crp-label" });
    ylabel.setAttribute("transform", "rotate(-90 12 " + (m.top + height - m.bottom) / 2 + ")");
    return { svg: svg, x: x, y: y, margin: m, width: width, height: height };
  }

  function bits(base64, count) {
    var bytes = atob(base64), out = [];
    for (var i = 0; i < count; i++) out.push((bytes.charCodeAt(i >> 3) >> (i & 7)) & 1);
    return out;
  }

  // -- the main picture ------------------------------------------------------------------
  var plotBox = q(".crp-canvas-box"), plotTitle = q(".crp-plot-title");
  var plot = data.plot, drawPlot = function () {};
  var pointMarks = [], sampleMarks = [];

  function markSamples(chart, positions) {
    (data.samples || []).forEach(function (sample, s) {
      var p = positions(sample.point);
      var g = svgElement("g", { class: "crp-sample", "data-sample": s }, chart.svg);
      svgElement("circle", { cx: p[0], cy: p[1], r: 7 }, g);
      text(g, p[0] + 9, p[1] - 7, String(s + 1), { class: "crp-sample-number" });
      g.addEventListener("click", function () { select(s); });
      sampleMarks.push(g);
    });
  }

  if (data.kind === "boundary") {
    var size = 340, extent = plot.extent, resolution = plot.resolution;
    var chart = axes(plotBox, size + 56, size + 42, [extent[0], extent[1]], [extent[2], extent[3]],
      data.inputNames);
    var m = chart.margin;
    var canvas = document.createElement("canvas");
    canvas.width = resolution;
    canvas.height = resolution;
    canvas.className = "crp-grid";
    Object.assign(canvas.style, { left: m.left + "px", top: m.top + "px", width: size + "px",
      height: size + "px" });
    plotBox.insertBefore(canvas, chart.svg);
    var context = canvas.getContext("2d"), image = context.createImageData(resolution, resolution);
    var lines = svgElement("g", { class: "crp-lines" }, chart.svg);
    var dots = svgElement("g", { class: "crp-points" }, chart.svg);
    plot.points.forEach(function (p) {
      pointMarks.push(svgElement("circle", { cx: chart.x(p[0]), cy: chart.y(p[1]), r: 3.2,
        fill: plot.colours[p[2]] }, dots));
    });
    markSamples(chart, function (i) {
      var p = plot.points[i];
      return [chart.x(p[0]), chart.y(p[1])];
    });
    var legend = svgElement("g", { class: "crp-legend" }, chart.svg);
    plot.classes.forEach(function (name, k) {
      svgElement("circle", { cx: m.left + 10, cy: m.top + 12 + 14 * k, r: 4,
        fill: plot.colours[k] }, legend);
      text(legend, m.left + 18, m.top + 16 + 14 * k, "class " + name);
    });
    text(legend, m.left + 10, m.top + 16 + 14 * plot.classes.length,
      "ringed: wrong at this epoch", { class: "crp-small" });
    drawPlot = function (f) {
      var shown = data.frames[f].plot, codes = atob(shown.grid), pixels = image.data;
      for (var row = 0; row < resolution; row++) { // grid rows go up, canvas rows go down
        for (var col = 0; col < resolution; col++) {
          var rgb = plot.palette[codes.charCodeAt(row * resolution + col)];
          var at = ((resolution - 1 - row) * resolution + col) * 4;
          pixels[at] = rgb[0]; pixels[at + 1] = rgb[1]; pixels[at + 2] = rgb[2]; pixels[at + 3] = 255;
        }
      }
      context.putImageData(image, 0, 0);
      lines.textContent = "";
      shown.lines.forEach(function (line) {
        var points = [];
        for (var i = 0; i + 1 < line.length; i += 2) {
          if (line[i] !== null && line[i + 1] !== null) {
            points.push(chart.x(line[i]).toFixed(1) + "," + chart.y(line[i + 1]).toFixed(1));
          }
        }
        svgElement("polyline", { points: points.join(" ") }, lines);
      });
      var wrong = bits(shown.wrong, pointMarks.length);
      pointMarks.forEach(function (c, i) { c.classList.toggle("crp-wrong", wrong[i] === 1); });
      plotTitle.textContent = "decision boundary \u00b7 accuracy " + shown.accuracy +
        " on these points";
    };
  } else if (data.kind === "regression") {
    var all = plot.truth.slice(), frames = data.frames;
    frames.forEach(function (f) { f.plot.predicted.forEach(function (v) { if (v !== null) all.push(v); }); });
    var lo = Math.min.apply(null, all), hi = Math.max.apply(null, all);
    var pad = (hi - lo) * 0.05 || 1;
    var rchart = axes(plotBox, 396, 382, [lo - pad, hi + pad], [lo - pad, hi + pad],
      ["true value", "predicted"]);
    svgElement("line", { x1: rchart.x(lo - pad), y1: rchart.y(lo - pad), x2: rchart.x(hi + pad),
      y2: rchart.y(hi + pad), class: "crp-diagonal" }, rchart.svg);
    var rdots = svgElement("g", { class: "crp-points" }, rchart.svg);
    plot.truth.forEach(function () {
      pointMarks.push(svgElement("circle", { r: 3.2, fill: "#2166ac" }, rdots));
    });
    var current = [];
    markSamples(rchart, function (i) { return current[i] || [0, 0]; });
    drawPlot = function (f) {
      var predicted = data.frames[f].plot.predicted;
      pointMarks.forEach(function (c, i) {
        var v = predicted[i] === null ? lo - pad : predicted[i];
        current[i] = [rchart.x(plot.truth[i]), rchart.y(v)];
        c.setAttribute("cx", current[i][0]);
        c.setAttribute("cy", current[i][1]);
      });
      sampleMarks.forEach(function (g, s) {
        var p = current[data.samples[s].point];
        g.firstChild.setAttribute("cx", p[0]);
        g.firstChild.setAttribute("cy", p[1]);
        g.lastChild.setAttribute("x", p[0] + 9);
        g.lastChild.setAttribute("y", p[1] - 7);
      });
      plotTitle.textContent = "predicted against true values \u00b7 R\u00b2 " +
        data.frames[f].plot.r2;
    };
  } else {
    var table = document.createElement("table");
    table.className = "crp-confusion";
    plotBox.appendChild(table);
    drawPlot = function (f) {
      var shown = data.frames[f].plot, most = 1;
      shown.confusion.forEach(function (row) { row.forEach(function (n) { most = Math.max(most, n); }); });
      table.textContent = "";
      var head = table.insertRow();
      head.insertCell().textContent = "true \u2193 predicted \u2192";
      plot.classes.forEach(function (c) { head.insertCell().textContent = c; });
      shown.confusion.forEach(function (row, i) {
        var tr = table.insertRow();
        tr.insertCell().textContent = plot.classes[i];
        row.forEach(function (n, j) {
          var cell = tr.insertCell();
          cell.textContent = String(n);
          var strength = n / most;
          cell.style.background = "rgba(" + (i === j ? "33,102,172," : "178,24,43,") +
            (0.08 + 0.6 * strength).toFixed(2) + ")";
          if (strength > 0.6) cell.style.color = "#ffffff";
        });
      });
      plotTitle.textContent = "confusion matrix \u00b7 accuracy " + shown.accuracy;
    };
  }

  // -- the curves ------------------------------------------------------------------------
  var curves = data.curves, curvesBox = q(".crp-curves"), curvesTitle = q(".crp-curves-title");
  var charts = [];
  function curveChart(name, train, validation, height, logY) {
    var values = train.concat(validation).filter(function (v) { return v !== null && (!logY || v > 0); });
    if (!values.length) return null;
    var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
    if (!logY) { var pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1; lo -= pad; hi += pad; }
    else { lo /= 1.3; hi *= 1.3; }
    var c = axes(curvesBox, 400, height, [0, Math.max(1, curves.epochs)], [lo, hi],
      ["epoch", name], logY);
    [[train, "crp-train"], [validation, "crp-validation"]].forEach(function (pair) {
      var points = [];
      pair[0].forEach(function (v, i) {
        if (v !== null && (!logY || v > 0)) points.push(c.x(i + 1).toFixed(1) + "," + c.y(v).toFixed(1));
      });
      if (points.length) svgElement("polyline", { points: points.join(" "), class: pair[1] }, c.svg);
    });
    if (curves.bestEpoch) {
      svgElement("line", { x1: c.x(curves.bestEpoch), x2: c.x(curves.bestEpoch), y1: c.margin.top,
        y2: c.height - c.margin.bottom, class: "crp-best" }, c.svg);
    }
    c.cursor = svgElement("line", { y1: c.margin.top, y2: c.height - c.margin.bottom,
      class: "crp-cursor" }, c.svg);
    c.dots = [train, validation].map(function (series, k) {
      return { series: series, dot: svgElement("circle", { r: 3.5, class: k ? "crp-validation-dot" :
        "crp-train-dot" }, c.svg) };
    });
    c.lo = lo;
    c.hi = hi;
    charts.push(c);
    return c;
  }
  curveChart("loss", curves.loss, curves.valLoss, 200, curves.log);
  if (curves.metric.length) curveChart(curves.metricName, curves.metric, curves.valMetric, 150, false);
  var key = document.createElement("div");
  key.className = "crp-key";
  key.innerHTML = '<span><i class="crp-key-train"></i>train</span>' +
    (curves.valLoss.length ? '<span><i class="crp-key-validation"></i>validation</span>' : "") +
    (curves.bestEpoch ? '<span><i class="crp-key-best"></i>best epoch</span>' : "") +
    '<span><i class="crp-key-cursor"></i>this epoch</span>';
  curvesBox.appendChild(key);
  function number(series, epoch) { // as plot_history's titles print them (Python's :.4g)
    var v = curves.text[series][epoch - 1];
    return v === undefined ? "\u2013" : v;
  }
  function drawCurves(epoch) {
    charts.forEach(function (c) {
      c.cursor.setAttribute("x1", c.x(epoch));
      c.cursor.setAttribute("x2", c.x(epoch));
      c.dots.forEach(function (d) {
        var v = epoch >= 1 ? d.series[epoch - 1] : null;
        var shown = v !== null && v !== undefined && v >= c.lo && v <= c.hi;
        d.dot.style.display = shown ? "" : "none";
        if (shown) { d.dot.setAttribute("cx", c.x(epoch)); d.dot.setAttribute("cy", c.y(v)); }
      });
    });
    if (epoch === 0) {
      curvesTitle.textContent = "epoch 0: before training";
    } else {
      var parts = ["loss " + number("loss", epoch)];
      if (curves.valLoss.length) parts.push("validation loss " + number("valLoss", epoch));
      if (curves.metric.length) parts.push(curves.metricName + " " + number("metric", epoch));
      curvesTitle.textContent = "epoch " + epoch + ": " + parts.join(", ");
    }
  }

  // -- the network ---------------------------------------------------------------------------
  var netBox = q(".crp-net"), slots = [];
  if (data.networkPicture >= 0) {
    netBox.innerHTML = chainruleSvgOf(pictures[data.networkPicture]);
    var netSvg = netBox.querySelector("svg");
    // As large as fits the output's width and NET_HEIGHT, never larger than drawn.
    var naturalWidth = netSvg.width.baseVal.value, naturalHeight = netSvg.height.baseVal.value;
    var zoom = Math.min(1, (netBox.clientWidth || naturalWidth) / naturalWidth,
      NET_HEIGHT / naturalHeight);
    netSvg.style.width = naturalWidth * zoom + "px";
    netSvg.style.height = naturalHeight * zoom + "px";
    var groups = {};
    netSvg.querySelectorAll("g.node, g.edge").forEach(function (g) {
      var t = g.querySelector("title");
      if (!t) return;
      var parts = Array.prototype.filter.call(g.querySelectorAll("*"), function (e) {
        var tag = e.tagName.toLowerCase();
        return tag !== "g" && tag !== "title";
      });
      groups[t.textContent] = parts;
      var neuron = /^L(\d+)N(\d+)$/.exec(t.textContent);
      if (neuron) {
        g.classList.add("crp-neuron");
        g.addEventListener("click", function () {
          openNeuron("layers." + neuron[1] + ".neurons." + neuron[2]);
        });
      }
    });
    slots = data.network.slots.map(function (slot) {
      var parts = groups[slot[0]];
      return { element: parts ? parts[slot[1]] : null, attribute: slot[2] };
    });
    q(".crp-net-title").textContent = "the network at this epoch, as draw_network draws it " +
      "(click a neuron to open its records)";
  } else {
    netBox.style.display = "none";
  }
  function drawNetwork(f) {
    var row = data.frames[f].net;
    if (!row) return;
    slots.forEach(function (slot, i) {
      var e = slot.element;
      if (!e) return;
      var value = row[i] < 0 ? null : data.network.strings[row[i]];
      if (slot.attribute === "#text") {
        if (e.textContent !== value) e.textContent = value === null ? "" : value;
      } else if (slot.attribute === "xlink:title") {
        if (value === null) e.removeAttributeNS(XLINK_NS, "title");
        else e.setAttributeNS(XLINK_NS, "xlink:title", value);
      } else if (value === null) {
        e.removeAttribute(slot.attribute);
      } else if (e.getAttribute(slot.attribute) !== value) {
        e.setAttribute(slot.attribute, value);
      }
    });
  }

  // -- the samples ---------------------------------------------------------------------------
  var samplesBox = q(".crp-samples"), tabs = [], panel = null;
  if (data.sampleNote) {
    samplesBox.textContent = data.sampleNote;
  } else if (data.samples && data.samples.length) {
    var bar = document.createElement("div");
    bar.className = "crp-tabs";
    samplesBox.appendChild(bar);
    data.samples.forEach(function (sample, s) {
      var tab = document.createElement("button");
      tab.type = "button";
      tab.className = "crp-tab";
      tab.textContent = "sample " + (s + 1) + " (row " + sample.index + ")";
      tab.addEventListener("click", function () { select(s); });
      bar.appendChild(tab);
      tabs.push(tab);
    });
    panel = document.createElement("div");
    panel.className = "crp-panel";
    samplesBox.appendChild(panel);
  }
  var T = data.terms || {};
  function total(name) { return "d" + T.loss + "/d" + name; }
  function local(of, name) { return "\u2202" + of + "/\u2202" + name; }
  function line(parent, content) {
    var div = document.createElement("div");
    div.textContent = content;
    parent.appendChild(div);
  }

  function drawSample(f) {
    if (!panel) return;
    tabs.forEach(function (tab, s) { tab.classList.toggle("crp-chosen", s === selected); });
    sampleMarks.forEach(function (g, s) { g.classList.toggle("crp-chosen", s === selected); });
    if (selected < 0) return;
    var sample = data.samples[selected], values = data.frames[f].samples[selected];
    var keepScroll = panel.scrollTop;
    panel.textContent = "";
    var head = document.createElement("div");
    head.className = "crp-sample-head";
    head.textContent = "row " + sample.index + ": x = (" + sample.x.join(", ") + "), target " +
      sample.target + (sample.label !== sample.target ? " (label " + sample.label + ")" : "") +
      " \u00b7 epoch " + data.epochs[f] + ": " + T.loss + " = " + data.lossName +
      "(output, target) = " + values[0];
    panel.appendChild(head);
    // Forward first, then backward from the output layer to the first, as backward runs.
    var at = 1, blocks = [], inputs = sample.x, forward = document.createElement("div");
    forward.className = "crp-forward";
    forward.textContent = "forward: x = (" + sample.x.join(", ") + ")";
    data.structure.forEach(function (layer) {
      var outputs = [], rows = [];
      layer.neurons.forEach(function (neuron) {
        var v = values.slice(at, at + 5), grads = values.slice(at + 5, at + 5 + neuron.params.length);
        at += 5 + neuron.params.length;
        outputs.push(v[1]);
        rows.push({ neuron: neuron, v: v, grads: grads, inputs: inputs });
      });
      forward.textContent += " \u2192 " + layer.name + " (" + layer.activation + "): a = (" +
        outputs.join(", ") + ")";
      blocks.push({ layer: layer, rows: rows });
      inputs = outputs;
    });
    panel.appendChild(forward);
    var back = document.createElement("div");
    back.className = "crp-backward";
    line(back, "backward, one block per neuron (" + T.z + " = w\u00b7x + b, " + T.a +
      " = activation(z); each parameter is used once, so its one contribution is its total):");
    blocks.reverse().forEach(function (block) {
      block.rows.forEach(function (row) {
        var v = row.v, name = row.neuron.name, activation = block.layer.activation;
        var details = document.createElement("details");
        details.className = "crp-neuron-records";
        details.setAttribute("data-neuron", name);
        if (open[name]) details.open = true;
        details.addEventListener("toggle", function () { open[name] = details.open; });
        var summary = document.createElement("summary");
        summary.textContent = name + " (" + activation + "): z = " + v[0] + ", a = " + v[1] +
          ", " + total("a") + " = " + v[2] + ", " + total("z") + " = " + v[4];
        details.appendChild(summary);
        var rule = document.createElement("div");
        rule.className = "crp-rule";
        if (v[3] !== "") {
          line(rule, total("z") + " += " + total("a") + " * " + local("a", "z") + " = " + v[2] +
            " * " + v[3] + " = " + v[4] + "   (total " + v[4] + ")");
        }
        line(rule, total(T.dot) + " += " + total("z") + " * " + local("z", T.dot) + " = " + v[4] +
          " * " + data.one + " = " + v[4] + "   (total " + v[4] + ")");
        row.neuron.params.forEach(function (param, j) {
          var g = row.grads[j], term = row.neuron.terms[j];
          if (param === "b") {
            line(rule, total(term) + " += " + total("z") + " * " + local("z", term) + " = " + v[4] +
              " * " + data.one + " = " + g + "   (total " + g + ")");
          } else {
            line(rule, total(term) + " += " + total(T.dot) + " * " + local(T.dot, term) + " = " +
              v[4] + " * " + row.inputs[j] + " = " + g + "   (total " + g + ")");
          }
        });
        details.appendChild(rule);
        back.appendChild(details);
      });
    });
    panel.appendChild(back);
    panel.scrollTop = keepScroll;
  }

  function select(s) {
    selected = s;
    drawSample(frame);
  }
  function openNeuron(name) {
    if (!panel || selected < 0) return;
    open[name] = true;
    drawSample(frame);
    var details = panel.querySelector('details[data-neuron="' + name + '"]');
    if (details) panel.scrollTop = details.offsetTop - panel.offsetTop;
  }

  var count = q(".crp-count");
  function show(f) {
    frame = f;
    drawPlot(f);
    drawCurves(data.epochs[f]);
    drawNetwork(f);
    drawSample(f);
    count.textContent = "epoch " + data.epochs[f] + " / " + data.totalEpochs;
  }
  if (data.frames.length < data.totalEpochs + 1) {
    q(".crp-thinned").textContent = "Showing " + data.frames.length + " of " +
      (data.totalEpochs + 1) + " epochs (evenly spaced, the first and the last included) " +
      "to keep the page small.";
  }
  var scrubber = chainruleScrubber(
    { root: root, prev: q(".crp-prev"), play: q(".crp-play"), next: q(".crp-next"),
      slider: q(".crp-slider") },
    last, show, 350);
  scrubber.go(last);
}
