"""The playground page as a person uses it, in headless Chromium against the real server: type a
mapping and read the output, see an error marked where it is, see metadata, open a shared link."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.playground.conftest import Playground

WAIT_SECONDS = 20


@pytest.fixture(scope="module")
def server(playground: Callable[..., Playground]) -> Playground:
    return playground()


def wait(browser: Any, condition: Callable[[Any], Any], what: str) -> Any:
    from selenium.common.exceptions import TimeoutException  # test-only dependency
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(browser, WAIT_SECONDS).until(condition)
    except TimeoutException:
        raise AssertionError(
            f"timed out waiting for {what}; the output shows {text_of(browser, 'output')!r}"
        ) from None


def text_of(browser: Any, element_id: str) -> str:
    return str(browser.find_element("id", element_id).get_attribute("textContent"))


def type_into(browser: Any, element_id: str, text: str) -> None:
    """Select everything in the box and type ``text`` over it, key by key."""
    from selenium.webdriver.common.keys import Keys  # test-only dependency

    box = browser.find_element("id", element_id)
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(text)


def open_page(browser: Any, url: str) -> None:
    browser.get("about:blank")
    browser.get(url)
    wait(browser, lambda d: text_of(d, "status") not in ("starting", "running"), "the first run")


def output_json(browser: Any) -> Any:
    return json.loads(text_of(browser, "output"))


def test_typing_a_mapping_shows_its_output(server: Playground, browser: Any) -> None:
    open_page(browser, server.url)
    assert output_json(browser) == {"message": "hello world"}  # upstream's starting example
    type_into(browser, "input", '{"user": {"name": "ada", "langs": ["go", "python"]}}')
    type_into(
        browser, "mapping", "root.who = this.user.name.capitalize()\nroot.count = this.user.langs.length()"
    )
    wait(browser, lambda d: '"who": "Ada"' in text_of(d, "output"), "the mapped output")
    assert output_json(browser) == {"who": "Ada", "count": 2}
    assert text_of(browser, "status") == "ok"
    # nothing failed to load or broke the page's policy (the console lists both)
    assert [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_a_parse_error_appears_marked_at_its_line_and_column(server: Playground, browser: Any) -> None:
    open_page(browser, server.url)
    type_into(browser, "mapping", 'root.a = "fine"\nroot.b = this.b oops\nroot.c = 3')
    error = wait(
        browser,
        lambda d: d.find_element("id", "error").is_displayed() and d.find_element("id", "error"),
        "an error",
    )
    assert error.text == "failed to parse mapping: line 2 char 17: expected line break, got: oops"
    mark = browser.find_element("css selector", "mark.error-span")
    assert (mark.get_attribute("data-line"), mark.get_attribute("data-column")) == ("2", "17")
    assert mark.get_attribute("textContent") == "oops"
    assert browser.find_element("css selector", ".gutter div.bad").text == "2"
    assert text_of(browser, "status") == "parse error"
    # fixing the mapping clears the mark
    type_into(browser, "mapping", 'root.a = "fine"')
    wait(browser, lambda d: text_of(d, "status") == "ok", "the fixed mapping to run")
    assert browser.find_elements("css selector", "mark.error-span") == []
    assert not browser.find_element("id", "error").is_displayed()


def test_a_failing_statement_is_marked_on_its_line(server: Playground, browser: Any) -> None:
    open_page(browser, server.url)
    type_into(browser, "input", '{"n": "seven"}')
    type_into(browser, "mapping", "root.a = 1\nroot.b = 2\n  root.n = this.n.number()")
    wait(browser, lambda d: text_of(d, "status") == "mapping error", "the mapping error")
    assert text_of(browser, "error").startswith("failed assignment (line 3): ")
    mark = browser.find_element("css selector", "mark.error-span")
    assert mark.get_attribute("data-line") == "3"
    assert mark.get_attribute("textContent") == "root.n = this.n.number()"


def test_input_metadata_is_used_and_output_metadata_is_listed(server: Playground, browser: Any) -> None:
    open_page(browser, server.url)
    type_into(browser, "metadata", '{"topic": "orders", "partition": 3}')
    type_into(
        browser, "mapping", 'root.from = meta("topic")\nmeta route = "billing"\nmeta partition = deleted()'
    )
    wait(browser, lambda d: '"from": "orders"' in text_of(d, "output"), "the output using metadata")
    rows = browser.find_elements("css selector", "#output-metadata tr")
    listed = {
        row.find_element("css selector", ".key").text: row.find_element("css selector", ".value").text
        for row in rows
    }
    assert listed == {"route": "billing", "topic": "orders"}


def test_metadata_that_is_not_a_json_object_is_reported(server: Playground, browser: Any) -> None:
    open_page(browser, server.url)
    type_into(browser, "metadata", '["not", "an", "object"]')
    wait(browser, lambda d: d.find_element("id", "metadata-error").is_displayed(), "the metadata error")
    assert text_of(browser, "metadata-error") == "input metadata must be a JSON object of keys and values"
    assert text_of(browser, "status") == "metadata error"


def test_a_shared_link_opens_the_same_mapping_input_and_metadata(server: Playground, browser: Any) -> None:
    open_page(browser, server.url)
    mapping = (
        'root.total = this.items.map_each(i -> i.price * i.qty).sum()\nmeta shop = meta("shop").uppercase()'
    )
    type_into(browser, "input", '{"items": [{"price": 2.5, "qty": 4}, {"price": 1, "qty": 3}]}')
    type_into(browser, "metadata", '{"shop": "north"}')
    type_into(browser, "mapping", mapping)
    wait(browser, lambda d: '"total": 13' in text_of(d, "output"), "the total")
    browser.find_element("id", "share").click()
    wait(
        browser,
        lambda d: (
            d.find_element("id", "share").text == "Link copied"
            or d.find_element("id", "share-link").is_displayed()
        ),
        "the link to be offered",
    )
    link = browser.execute_script("return location.href")
    assert link.startswith(server.url + "#")
    # someone else's edits move on; the link still brings back the state it was made from
    open_page(browser, server.url)
    type_into(browser, "mapping", "root = 0")
    wait(browser, lambda d: text_of(d, "output") == "0", "the other edit")
    open_page(browser, link)
    assert browser.find_element("id", "mapping").get_attribute("value") == mapping
    assert browser.find_element("id", "metadata").get_attribute("value") == '{"shop": "north"}'
    wait(browser, lambda d: '"total": 13' in text_of(d, "output"), "the shared output")
    assert "NORTH" in browser.find_element("id", "output-metadata").text
