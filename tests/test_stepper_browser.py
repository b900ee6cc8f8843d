"""The backward stepper in a real browser: headless Chromium driven by Playwright.

Each test opens a page written by ``Stepper.save`` (or two steppers on one
page), works the controls as a user would (buttons, arrow keys, the slider,
play) and reads what the page shows back from the DOM: the step counter, the
highlighted node and the grad text of every node. Playwright drives Debian's
``/usr/bin/chromium``; it never downloads a browser. A screenshot of each
page is written under /tmp for a person to look at.
"""

import re
import shutil

import pytest
import test_stepper as stepper_graphs  # tests/ is on sys.path (rootdir conftest, no package)

import autograd
import viz
from autograd import Value
from viz import _style

pytestmark = [pytest.mark.browser, pytest.mark.graphviz]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def lecture_graph():
    """L = (a*b + c) * f + a: the micrograd lecture's example with a used twice."""
    return stepper_graphs.lecture_graph(reuse_a=True)


def backward_grad_texts():
    """The grad text of each node n{i} once backward() has run."""
    root = lecture_graph()
    root.backward()
    order = autograd.topological_order(root)
    return {f"n{i}": f"grad {_style.fmt(node.grad, 4)}" for i, node in enumerate(order)}


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser):
    """Opens a file in a fresh page; fails the test on any JavaScript error."""
    pages, errors = [], []

    def opener(path):
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.as_uri())
        pages.append(page)
        return page

    yield opener
    for page in pages:
        page.close()
    assert errors == []


@pytest.fixture
def saved(tmp_path):
    stepper = viz.step_through(lecture_graph())
    return stepper, stepper.save(tmp_path / "steps.html")


def counter(page, container=".crs"):
    return page.locator(f"{container} .crs-count").text_content()


def current_node(page, container=".crs"):
    """The name of the highlighted value node (its op circle is highlighted too)."""
    titles = page.locator(f"{container} g.node.crs-current > title").all_text_contents()
    (value,) = [t for t in titles if not t.endswith("op")]
    return value


def grad_texts(page, container=".crs"):
    """The grad text each value node n{i} shows, read from the SVG."""
    return page.evaluate(
        """(selector) => {
            const shown = {};
            document.querySelector(selector).querySelectorAll("g.node").forEach((g) => {
                const name = g.querySelector("title").textContent.trim();
                const texts = g.querySelectorAll("text");
                if (/^n\\d+$/.test(name)) shown[name] = texts[texts.length - 1].textContent;
            });
            return shown;
        }""",
        container,
    )


def test_starts_at_the_seed_with_other_gradients_blank(saved, open_page):
    stepper, path = saved
    page = open_page(path)
    last = len(stepper) - 1
    assert counter(page) == f"step 0 / {last}"
    root = f"n{len(stepper.names) - 1}"
    assert current_node(page) == root
    shown = grad_texts(page)
    assert shown.pop(root) == "grad 1.0000"
    assert set(shown.values()) == {"grad \u00b7"}
    assert page.locator(".crs-nojs").is_hidden()
    assert "dL/dL = 1.0000" in page.locator(".crs-rule").text_content()


def test_next_advances_one_step_and_prev_goes_back(saved, open_page):
    stepper, path = saved
    page = open_page(path)
    last = len(stepper) - 1
    page.click(".crs-next")
    assert counter(page) == f"step 1 / {last}"
    first = stepper.records[1]
    assert current_node(page) == f"n{first['node']}"
    rule = page.locator(".crs-rule").text_content()
    assert "dL/dg += dL/dL * \u2202L/\u2202g = 1.0000 * 1.0000 = 1.0000   (total 1.0000)" in rule
    # The children of L received their gradients; the rest are still blank.
    shown = grad_texts(page)
    assert {shown[f"n{c['child']}"] for c in first["contributions"]} == {"grad 1.0000"}
    page.click(".crs-next")
    assert counter(page) == f"step 2 / {last}"
    page.click(".crs-prev")
    assert counter(page) == f"step 1 / {last}"
    assert page.locator(".crs g.edge.crs-active").count() == 3  # g -> +, a -> +, + -> L


def test_arrow_keys_step_and_end_shows_backward_gradients(saved, open_page):
    stepper, path = saved
    page = open_page(path)
    last = len(stepper) - 1
    page.locator(".crs .crs-graph").click()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert counter(page) == f"step 2 / {last}"
    page.keyboard.press("ArrowLeft")
    assert counter(page) == f"step 1 / {last}"
    page.keyboard.press("End")
    assert counter(page) == f"step {last} / {last}"
    assert grad_texts(page) == backward_grad_texts()
    page.screenshot(path="/tmp/chainrule_stepper_last_step.png", full_page=True)


def test_shared_operand_shows_both_contributions(saved, open_page):
    stepper, path = saved
    page = open_page(path)
    # a is used by e = a*b and by L = g + a: its total after e's step is 1 + (-3) * -2 = 7,
    # and final: a is a leaf and e's step is the last to give it anything.
    e_step = next(r["step"] for r in stepper.records[1:] if r["name"] == "e")
    position = stepper.positions.index(e_step)
    page.locator(".crs-slider").evaluate(
        "(slider, k) => { slider.value = k; slider.dispatchEvent(new Event('input')); }", position
    )
    assert counter(page) == f"step {position} / {len(stepper) - 1}"
    rule = page.locator(".crs-rule").text_content()
    assert (
        "dL/da += dL/de * \u2202e/\u2202a = \u22122.0000 * \u22123.0000 = 6.0000"
        "   (total 7.0000, final: a leaf)"
    ) in rule
    a = next(c["child"] for c in stepper.records[e_step]["contributions"] if c["name"] == "a")
    assert grad_texts(page)[f"n{a}"] == "grad 7.0000"
    order = page.locator(".crs-order").text_content()
    # Leaves (f, c, a, b) pass nothing on and take no step of their own.
    assert order.endswith("L \u2192 g \u2192 d \u2192 e")
    page.screenshot(path="/tmp/chainrule_stepper_shared.png", full_page=True)


def test_slider_jumps_and_keys_on_it_move_one_step(saved, open_page):
    stepper, path = saved
    page = open_page(path)
    last = len(stepper) - 1
    slider = page.locator(".crs-slider")
    slider.evaluate("(s) => { s.value = 3; s.dispatchEvent(new Event('input')); }")
    assert counter(page) == f"step 3 / {last}"
    assert current_node(page) == f"n{stepper.records[stepper.positions[3]]['node']}"
    slider.focus()
    page.keyboard.press("ArrowLeft")
    assert counter(page) == f"step 2 / {last}"


def test_play_runs_to_the_end_and_stops(tmp_path, open_page):
    stepper = viz.step_through(Value(0.5, label="z").tanh())
    page = open_page(stepper.save(tmp_path / "play.html"))
    last = len(stepper) - 1
    page.click(".crs-play")
    assert page.locator(".crs-play").text_content() == "Pause"
    page.wait_for_function(
        "(last) => document.querySelector('.crs-slider').value === String(last)",
        arg=last,
        timeout=30_000,
    )
    page.wait_for_function("() => document.querySelector('.crs-play').textContent === 'Play'")
    assert counter(page) == f"step {last} / {last}"


def test_two_steppers_on_one_page_are_independent(tmp_path, open_page):
    stepper = viz.step_through(lecture_graph())
    other = viz.step_through(Value(0.5, label="z").tanh())
    # The same stepper twice (a notebook showing it again) and another one.
    page_html = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        f"{stepper.to_html()}{stepper._repr_html_()}{other.to_html()}</body></html>"
    )
    path = tmp_path / "three.html"
    path.write_text(page_html, encoding="utf-8")
    page = open_page(path)
    ids = page.eval_on_selector_all(".crs", "(all) => all.map((c) => c.id)")
    assert len(ids) == 3 and len(set(ids)) == 3
    first, second, third = (f"#{i}" for i in ids)
    last = len(stepper) - 1
    page.click(f"{first} .crs-next")
    page.click(f"{first} .crs-next")
    page.locator(f"{second} .crs-graph").click()
    page.keyboard.press("ArrowRight")
    assert counter(page, first) == f"step 2 / {last}"
    assert counter(page, second) == f"step 1 / {last}"
    assert counter(page, third) == "step 0 / 1"
    assert grad_texts(page, first) != grad_texts(page, second)
    page.click(f"{third} .crs-next")
    assert counter(page, first) == f"step 2 / {last}"
    assert counter(page, third) == "step 1 / 1"
    page.screenshot(path="/tmp/chainrule_stepper_three.png", full_page=True)


def test_labels_are_shown_as_text(tmp_path, open_page):
    x = Value(1.5, label='<b>x</b> & "y" </script><!--')
    path = viz.step_through(x * x).save(tmp_path / "label.html")
    page = open_page(path)
    page.click(".crs-next")
    rule = page.locator(".crs-rule").text_content()
    assert 'd(n1)/d(<b>x</b> & "y" </script><!--) += ' in rule
    assert page.locator(".crs-rule b").count() == 0
    boxes = page.locator(".crs g.node").all_text_contents()
    assert any('<b>x</b>\u00a0&\u00a0"y"\u00a0</script><!--' in box for box in boxes)


def test_one_output_shown_twice_drives_each_copy(tmp_path, open_page):
    # JupyterLab can show one output in two views: the same HTML, ids included, twice.
    fragment = viz.step_through(lecture_graph()).to_html()
    path = tmp_path / "views.html"
    path.write_text(f"<!DOCTYPE html><meta charset='utf-8'>{fragment}{fragment}", encoding="utf-8")
    page = open_page(path)
    views = page.locator(".crs")
    assert views.count() == 2
    views.nth(1).locator(".crs-next").click()
    assert views.nth(0).locator(".crs-count").text_content() == "step 0 / 4"
    assert views.nth(1).locator(".crs-count").text_content() == "step 1 / 4"


def insert_as_notebook_output(page, fragment: str, scripts: str) -> None:
    """Puts fragment in a blank page as a notebook front end does: innerHTML, then its scripts.

    scripts: "in place" (JupyterLab, Notebook 7: a fresh copy replaces each
    script), "in head" (classic Notebook's jQuery and others run a copy
    elsewhere) or "none" (an untrusted output).
    """
    page.evaluate(
        """([html, scripts]) => {
            const host = document.createElement("div");
            document.body.appendChild(host);
            host.innerHTML = html;  // scripts inserted this way do not run
            if (scripts === "none") return;
            host.querySelectorAll("script").forEach((old) => {
                const script = document.createElement("script");
                script.textContent = old.textContent;
                if (scripts === "in place") old.parentNode.replaceChild(script, old);
                else document.head.appendChild(script);
            });
        }""",
        [fragment, scripts],
    )


@pytest.fixture
def blank_page(tmp_path, open_page):
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><meta charset='utf-8'><body></body>", encoding="utf-8")
    return open_page(blank)


@pytest.mark.parametrize("scripts", ["in place", "in head"])
def test_runs_when_inserted_like_a_trusted_notebook_output(blank_page, scripts):
    page = blank_page
    for _ in range(2):  # two outputs, as two cells would make
        insert_as_notebook_output(page, viz.step_through(lecture_graph())._repr_html_(), scripts)
    first, second = page.locator(".crs").nth(0), page.locator(".crs").nth(1)
    assert first.locator(".crs-count").text_content() == "step 0 / 4"
    second.locator(".crs-graph").click()
    page.keyboard.press("ArrowRight")
    assert second.locator(".crs-count").text_content() == "step 1 / 4"
    assert first.locator(".crs-count").text_content() == "step 0 / 4"


def test_untrusted_output_shows_the_note_and_a_picture_of_the_finished_pass(blank_page):
    page = blank_page
    insert_as_notebook_output(page, viz.step_through(lecture_graph())._repr_html_(), "none")
    # What JupyterLab's sanitizer also does to an untrusted output: no <style>, <script>, <svg>.
    page.evaluate(
        "document.querySelectorAll('.crs style, .crs script, .crs svg').forEach((e) => e.remove())"
    )
    shown = page.locator(".crs").inner_text()
    assert "jupyter trust" in shown and ".save()" in shown and "Next" not in shown
    picture = page.locator(".crs img.crs-picture")
    assert picture.is_visible()
    page.wait_for_function("() => document.querySelector('.crs img').complete")
    assert picture.evaluate("(img) => img.naturalWidth") > 100
    # The picture is the graph with every gradient of backward() filled in.
    shown = picture.evaluate(
        """(img) => {
            const bytes = Uint8Array.from(atob(img.src.split(",")[1]), (c) => c.charCodeAt(0));
            const text = new TextDecoder().decode(bytes);
            const svg = new DOMParser().parseFromString(text, "image/svg+xml");
            const shown = {};
            svg.querySelectorAll("g.node").forEach((g) => {
                const name = g.querySelector("title").textContent.trim();
                const texts = g.querySelectorAll("text");
                if (/^n\\d+$/.test(name)) shown[name] = texts[texts.length - 1].textContent;
            });
            return shown;
        }"""
    )
    assert shown == backward_grad_texts()


def test_trusted_output_replaces_the_picture_by_the_viewer(saved, open_page):
    _, path = saved
    page = open_page(path)
    assert page.locator(".crs img").count() == 0 and page.locator(".crs-nojs").count() == 0
    assert page.locator(".crs .crs-graph svg").count() == 1


def box_names(page, container=".crs"):
    """The first text of each value node's box (its name), read from the SVG."""
    return page.evaluate(
        """(selector) => {
            const shown = {};
            document.querySelector(selector).querySelectorAll("g.node").forEach((g) => {
                const name = g.querySelector("title").textContent.trim();
                if (/^n\\d+$/.test(name)) shown[name] = g.querySelector("text").textContent;
            });
            return shown;
        }""",
        container,
    )


def test_every_name_the_panel_uses_is_shown_in_its_box(tmp_path, open_page):
    x, w = Value(0.5, label="x"), Value(-1.2, label="w")
    root = (x * w + 0.3).tanh()  # the product, the sum, the constant and tanh have no label
    stepper = viz.step_through(root)
    page = open_page(stepper.save(tmp_path / "names.html"))
    boxes = box_names(page)
    assert boxes == {f"n{i}": name for i, name in enumerate(stepper.names)}
    assert set(stepper.names) == {"x", "w", "n2", "n3", "n4", "n5"}
    mentioned = set()
    for k in range(len(stepper)):
        if k:
            page.click(".crs-next")
        rule = page.locator(".crs-rule").text_content()
        mentioned |= set(re.findall(r"[d\u2202]\(?(n\d+|[xw])\)?", rule))
    assert mentioned == set(stepper.names)
    rule = page.locator(".crs-rule").text_content()
    assert "d(n5)/dx += d(n5)/d(n2) * \u2202(n2)/\u2202x = " in rule


def test_key_shows_the_colours_of_the_highlights(saved, open_page):
    _, path = saved
    page = open_page(path)
    page.click(".crs-next")
    colours = page.evaluate(
        """() => {
            const stroke = (s) => getComputedStyle(document.querySelector(s)).stroke;
            const border = (s) => getComputedStyle(document.querySelector(s)).borderTopColor;
            return {
                current: [stroke(".crs-current > path, .crs-current > polygon"),
                          border(".crs-key-current")],
                child: [stroke(".crs-child > path, .crs-child > polygon"),
                        border(".crs-key-child")],
                edge: [stroke(".crs-active > path"), border(".crs-key-edge")],
            };
        }"""
    )
    for highlight, key in colours.values():
        assert highlight == key
    assert colours["current"][0] != colours["child"][0]
    key = page.locator(".crs-key").inner_text()
    assert "gradient is complete" in key and "receiving gradient" in key and "edges" in key


def text_pixels(page):
    """The height in screen pixels of the graph's 11 pt text, and whether the graph scrolls."""
    return page.evaluate(
        """() => {
            const svg = document.querySelector(".crs-graph svg");
            const zoom = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            const size = parseFloat(svg.querySelector("g.node text").getAttribute("font-size"));
            const box = document.querySelector(".crs-graph");
            return [size * zoom, box.scrollWidth > box.clientWidth];
        }"""
    )


def test_text_stays_readable_when_fitted_to_the_width(tmp_path, open_page):
    big = viz.step_through(stepper_graphs.neuron_graph(75))
    page = open_page(big.save(tmp_path / "wide.html"))
    assert page.locator(".crs-fit").text_content() == "Actual size"  # fitted by default
    pixels, scrolls = text_pixels(page)
    assert pixels >= 11 and scrolls  # too wide to fit readably: it scrolls instead
    page.click(".crs-fit")
    assert text_pixels(page)[0] == pytest.approx(11 * 4 / 3)  # 11 pt at actual size
    small = viz.step_through(Value(0.5, label="z").tanh())
    page = open_page(small.save(tmp_path / "small.html"))
    pixels, scrolls = text_pixels(page)
    assert pixels >= 11 and not scrolls


def test_leaf_steps_cost_no_click_and_order_so_far_stays_short(tmp_path, open_page):
    stepper = viz.step_through(stepper_graphs.neuron_graph(75))
    leaves = sum(1 for record in stepper.records[1:] if not record["contributions"])
    assert leaves == 2 * 75 + 1 and len(stepper) == len(stepper.records) - leaves
    page = open_page(stepper.save(tmp_path / "big.html"))
    page.locator(".crs .crs-graph").click()
    page.keyboard.press("End")
    order = page.locator(".crs-order").text_content()
    assert order.count("\u2192") == 5 and "\u2026" in order
    assert page.locator(".crs-order").bounding_box()["height"] < 40  # one line


def test_three_hundred_node_graph_steps_to_backward_gradients(tmp_path, open_page):
    build = lambda: stepper_graphs.neuron_graph(75)
    stepper = viz.step_through(build())
    page = open_page(stepper.save(tmp_path / "big.html"))
    last = len(stepper) - 1
    page.locator(".crs .crs-graph").click()
    page.keyboard.press("End")
    root = build()
    root.backward()
    order = autograd.topological_order(root)
    expected = {f"n{i}": f"grad {_style.fmt(node.grad, 4)}" for i, node in enumerate(order)}
    assert grad_texts(page) == expected
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    assert counter(page) == f"step 1 / {last}"
    # tanh passed its gradient to its one input: two nodes show a gradient
    assert list(grad_texts(page).values()).count("grad \u00b7") == len(order) - 2
    page.screenshot(path="/tmp/chainrule_stepper_300_nodes.png")
